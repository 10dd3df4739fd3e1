//! FinishUploadEx's commit: check every part and the SHA-1, record the file, move it into `vod/`.
//!
//! The file's row (with the data file it is still to be moved from) and the session's removal
//! commit in one transaction before the rename; a crash after the commit leaves a move that
//! [`super::layout::recover`] completes.

use super::session::Session;
use super::{blocking, lock, read_err, write_err, FinishedFile, Store};
use crate::error::ApiError;
use std::fs;
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
    /// FinishUploadEx: checks that every part is held and the SHA-1 matches, then records the file
    /// and moves the data into place. Finishing a finished file answers it again.
    pub async fn finish(self: &Arc<Self>, sha: &str, file_name: &str, file_type: &str) -> Result<FinishedFile, ApiError> {
        let Some(session) = self.session(sha) else {
            return match self.finished(sha).await? {
                Some(f) => Ok(f),
                None => Err(ApiError::NoSession(format!("no upload session for fileSha {sha}: call InitUploadEx first"))),
            };
        };
        let mut gate = session.gate.write().await;
        if *gate {
            drop(gate);
            return match self.finished(sha).await? {
                Some(f) => Ok(f),
                None => Err(ApiError::NoSession(format!("no upload session for fileSha {sha}"))),
            };
        }
        let held = lock(&session.parts).held.len() as u64;
        let total = session.part_count();
        if held < total {
            return Err(ApiError::Param(format!(
                "{} of {total} parts are missing ({held} held); upload them before FinishUploadEx",
                total - held
            )));
        }
        let this = Arc::clone(self);
        let s = Arc::clone(&session);
        let (name, ft) = (file_name.to_string(), file_type.to_string());
        let outcome = blocking(move || {
            let actual = s.whole_sha1().map_err(|e| read_err("reading the data file", e))?;
            if !actual.eq_ignore_ascii_case(&s.sha) {
                this.drop_session(&s).map_err(|e| write_err("dropping the session", e))?;
                return Ok(Err(ApiError::ShaMismatch(format!(
                    "the assembled file's SHA-1 is {actual}, not {}; the session is dropped, upload again",
                    s.sha
                ))));
            }
            this.commit_finish(&s, &name, &ft).map(Ok)
        })
        .await?;
        *gate = true;
        lock(&self.sessions).remove(sha);
        outcome
    }

    fn drop_session(&self, s: &Session) -> rusqlite::Result<()> {
        self.db.drop_session(&s.sha)?;
        let _ = fs::remove_file(&s.path);
        Ok(())
    }

    fn commit_finish(&self, s: &Session, file_name: &str, file_type: &str) -> Result<FinishedFile, ApiError> {
        let mut file = FinishedFile {
            sha: s.sha.clone(),
            file_id: String::new(),
            file_name: file_name.to_string(),
            file_type: file_type.to_string(),
            size: s.file_size,
        };
        file.file_id = self
            .db
            .record_finished(&file, &s.path.to_string_lossy(), |bump| file_id_candidate(&s.sha, bump))
            .map_err(|e| write_err("recording the file", e))?;
        // From here the file is finished; a crash before the rename is completed at start.
        let to = self.layout.final_path(&file.file_id, file_type);
        if self.layout.move_into_place(&s.path, &to).is_ok() {
            let _ = self.db.moved(&file.file_id);
        }
        Ok(file)
    }
}
