//! The data folder and crash recovery.
//!
//! - `vod.sqlite` — the database (names every file relative to the folder);
//! - `vod.folder` — the folder's id, also kept in the database, so that a database from elsewhere
//!   (or none) is noticed before anything is touched;
//! - `uploads/<sha>.<nonce>.part` — the data file of an open session;
//! - `vod/<fileId>/f0.<ft>` — a finished file.
//!
//! [`check`] runs first and changes nothing: it refuses a folder whose database is missing, empty
//! or another folder's. Then [`recover`] completes (or leaves pending) moves into `vod/` that a
//! crash or a failure interrupted, reopens the sessions (repairing one whose data file lost parts),
//! and deletes data files that no row references.

use super::db::{Db, SessionRow};
use super::session::{Parts, Session};
use super::{FinishedFile, Meta};
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DB_FILE: &str = "vod.sqlite";
const MARKER_FILE: &str = "vod.folder";

pub(super) struct Layout {
    pub root: PathBuf,
    pub uploads: PathBuf,
    pub vod: PathBuf,
}

/// The key sessions are found by: the SHA-1 and the uid of the signature that opened it.
pub(super) type SessionKey = (String, String);

impl Layout {
    pub fn new(data_dir: &Path) -> Layout {
        Layout { root: data_dir.to_path_buf(), uploads: data_dir.join("uploads"), vod: data_dir.join("vod") }
    }

    pub fn db_path(&self) -> PathBuf {
        self.root.join(DB_FILE)
    }

    /// The path of a finished file.
    pub fn final_path(&self, file_id: &str, file_type: &str) -> PathBuf {
        self.vod.join(file_id).join(format!("f0.{file_type}"))
    }

    /// A session's data file.
    pub fn upload_path(&self, name: &str) -> PathBuf {
        self.uploads.join(name)
    }

    /// A new data file name for `sha` (the nonce keeps a dropped session's file apart).
    pub fn new_upload_name(sha: &str) -> String {
        format!("{sha}.{:08x}.part", crate::sign::random_u32())
    }

    /// Whether `f` is in place, whole (its size as recorded).
    pub fn is_placed(&self, f: &FinishedFile) -> bool {
        fs::metadata(self.final_path(&f.file_id, &f.file_type)).map(|m| m.is_file() && m.len() == f.size).unwrap_or(false)
    }

    /// Moves the data file `from` (a name in `uploads/`) to the finished file's place and makes
    /// the directory entries durable. Across filesystems (`vod/` mounted elsewhere) it copies,
    /// fsyncs and renames the copy into place, then deletes the data file. Done when `from` is
    /// gone and the file is in place.
    pub fn place(&self, from: &str, f: &FinishedFile) -> std::io::Result<()> {
        let from = self.upload_path(from);
        let to = self.final_path(&f.file_id, &f.file_type);
        if !from.exists() {
            return if self.is_placed(f) {
                Ok(())
            } else {
                Err(std::io::Error::new(ErrorKind::NotFound, format!("{} is gone", from.display())))
            };
        }
        let dir = to.parent().unwrap_or(&self.vod);
        fs::create_dir_all(dir)?;
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::CrossesDevices => {
                let tmp = dir.join(format!(".f0.{}.copying", f.file_type));
                fs::copy(&from, &tmp)?;
                File::open(&tmp)?.sync_all()?;
                fs::rename(&tmp, &to)?;
                sync_dir(dir)?;
                fs::remove_file(&from)?;
            }
            Err(e) => return Err(e),
        }
        sync_dir(dir)?;
        sync_dir(&self.uploads)?;
        sync_dir(&self.vod)
    }

    /// Whether `uploads/` or `vod/` hold anything.
    fn holds_files(&self) -> bool {
        [&self.uploads, &self.vod].iter().any(|d| fs::read_dir(d).map(|mut it| it.next().is_some()).unwrap_or(false))
    }
}

pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

fn refuse(layout: &Layout, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the data folder {} {what}. Nothing was changed. Start with the database that belongs to this folder \
         (restore {DB_FILE} with its -wal file from a backup), or, to start afresh and lose what the folder \
         holds, move the folder away and give an empty one",
        layout.root.display()
    )
}

