//! Durable storage, by job:
//! - [`layout`]: the data folder, its checks and crash recovery;
//! - [`session`]: an open session with its running SHA-1;
//! - [`db`]: the SQL (SQLite, WAL, `synchronous=FULL`);
//! - [`finish`]: the finish commit;
//! - [`contiguous`]: MultipartUploadVodFile's sessions, whose parts follow each other;
//! - [`meta`]: what is known of a file besides its bytes;
//! - [`room`]: caps on sessions per user, per key and in all, and on bodies received at once;
//! - [`registry`]: the open sessions, and who sees which;
//! - [`files`]: the data files kept open;
//! - [`parts`]: part writes;
//! - [`nonces`]: the server API's Nonce memory;
//! - [`outbox`]: the events, written with the finish that causes them.
//!
//! This file is the facade: the types callers see, opening the store, Init and expiry.
//!
//! Sessions are found by SHA-1 and by who calls ([`Who`]): a UGC signature's uid sees its own session,
//! else a key holder's; a key holder (the server API) sees the oldest session of any uid.
//!
//! Crash safety: a part is on disk (`sync_data`) before its row is committed, and its row is
//! committed before `code 0`. Finishing commits the file's row (with the data file it is still to
//! be moved from) before moving the data file into place; a move that a crash or a failure
//! interrupted is completed at the file's next call or at start. Every file is named relative to
//! the data folder. Data files are opened on demand and kept in a small cache.

mod contiguous;
mod db;
mod files;
mod finish;
mod layout;
mod meta;
mod nonces;
mod outbox;
mod parts;
mod registry;
mod room;
mod session;

pub use contiguous::{Segment, SegmentPlan, FIRST_PART};
pub use meta::{Flavour, Meta};
pub use nonces::NONCE_WINDOW_SECS;
pub use outbox::{Outgoing, DELIVERY_WINDOW_SECS};
pub use room::Receiving;
pub use session::Session;

use crate::error::ApiError;
use db::Db;
use files::FileCache;
use layout::{sync_dir, Layout, SessionKey};
use session::Parts;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

/// A file whose upload finished.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedFile {
    pub sha: String,
    pub file_id: String,
    pub file_name: String,
    pub file_type: String,
    pub size: u64,
    pub meta: Meta,
}

/// The uid of the sessions a key holder (the server API, MultipartUploadVodFile) opens; a UGC
/// signature's uid is never empty.
pub const KEY_HOLDER: &str = "";

/// Who calls, for finding sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who<'a> {
    /// A UGC signature's user.
    Uid(&'a str),
    /// A caller that holds a key (common parameters).
    KeyHolder,
}

impl Who<'_> {
    /// The uid a session this caller opens gets.
    fn uid(&self) -> &str {
        match self {
            Who::Uid(uid) => uid,
            Who::KeyHolder => KEY_HOLDER,
        }
    }
}

/// What is known of a SHA-1: the finished file, else the open sessions.
#[derive(Debug, Clone)]
pub enum Description {
    Finished(Box<FinishedFile>),
    Uploading(Vec<Arc<Session>>),
}

/// One part the server holds.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldPart {
    pub offset: u64,
    pub size: u64,
    pub md5: String,
}

/// The answer to an Init call, before it becomes JSON.
#[derive(Debug, Clone)]
pub enum InitOutcome {
    Fresh,
    /// The session's own dataSize, and the session (its parts are listed as the answer is sent).
    Resume { data_size: u64, session: Arc<Session> },
    Finished(Box<FinishedFile>),
}

impl PartialEq for InitOutcome {
    fn eq(&self, other: &InitOutcome) -> bool {
        match (self, other) {
            (InitOutcome::Fresh, InitOutcome::Fresh) => true,
            (InitOutcome::Resume { session: a, .. }, InitOutcome::Resume { session: b, .. }) => Arc::ptr_eq(a, b),
            (InitOutcome::Finished(a), InitOutcome::Finished(b)) => a == b,
            _ => false,
        }
    }
}

