//! PullEvents / ConfirmEvents: ours, not the platform's (`README`, "Events"). For a backend that
//! cannot receive webhooks: it pulls the upload-complete events not yet delivered or confirmed,
//! handles them, and confirms them by `eventId`; an event not confirmed is pulled again (at least
//! once). Key-authenticated like the server API; every key sees every event.

use super::call::Call;
use super::ok;
use crate::error::ApiError;
use serde_json::{json, Value};

/// Events one PullEvents answers at most (and its default), and ids one ConfirmEvents takes.
const MAX_EVENTS: u64 = 1000;
const DEFAULT_EVENTS: u64 = 100;

/// PullEvents: `limit` (1–1000, default 100), `after` (optional: the `cursor` of the previous
/// answer, to page on without confirming). Answers `events` (oldest first) and `cursor`.
pub(super) async fn pull(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let p = &call.params;
    let limit = match p.get("limit") {
        None => DEFAULT_EVENTS,
        Some(_) => p.number("limit")?,
    };
    if !(1..=MAX_EVENTS).contains(&limit) {
        return Err(ApiError::Param(format!("limit must be 1 to {MAX_EVENTS}, got {limit}")));
    }
    let after = match p.get("after") {
        None => 0,
        Some(_) => i64::try_from(p.number("after")?).map_err(|_| ApiError::Param("after is out of range".into()))?,
    };
    let rows = call.state.store().pull_events(after, limit as usize).await?;
    let cursor = rows.last().map_or(after, |(row, _)| *row);
    let events: Vec<Value> = rows.into_iter().map(|(_, event)| event).collect();
    Ok(ok(json!({ "events": events, "cursor": cursor })))
}

/// ConfirmEvents: `eventIds`, comma-separated (at most 1000). Answers `confirmed`, how many of them
/// were still pending (ids already confirmed, delivered or unknown count 0: confirming is idempotent).
pub(super) async fn confirm(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let ids: Vec<String> = call.params.required("eventIds")?.split(',').map(|s| s.trim().to_string()).collect();
    if ids.len() as u64 > MAX_EVENTS {
        return Err(ApiError::Param(format!("at most {MAX_EVENTS} eventIds at once")));
    }
    if let Some(bad) = ids.iter().find(|id| id.is_empty() || id.len() > 48 || !id.bytes().all(|b| b.is_ascii_digit() || b == b'-')) {
        return Err(ApiError::Param(format!("{bad:?} is not an eventId")));
    }
    let confirmed = call.state.store().confirm_events(ids, crate::sign::now_unix()).await?;
    Ok(ok(json!({ "confirmed": confirmed })))
}
