//! The session registry: the open sessions by SHA-1 and uid, and who sees which
//! (`docs/protocol.md`, "Sessions").

use super::session::Session;
use super::{lock, Store, Who, KEY_HOLDER};
use crate::error::ApiError;
use std::sync::Arc;

/// `-10005`: no session for `sha`.
pub(super) fn no_session(sha: &str) -> ApiError {
    ApiError::NoSession(format!("no upload session for fileSha {sha} (never opened, expired, or already finished): call an Init action"))
}

/// `-10003`: `sha` has a session of the other kind, which this call cannot continue (`multipart`:
/// the open one is a MultipartUploadVodFile session).
pub(super) fn other_kind_open(sha: &str, multipart: bool) -> ApiError {
    let (open, calls) = match multipart {
        true => ("a MultipartUploadVodFile upload", "the Init, UploadPart and Finish calls cannot continue it"),
        false => ("an upload opened by InitUpload or InitUploadEx", "MultipartUploadVodFile cannot continue it"),
    };
    ApiError::Param(format!("{open} of fileSha {sha} is open: {calls} (one kind of upload per file at a time)"))
}

impl Store {
    /// The open session of `uid` for `sha`, if any.
    pub fn session(&self, sha: &str, uid: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).get(&(sha.to_string(), uid.to_string())).cloned()
    }

    /// The session `who` sees for `sha`: a uid's own, else a key holder's; for a key holder the
    /// oldest of any uid.
    pub fn find(&self, sha: &str, who: Who<'_>) -> Option<Arc<Session>> {
        match who {
            Who::Uid(uid) => self.session(sha, uid).or_else(|| self.session(sha, KEY_HOLDER)),
            Who::KeyHolder => self.sessions_of(sha).into_iter().next(),
        }
    }

    /// The session an UploadPart or Finish call of `who` continues: `-10005` if there is none,
    /// `-10003` if it is a MultipartUploadVodFile session.
    pub fn find_indexed(&self, sha: &str, who: Who<'_>) -> Result<Arc<Session>, ApiError> {
        let s = self.find(sha, who).ok_or_else(|| no_session(sha))?;
        if s.contiguous {
            return Err(other_kind_open(sha, true));
        }
        Ok(s)
    }

    /// Whether `s` is still open (not finished, dropped or replaced).
    pub(super) fn is_open(&self, s: &Session) -> bool {
        lock(&self.sessions).get(&(s.sha.clone(), s.uid.clone())).is_some_and(|open| open.name == s.name)
    }

    /// Every open session for `sha`, whatever its uid, the oldest first.
    pub fn sessions_of(&self, sha: &str) -> Vec<Arc<Session>> {
        let mut sessions: Vec<Arc<Session>> = lock(&self.sessions).values().filter(|s| s.sha == sha).cloned().collect();
        sessions.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
        sessions
    }

    /// How many sessions are open.
    pub fn open_sessions(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// Takes `s` out of the open sessions (if it is still there).
    pub(super) fn forget(&self, s: &Session) {
        let key = (s.sha.clone(), s.uid.clone());
        let mut sessions = lock(&self.sessions);
        if sessions.get(&key).is_some_and(|open| open.name == s.name) {
            sessions.remove(&key);
        }
    }
}
