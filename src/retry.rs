//! What becomes of a failed call, per the protocol's client rules: transient failures are sent again
//! after a backoff (exponential, with jitter, bounded), up to the options' retry limit; a refused
//! signature is refreshed once, and calls refused together share that one refresh; anything else
//! fails the upload.

use crate::error::UploadError;

/// The code of a refused signature.
pub const SIGNATURE_REFUSED: i64 = -10002;

/// When to send a call again after its `n`-th failure in a row (`n` ≥ 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay before the first retry, before jitter.
    pub base_ms: u32,
    /// No delay is longer than this, before jitter.
    pub max_ms: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base_ms: 500, max_ms: 16_000 }
    }
}

impl Backoff {
    /// The wait before retry `n` (1-based), given `random` in [0, 1): half of the exponential delay is
    /// fixed and half is random ("equal jitter"), so that clients that failed together spread out but
    /// none hammers the server.
    pub fn delay_ms(&self, n: u32, random: f64) -> u32 {
        let exp = u64::from(self.base_ms).saturating_mul(1u64 << n.saturating_sub(1).min(30));
        let capped = exp.min(u64::from(self.max_ms)) as f64;
        let jitter = random.clamp(0.0, 1.0);
        (capped / 2.0 + capped / 2.0 * jitter).round() as u32
    }
}

/// A call that failed, and where the signature stands.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    pub error: &'a UploadError,
    /// The retries (waits before sending it again) the call has had so far.
    pub retries: u32,
    /// The signature generation the call was sent with: 0 first, 1 after the one refresh.
    pub sent_with: u32,
    /// The signature generation now.
    pub current: u32,
    /// A refreshed signature is being asked for already.
    pub refreshing: bool,
}

/// What to do with a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it again now: its signature was refused, and a refreshed one came since it was sent.
    Resend,
    /// Send it again after waiting this many milliseconds: its next retry.
    Wait(u32),
    /// Its signature was refused: hold it until the refreshed signature comes, and ask for one unless
    /// a refresh is under way already.
    Refresh { ask: bool },
    /// The upload fails with the call's error.
    Fail,
}

/// The retry decision: `limit` is the options' retries per call, `random` in [0, 1) the jitter.
pub fn decide(failure: &Failure, limit: u32, backoff: &Backoff, random: f64) -> Decision {
    if failure.error.code() == Some(SIGNATURE_REFUSED) {
        // A refusal of the refreshed signature is final.
        return if failure.current > failure.sent_with {
            Decision::Resend
        } else if failure.current >= 1 {
            Decision::Fail
        } else {
            Decision::Refresh { ask: !failure.refreshing }
        };
    }
    if failure.error.is_transient() && failure.retries < limit {
        return Decision::Wait(backoff.delay_ms(failure.retries + 1, random));
    }
    Decision::Fail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, Step};

    #[test]
    fn doubles_then_caps_with_jitter_in_the_upper_half() {
        let b = Backoff { base_ms: 500, max_ms: 4_000 };
        assert_eq!(b.delay_ms(1, 0.0), 250);
        assert_eq!(b.delay_ms(1, 1.0), 500);
        assert_eq!(b.delay_ms(2, 0.0), 500);
        assert_eq!(b.delay_ms(3, 0.5), 1_500);
        assert_eq!(b.delay_ms(4, 1.0), 4_000);
        assert_eq!(b.delay_ms(10, 1.0), 4_000);
        assert_eq!(b.delay_ms(200, 0.0), 2_000, "huge attempt counts do not overflow");
    }

    #[test]
    fn zero_base_means_no_wait() {
        assert_eq!(Backoff { base_ms: 0, max_ms: 1_000 }.delay_ms(5, 0.7), 0);
    }

    fn server(code: i64, can_retry: bool) -> UploadError {
        UploadError::new(Step::Part, ErrorKind::Server { code, message: String::new(), can_retry })
    }

    /// The decision for `error` on a call with `retries` so far, sent with signature generation
    /// `sent_with` while the current one is `current`; 3 retries allowed, backoff 500 ms to 4 s.
    fn decision(error: &UploadError, retries: u32, (sent_with, current): (u32, u32), refreshing: bool, random: f64) -> Decision {
        let failure = Failure { error, retries, sent_with, current, refreshing };
        decide(&failure, 3, &Backoff { base_ms: 500, max_ms: 4_000 }, random)
    }

    #[test]
    fn transient_failures_wait_longer_each_retry_until_the_limit() {
        let network = UploadError::new(Step::Init, ErrorKind::Network("reset".into()));
        assert_eq!(decision(&network, 0, (0, 0), false, 0.0), Decision::Wait(250));
        assert_eq!(decision(&network, 1, (0, 0), false, 1.0), Decision::Wait(1_000));
        assert_eq!(decision(&network, 2, (0, 0), false, 0.5), Decision::Wait(1_500));
        assert_eq!(decision(&network, 3, (0, 0), false, 0.0), Decision::Fail, "the fourth failure is the last");
        let busy = UploadError::new(Step::Part, ErrorKind::Http { status: 503, body: String::new() });
        assert_eq!(decision(&busy, 0, (1, 1), false, 1.0), Decision::Wait(500));
        assert_eq!(decision(&server(-10004, true), 0, (0, 0), true, 0.0), Decision::Wait(250));
    }

    #[test]
    fn what_is_not_transient_fails_at_once() {
        assert_eq!(decision(&server(-10003, false), 0, (0, 0), false, 0.0), Decision::Fail);
        assert_eq!(decision(&server(6000, true), 0, (0, 0), false, 0.0), Decision::Fail);
        let malformed = ErrorKind::Malformed { reason: "not JSON".into(), body: "<html>".into() };
        assert_eq!(decision(&UploadError::new(Step::Finish, malformed), 0, (0, 0), false, 0.0), Decision::Fail);
        let unreadable = UploadError::new(Step::Part, ErrorKind::Read("gone".into()));
        assert_eq!(decision(&unreadable, 0, (0, 0), false, 0.0), Decision::Fail);
    }

    #[test]
    fn a_refused_signature_is_refreshed_once_and_shared() {
        let refused = server(SIGNATURE_REFUSED, false);
        assert_eq!(decision(&refused, 0, (0, 0), false, 0.0), Decision::Refresh { ask: true });
        assert_eq!(decision(&refused, 0, (0, 0), true, 0.0), Decision::Refresh { ask: false }, "one refresh under way serves all");
        assert_eq!(decision(&refused, 0, (0, 1), false, 0.0), Decision::Resend, "sent before the refresh came");
        assert_eq!(decision(&refused, 0, (1, 1), false, 0.0), Decision::Fail, "the refreshed signature refused too");
        let retryable = server(SIGNATURE_REFUSED, true);
        assert_eq!(decision(&retryable, 5, (0, 0), false, 0.0), Decision::Refresh { ask: true }, "not a retry: no limit, no wait");
    }
}
