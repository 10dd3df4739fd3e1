//! The session registry: the open sessions by SHA-1 and uid, and who sees which
//! (`docs/protocol.md`, "Sessions").

use super::session::{other_kind_open, Session};
use super::{lock, Store, Who, KEY_HOLDER};
use crate::error::ApiError;
use std::sync::Arc;

/// `-10005`: no session for `sha`.
pub(super) fn no_session(sha: &str) -> ApiError {
    ApiError::NoSession(format!("no upload session for fileSha {sha} (never opened, expired, or already finished): call an Init action"))
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
