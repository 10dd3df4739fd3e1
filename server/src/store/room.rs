//! Who may hold how many sessions, and how many part bodies a session receives at once.
//!
//! One signed-in user cannot lock everyone out: an app user (a UGC signature's uid) holds at most
//! `per_uid` sessions, a SecretId at most `per_key` of the sessions key holders open, and all of
//! them at most `max_sessions`. At any of these caps, a session with nothing acknowledged (no part
//! held, none being received or written) gives way before the call is refused: the owner's own
//! first, the oldest first. Its client learns it at its next part (`-10005`) and opens it again.

use super::session::Session;
use super::{lock, write_err, Store, KEY_HOLDER};
use crate::error::ApiError;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Store {
    /// Makes room for one more session of `uid` (opened with `secret_id`), letting an empty session
    /// give way if a cap is reached; `-10004` (retry later) if none can.
    pub(super) fn make_room(&self, uid: &str, secret_id: &str) -> Result<(), ApiError> {
        let owns = |s: &Session| match uid {
            KEY_HOLDER => s.uid == KEY_HOLDER && s.meta.secret_id == secret_id,
            _ => s.uid == uid,
        };
        let (victim, refusal) = {
            let sessions = lock(&self.sessions);
            let (cap, whose) = match uid {
                KEY_HOLDER => (self.limits.per_key, format!("SecretId {secret_id}")),
                _ => (self.limits.per_uid, "this user".to_string()),
            };
            let mine: Vec<&Arc<Session>> = sessions.values().filter(|s| owns(s)).collect();
            if mine.len() >= cap {
                let refusal = format!("{whose} holds {} upload sessions, the most one may; finish or abandon some, or retry later", mine.len());
                (oldest_empty(mine.into_iter()), refusal)
            } else if sessions.len() >= self.limits.max_sessions {
                let refusal = format!("{} upload sessions are open, the most this server keeps; retry later", sessions.len());
                (oldest_empty(sessions.values()), refusal)
            } else {
                return Ok(());
            }
        };
        let Some(victim) = victim else { return Err(ApiError::StorageWrite(refusal)) };
        // Not while a part or a finish holds it.
        let Ok(mut gate) = victim.gate.try_write() else { return Err(ApiError::StorageWrite(refusal)) };
        if *gate || !victim.is_empty() {
            return Err(ApiError::StorageWrite(refusal));
        }
        self.drop_session(&victim).map_err(|e| write_err("dropping an empty session", e))?;
        *gate = true;
        eprintln!("vod-server: an upload session of fileSha {} with nothing acknowledged gave way to a new one", victim.sha);
        Ok(())
    }

    /// Reserves the receiving of the part at `offset` of `session`, before its body is read: `-10004`
    /// (retry) if that part is being received already, or the session receives as many as it may.
    pub fn receive(&self, session: &Arc<Session>, offset: u64) -> Result<Receiving, ApiError> {
        let mut parts = lock(&session.parts);
        if parts.receiving.contains(&offset) {
            return Err(ApiError::StorageWrite(format!("the part at offset {offset} is being received on another connection; retry")));
        }
        if parts.receiving.len() >= self.limits.bodies_in_flight {
            return Err(ApiError::StorageWrite(format!(
                "{} parts of this upload are being received already, the most at once; retry",
                parts.receiving.len()
            )));
        }
        parts.receiving.insert(offset);
        Ok(Receiving { session: Arc::clone(session), offset })
    }
}

/// The session among `sessions` that has nothing acknowledged and was touched longest ago.
fn oldest_empty<'a>(sessions: impl Iterator<Item = &'a Arc<Session>>) -> Option<Arc<Session>> {
    sessions.filter(|s| s.is_empty()).min_by_key(|s| s.touched.load(Ordering::Relaxed)).cloned()
}

impl Session {
    /// Nothing acknowledged: no part held, none being received or written.
    fn is_empty(&self) -> bool {
        let parts = lock(&self.parts);
        parts.held.is_empty() && parts.receiving.is_empty() && parts.in_flight.is_empty()
    }
}

/// A part body being received; the reservation ends when it is dropped.
pub struct Receiving {
    session: Arc<Session>,
    offset: u64,
}

impl Drop for Receiving {
    fn drop(&mut self) {
        lock(&self.session.parts).receiving.remove(&self.offset);
    }
}

