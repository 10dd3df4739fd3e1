//! MultipartUploadVodFile's sessions: contiguous bytes from offset 0, parts of any size, each stored
//! only where the server expects the next one. Such a session is a key holder's, and excludes the
//! Init kind for its SHA-1 (and the other way round): one kind of session per file at a time.

use super::session::Session;
use super::{blocking, FinishedFile, Meta, PutOutcome, Store, KEY_HOLDER};
use crate::error::ApiError;
use bytes::Bytes;
use md5::{Digest, Md5};
use std::sync::Arc;

/// The size of a MultipartUploadVodFile upload's first part (or the whole file, if smaller).
pub const FIRST_PART: u64 = 524_288;

/// `-10003`: `sha` has a session of `open` kind, which calls of another kind cannot continue.
pub(super) fn exclusive(sha: &str, open: &str, call: &str) -> ApiError {
    ApiError::Param(format!(
        "an {open} upload of fileSha {sha} is open: {call} calls cannot continue it (one kind of upload per file at a time)"
    ))
}

/// What to do with a part, decided before its body is read.
#[derive(Debug, Clone)]
pub enum SegmentPlan {
    /// The file is there already.
    Done(FinishedFile),
    /// The part is not where the next one starts: it is not stored, and the answer names this offset.
    Next(u64),
    /// Store it: in this session, or (`None`, a first part) in one opened for it.
    Store(Option<Arc<Session>>),
}

/// What became of a stored part.
#[derive(Debug, Clone)]
pub enum Segment {
    /// The next part starts here.
    Next(u64),
    /// That was the last byte: the file is finished.
    Done(FinishedFile),
}

impl Store {
    /// Where a part of `file_size` bytes' file `sha` at `offset` goes.
    pub async fn plan_segment(self: &Arc<Self>, sha: &str, file_size: u64, offset: u64) -> Result<SegmentPlan, ApiError> {
        let this = Arc::clone(self);
        let sha_owned = sha.to_string();
        if let Some(f) = blocking(move || this.servable(&sha_owned)).await? {
            return Ok(SegmentPlan::Done(f));
        }
        let sessions = self.sessions_of(sha);
        if sessions.iter().any(|s| !s.contiguous) {
            return Err(exclusive(sha, "Init", "MultipartUploadVodFile"));
        }
        let Some(session) = sessions.into_iter().next() else {
            return Ok(if offset == 0 { SegmentPlan::Store(None) } else { SegmentPlan::Next(0) });
        };
        check_size(&session, file_size)?;
        let expected = session.contiguous_end();
        Ok(if offset == expected { SegmentPlan::Store(Some(session)) } else { SegmentPlan::Next(expected) })
    }

    /// Stores a part as [`Store::plan_segment`] planned (opening the session with `meta` for a first
    /// part), then finishes the file if it was the last: a SHA-1 that does not match is `-29200`
    /// and drops the session.
    pub async fn put_segment(
        self: &Arc<Self>,
        sha: &str,
        file_size: u64,
        offset: u64,
        bytes: Bytes,
        planned: Option<Arc<Session>>,
        meta: Meta,
    ) -> Result<Segment, ApiError> {
        let session = match planned {
            Some(s) => s,
            None => {
                let this = Arc::clone(self);
                let sha = sha.to_string();
                let (s, _) = blocking(move || this.open_session(&sha, KEY_HOLDER, file_size, FIRST_PART, meta, true)).await?;
                if !s.contiguous {
                    return Err(exclusive(&s.sha, "Init", "MultipartUploadVodFile"));
                }
                check_size(&s, file_size)?;
                s
            }
        };
        // Another request may have stored this part since it was planned.
        let expected = session.contiguous_end();
        if offset != expected {
            return Ok(Segment::Next(expected));
        }
        let md5 = hex::encode(Md5::digest(&bytes));
        match self.put_part(Arc::clone(&session), offset, bytes, md5).await? {
            PutOutcome::Stored | PutOutcome::AlreadyHeld => {}
        }
        let end = session.contiguous_end();
        if end < file_size {
            return Ok(Segment::Next(end));
        }
        match self.finish_session(session, None).await {
            Ok(f) => Ok(Segment::Done(f)),
            Err(ApiError::ShaMismatch(m)) => Err(ApiError::Multipart(-29200, m)),
            Err(e) => Err(e),
        }
    }
}

/// `-25981` unless `file_size` is the session's.
fn check_size(s: &Session, file_size: u64) -> Result<(), ApiError> {
    if s.file_size != file_size {
        return Err(ApiError::Multipart(
            -25981,
            format!("fileSize {file_size} differs from the upload's {} (fileSha {})", s.file_size, s.sha),
        ));
    }
    Ok(())
}
