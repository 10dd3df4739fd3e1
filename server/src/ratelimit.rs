//! Rate limits (`docs/protocol.md`, "Rate limits"): InitUpload and UploadPart per SecretId, as
//! seeds 002 and 001 give them; the UGC calls per uid, with numbers of the server's configuration.
//!
//! A sliding window of one minute: the times of the calls admitted in the last minute are kept, so
//! "100 a minute" means no 100 + 1 calls within any 60 s (a token bucket would let a burst of 100
//! plus what trickled in meanwhile through). Memory is one instant per call admitted in the last
//! minute, whoever made it; a key whose window emptied is forgotten at the next sweep.

use crate::error::ApiError;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window every limit counts over.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Calls a minute each limit admits (0: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// InitUpload, per SecretId (seed 002: 100).
    pub init_per_key: u32,
    /// UploadPart, per SecretId (seed 001: 10,000).
    pub part_per_key: u32,
    /// InitUploadEx, per uid.
    pub init_per_uid: u32,
    /// UploadPartEx, per uid.
    pub part_per_uid: u32,
    /// FinishUploadEx, per uid.
    pub finish_per_uid: u32,
}

impl Default for Rates {
    /// The seeds' numbers for a key. For a uid (the seeds give none): 10 files a second, and 500
    /// parts a second (250 to 500 MiB/s, above any one user's uplink): room for a person with many
    /// files (a resume is an Init call too) and for a local benchmark, while one signed-in user
    /// cannot flood the server with calls.
    fn default() -> Rates {
        Rates { init_per_key: 100, part_per_key: 10_000, init_per_uid: 600, part_per_uid: 30_000, finish_per_uid: 600 }
    }
}

/// Which limit a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    InitPerKey,
    PartPerKey,
    InitPerUid,
    PartPerUid,
    FinishPerUid,
}

impl Limit {
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Limit::InitPerKey => ("InitUpload", "SecretId"),
            Limit::PartPerKey => ("UploadPart", "SecretId"),
            Limit::InitPerUid => ("InitUploadEx", "uid"),
            Limit::PartPerUid => ("UploadPartEx", "uid"),
            Limit::FinishPerUid => ("FinishUploadEx", "uid"),
        }
    }

    fn rate(self, r: &Rates) -> u32 {
        match self {
            Limit::InitPerKey => r.init_per_key,
            Limit::PartPerKey => r.part_per_key,
            Limit::InitPerUid => r.init_per_uid,
            Limit::PartPerUid => r.part_per_uid,
            Limit::FinishPerUid => r.finish_per_uid,
        }
    }
}

/// The calls admitted in the last minute, per limit and key (a SecretId or a uid).
#[derive(Debug, Default)]
pub struct Limiter {
    rates: Rates,
    windows: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    calls: HashMap<(Limit, String), VecDeque<Instant>>,
    /// How many keys the last sweep left: the next one runs when twice as many are held.
    swept_at: usize,
}

impl Limiter {
    pub fn new(rates: Rates) -> Limiter {
        Limiter { rates, windows: Mutex::default() }
    }

    /// Admits one call of `who` under `limit` now, or refuses it (`4400`, canRetry 1) with the
    /// seconds until one would be admitted.
    pub fn admit(&self, limit: Limit, who: &str) -> Result<(), ApiError> {
        self.admit_at(limit, who, Instant::now())
    }

    fn admit_at(&self, limit: Limit, who: &str, now: Instant) -> Result<(), ApiError> {
        let rate = limit.rate(&self.rates);
        if rate == 0 {
            return Ok(());
        }
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if w.calls.len() >= (2 * w.swept_at).max(1024) {
            w.calls.retain(|_, calls| {
                trim(calls, now);
                !calls.is_empty()
            });
            w.swept_at = w.calls.len();
        }
        let calls = w.calls.entry((limit, who.to_string())).or_default();
        trim(calls, now);
        if calls.len() < rate as usize {
            calls.push_back(now);
            return Ok(());
        }
        let oldest = *calls.front().expect("a full window is not empty");
        let wait = (oldest + WINDOW).saturating_duration_since(now);
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let (action, by) = limit.describe();
        Err(ApiError::RateLimited(
            format!("{action} is limited to {rate} calls a minute per {by}, and {by} {who:?} reached it: try again in {secs} s"),
            secs.max(1),
        ))
    }
}

/// Forgets the calls older than the window.
fn trim(calls: &mut VecDeque<Instant>, now: Instant) {
    while calls.front().is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW) {
        calls.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_window_refuses_until_its_oldest_call_is_a_minute_old() {
        let limiter = Limiter::new(Rates { init_per_key: 3, ..Rates::default() });
        let t0 = Instant::now();
        for i in 0..3 {
            limiter.admit_at(Limit::InitPerKey, "k", t0 + Duration::from_secs(i * 10)).unwrap();
        }
        let refused = limiter.admit_at(Limit::InitPerKey, "k", t0 + Duration::from_secs(30)).unwrap_err();
        assert_eq!((refused.code(), refused.can_retry()), (4400, true));
        assert!(refused.message().contains("try again in 30 s"), "{refused}");
        limiter.admit_at(Limit::InitPerKey, "other", t0 + Duration::from_secs(30)).unwrap();
        limiter.admit_at(Limit::InitPerKey, "k", t0 + Duration::from_secs(60)).unwrap();
        assert!(limiter.admit_at(Limit::InitPerKey, "k", t0 + Duration::from_secs(61)).is_err());
    }
}
