//! The Finish calls' commit: check every part and the SHA-1, record the file, move it into `vod/`.
//!
//! The file's row (with the data file it is still to be moved from) and the session's removal
//! commit in one transaction before the move; until the move is done (a crash, `vod/` full or on
//! another filesystem) the file's calls answer `-10004` and retry it, and a start retries it.

use super::session::Session;
use super::registry::no_session;
use super::{blocking, lock, read_err, write_err, FinishedFile, Store, Who};
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
    /// A Finish call of `who`: checks that every part of the session `who` sees is held and the
    /// SHA-1 matches, then records the file and moves the data into place. A finished file
    /// (anyone's) is answered again. `name`: the file's name and type as a UGC signature gives them
    /// (else the session's).
    pub async fn finish(self: &Arc<Self>, sha: &str, who: Who<'_>, name: Option<(&str, &str)>) -> Result<FinishedFile, ApiError> {
        let this = Arc::clone(self);
        let sha_owned = sha.to_string();
        if let Some(f) = blocking(move || this.servable(&sha_owned)).await? {
            if let Some(own) = self.find(sha, who) {
                // Someone else finished it first: this session is not needed any more.
                let mut gate = own.gate.write().await;
                let (this, s) = (Arc::clone(self), Arc::clone(&own));
                let dropped = blocking(move || this.drop_session(&s).map_err(|e| write_err("dropping the session", e))).await;
                *gate = dropped.is_ok();
            }
            return Ok(f);
        }
        let session = self.find_indexed(sha, who)?;
        self.finish_session(session, name.map(|(n, t)| (n.to_string(), t.to_string()))).await
    }

    /// Finishes `session` (see [`Store::finish`]); a session finished meanwhile answers its file.
    pub(super) async fn finish_session(self: &Arc<Self>, session: Arc<Session>, name: Option<(String, String)>) -> Result<FinishedFile, ApiError> {
        let mut gate = session.gate.write().await;
        if *gate {
            drop(gate);
            let this = Arc::clone(self);
            let sha = session.sha.clone();
            return blocking(move || this.servable(&sha)).await?.ok_or_else(|| no_session(&session.sha));
        }
        let this = Arc::clone(self);
        let s = Arc::clone(&session);
        let outcome = blocking(move || this.finish_blocking(&s, name)).await;
        // Closed once it is no longer open (finished or dropped).
        *gate = !self.is_open(&session);
        outcome
    }

    fn finish_blocking(&self, s: &Session, name: Option<(String, String)>) -> Result<FinishedFile, ApiError> {
        let file = self.data_file(s)?;
        let len = file.metadata().map_err(|e| read_err("reading the data file", e))?.len();
        if len < s.file_size {
            // Cut short behind the server's back: the parts past its end are gone.
            self.db.forget_parts_past(&s.name, len).map_err(|e| write_err("forgetting lost parts", e))?;
            lock(&s.parts).held.retain(|offset, (size, _)| offset + u64::from(*size) <= len);
            *lock(&s.running) = super::session::Running { hasher: None, frontier: 0 };
            file.set_len(s.file_size).map_err(|e| write_err("repairing the data file", e))?;
        }
        if s.contiguous {
            let end = s.contiguous_end();
            if end < s.file_size {
                return Err(ApiError::Param(format!("bytes {end} to {} are missing", s.file_size)));
            }
        } else {
            let held = lock(&s.parts).held.len() as u64;
            let total = s.part_count();
            if held < total {
                return Err(ApiError::Param(format!(
                    "{} of {total} parts are missing ({held} held); upload them before finishing",
                    total - held
                )));
            }
        }
        let mut meta = s.meta.clone();
        if let Some((file_name, file_type)) = name {
            (meta.file_name, meta.file_type) = (file_name, file_type);
        }
        if meta.file_type.is_empty() {
            // A session opened before metadata was kept, by a UGC signature: its signature names it.
            return Err(ApiError::Param("the upload session does not know the file's type: finish it with FinishUploadEx".into()));
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
        let f = FinishedFile {
            sha: s.sha.clone(),
            file_id: String::new(),
            file_name: meta.file_name.clone(),
            file_type: meta.file_type.clone(),
            size: s.file_size,
            meta,
        };
        let f = self
            .db
            .record_finished(f, &s.name, |bump| file_id_candidate(&s.sha, bump), |tx, f| {
                self.record_finish_events(tx, f, crate::sign::now_unix())
            })
            .map_err(|e| write_err("recording the file", e))?;
        self.wake_delivery();
        // From here the file is finished; its move is completed now, or at its next call or start.
        self.files.close(&s.name);
        self.forget(s);
        self.layout.place(&s.name, &f).map_err(|e| write_err("moving the finished file into place failed; retry", e))?;
        self.db.moved(&f.file_id).map_err(|e| write_err("recording the move", e))?;
        Ok(f)
    }

    /// The finished file for `sha` if it can be served: a pending move is completed first (while
    /// it fails: `-10004`, retry); a file missing or cut short on disk counts as not finished, so
    /// that it is uploaded again.
    pub(super) fn servable(&self, sha: &str) -> Result<Option<FinishedFile>, ApiError> {
        let Some((f, moved_from)) = self.db.finished(sha).map_err(|e| read_err("reading the database", e))? else {
            return Ok(None);
        };
        if let Some(from) = moved_from {
            match self.layout.place(&from, &f) {
                Ok(()) => self.db.moved(&f.file_id).map_err(|e| write_err("recording the move", e))?,
                Err(e) if self.layout.upload_path(&from).exists() => {
                    return Err(write_err("moving the finished file into place failed; retry", e))
                }
                Err(_) => {
                    self.db.moved(&f.file_id).map_err(|e| write_err("recording the move", e))?;
                    return Ok(None);
                }
            }
        }
        Ok(self.layout.is_placed(&f).then_some(f))
    }
}
