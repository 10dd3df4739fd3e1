//! Durable storage, by job:
//! - [`layout`]: the data folder and crash recovery;
//! - [`session`]: an open session with its running SHA-1;
//! - [`db`]: the SQL (SQLite, WAL, `synchronous=FULL`);
//! - [`finish`]: the finish commit.
//!
//! Crash safety: a part is on disk (`sync_data`) before its row is committed, and its row is
//! committed before `code 0`. Finishing commits the file's row (with the data file's old path)
//! before renaming the data file into place; [`Store::open`] completes any rename that a crash
//! interrupted and deletes data files that no row references.

mod db;
mod finish;
mod layout;
mod session;

pub use session::Session;

use crate::error::ApiError;
use bytes::Bytes;
use db::{Db, SessionRow};
use layout::{sync_dir, Layout};
use session::Parts;
use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// A file whose upload finished.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedFile {
    pub sha: String,
    pub file_id: String,
    pub file_name: String,
    pub file_type: String,
    pub size: u64,
}

/// One part the server holds.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldPart {
    pub offset: u64,
    pub size: u64,
    pub md5: String,
}

/// The answer to InitUploadEx, before it becomes JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum InitOutcome {
    Fresh,
    Resume { data_size: u64, parts: Vec<HeldPart> },
    Finished(FinishedFile),
}

/// What UploadPartEx did with a part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PutOutcome {
    Stored,
    AlreadyHeld,
}

/// The whole store. Cheap to share behind an `Arc`.
pub struct Store {
    layout: Layout,
    db: Db,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_err(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::StorageWrite(format!("{what}: {e}"))
}

fn read_err(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::StorageRead(format!("{what}: {e}"))
}

/// Runs blocking storage work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| write_err("storage task failed", e))?
}

impl Store {
    /// Opens (or creates) the store in `data_dir`, finishing any interrupted finish and loading
    /// the open sessions. Blocking: call it before serving, or from `spawn_blocking`.
    pub fn open(data_dir: &Path) -> anyhow::Result<Store> {
        use anyhow::Context;
        let layout = Layout::create(data_dir)?;
        let db_path = data_dir.join("vod.sqlite");
        let db = Db::open(&db_path).with_context(|| format!("opening {}", db_path.display()))?;
        let sessions = layout::recover(&layout, &db)?;
        Ok(Store { layout, db, sessions: Mutex::new(sessions) })
    }

    /// Where finished files live (`<fileId>/f0.<ft>` inside).
    pub fn vod_dir(&self) -> &Path {
        &self.layout.vod
    }

