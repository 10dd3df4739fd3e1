//! What becomes of a failed call, decided here and only here ([`decide`]), per the protocol's client
//! rules: a transient failure is sent again after a backoff (exponential, with jitter, bounded, at
//! least what a `Retry-After` asks), up to the options' retry limit; a rate limit (code 4400) is
//! waited out without spending those retries; a refused signature is refreshed once, and calls
//! refused together share that one refresh; a damaged part is read again; a call that found no
//! session asks InitUploadEx again; anything else fails the upload, and [`resumable`] says whether a
//! later upload of the file can take up where it stopped.

use crate::error::{ErrorKind, Step, UploadError};

/// The code of a refused signature (UGC) or key (the key flavours).
pub const SIGNATURE_REFUSED: i64 = -10002;
/// The code of a part or finish call that found no upload session (never opened, or finished).
pub const NO_SESSION: i64 = -10005;
/// On a part: its body's MD5 is not its `dataMd5`. On FinishUploadEx: the assembled file's SHA-1 is
/// not `fileSha`.
pub const DAMAGED: i64 = -10006;
/// The platform's code for an exceeded quota: wait and try again (see the contract's rate limits).
pub const RATE_LIMITED: i64 = 4400;
/// How many times one call waits out a rate limit before it fails.
pub const MAX_PACES: u32 = 30;
/// The longest wait a `Retry-After` gets: a server that asks for more is tried again after this.
pub const MAX_RETRY_AFTER_MS: u32 = 60_000;

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

/// A call that failed, and what the decision needs to know of the upload around it.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    pub error: &'a UploadError,
    /// The retries (waits before sending it again) the call has had so far.
    pub retries: u32,
    /// The rate limits (code 4400) it has waited out so far; they spend no retry.
    pub paces: u32,
    /// The signature generation the call was sent with: 0 first, 1 after the one refresh.
    pub sent_with: u32,
    /// The signature generation now.
    pub current: u32,
    /// A refreshed signature is being asked for already.
    pub refreshing: bool,
    /// The flavour signs with the key: there is no signature to refresh.
    pub keyed: bool,
    /// The call is an UploadPartEx whose bytes may be read again (not read again for this failure).
    pub rereadable: bool,
    /// InitUploadEx was asked once more already, after a call found no session.
    pub asked_again: bool,
    /// InitUploadEx answered code 2 (the file is stored); FinishUploadEx is asked only for its proof.
    pub instant: bool,
    /// The answer's `Retry-After`, in milliseconds ([`retry_after_ms`]).
    pub retry_after_ms: Option<u32>,
}

/// What to do with a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it again now: its signature was refused, and a refreshed one came since it was sent.
    Resend,
    /// Send it again after waiting this many milliseconds: its next retry.
    Wait(u32),
    /// Send it again after waiting this many milliseconds, without spending a retry: a rate limit.
    Pace(u32),
    /// Its signature was refused: hold it until the refreshed signature comes, and ask for one unless
    /// a refresh is under way already.
    Refresh { ask: bool },
    /// The server found the part damaged: read it again, then decide again (the same bytes: a
    /// transient failure; other bytes: the file changed under the upload).
    Reread,
    /// The call found no session: drop every call under way and ask InitUploadEx again (once per
    /// upload: another upload may have finished the file, or the session was dropped).
    AskInitAgain,
    /// FinishUploadEx, asked only for its proof after InitUploadEx said the file is stored (code 2),
    /// could not be reached: the upload succeeds on that answer, without the proof.
    Stored,
    /// The upload fails with the call's error; `resumable`: see [`resumable`].
    Fail { resumable: bool },
}

/// The retry decision: `limit` is the options' retries per call, `random` in [0, 1) the jitter.
pub fn decide(failure: &Failure, limit: u32, backoff: &Backoff, random: f64) -> Decision {
    let error = failure.error;
    let fail = Decision::Fail { resumable: resumable(error) };
    match error.code() {
        // A key the server refuses is refused for good; a refusal of the refreshed signature too.
        Some(SIGNATURE_REFUSED) if failure.keyed => return fail,
        Some(SIGNATURE_REFUSED) if failure.current > failure.sent_with => return Decision::Resend,
        Some(SIGNATURE_REFUSED) if failure.current >= 1 => return fail,
        Some(SIGNATURE_REFUSED) => return Decision::Refresh { ask: !failure.refreshing },
        Some(NO_SESSION) if !error.can_retry() && matches!(error.step, Step::Part | Step::Finish) && !failure.asked_again => {
            return Decision::AskInitAgain
        }
        Some(DAMAGED) if error.step == Step::Part && failure.rereadable => return Decision::Reread,
        _ => {}
    }
    // A rate limit is waited out on a count of its own; a fault spends one of the retries. Either
    // waits at least what a Retry-After asks (up to MAX_RETRY_AFTER_MS).
    let paced = error.code() == Some(RATE_LIMITED) && error.can_retry() && failure.paces < MAX_PACES;
    let transient = error.is_transient();
    if paced || (transient && failure.retries < limit) {
        let n = if paced { failure.paces } else { failure.retries };
        let ms = backoff.delay_ms(n + 1, random).max(failure.retry_after_ms.unwrap_or(0).min(MAX_RETRY_AFTER_MS));
        return if paced { Decision::Pace(ms) } else { Decision::Wait(ms) };
    }
    if failure.instant && error.step == Step::Finish && transient {
        return Decision::Stored;
    }
    fail
}

