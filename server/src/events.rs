//! Delivery of the outbox's events (`docs/protocol.md`, "Events"; the rows are written by
//! `store::outbox` in the transaction that finishes a file): each is POSTed with its MAC until a
//! receiver answers 2xx, with backoff, for [`DELIVERY_WINDOW_SECS`]; a file's events go to a
//! receiver one after the other, in order. At least once: an event whose 2xx was lost to a crash
//! is sent again after the restart, so a receiver de-duplicates by `eventId`.

use crate::store::{Outgoing, Store, DELIVERY_WINDOW_SECS};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The header carrying the MAC: `sha256=` and the lowercase hex of HMAC-SHA256(event key, body),
/// over the body's exact bytes.
pub const SIGNATURE_HEADER: &str = "X-Vod-Signature";
/// The header carrying the event's id (also in the body as `eventId`).
pub const EVENT_ID_HEADER: &str = "X-Vod-Event-Id";
/// The first retry's delay; each next one doubles, up to [`MAX_BACKOFF_SECS`].
const FIRST_BACKOFF_SECS: i64 = 5;
const MAX_BACKOFF_SECS: i64 = 3600;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Events sent at once.
const AT_ONCE: usize = 8;
/// How often the outbox is looked at when nothing wakes the delivery.
const POLL: Duration = Duration::from_secs(1);

/// A notify URL must be `http` or `https` with a host, at most 2048 bytes (seed 000: else -25976).
pub fn check_url(url: &str) -> Result<(), String> {
    if url.len() > 2048 {
        return Err("the URL is longer than 2048 bytes".into());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} is not an http or https URL with a host"));
    }
    Ok(())
}

/// The value of [`SIGNATURE_HEADER`] for `body`.
pub fn mac(key: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(key, body).finalize().into_bytes()))
}

/// What a receiver does: checks `header` (the [`SIGNATURE_HEADER`] as received) against the body's
/// exact bytes, in constant time.
pub fn verify(key: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_mac) = header.trim().strip_prefix("sha256=") else { return false };
    let Ok(given) = hex::decode(hex_mac) else { return false };
    hmac(key, body).verify_slice(&given).is_ok()
}

/// HMAC-SHA256 of `body` with `key`, for [`mac`] and [`verify`].
fn hmac(key: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac
}

/// The delay before attempt `attempts + 1`.
fn backoff(attempts: u32) -> i64 {
    FIRST_BACKOFF_SECS.saturating_mul(1 << attempts.min(20)).min(MAX_BACKOFF_SECS)
}

/// Delivers the outbox's events for as long as the store lives: upload events to `notify_url` (if
/// set; else they wait for PullEvents), callbacks to their own URL. At start every pending event is
/// tried at once (a restart is no reason to wait out a backoff).
pub fn spawn_delivery(store: Weak<Store>, notify_url: Option<String>, key: String) {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .build()
        {
            Ok(client) => client,
            Err(e) => return eprintln!("vod-server: events cannot be delivered: {e}"),
        };
        let mut first = true;
        let mut pruned = 0;
        loop {
            let Some(store) = store.upgrade() else { return };
            let now = crate::sign::now_unix();
            match store.due_events(now, first, notify_url.is_some(), 64).await {
                Ok(batch) => {
                    // Several at once, so that a receiver that does not answer holds up no other
                    // (a batch has at most one event of each file and receiver: order is kept).
                    let (client, store, url, key) = (&client, &store, notify_url.as_deref(), key.as_str());
                    futures_util::stream::iter(batch)
                        .for_each_concurrent(AT_ONCE, |event| async move { deliver(client, store, &event, url, key).await })
                        .await;
                }
                Err(e) => eprintln!("vod-server: events: {e}"),
            }
            first = false;
            if now - pruned >= 3600 {
                pruned = now;
                if let Err(e) = store.prune_events(now).await {
                    eprintln!("vod-server: events: {e}");
                }
            }
            tokio::select! {
                _ = store.event_recorded() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    });
}

/// One attempt at one event; its outcome recorded.
async fn deliver(client: &reqwest::Client, store: &Arc<Store>, event: &Outgoing, notify_url: Option<&str>, key: &str) {
    let Some(target) = event.target.as_deref().or(notify_url) else { return };
    let sent = client
        .post(target)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_ID_HEADER, &event.event_id)
        .header(SIGNATURE_HEADER, mac(key, event.body.as_bytes()))
        .body(event.body.clone())
        .send()
        .await;
    let now = crate::sign::now_unix();
    let error = match sent {
        Ok(r) if r.status().is_success() => {
            match store.event_delivered(event.row, now).await {
                Ok(()) => eprintln!("vod-server: event {} ({}) delivered, attempt {}", event.event_id, event.kind, event.attempts + 1),
                Err(e) => eprintln!("vod-server: event {} delivered, but not recorded (it will be sent again): {e}", event.event_id),
            }
            return;
        }
        Ok(r) => format!("HTTP {}", r.status().as_u16()),
        // No URL in the log: a receiver's URL may carry a token.
        Err(e) => format!("not delivered ({})", if e.is_timeout() { "timeout" } else if e.is_connect() { "no connection" } else { "request failed" }),
    };
    let next = now + backoff(event.attempts);
    let next = (next <= event.created + DELIVERY_WINDOW_SECS).then_some(next);
    match next {
        Some(at) => eprintln!("vod-server: event {} ({}): {error}; next attempt in {} s", event.event_id, event.kind, at - now),
        None => eprintln!("vod-server: event {} ({}): {error}; given up after a day (still pullable if an upload event)", event.event_id, event.kind),
    }
    if let Err(e) = store.event_failed(event.row, next, &error).await {
        eprintln!("vod-server: events: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_macs_and_backoff() {
        assert!(check_url("https://example.com/hook?t=1").is_ok());
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        for bad in ["ftp://example.com/", "javascript:alert(1)", "example.com/hook", "http://", ""] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        let m = mac("key", b"{\"a\":1}");
        assert!(verify("key", b"{\"a\":1}", &m));
        assert!(!verify("key", b"{\"a\":2}", &m));
        assert!(!verify("other", b"{\"a\":1}", &m));
        // RFC 4231 test case 2.
        assert_eq!(mac("Jefe", b"what do ya want for nothing?"), "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!((backoff(0), backoff(1), backoff(30)), (5, 10, 3600));
    }
}
