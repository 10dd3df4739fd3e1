//! In-memory counters since start, shown by `GET /dev/stats`.

use crate::api::Action;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct Stats {
    init_calls: AtomicU64,
    part_calls: AtomicU64,
    finish_calls: AtomicU64,
    parts_received: AtomicU64,
    bytes_received: AtomicU64,
    per_sha: Mutex<HashMap<String, (u64, u64)>>,
}

impl Stats {
    pub fn count_call(&self, action: Action) {
        let counter = match action {
            Action::InitEx | Action::Init => &self.init_calls,
            Action::UploadPartEx | Action::UploadPart | Action::Multipart => &self.part_calls,
            Action::FinishEx | Action::Finish => &self.finish_calls,
            Action::Describe | Action::PullEvents | Action::ConfirmEvents => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A part stored (or already held: re-sends count too), whatever the call.
    pub fn part_received(&self, sha: &str, bytes: u64) {
        self.parts_received.fetch_add(1, Ordering::Relaxed);
        self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
        let mut map = self.per_sha.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(sha.to_string()).or_default();
        entry.0 += 1;
        entry.1 += bytes;
    }

    /// `(calls of the Init actions, of the part actions, of the Finish actions, parts received, bytes
    /// received)`.
    pub fn totals(&self) -> (u64, u64, u64, u64, u64) {
        (
            self.init_calls.load(Ordering::Relaxed),
            self.part_calls.load(Ordering::Relaxed),
            self.finish_calls.load(Ordering::Relaxed),
            self.parts_received.load(Ordering::Relaxed),
            self.bytes_received.load(Ordering::Relaxed),
        )
    }

    /// `(parts received, bytes received)` for one SHA-1.
    pub fn for_sha(&self, sha: &str) -> (u64, u64) {
        self.per_sha.lock().unwrap_or_else(|p| p.into_inner()).get(sha).copied().unwrap_or_default()
    }
}