/// Whether a later upload of the file may take up where this one stopped (its pending upload is
/// kept): anything but a code the server gave with `canRetry` 0, other than a refused signature (a
/// new signature may work).
pub fn resumable(error: &UploadError) -> bool {
    match &error.kind {
        ErrorKind::Server { code, can_retry, .. } => *can_retry || *code == SIGNATURE_REFUSED,
        _ => true,
    }
}

/// Whether the server assembled bytes whose SHA-1 is not the `fileSha` sent: a hash remembered for
/// the file must not be trusted again.
pub fn hash_refused(error: &UploadError) -> bool {
    error.step == Step::Finish && error.code() == Some(DAMAGED)
}

/// A `Retry-After` header's delay in milliseconds: delay-seconds (a date is not read: the backoff
/// serves then).
pub fn retry_after_ms(value: &str) -> Option<u32> {
    // As i64, the one integer parsing the wasm carries.
    let seconds: i64 = value.trim().parse().ok().filter(|s| *s >= 0)?;
    Some(seconds.saturating_mul(1000).min(i64::from(u32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn server(step: Step, code: i64, can_retry: bool) -> UploadError {
        UploadError::new(step, ErrorKind::Server { code, message: String::new(), can_retry })
    }

    fn http(status: u16) -> UploadError {
        UploadError::new(Step::Part, ErrorKind::Http { status, body: String::new() })
    }

    /// A UGC part call that failed with nothing special around it: no retries yet, signature 0.
    fn failure(error: &UploadError) -> Failure<'_> {
        Failure {
            error,
            retries: 0,
            paces: 0,
            sent_with: 0,
            current: 0,
            refreshing: false,
            keyed: false,
            rereadable: false,
            asked_again: false,
            instant: false,
            retry_after_ms: None,
        }
    }

    /// The decision with 3 retries allowed, backoff 500 ms to 4 s, jitter `random`.
    fn decision(failure: Failure, random: f64) -> Decision {
        decide(&failure, 3, &Backoff { base_ms: 500, max_ms: 4_000 }, random)
    }

    #[test]
    fn every_outcome_of_a_failure() {
        let network = UploadError::new(Step::Init, ErrorKind::Network("reset".into()));
        let refused = server(Step::Part, SIGNATURE_REFUSED, false);
        let no_session = server(Step::Finish, NO_SESSION, false);
        let damaged = server(Step::Part, DAMAGED, true);
        let limited = server(Step::Init, RATE_LIMITED, true);
        let busy = http(503);
        let bad_sha = server(Step::Finish, DAMAGED, false);
        let too_many = http(429);
        let unauthorised = http(401);
        let forbidden = http(403);
        let retryable = server(Step::Part, -10004, true);
        let final_code = server(Step::Part, -10003, false);
        let positive = server(Step::Part, 6000, true);
        let no_session_at_init = server(Step::Init, NO_SESSION, false);
        let finish_unreachable = UploadError::new(Step::Finish, ErrorKind::Network("x".into()));
        let finish_refused = server(Step::Finish, -10003, false);
        let malformed = UploadError::new(Step::Finish, ErrorKind::Malformed { reason: "x".into(), body: String::new() });
        let unreadable = UploadError::new(Step::Part, ErrorKind::Read("gone".into()));
        let cases: Vec<(&str, Failure, Decision)> = vec![
            ("no answer: the first retry", failure(&network), Decision::Wait(250)),
            ("no answer: the second retry waits longer", Failure { retries: 1, ..failure(&network) }, Decision::Wait(500)),
            ("no answer, every retry spent", Failure { retries: 3, ..failure(&network) }, Decision::Fail { resumable: true }),
            ("HTTP 503", failure(&busy), Decision::Wait(250)),
            ("HTTP 503 asking for 10 s", Failure { retry_after_ms: Some(10_000), ..failure(&busy) }, Decision::Wait(10_000)),
            ("HTTP 429 asking for less than the backoff", Failure { retry_after_ms: Some(100), ..failure(&too_many) }, Decision::Wait(250)),
            ("HTTP 503 asking for an hour: capped", Failure { retry_after_ms: Some(3_600_000), ..failure(&busy) }, Decision::Wait(MAX_RETRY_AFTER_MS)),
            ("HTTP 503 asking, every retry spent", Failure { retries: 3, retry_after_ms: Some(1_000), ..failure(&busy) }, Decision::Fail { resumable: true }),
            ("HTTP 401", failure(&unauthorised), Decision::Fail { resumable: true }),
            ("HTTP 403", Failure { retry_after_ms: Some(1_000), ..failure(&forbidden) }, Decision::Fail { resumable: true }),
            ("a retryable code", failure(&retryable), Decision::Wait(250)),
            ("a code not to retry", failure(&final_code), Decision::Fail { resumable: false }),
            ("a positive code with canRetry", failure(&positive), Decision::Fail { resumable: true }),
            ("signature refused", failure(&refused), Decision::Refresh { ask: true }),
            ("signature refused, a refresh under way", Failure { refreshing: true, ..failure(&refused) }, Decision::Refresh { ask: false }),
            ("signature refused, sent before the refresh came", Failure { current: 1, ..failure(&refused) }, Decision::Resend),
            ("the refreshed signature refused", Failure { sent_with: 1, current: 1, ..failure(&refused) }, Decision::Fail { resumable: true }),
            ("the key refused", Failure { keyed: true, ..failure(&refused) }, Decision::Fail { resumable: true }),
            ("no session", failure(&no_session), Decision::AskInitAgain),
            ("no session, asked again already", Failure { asked_again: true, ..failure(&no_session) }, Decision::Fail { resumable: false }),
            ("no session at init", failure(&no_session_at_init), Decision::Fail { resumable: false }),
            ("a damaged part", Failure { rereadable: true, ..failure(&damaged) }, Decision::Reread),
            ("a damaged part read again alike", failure(&damaged), Decision::Wait(250)),
            ("a damaged part read again, every retry spent", Failure { retries: 3, ..failure(&damaged) }, Decision::Fail { resumable: true }),
            ("the assembled file's SHA-1 refused", failure(&bad_sha), Decision::Fail { resumable: false }),
            ("rate limited", Failure { retries: 3, ..failure(&limited) }, Decision::Pace(250)),
            ("rate limited again", Failure { paces: 2, ..failure(&limited) }, Decision::Pace(1_000)),
            ("rate limited with a Retry-After", Failure { retry_after_ms: Some(5_000), ..failure(&limited) }, Decision::Pace(5_000)),
            ("rate limited too often", Failure { paces: MAX_PACES, ..failure(&limited) }, Decision::Fail { resumable: true }),
            ("finish unreachable after code 2", Failure { retries: 3, instant: true, ..failure(&finish_unreachable) }, Decision::Stored),
            ("finish refused after code 2", Failure { instant: true, ..failure(&finish_refused) }, Decision::Fail { resumable: false }),
            ("not an answer", failure(&malformed), Decision::Fail { resumable: true }),
            ("the file unreadable", failure(&unreadable), Decision::Fail { resumable: true }),
        ];
        for (what, failure, expected) in cases {
            assert_eq!(decision(failure, 0.0), expected, "{what}");
        }
        // A retry's wait grows and caps with the backoff, jitter included.
        assert_eq!(decision(Failure { retries: 2, ..failure(&network) }, 0.5), Decision::Wait(1_500));
        assert_eq!(decision(Failure { retries: 2, ..failure(&network) }, 1.0), Decision::Wait(2_000));
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(retry_after_ms("120"), Some(120_000));
        assert_eq!(retry_after_ms(" 0 "), Some(0));
        assert_eq!(retry_after_ms("99999999999"), Some(u32::MAX), "as long as it can be (then capped by decide)");
        assert_eq!(retry_after_ms("Wed, 21 Oct 2026 07:28:00 GMT"), None, "a date: the backoff serves");
        assert_eq!(retry_after_ms("-5"), None);
    }

    #[test]
    fn what_the_edge_is_told_of_a_failure() {
        assert!(!resumable(&server(Step::Init, -10003, false)), "refused for good");
        assert!(resumable(&server(Step::Init, SIGNATURE_REFUSED, false)), "a new signature may work");
        assert!(resumable(&http(401)) && resumable(&UploadError::new(Step::Part, ErrorKind::Aborted)));
        assert!(hash_refused(&server(Step::Finish, DAMAGED, false)));
        assert!(!hash_refused(&server(Step::Part, DAMAGED, true)), "a part's MD5 says nothing of the file's hash");
    }
}