    /// The open session for `sha`, if any.
    pub fn session(&self, sha: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).get(sha).cloned()
    }

    /// The finished file for `sha`, if any.
    pub async fn finished(self: &Arc<Self>, sha: &str) -> Result<Option<FinishedFile>, ApiError> {
        let this = Arc::clone(self);
        let sha = sha.to_string();
        blocking(move || this.db.finished(&sha).map_err(|e| read_err("reading the database", e))).await
    }

    /// InitUploadEx: resume the open session, report the finished file, or open a session.
    pub async fn init(self: &Arc<Self>, sha: &str, file_size: u64, data_size: u64) -> Result<InitOutcome, ApiError> {
        // The session map first: a finish commits the file before it drops the session.
        if let Some(s) = self.session(sha) {
            return s.resume(file_size);
        }
        if let Some(f) = self.finished(sha).await? {
            return Ok(InitOutcome::Finished(f));
        }
        let this = Arc::clone(self);
        let sha_owned = sha.to_string();
        let session = blocking(move || this.create_session(&sha_owned, file_size, data_size)).await?;
        match session {
            Ok(()) => Ok(InitOutcome::Fresh),
            // Another request opened it at the same moment.
            Err(existing) => existing.resume(file_size),
        }
    }

    /// Creates the data file and the session row; `Ok(Err(existing))` when another request won.
    fn create_session(&self, sha: &str, file_size: u64, data_size: u64) -> Result<Result<(), Arc<Session>>, ApiError> {
        let path = self.layout.upload_path(sha);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| write_err("creating the data file", e))?;
        let prepared = file
            .set_len(file_size)
            .and_then(|_| file.sync_all())
            .and_then(|_| sync_dir(&self.layout.uploads));
        if let Err(e) = prepared {
            let _ = fs::remove_file(&path);
            return Err(write_err("preparing the data file", e));
        }
        let row = SessionRow { sha: sha.to_string(), file_size, data_size, path: path.to_string_lossy().into_owned() };
        let session = Arc::new(Session::new(sha.to_string(), file_size, data_size, path.clone(), file, Parts::default(), true));
        let mut sessions = lock(&self.sessions);
        if let Some(existing) = sessions.get(sha) {
            let _ = fs::remove_file(&path);
            return Ok(Err(Arc::clone(existing)));
        }
        if let Err(e) = self.db.insert_session(&row, crate::sign::now_unix()) {
            let _ = fs::remove_file(&path);
            return Err(write_err("recording the session", e));
        }
        sessions.insert(sha.to_string(), session);
        Ok(Ok(()))
    }

    /// UploadPartEx, after the request was checked against the session's sizes: writes the part at
    /// its offset, fsyncs, records it, and carries the SHA-1 forward.
    pub async fn put_part(self: &Arc<Self>, session: Arc<Session>, offset: u64, bytes: Bytes, md5: String) -> Result<PutOutcome, ApiError> {
        let gate = session.gate.read().await;
        if *gate {
            return Err(ApiError::NoSession("the upload session has just been finished or dropped".into()));
        }
        {
            let mut parts = lock(&session.parts);
            if let Some((_, held_md5)) = parts.held.get(&offset) {
                return if *held_md5 == md5 {
                    Ok(PutOutcome::AlreadyHeld)
                } else {
                    Err(ApiError::Param(format!(
                        "the part at offset {offset} is already held with another MD5 ({held_md5})"
                    )))
                };
            }
            if !parts.in_flight.insert(offset) {
                return Err(ApiError::StorageWrite(format!(
                    "the part at offset {offset} is being written by another request; retry"
                )));
            }
        }
        let this = Arc::clone(self);
        let s = Arc::clone(&session);
        let result = blocking(move || {
            let written = s.file.write_all_at(&bytes, offset).and_then(|_| s.file.sync_data());
            if let Err(e) = written {
                lock(&s.parts).in_flight.remove(&offset);
                return Err(write_err("writing the part", e));
            }
            let recorded = this.db.insert_part(&s.sha, offset, bytes.len() as u64, &md5);
            {
                let mut parts = lock(&s.parts);
                parts.in_flight.remove(&offset);
                if let Err(e) = recorded {
                    return Err(write_err("recording the part", e));
                }
                parts.held.insert(offset, (bytes.len() as u64, md5));
            }
            if s.advance_hash(Some((offset, &bytes))).is_err() {
                // Recomputed from the data file at finish.
                lock(&s.running).hasher = None;
            }
            Ok(PutOutcome::Stored)
        })
        .await;
        drop(gate);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use finish::file_id_candidate;
    use md5::Md5;
    use sha1::{Digest, Sha1};

    const PART: u64 = 524_288;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 1000) as u8).collect()
    }

    async fn put(store: &Arc<Store>, sha: &str, data: &[u8], index: u64) {
        let s = store.session(sha).expect("session");
        let start = (index * PART) as usize;
        let end = (start + PART as usize).min(data.len());
        let part = Bytes::copy_from_slice(&data[start..end]);
        let md5 = hex::encode(Md5::digest(&part));
        assert_eq!(store.put_part(s, start as u64, part, md5).await.unwrap(), PutOutcome::Stored);
    }

    #[tokio::test]
    async fn sha1_is_carried_forward_across_out_of_order_parts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let data = bytes(PART as usize * 3 + 77);
        let sha = hex::encode(Sha1::digest(&data));
        assert_eq!(store.init(&sha, data.len() as u64, PART).await.unwrap(), InitOutcome::Fresh);
        for (i, frontier) in [(2, 0), (1, 0), (0, 3 * PART), (3, data.len() as u64)] {
            put(&store, &sha, &data, i).await;
            let s = store.session(&sha).unwrap();
            let running = lock(&s.running);
            assert!(running.hasher.is_some());
            assert_eq!(running.frontier, frontier, "after part {i}");
        }
        let f = store.finish(&sha, "a.mp4", "mp4").await.unwrap();
        assert_eq!(f.size, data.len() as u64);
        assert_eq!(fs::read(store.layout.final_path(&f.file_id, "mp4")).unwrap(), data);
        assert_eq!(fs::read_dir(dir.path().join("uploads")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn an_interrupted_move_is_completed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let data = bytes(1000);
        let sha = hex::encode(Sha1::digest(&data));
        let (file_id, upload_path) = {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            store.init(&sha, 1000, PART).await.unwrap();
            let upload_path = store.session(&sha).unwrap().path.clone();
            put(&store, &sha, &data, 0).await;
            let f = store.finish(&sha, "a.mp4", "mp4").await.unwrap();
            // Put things back as a crash between the commit and the rename leaves them.
            fs::rename(store.layout.final_path(&f.file_id, "mp4"), &upload_path).unwrap();
            store
                .db
                .execute("UPDATE files SET moved_from = ?1", [upload_path.to_string_lossy()])
                .unwrap();
            (f.file_id, upload_path)
        };
        // A stray data file that no row references is removed.
        let stray = dir.path().join("uploads").join("stray.part");
        fs::write(&stray, b"x").unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        assert_eq!(fs::read(store.layout.final_path(&file_id, "mp4")).unwrap(), data);
        assert!(!upload_path.exists() && !stray.exists());
        match store.init(&sha, 1000, PART).await.unwrap() {
            InitOutcome::Finished(f) => assert_eq!(f.file_id, file_id),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn file_ids_have_19_digits() {
        for sha in ["0000000000000000000000000000000000000000", "ffffffffffffffffffffffffffffffffffffffff"] {
            for bump in [0, 1, u64::MAX / 2] {
                let id = file_id_candidate(sha, bump);
                assert_eq!(id.len(), 19, "{id}");
            }
        }
    }
}
