//! MultipartUploadVodFile's sessions: contiguous bytes from offset 0, parts of any size, each stored
//! only where the server expects the next one. Such a session is a key holder's, and excludes the
//! Init kind for its SHA-1 (and the other way round): one kind of session per file at a time.

use super::session::Session;
use super::session::other_kind_open;
use super::{blocking, lock, FinishedFile, Meta, PutOutcome, Store, KEY_HOLDER};
use crate::error::ApiError;
use bytes::Bytes;
use md5::{Digest, Md5};
use std::sync::Arc;

/// The size of a MultipartUploadVodFile upload's first part (or the whole file, if smaller).
pub const FIRST_PART: u64 = 524_288;

/// What to do with a part, decided before its body is read.
#[derive(Debug, Clone)]
pub enum SegmentPlan {
    /// The file is there already.
    Done(Box<FinishedFile>),
    /// The session held every byte and is finished now (its events recorded with it): the file.
    Finished(Box<FinishedFile>),
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
    Done(Box<FinishedFile>),
}

impl Store {
    /// Where a part of `file_size` bytes' file `sha` at `offset` goes.
    pub async fn plan_segment(self: &Arc<Self>, sha: &str, file_size: u64, offset: u64) -> Result<SegmentPlan, ApiError> {
        let this = Arc::clone(self);
        let sha_owned = sha.to_string();
        if let Some(f) = blocking(move || this.servable(&sha_owned)).await? {
            return Ok(SegmentPlan::Done(Box::new(f)));
        }
        let sessions = self.sessions_of(sha);
        if sessions.iter().any(|s| !s.contiguous) {
            return Err(other_kind_open(sha, false));
        }
        let Some(session) = sessions.into_iter().next() else {
            return Ok(if offset == 0 { SegmentPlan::Store(None) } else { SegmentPlan::Next(0) });
        };
        check_size(&session, file_size)?;
        let expected = session.contiguous_end();
        if expected == session.file_size {
            // Every byte is held, but the file was not finished (a crash between the last part and
            // the finish, or a finish that failed): finish it now.
            return self.finish_contiguous(session).await.map(SegmentPlan::Finished);
        }
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
                    return Err(other_kind_open(&s.sha, false));
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
        self.finish_contiguous(session).await.map(Segment::Done)
    }

    /// Finishes a contiguous session that holds every byte: a SHA-1 that does not match is `-29200`
    /// (and the session is dropped).
    async fn finish_contiguous(self: &Arc<Self>, session: Arc<Session>) -> Result<Box<FinishedFile>, ApiError> {
        match self.finish_session(session, None).await {
            Ok(f) => Ok(Box::new(f)),
            Err(ApiError::ShaMismatch(m)) => Err(ApiError::Multipart(-29200, m)),
            Err(e) => Err(e),
        }
    }

