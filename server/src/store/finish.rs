//! FinishUploadEx's commit: check every part and the SHA-1, record the file, move it into `vod/`.
//!
//! The file's row (with the data file it is still to be moved from) and the session's removal
//! commit in one transaction before the move; until the move is done (a crash, `vod/` full or on
//! another filesystem) the file's calls answer `-10004` and retry it, and a start retries it.

use super::session::Session;
use super::{blocking, gone, lock, read_err, write_err, FinishedFile, Store};
use crate::error::ApiError;
use std::sync::Arc;

/// A 19-digit fileId derived from the SHA-1 (stable, and unique in practice; collisions step on).
pub(super) fn file_id_candidate(sha: &str, bump: u64) -> String {
    let bytes = hex::decode(sha).unwrap_or_default();
    let mut head = [0u8; 8];
    for (i, b) in bytes.iter().take(8).enumerate() {
        head[i] = *b;
    }
    let n = u64::from_be_bytes(head) % 9_000_000_000_000_000_000;
    (1_000_000_000_000_000_000 + (n + bump % 9_000_000_000_000_000_000) % 9_000_000_000_000_000_000).to_string()
}

impl Store {
    /// FinishUploadEx for `uid`: checks that every part is held and the SHA-1 matches, then records
    /// the file and moves the data into place. A finished file (anyone's) is answered again.
    pub async fn finish(self: &Arc<Self>, sha: &str, uid: &str, file_name: &str, file_type: &str) -> Result<FinishedFile, ApiError> {
        let this = Arc::clone(self);
        let sha_owned = sha.to_string();
        if let Some(f) = blocking(move || this.servable(&sha_owned)).await? {
            if let Some(own) = self.session(sha, uid) {
                // Someone else finished it first: this session is not needed any more.
                let mut gate = own.gate.write().await;
                let (this, s) = (Arc::clone(self), Arc::clone(&own));
                let dropped = blocking(move || this.drop_session(&s).map_err(|e| write_err("dropping the session", e))).await;
                *gate = dropped.is_ok();
            }
            return Ok(f);
        }
        let session = self.session(sha, uid).ok_or_else(|| gone(sha))?;
        let mut gate = session.gate.write().await;
        if *gate {
            drop(gate);
            let this = Arc::clone(self);
            let sha = sha.to_string();
            return blocking(move || this.servable(&sha)).await?.ok_or_else(|| gone(&session.sha));
        }
        let this = Arc::clone(self);
        let s = Arc::clone(&session);
        let (name, ft) = (file_name.to_string(), file_type.to_string());
        let outcome = blocking(move || this.finish_blocking(&s, name, ft)).await;
        // Closed once it is no longer open (finished or dropped).
        *gate = self.session(sha, uid).is_none_or(|open| open.name != session.name);
        outcome
    }

    fn finish_blocking(&self, s: &Session, name: String, ft: String) -> Result<FinishedFile, ApiError> {
        let file = self.data_file(s)?;
        let len = file.metadata().map_err(|e| read_err("reading the data file", e))?.len();
        if len < s.file_size {
            // Cut short behind the server's back: the parts past its end are gone.
            self.db.forget_parts_past(&s.name, len).map_err(|e| write_err("forgetting lost parts", e))?;
            lock(&s.parts).held.retain(|offset, (size, _)| offset + u64::from(*size) <= len);
            *lock(&s.running) = super::session::Running { hasher: None, frontier: 0 };
            file.set_len(s.file_size).map_err(|e| write_err("repairing the data file", e))?;
        }
        let held = lock(&s.parts).held.len() as u64;
        let total = s.part_count();
        if held < total {
            return Err(ApiError::Param(format!(
                "{} of {total} parts are missing ({held} held); upload them before FinishUploadEx",
                total - held
            )));
        }
        let actual = s.whole_sha1(&file).map_err(|e| read_err("reading the data file", e))?;
        if !actual.eq_ignore_ascii_case(&s.sha) {
            self.drop_session(s).map_err(|e| write_err("dropping the session", e))?;
            return Err(ApiError::ShaMismatch(format!(
                "the assembled file's SHA-1 is {actual}, not {}; the session is dropped, upload again",
                s.sha
            )));
        }
        drop(file);
        let f = FinishedFile { sha: s.sha.clone(), file_id: String::new(), file_name: name, file_type: ft, size: s.file_size };
        let f = self
            .db
            .record_finished(f, &s.name, |bump| file_id_candidate(&s.sha, bump))
            .map_err(|e| write_err("recording the file", e))?;
        // From here the file is finished; its move is completed now, or at its next call or start.
        self.files.close(&s.name);
        {
            let mut sessions = lock(&self.sessions);
            let key = (s.sha.clone(), s.uid.clone());
            if sessions.get(&key).is_some_and(|open| open.name == s.name) {
                sessions.remove(&key);
            }
        }
        self.layout.place(&s.name, &f).map_err(|e| write_err("moving the finished file into place failed; retry", e))?;
        self.db.moved(&f.file_id).map_err(|e| write_err("recording the move", e))?;
        Ok(f)
    }
}
