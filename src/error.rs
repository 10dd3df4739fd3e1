//! The upload's errors: [`UploadError`], one type for the whole upload, says which step failed, what
//! kind of failure it was and what came back (the browser layer turns it into a JS `UploadError` or
//! an `AbortError` at the edge); [`EnvError`] says why one operation the upload asked of its platform
//! did not complete.

use std::fmt;

use crate::signature::Problem;
use crate::text::{cat, int};

/// The step of the upload a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Hash,
    Signature,
    Init,
    Part,
    Finish,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Hash => "hash",
            Step::Signature => "signature",
            Step::Init => "init",
            Step::Part => "part",
            Step::Finish => "finish",
        }
    }

    /// The API action a step calls, if it calls one.
    pub fn action(self) -> Option<&'static str> {
        match self {
            Step::Init => Some("InitUploadEx"),
            Step::Part => Some("UploadPartEx"),
            Step::Finish => Some("FinishUploadEx"),
            Step::Hash | Step::Signature => None,
        }
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    /// The caller's `AbortSignal` fired.
    Aborted,
    /// The file is empty: the protocol needs `fileSize >= 1`.
    EmptyFile,
    /// The file could not be read (moved, deleted, permission revoked).
    Read(String),
    /// `getSignature` threw, rejected, or returned something that is not a non-empty string.
    Signature(String),
    /// The signature `getSignature` gave cannot serve this upload (checked before its first use).
    BadSignature(Problem),
    /// The request never got an HTTP answer (connection refused or dropped, timeout).
    Network(String),
    /// An HTTP status other than 200: the request did not reach the API.
    Http { status: u16, body: String },
    /// HTTP 200, but not an answer of the protocol (not JSON, or a field missing or mistyped).
    Malformed { reason: String, body: String },
    /// The API answered with an error code.
    Server { code: i64, message: String, can_retry: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct UploadError {
    pub step: Step,
    pub kind: ErrorKind,
    /// How many times the failing call was sent (0 where no call was involved).
    pub attempts: u32,
    /// What the upload had been told before, where the failure contradicts it (shown in brackets).
    pub note: Option<String>,
    /// The API action the failing call named, where its flavour names another than the step's UGC
    /// one ([`Step::action`]): a key flavour's (set by the machine, so the message is worded once).
    #[cfg(feature = "keyed")]
    pub action: Option<&'static str>,
}

impl UploadError {
    pub fn new(step: Step, kind: ErrorKind) -> Self {
        UploadError {
            step,
            kind,
            attempts: 0,
            note: None,
            #[cfg(feature = "keyed")]
            action: None,
        }
    }

    pub fn with_note(mut self, note: String) -> Self {
        self.note = Some(note);
        self
    }

    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// The server's code, where the server answered with one.
    pub fn code(&self) -> Option<i64> {
        match &self.kind {
            ErrorKind::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether trying the whole upload again later may succeed.
    pub fn can_retry(&self) -> bool {
        match &self.kind {
            ErrorKind::Server { can_retry, .. } => *can_retry,
            ErrorKind::Http { status, .. } => !denied(*status),
            ErrorKind::Network(_) | ErrorKind::Read(_) => true,
            ErrorKind::Aborted
            | ErrorKind::EmptyFile
            | ErrorKind::Signature(_)
            | ErrorKind::BadSignature(_)
            | ErrorKind::Malformed { .. } => false,
        }
    }

    pub fn is_abort(&self) -> bool {
        self.kind == ErrorKind::Aborted
    }

    /// Whether the same call may be sent again (with backoff), per the protocol's client rules: no
    /// answer, an HTTP status other than 200 but a refused authorisation, or a code below 0 with
    /// `canRetry` 1.
    pub fn is_transient(&self) -> bool {
        match &self.kind {
            ErrorKind::Network(_) => true,
            ErrorKind::Http { status, .. } => !denied(*status),
            ErrorKind::Server { code, can_retry, .. } => *code < 0 && *can_retry,
            _ => false,
        }
    }
}

/// HTTP 401 and 403: the request's authorisation is refused (by the server or a proxy before it),
/// which neither waiting nor sending it again changes.
fn denied(status: u16) -> bool {
    matches!(status, 401 | 403)
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl UploadError {
    /// The message (what `to_string` gives): what failed, where, what came back, then the note in
    /// brackets. Concatenated, not formatted (crate::text).
    pub fn message(&self) -> String {
        #[cfg(feature = "keyed")]
        let action = self.action.or(self.step.action());
        #[cfg(not(feature = "keyed"))]
        let action = self.step.action();
        let step = self.step.as_str();
        let what = match action {
            Some(action) => cat(&[action, " (", step, " step)"]),
            None => cat(&[step, " step"]),
        };
        let what = what.as_str();
        let tries = if self.attempts > 1 { cat(&[" after ", &int(self.attempts.into()), " attempts"]) } else { String::new() };
        let tries = tries.as_str();
        let mut m = match &self.kind {
            ErrorKind::Aborted => cat(&["upload aborted during the ", what]),
            ErrorKind::EmptyFile => "the file is empty (0 bytes): there is nothing to upload".into(),
            ErrorKind::Read(why) => cat(&["could not read the file: ", why]),
            ErrorKind::Signature(why) => cat(&["getSignature failed: ", why]),
            ErrorKind::BadSignature(problem) => problem.message(),
            ErrorKind::Network(why) => cat(&[what, " failed", tries, ": network error: ", why]),
            ErrorKind::Http { status, body } => {
                let mut m = cat(&[what, " failed", tries, ": HTTP ", &int((*status).into()), " instead of 200"]);
                if !body.is_empty() {
                    m.extend(["; the body began: \"", body, "\""]);
                }
                m
            }
            ErrorKind::Malformed { reason, body } => {
                cat(&[what, ": the server's answer is not a protocol answer (", reason, "); it began: \"", body, "\""])
            }
            ErrorKind::Server { code, message, .. } => {
                let mut m = cat(&[what, " was refused", tries, " with code ", &int(*code)]);
                if !message.is_empty() {
                    m.extend([": ", message]);
                }
                m
            }
        };
        if let Some(note) = &self.note {
            m.extend([" (", note, ")"]);
        }
        m
    }
}

impl std::error::Error for UploadError {}

/// Why an operation the upload asked of its platform (a signature, a request, a read, a wait) did not
/// complete.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvError {
    /// The upload was aborted: stop at once.
    Aborted,
    /// It failed; the text says how.
    Failed(String),
    /// The file could not be read (it changed on disk, or went away): sending it again will not help.
    Unreadable(String),
}

/// The first `max` characters of a body, for error messages.
pub(crate) fn snippet(body: &str, max: usize) -> String {
    let body = body.trim();
    // Cut where the character after the first `max` starts (a char-by-char collect weighed more).
    match body.char_indices().nth(max) {
        Some((cut, _)) => cat(&[body.get(..cut).unwrap_or(body), "…"]),
        None => body.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_failed_where_and_what_came_back() {
        let e = UploadError::new(Step::Part, ErrorKind::Http { status: 503, body: "<html>busy</html>".into() })
            .with_attempts(6);
        assert_eq!(
            e.to_string(),
            "UploadPartEx (part step) failed after 6 attempts: HTTP 503 instead of 200; the body began: \"<html>busy</html>\""
        );
        let e = UploadError::new(
            Step::Init,
            ErrorKind::Server { code: -10002, message: "signature expired".into(), can_retry: false },
        );
        assert_eq!(e.to_string(), "InitUploadEx (init step) was refused with code -10002: signature expired");
        assert_eq!(e.code(), Some(-10002));
        assert!(!e.can_retry());
        let e = e.with_note("after InitUploadEx had answered code 2".into());
        assert_eq!(
            e.to_string(),
            "InitUploadEx (init step) was refused with code -10002: signature expired (after InitUploadEx had answered code 2)"
        );
    }

    #[test]
    fn transient_classes_follow_the_protocol() {
        let server = |code, can_retry| {
            UploadError::new(Step::Part, ErrorKind::Server { code, message: String::new(), can_retry })
        };
        assert!(server(-10004, true).is_transient());
        assert!(!server(-10003, false).is_transient());
        assert!(!server(6000, true).is_transient(), "only code < 0 with canRetry 1 is retried");
        assert!(UploadError::new(Step::Init, ErrorKind::Network("reset".into())).is_transient());
        assert!(UploadError::new(Step::Init, ErrorKind::Http { status: 500, body: String::new() }).is_transient());
        for status in [401, 403] {
            let denied = UploadError::new(Step::Init, ErrorKind::Http { status, body: String::new() });
            assert!(!denied.is_transient() && !denied.can_retry(), "{status} is refused again, however long one waits");
        }
        let malformed = ErrorKind::Malformed { reason: "not JSON".into(), body: "<html>".into() };
        assert!(!UploadError::new(Step::Init, malformed).is_transient());
    }

    #[test]
    fn snippet_cuts_on_char_boundaries() {
        assert_eq!(snippet("  héllo wörld ", 4), "héll…");
        assert_eq!(snippet("short", 10), "short");
    }
}