/// What an UploadPart call did with a part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PutOutcome {
    Stored,
    AlreadyHeld,
}

/// The store's ceilings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Open sessions at most; a call that would open one more answers `-10004` (retry later).
    pub max_sessions: usize,
    /// A session that got no part for this long is dropped.
    pub session_ttl_secs: i64,
    /// Data files kept open at most (more are opened on demand, and closed after use).
    pub open_files: usize,
    /// Open sessions of one app user (a UGC signature's uid) at most.
    pub per_uid: usize,
    /// Open sessions a key holder opened with one SecretId at most.
    pub per_key: usize,
    /// Part bodies one session receives at once at most.
    pub bodies_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_sessions: 1000, session_ttl_secs: 7 * 86_400, open_files: 64, per_uid: 250, per_key: 500, bodies_in_flight: 16 }
    }
}

/// The whole store. Cheap to share behind an `Arc`.
pub struct Store {
    layout: Layout,
    db: Db,
    limits: Limits,
    sessions: Mutex<HashMap<SessionKey, Arc<Session>>>,
    files: FileCache,
    /// The base of finished files' URLs, for the events.
    public_url: Mutex<String>,
    /// Wakes the event delivery when an event is recorded.
    event_wake: tokio::sync::Notify,
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
    /// [`Store::open_with`] the default limits.
    pub fn open(data_dir: &Path) -> anyhow::Result<Store> {
        Store::open_with(data_dir, Limits::default())
    }

    /// Opens (or creates) the store in `data_dir`: refuses a folder whose database is missing or
    /// another folder's (changing nothing), then completes interrupted moves and loads the open
    /// sessions. Blocking: call it before serving, or from `spawn_blocking`.
    pub fn open_with(data_dir: &Path, limits: Limits) -> anyhow::Result<Store> {
        let layout = Layout::new(data_dir);
        let db = layout::check(&layout)?;
        let sessions = layout::recover(&layout, &db)?;
        let files = FileCache::new(limits.open_files);
        let public_url = Mutex::new("http://127.0.0.1:8080".to_string());
        Ok(Store { layout, db, limits, sessions: Mutex::new(sessions), files, public_url, event_wake: Default::default() })
    }

    /// Where finished files live (`<fileId>/f0.<ft>` inside).
    pub fn vod_dir(&self) -> &Path {
        &self.layout.vod
    }

    /// The finished file for `sha` if it can be served, else its open sessions (oldest first).
    pub async fn describe(self: &Arc<Self>, sha: &str) -> Result<Description, ApiError> {
        let this = Arc::clone(self);
        let sha_owned = sha.to_string();
        if let Some(f) = blocking(move || this.servable(&sha_owned)).await? {
            return Ok(Description::Finished(Box::new(f)));
        }
        Ok(Description::Uploading(self.sessions_of(sha)))
    }

    /// The SHA-1 of the finished file `file_id`, if there is one.
    pub async fn sha_of_file(self: &Arc<Self>, file_id: &str) -> Result<Option<String>, ApiError> {
        let this = Arc::clone(self);
        let file_id = file_id.to_string();
        blocking(move || this.db.sha_of_file(&file_id).map_err(|e| read_err("reading the database", e))).await
    }

    /// The finished file for `sha` as recorded, if any (whether or not it is in place).
    pub async fn finished(self: &Arc<Self>, sha: &str) -> Result<Option<FinishedFile>, ApiError> {
        let this = Arc::clone(self);
        let sha = sha.to_string();
        blocking(move || this.db.finished(&sha).map(|f| f.map(|(f, _)| f)).map_err(|e| read_err("reading the database", e)))
            .await
    }