/// Checks that the database belongs to the folder, changing nothing; on success opens the
/// database (creating it and the folders in a new folder).
pub(super) fn check(layout: &Layout) -> anyhow::Result<Db> {
    let db_path = layout.db_path();
    let marker = match fs::read_to_string(layout.root.join(MARKER_FILE)) {
        Ok(s) => Some(s.trim().to_string()),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e).context(format!("reading {}", layout.root.join(MARKER_FILE).display())),
    };
    let db_len = fs::metadata(&db_path).map(|m| m.len()).unwrap_or(0);
    if db_len == 0 && (marker.is_some() || layout.holds_files()) {
        return Err(refuse(layout, &format!("holds uploads or files, but its database {DB_FILE} is missing or empty")));
    }
    for dir in [&layout.root, &layout.uploads, &layout.vod] {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let db = Db::open(&db_path).with_context(|| format!("opening {}", db_path.display()))?;
    let id = db.meta("folder")?;
    match (&marker, &id) {
        (Some(m), Some(id)) if m != id => {
            return Err(refuse(layout, &format!("is {m}, but its database {DB_FILE} belongs to the folder {id}")))
        }
        (Some(m), None) => return Err(refuse(layout, &format!("is {m}, but its database {DB_FILE} names no folder"))),
        _ => {}
    }
    if marker.is_none() && db.counts()? == (0, 0) && layout.holds_files() {
        return Err(refuse(layout, &format!("holds uploads or files that its database {DB_FILE} does not know")));
    }
    Ok(db)
}

/// After [`check`]: names the folder (first start), completes interrupted moves (a move that
/// fails stays pending: the file's calls answer a retryable code until it is in place), reopens
/// every session, and deletes data files no row references. Returns the open sessions.
pub(super) fn recover(layout: &Layout, db: &Db) -> anyhow::Result<HashMap<SessionKey, Arc<Session>>> {
    let id = match db.meta("folder")? {
        Some(id) => id,
        None => {
            let id = format!("{:08x}{:08x}", crate::sign::random_u32(), crate::sign::random_u32());
            db.set_meta("folder", &id)?;
            id
        }
    };
    let marker = layout.root.join(MARKER_FILE);
    if fs::read_to_string(&marker).map(|m| m.trim() != id).unwrap_or(true) {
        fs::write(&marker, format!("{id}\n")).with_context(|| format!("writing {}", marker.display()))?;
        File::open(&marker)?.sync_all()?;
        sync_dir(&layout.root)?;
    }
    let mut keep: HashSet<String> = HashSet::new();
    for m in db.pending_moves()? {
        match layout.place(&m.from, &m.file) {
            Ok(()) => db.moved(&m.file.file_id)?,
            Err(e) if layout.upload_path(&m.from).exists() => {
                eprintln!("vod-server: moving {} into place failed ({e}); retried on its next call", m.from);
                keep.insert(m.from);
            }
            // Neither the data file nor the file: it is uploaded again (InitUploadEx answers code 0).
            Err(_) => db.moved(&m.file.file_id)?,
        }
    }

    let mut sessions = HashMap::new();
    for row in db.sessions()? {
        let path = layout.upload_path(&row.name);
        let len = match fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == ErrorKind::NotFound => 0,
            Err(e) => return Err(e).context(format!("reading {}", path.display())),
        };
        if len < row.file_size {
            // The data file lost its end (or is gone): forget the parts it no longer holds, and
            // give it back its size; the client uploads them again.
            let lost = db.forget_parts_past(&row.name, len)?;
            let f = OpenOptions::new().write(true).create(true).truncate(false).open(&path)?;
            f.set_len(row.file_size)?;
            f.sync_all()?;
            sync_dir(&layout.uploads)?;
            eprintln!("vod-server: {} was shorter than its file; {lost} parts are to be uploaded again", row.name);
        }
        let mut parts = Parts::default();
        for (offset, size, md5) in db.parts(&row.name)? {
            parts.hold(offset, size, &md5);
        }
        keep.insert(row.name.clone());
        let key = (row.sha.clone(), row.uid.clone());
        sessions.insert(key, Arc::new(Session::new(row, parts, false)));
    }
    // Data files no row references: a session whose creation or removal a crash interrupted.
    for entry in fs::read_dir(&layout.uploads)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_upload_name(&name) && !keep.contains(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(sessions)
}

/// `<40 hex>.<8 hex>.part`: a name this server gives data files (nothing else is ever deleted).
fn is_upload_name(name: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    match name.strip_suffix(".part").and_then(|s| s.split_once('.')) {
        Some((sha, nonce)) => hex(sha, 40) && hex(nonce, 8),
        None => false,
    }
}

/// The row of a new session (a MultipartUploadVodFile one is `contiguous`).
pub(super) fn new_row(sha: &str, uid: &str, file_size: u64, data_size: u64, meta: Meta, contiguous: bool) -> SessionRow {
    let now = crate::sign::now_unix();
    SessionRow {
        name: Layout::new_upload_name(sha),
        sha: sha.to_string(),
        uid: uid.to_string(),
        file_size,
        data_size,
        touched: now,
        created: now,
        meta,
        contiguous,
    }
}
