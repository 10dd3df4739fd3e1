//! Durable storage: SQLite (WAL, synchronous=FULL) for sessions, parts and finished files; one
//! preallocated data file per upload session, each part written at its offset and fsync'd before it
//! is recorded; the running SHA-1 carried forward in memory as contiguous parts arrive.
//!
//! Layout of the data folder:
//! - `vod.sqlite` — the database;
//! - `uploads/<sha>.<nonce>.part` — the data file of an open session;
//! - `vod/<fileId>/f0.<ft>` — a finished file.
//!
//! Crash safety: a part is on disk (`sync_data`) before its row is committed, and its row is
//! committed before `code 0`. Finishing commits the file's row (with the data file's old path)
//! before renaming the data file into place; [`Store::open`] completes any rename that a crash
//! interrupted and deletes data files that no row references.

use crate::error::ApiError;
use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension};
use sha1::{Digest, Sha1};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
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

#[derive(Default)]
struct Parts {
    held: BTreeMap<u64, (u64, String)>,
    in_flight: HashSet<u64>,
}

/// The SHA-1 of the file's first `frontier` bytes; `None` after a restart (recomputed at finish).
struct Running {
    hasher: Option<Sha1>,
    frontier: u64,
}

/// An open upload session.
pub struct Session {
    pub sha: String,
    pub file_size: u64,
    pub data_size: u64,
    path: PathBuf,
    file: File,
    /// Parts hold it shared while they write; finishing holds it exclusively. `true` once closed.
    gate: tokio::sync::RwLock<bool>,
    parts: Mutex<Parts>,
    running: Mutex<Running>,
}

impl Session {
    /// How many parts the whole file has.
    pub fn part_count(&self) -> u64 {
        self.file_size.div_ceil(self.data_size)
    }

    /// The parts held now, by offset.
    pub fn held_parts(&self) -> Vec<HeldPart> {
        lock(&self.parts)
            .held
            .iter()
            .map(|(&offset, (size, md5))| HeldPart { offset, size: *size, md5: md5.clone() })
            .collect()
    }

    /// Feeds the running SHA-1 every held part at its frontier; `own` is the part just received,
    /// hashed from memory, the others are read back from the data file.
    fn advance_hash(&self, own: Option<(u64, &[u8])>) -> std::io::Result<()> {
        let mut running = lock(&self.running);
        let Running { hasher, frontier } = &mut *running;
        let Some(hasher) = hasher.as_mut() else { return Ok(()) };
        loop {
            let next = lock(&self.parts).held.get(frontier).map(|(size, _)| *size);
            let Some(size) = next else { return Ok(()) };
            match own {
                Some((offset, bytes)) if offset == *frontier => hasher.update(bytes),
                _ => {
                    let mut buf = vec![0u8; size as usize];
                    self.file.read_exact_at(&mut buf, *frontier)?;
                    hasher.update(&buf);
                }
            }
            *frontier += size;
        }
    }