    /// An Init call of `who`: report the finished file, resume the session `who` sees, or open one
    /// (with `meta`).
    pub async fn init(self: &Arc<Self>, sha: &str, who: Who<'_>, file_size: u64, data_size: u64, meta: Meta) -> Result<InitOutcome, ApiError> {
        let this = Arc::clone(self);
        let (sha, uid, key_holder) = (sha.to_string(), who.uid().to_string(), who == Who::KeyHolder);
        blocking(move || {
            if let Some(f) = this.servable(&sha)? {
                return Ok(InitOutcome::Finished(Box::new(f)));
            }
            let who = if key_holder { Who::KeyHolder } else { Who::Uid(&uid) };
            if let Some(s) = this.find(&sha, who) {
                return s.resume(file_size);
            }
            match this.open_session(&sha, &uid, file_size, data_size, meta, false)? {
                (_, true) => Ok(InitOutcome::Fresh),
                (s, false) => s.resume(file_size),
            }
        })
        .await
    }

    /// Creates the data file and the session row; `true` with it. If another request has just
    /// opened the session of `uid`, that one instead, with `false`.
    fn open_session(
        &self,
        sha: &str,
        uid: &str,
        file_size: u64,
        data_size: u64,
        meta: Meta,
        contiguous: bool,
    ) -> Result<(Arc<Session>, bool), ApiError> {
        self.make_room(uid, &meta.secret_id)?;
        let row = layout::new_row(sha, uid, file_size, data_size, meta, contiguous);
        let path = self.layout.upload_path(&row.name);
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
        drop(file);
        if let Err(e) = prepared {
            let _ = fs::remove_file(&path);
            return Err(write_err("preparing the data file", e));
        }
        let mut sessions = lock(&self.sessions);
        let key = (sha.to_string(), uid.to_string());
        if let Some(existing) = sessions.get(&key) {
            let _ = fs::remove_file(&path);
            return Ok((Arc::clone(existing), false));
        }
        if let Err(e) = self.db.insert_session(&row) {
            let _ = fs::remove_file(&path);
            return Err(write_err("recording the session", e));
        }
        let session = Arc::new(Session::new(row, Parts::default(), true));
        sessions.insert(key, Arc::clone(&session));
        Ok((session, true))
    }

