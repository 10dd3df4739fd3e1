//! Seeded fault injection for the three `/v2` calls.

use crate::config::{FaultConfig, FaultKind};
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicU64, Ordering};

/// Decides, call by call, whether and how a call fails. The n-th call's fate depends only on the
/// seed and n, so a run with the same seed and call order sees the same faults.
pub struct Faults {
    config: FaultConfig,
    kinds: Vec<FaultKind>,
    calls: AtomicU64,
    injected: AtomicU64,
}

/// SplitMix64: a tiny, well-mixed generator; enough to spread faults, not for secrets.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Faults {
    pub fn new(config: FaultConfig) -> Faults {
        let kinds = if config.kinds.is_empty() { FaultKind::ALL.to_vec() } else { config.kinds.clone() };
        Faults { config, kinds, calls: AtomicU64::new(0), injected: AtomicU64::new(0) }
    }

    pub fn slow_ms(&self) -> u64 {
        self.config.slow_ms
    }

    /// The fault for the next call, if any (counted as injected).
    pub fn decide(&self) -> Option<FaultKind> {
        if self.config.rate <= 0.0 {
            return None;
        }
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let x = splitmix64(self.config.seed ^ splitmix64(n));
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        if unit >= self.config.rate {
            return None;
        }
        self.injected.fetch_add(1, Ordering::Relaxed);
        let pick = splitmix64(x) % self.kinds.len() as u64;
        Some(self.kinds[pick as usize])
    }

    /// How many faults were injected since start.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }
}

/// The response of an injected fault other than `Slow`.
pub fn fault_response(kind: FaultKind) -> Response {
    match kind {
        FaultKind::RetryCode => crate::error::ApiError::StorageWrite("injected fault: transient write failure".into())
            .into_response(),
        FaultKind::Http500 => html(StatusCode::INTERNAL_SERVER_ERROR, "500 Internal Server Error"),
        FaultKind::Http503 => html(StatusCode::SERVICE_UNAVAILABLE, "503 Service Temporarily Unavailable"),
        FaultKind::Drop => {
            // A body that fails at once makes hyper abort the connection.
            let stream = futures_util::stream::once(async {
                Err::<bytes::Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "injected fault: connection dropped",
                ))
            });
            Response::new(Body::from_stream(stream))
        }
        FaultKind::Slow => StatusCode::OK.into_response(),
    }
}

fn html(status: StatusCode, title: &str) -> Response {
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>vod-server (injected fault)</center>\r\n</body>\r\n</html>\r\n"
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_determinism() {
        let cfg = FaultConfig { rate: 0.25, seed: 7, kinds: vec![], slow_ms: 1 };
        let a: Vec<_> = { let f = Faults::new(cfg.clone()); (0..4000).map(|_| f.decide()).collect() };
        let b: Vec<_> = { let f = Faults::new(cfg); (0..4000).map(|_| f.decide()).collect() };
        assert_eq!(a, b);
        let hits = a.iter().filter(|x| x.is_some()).count();
        assert!((800..1200).contains(&hits), "{hits}");
        for k in FaultKind::ALL {
            assert!(a.contains(&Some(k)), "{k:?} never chosen");
        }
        let none = Faults::new(FaultConfig::default());
        assert!((0..100).all(|_| none.decide().is_none()));
        let all = Faults::new(FaultConfig { rate: 1.0, seed: 1, kinds: vec![FaultKind::Drop], slow_ms: 1 });
        assert!((0..100).all(|_| all.decide() == Some(FaultKind::Drop)));
        assert_eq!(all.injected(), 100);
    }
}