    /// The SHA-1 of the whole file: from the running state when it covers the file, else by
    /// reading the data file once.
    fn whole_sha1(&self) -> std::io::Result<String> {
        {
            let running = lock(&self.running);
            if let (Some(h), true) = (&running.hasher, running.frontier == self.file_size) {
                return Ok(hex::encode(h.clone().finalize()));
            }
        }
        let mut hasher = Sha1::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut pos = 0u64;
        while pos < self.file_size {
            let n = ((self.file_size - pos) as usize).min(buf.len());
            self.file.read_exact_at(&mut buf[..n], pos)?;
            hasher.update(&buf[..n]);
            pos += n as u64;
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

/// The whole store. Cheap to share behind an `Arc`.
pub struct Store {
    uploads_dir: PathBuf,
    vod_dir: PathBuf,
    db: Mutex<Connection>,
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

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The path of a finished file inside `vod_dir`.
fn final_path(vod_dir: &Path, file_id: &str, file_type: &str) -> PathBuf {
    vod_dir.join(file_id).join(format!("f0.{file_type}"))
}

/// A 19-digit fileId derived from the SHA-1 (stable, and unique in practice; collisions step on).
fn file_id_candidate(sha: &str, bump: u64) -> String {
    let bytes = hex::decode(sha).unwrap_or_default();
    let mut head = [0u8; 8];
    for (i, b) in bytes.iter().take(8).enumerate() {
        head[i] = *b;
    }
    let n = u64::from_be_bytes(head) % 9_000_000_000_000_000_000;
    (1_000_000_000_000_000_000 + (n + bump % 9_000_000_000_000_000_000) % 9_000_000_000_000_000_000).to_string()
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    sha TEXT PRIMARY KEY,
    file_size INTEGER NOT NULL,
    data_size INTEGER NOT NULL,
    path TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    sha TEXT NOT NULL,
    offset INTEGER NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    PRIMARY KEY (sha, offset)
);
CREATE TABLE IF NOT EXISTS files (
    sha TEXT PRIMARY KEY,
    file_id TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    file_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    moved_from TEXT,
    created INTEGER NOT NULL
);
";

impl Store {
    /// Opens (or creates) the store in `data_dir`, finishing any interrupted finish and loading
    /// the open sessions. Blocking: call it before serving, or from `spawn_blocking`.
    pub fn open(data_dir: &Path) -> anyhow::Result<Store> {
        use anyhow::Context;
        let uploads_dir = data_dir.join("uploads");
        let vod_dir = data_dir.join("vod");
        fs::create_dir_all(&uploads_dir).with_context(|| format!("creating {}", uploads_dir.display()))?;
        fs::create_dir_all(&vod_dir).with_context(|| format!("creating {}", vod_dir.display()))?;
        let db_path = data_dir.join("vod.sqlite");
        let db = Connection::open(&db_path).with_context(|| format!("opening {}", db_path.display()))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA)?;

        let mut keep: HashSet<PathBuf> = HashSet::new();
        // Finished files whose rename a crash interrupted.
        let pending: Vec<(String, String, String)> = db
            .prepare("SELECT file_id, file_type, moved_from FROM files WHERE moved_from IS NOT NULL")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (file_id, file_type, from) in pending {
            let to = final_path(&vod_dir, &file_id, &file_type);
            let from = PathBuf::from(from);
            if !to.exists() && from.exists() {
                fs::create_dir_all(to.parent().unwrap_or(&vod_dir))?;
                fs::rename(&from, &to).with_context(|| format!("moving {} into place", from.display()))?;
                sync_dir(&uploads_dir)?;
                sync_dir(to.parent().unwrap_or(&vod_dir))?;
            }
            db.execute("UPDATE files SET moved_from = NULL WHERE file_id = ?1", [&file_id])?;
        }

        let rows: Vec<(String, u64, u64, String)> = db
            .prepare("SELECT sha, file_size, data_size, path FROM sessions")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let mut sessions = HashMap::new();
        for (sha, file_size, data_size, path) in rows {
            let path = PathBuf::from(path);
            let file = match OpenOptions::new().read(true).write(true).open(&path) {
                Ok(f) => f,
                Err(_) => {
                    // The data file is gone: start the session over.
                    db.execute("DELETE FROM parts WHERE sha = ?1", [&sha])?;
                    let f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
                    f.set_len(file_size)?;
                    f.sync_all()?;
                    f
                }
            };
            let mut parts = Parts::default();
            let mut stmt = db.prepare("SELECT offset, size, md5 FROM parts WHERE sha = ?1")?;
            for row in stmt.query_map([&sha], |r| Ok((r.get::<_, u64>(0)?, r.get::<_, u64>(1)?, r.get::<_, String>(2)?)))? {
                let (offset, size, md5) = row?;
                parts.held.insert(offset, (size, md5));
            }
            keep.insert(path.clone());
            sessions.insert(
                sha.clone(),
                Arc::new(Session {
                    sha,
                    file_size,
                    data_size,
                    path,
                    file,
                    gate: tokio::sync::RwLock::new(false),
                    parts: Mutex::new(parts),
                    running: Mutex::new(Running { hasher: None, frontier: 0 }),
                }),
            );
        }
        // Data files no row references: a session whose creation a crash interrupted.
        for entry in fs::read_dir(&uploads_dir)? {
            let path = entry?.path();
            if !keep.contains(&path) {
                let _ = fs::remove_file(&path);
            }
        }
        Ok(Store { uploads_dir, vod_dir, db: Mutex::new(db), sessions: Mutex::new(sessions) })
    }

    /// Where finished files live (`<fileId>/f0.<ft>` inside).
    pub fn vod_dir(&self) -> &Path {
        &self.vod_dir
    }

    /// The open session for `sha`, if any.
    pub fn session(&self, sha: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).get(sha).cloned()
    }

    /// The finished file for `sha`, if any.
    pub async fn finished(self: &Arc<Self>, sha: &str) -> Result<Option<FinishedFile>, ApiError> {
        let this = Arc::clone(self);
        let sha = sha.to_string();
        blocking(move || this.finished_blocking(&sha).map_err(|e| read_err("reading the database", e))).await
    }

    fn finished_blocking(&self, sha: &str) -> rusqlite::Result<Option<FinishedFile>> {
        lock(&self.db)
            .query_row(
                "SELECT sha, file_id, file_name, file_type, size FROM files WHERE sha = ?1",
                [sha],
                |r| {
                    Ok(FinishedFile {
                        sha: r.get(0)?,
                        file_id: r.get(1)?,
                        file_name: r.get(2)?,
                        file_type: r.get(3)?,
                        size: r.get(4)?,
                    })
                },
            )
            .optional()
    }

    /// InitUploadEx: resume the open session, report the finished file, or open a session.
    pub async fn init(self: &Arc<Self>, sha: &str, file_size: u64, data_size: u64) -> Result<InitOutcome, ApiError> {
        // The session map first: a finish commits the file before it drops the session.
        if let Some(s) = self.session(sha) {
            return resume(&s, file_size);
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
            Err(existing) => resume(&existing, file_size),
        }
    }

    /// Creates the data file and the session row; `Ok(Err(existing))` when another request won.
    fn create_session(&self, sha: &str, file_size: u64, data_size: u64) -> Result<Result<(), Arc<Session>>, ApiError> {
        let nonce = crate::sign::random_u32();
        let path = self.uploads_dir.join(format!("{sha}.{nonce:08x}.part"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| write_err("creating the data file", e))?;
        let prepared = file
            .set_len(file_size)
            .and_then(|_| file.sync_all())
            .and_then(|_| sync_dir(&self.uploads_dir));
        if let Err(e) = prepared {
            let _ = fs::remove_file(&path);
            return Err(write_err("preparing the data file", e));
        }
        let session = Arc::new(Session {
            sha: sha.to_string(),
            file_size,
            data_size,
            path: path.clone(),
            file,
            gate: tokio::sync::RwLock::new(false),
            parts: Mutex::new(Parts::default()),
            running: Mutex::new(Running { hasher: Some(Sha1::new()), frontier: 0 }),
        });
        let mut sessions = lock(&self.sessions);
        if let Some(existing) = sessions.get(sha) {
            let _ = fs::remove_file(&path);
            return Ok(Err(Arc::clone(existing)));
        }
        let inserted = lock(&self.db).execute(
            "INSERT INTO sessions (sha, file_size, data_size, path, created) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![sha, file_size, data_size, path.to_string_lossy(), crate::sign::now_unix()],
        );
        if let Err(e) = inserted {
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
            let recorded = lock(&this.db).execute(
                "INSERT OR REPLACE INTO parts (sha, offset, size, md5) VALUES (?1, ?2, ?3, ?4)",
                params![s.sha, offset, bytes.len() as u64, md5],
            );
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
        let mut db = lock(&self.db);
        let tx = db.transaction()?;
        tx.execute("DELETE FROM parts WHERE sha = ?1", [&s.sha])?;
        tx.execute("DELETE FROM sessions WHERE sha = ?1", [&s.sha])?;
        tx.commit()?;
        let _ = fs::remove_file(&s.path);
        Ok(())
    }

    fn commit_finish(&self, s: &Session, file_name: &str, file_type: &str) -> Result<FinishedFile, ApiError> {
        let file_id = {
            let mut db = lock(&self.db);
            let tx = db.transaction().map_err(|e| write_err("recording the file", e))?;
            let mut bump = 0;
            let file_id = loop {
                let candidate = file_id_candidate(&s.sha, bump);
                let taken: Option<i64> = tx
                    .query_row("SELECT 1 FROM files WHERE file_id = ?1", [&candidate], |r| r.get(0))
                    .optional()
                    .map_err(|e| write_err("recording the file", e))?;
                if taken.is_none() {
                    break candidate;
                }
                bump += 1;
            };
            let recorded = tx
                .execute(
                    "INSERT INTO files (sha, file_id, file_name, file_type, size, moved_from, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![s.sha, file_id, file_name, file_type, s.file_size, s.path.to_string_lossy(), crate::sign::now_unix()],
                )
                .and_then(|_| tx.execute("DELETE FROM parts WHERE sha = ?1", [&s.sha]))
                .and_then(|_| tx.execute("DELETE FROM sessions WHERE sha = ?1", [&s.sha]))
                .and_then(|_| tx.commit());
            recorded.map_err(|e| write_err("recording the file", e))?;
            file_id
        };
        // From here the file is finished; a crash before the rename is completed by `open`.
        let to = final_path(&self.vod_dir, &file_id, file_type);
        let moved = (|| -> std::io::Result<()> {
            let dir = to.parent().unwrap_or(&self.vod_dir);
            fs::create_dir_all(dir)?;
            fs::rename(&s.path, &to)?;
            sync_dir(dir)?;
            sync_dir(&self.uploads_dir)?;
            sync_dir(&self.vod_dir)
        })();
        if moved.is_ok() {
            let _ = lock(&self.db).execute("UPDATE files SET moved_from = NULL WHERE file_id = ?1", [&file_id]);
        }
        Ok(FinishedFile {
            sha: s.sha.clone(),
            file_id,
            file_name: file_name.to_string(),
            file_type: file_type.to_string(),
            size: s.file_size,
        })
    }
}

fn resume(s: &Session, file_size: u64) -> Result<InitOutcome, ApiError> {
    if s.file_size != file_size {
        return Err(ApiError::Param(format!(
            "fileSize {file_size} differs from the upload session's {}",
            s.file_size
        )));
    }
    Ok(InitOutcome::Resume { data_size: s.data_size, parts: s.held_parts() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Md5;

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
        assert_eq!(fs::read(final_path(store.vod_dir(), &f.file_id, "mp4")).unwrap(), data);
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
            fs::rename(final_path(store.vod_dir(), &f.file_id, "mp4"), &upload_path).unwrap();
            lock(&store.db)
                .execute("UPDATE files SET moved_from = ?1", [upload_path.to_string_lossy()])
                .unwrap();
            (f.file_id, upload_path)
        };
        // A stray data file that no row references is removed.
        let stray = dir.path().join("uploads").join("stray.part");
        fs::write(&stray, b"x").unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        assert_eq!(fs::read(final_path(store.vod_dir(), &file_id, "mp4")).unwrap(), data);
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