    /// The session's data file; a data file gone behind the server's back drops the session
    /// (`-10005`: the client opens a new one).
    fn data_file(&self, s: &Session) -> Result<Arc<File>, ApiError> {
        match self.files.get(&self.layout, &s.name) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let _ = self.drop_session(s);
                Err(ApiError::NoSession(format!(
                    "the upload session's data file is gone; the session is dropped: call an Init action for fileSha {}",
                    s.sha
                )))
            }
            Err(e) => Err(read_err("opening the data file", e)),
        }
    }

    /// Forgets a session: its rows (first: a crash after leaves only an unreferenced data file,
    /// deleted at start), its place in the map, its data file.
    fn drop_session(&self, s: &Session) -> rusqlite::Result<()> {
        self.db.drop_session(&s.name)?;
        self.forget(s);
        self.files.close(&s.name);
        let _ = fs::remove_file(self.layout.upload_path(&s.name));
        Ok(())
    }

    /// Drops every session that got no part for the session TTL (returns how many), and forgets
    /// the Nonces seen longer ago than [`NONCE_WINDOW_SECS`].
    pub async fn expire(self: &Arc<Self>, now: i64) -> usize {
        let this = Arc::clone(self);
        if let Err(e) = this.forget_old_nonces(now).await {
            eprintln!("vod-server: {e}");
        }
        let cutoff = now - self.limits.session_ttl_secs;
        let stale: Vec<Arc<Session>> =
            lock(&self.sessions).values().filter(|s| s.touched.load(Ordering::Relaxed) < cutoff).cloned().collect();
        let mut dropped = 0;
        for s in stale {
            // A session busy with a part or a finish is not stale.
            let Ok(mut gate) = s.gate.try_write() else { continue };
            if *gate || s.touched.load(Ordering::Relaxed) >= cutoff {
                continue;
            }
            let this = Arc::clone(self);
            let s2 = Arc::clone(&s);
            if blocking(move || this.drop_session(&s2).map_err(|e| write_err("dropping the session", e))).await.is_ok() {
                *gate = true;
                dropped += 1;
            }
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use finish::file_id_candidate;
    use md5::Md5;
    use sha1::{Digest, Sha1};

    const PART: u64 = 524_288;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 1000) as u8).collect()
    }

    async fn put(store: &Arc<Store>, sha: &str, data: &[u8], index: u64) {
        let s = store.session(sha, "u").expect("session");
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
        assert_eq!(store.init(&sha, Who::Uid("u"), data.len() as u64, PART, Meta::default()).await.unwrap(), InitOutcome::Fresh);
        for (i, frontier) in [(2, 0), (1, 0), (0, 3 * PART), (3, data.len() as u64)] {
            put(&store, &sha, &data, i).await;
            let s = store.session(&sha, "u").unwrap();
            let running = lock(&s.running);
            assert!(running.hasher.is_some());
            assert_eq!(running.frontier, frontier, "after part {i}");
        }
        let f = store.finish(&sha, Who::Uid("u"), Some(("a.mp4", "mp4"))).await.unwrap();
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
            store.init(&sha, Who::Uid("u"), 1000, PART, Meta::default()).await.unwrap();
            let name = store.session(&sha, "u").unwrap().name.clone();
            let upload_path = store.layout.upload_path(&name);
            put(&store, &sha, &data, 0).await;
            let f = store.finish(&sha, Who::Uid("u"), Some(("a.mp4", "mp4"))).await.unwrap();
            // Put things back as a crash between the commit and the rename leaves them.
            fs::rename(store.layout.final_path(&f.file_id, "mp4"), &upload_path).unwrap();
            store
                .db
                .execute("UPDATE files SET moved_from = ?1", [&name])
                .unwrap();
            (f.file_id, upload_path)
        };
        // A stray data file that no row references is removed.
        let stray = dir.path().join("uploads").join(format!("{}.0000abcd.part", "ab".repeat(20)));
        fs::write(&stray, b"x").unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        assert_eq!(fs::read(store.layout.final_path(&file_id, "mp4")).unwrap(), data);
        assert!(!upload_path.exists() && !stray.exists());
        match store.init(&sha, Who::Uid("u"), 1000, PART, Meta::default()).await.unwrap() {
            InitOutcome::Finished(f) => assert_eq!(f.file_id, file_id),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_database_from_before_metadata_opens_and_its_sessions_finish() {
        let dir = tempfile::tempdir().unwrap();
        let data = bytes(1000);
        let sha = hex::encode(Sha1::digest(&data));
        {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            store.init(&sha, Who::Uid("u"), 1000, PART, Meta::default()).await.unwrap();
            put(&store, &sha, &data, 0).await;
        }
        // Put the tables back as the second version left them: no metadata, no nonces.
        {
            let db = rusqlite::Connection::open(dir.path().join("vod.sqlite")).unwrap();
            db.execute_batch(
                "ALTER TABLE sessions DROP COLUMN meta; ALTER TABLE sessions DROP COLUMN contiguous;
                 ALTER TABLE files DROP COLUMN meta; DROP TABLE nonces;",
            )
            .unwrap();
        }
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let s = store.find(&sha, Who::KeyHolder).expect("the session is open for a key holder too");
        assert_eq!((s.meta.clone(), s.contiguous, s.held_count()), (Meta::default(), false, 1));
        // Its metadata is not known: a key holder cannot name the file; its signature can.
        assert_eq!(store.finish(&sha, Who::KeyHolder, None).await.unwrap_err().code(), -10003);
        let f = store.finish(&sha, Who::Uid("u"), Some(("a.mp4", "mp4"))).await.unwrap();
        assert_eq!((f.meta.file_name.as_str(), f.meta.file_type.as_str()), ("a.mp4", "mp4"));
        assert!(store.remember_nonce("AKID", 1, 1).await.unwrap());
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