    /// Finishes every MultipartUploadVodFile session that holds all its bytes (a crash or a failed
    /// finish left it so; its client has nothing more to send): at start, so that none waits for a
    /// call. Returns how many were finished, and the failures.
    pub async fn finish_complete(self: &Arc<Self>) -> (usize, Vec<ApiError>) {
        let complete: Vec<Arc<Session>> =
            lock(&self.sessions).values().filter(|s| s.contiguous && s.contiguous_end() == s.file_size).cloned().collect();
        let (mut done, mut failed) = (0, Vec::new());
        for session in complete {
            match self.finish_contiguous(session).await {
                Ok(_) => done += 1,
                Err(e) => failed.push(e),
            }
        }
        (done, failed)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Flavour, Who};
    use sha1::Sha1;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 13 + i / 777) as u8).collect()
    }

    fn meta() -> Meta {
        Meta { file_name: "old.mp4".into(), file_type: "mp4".into(), flavour: Flavour::Multipart, ..Meta::default() }
    }

    async fn put(store: &Arc<Store>, sha: &str, data: &[u8], offset: usize, len: usize) -> Segment {
        let planned = match store.plan_segment(sha, data.len() as u64, offset as u64).await.unwrap() {
            SegmentPlan::Store(s) => s,
            other => panic!("{other:?}"),
        };
        let part = Bytes::copy_from_slice(&data[offset..offset + len]);
        store.put_segment(sha, data.len() as u64, offset as u64, part, planned, meta()).await.unwrap()
    }

    #[tokio::test]
    async fn parts_follow_each_other_across_a_restart_and_the_last_finishes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = bytes(FIRST_PART as usize + 700_000 + 300_001);
        let sha = hex::encode(<Sha1 as sha1::Digest>::digest(&data));
        {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            // With no session, only offset 0 is stored.
            assert!(matches!(store.plan_segment(&sha, data.len() as u64, 5).await.unwrap(), SegmentPlan::Next(0)));
            assert!(matches!(put(&store, &sha, &data, 0, FIRST_PART as usize).await, Segment::Next(FIRST_PART)));
            // An Init call cannot take over (nor the other way round).
            let e = store.init(&sha, Who::KeyHolder, data.len() as u64, FIRST_PART, Meta::default()).await.unwrap_err();
            assert_eq!(e.code(), -10003, "{e}");
        }
        let store = Arc::new(Store::open(dir.path()).unwrap());
        // The first part sent again learns where to go on.
        match store.plan_segment(&sha, data.len() as u64, 0).await.unwrap() {
            SegmentPlan::Next(offset) => assert_eq!(offset, FIRST_PART),
            other => panic!("{other:?}"),
        }
        let e = store.plan_segment(&sha, data.len() as u64 + 1, FIRST_PART).await.unwrap_err();
        assert_eq!(e.code(), -25981);
        let second = FIRST_PART as usize;
        assert!(matches!(put(&store, &sha, &data, second, 700_000).await, Segment::Next(n) if n == FIRST_PART + 700_000));
        let f = match put(&store, &sha, &data, second + 700_000, 300_001).await {
            Segment::Done(f) => f,
            other => panic!("{other:?}"),
        };
        assert_eq!(fs::read(store.layout.final_path(&f.file_id, "mp4")).unwrap(), data);
        assert_eq!((f.meta.file_name.as_str(), f.meta.flavour), ("old.mp4", Flavour::Multipart));
        // The file is there for everyone now.
        assert!(matches!(store.plan_segment(&sha, data.len() as u64, 0).await.unwrap(), SegmentPlan::Done(_)));
    }

    #[tokio::test]
    async fn a_file_whose_sha1_does_not_match_is_29200_and_its_session_goes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let data = bytes(1000);
        let sha = "ab".repeat(20);
        let e = store.put_segment(&sha, 1000, 0, Bytes::from(data), None, meta()).await.unwrap_err();
        assert_eq!(e.code(), -29200, "{e}");
        assert!(store.sessions_of(&sha).is_empty());
        assert_eq!(fs::read_dir(dir.path().join("uploads")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_session_holding_every_byte_unfinished_is_finished_at_start_and_by_its_next_part() {
        let dir = tempfile::tempdir().unwrap();
        let data = bytes(FIRST_PART as usize + 1000);
        let sha = hex::encode(<Sha1 as sha1::Digest>::digest(&data));
        let len = data.len() as u64;
        // As a crash between the last part's commit and the finish leaves it (twice: one restart
        // finishes it at start, the other by its next part).
        let wedge = |store: &Arc<Store>| {
            let (store, data, sha) = (Arc::clone(store), data.clone(), sha.clone());
            async move {
                put(&store, &sha, &data, 0, FIRST_PART as usize).await;
                let s = store.sessions_of(&sha).remove(0);
                let last = Bytes::copy_from_slice(&data[FIRST_PART as usize..]);
                let md5 = hex::encode(Md5::digest(&last));
                store.put_part(s, FIRST_PART, last, md5).await.unwrap();
            }
        };
        wedge(&Arc::new(Store::open(dir.path()).unwrap())).await;
        let store = Arc::new(Store::open(dir.path()).unwrap());
        assert_eq!(store.finish_complete().await.0, 1);
        assert!(matches!(store.plan_segment(&sha, len, 0).await.unwrap(), SegmentPlan::Done(_)));

        let dir = tempfile::tempdir().unwrap();
        wedge(&Arc::new(Store::open(dir.path()).unwrap())).await;
        let store = Arc::new(Store::open(dir.path()).unwrap());
        match store.plan_segment(&sha, len, 0).await.unwrap() {
            SegmentPlan::Finished(f) => assert_eq!(fs::read(store.layout.final_path(&f.file_id, "mp4")).unwrap(), data),
            other => panic!("wedged: {other:?}"),
        }
    }

    use std::fs;
}
