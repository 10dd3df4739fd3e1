//! The data folder and crash recovery.
//!
//! - `vod.sqlite` — the database;
//! - `uploads/<sha>.<nonce>.part` — the data file of an open session;
//! - `vod/<fileId>/f0.<ft>` — a finished file.
//!
//! [`recover`] runs at start: it completes any move into `vod/` that a crash interrupted, reopens
//! the open sessions, and deletes data files that no row references.

use super::db::Db;
use super::session::{Parts, Session};
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(super) struct Layout {
    pub uploads: PathBuf,
    pub vod: PathBuf,
}

impl Layout {
    /// Creates the folders if they are missing.
    pub fn create(data_dir: &Path) -> anyhow::Result<Layout> {
        let layout = Layout { uploads: data_dir.join("uploads"), vod: data_dir.join("vod") };
        for dir in [&layout.uploads, &layout.vod] {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(layout)
    }

    /// The path of a finished file.
    pub fn final_path(&self, file_id: &str, file_type: &str) -> PathBuf {
        self.vod.join(file_id).join(format!("f0.{file_type}"))
    }

    /// A new data file's path for `sha` (the nonce keeps a dropped session's file apart).
    pub fn upload_path(&self, sha: &str) -> PathBuf {
        let nonce = crate::sign::random_u32();
        self.uploads.join(format!("{sha}.{nonce:08x}.part"))
    }

    /// Renames `from` to `to` and makes both directory entries durable.
    pub fn move_into_place(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        let dir = to.parent().unwrap_or(&self.vod);
        fs::create_dir_all(dir)?;
        fs::rename(from, to)?;
        sync_dir(dir)?;
        sync_dir(&self.uploads)?;
        sync_dir(&self.vod)
    }
}

pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Completes interrupted moves, reopens every open session, and deletes unreferenced data files.
pub(super) fn recover(layout: &Layout, db: &Db) -> anyhow::Result<HashMap<String, Arc<Session>>> {
    for pending in db.pending_moves()? {
        let to = layout.final_path(&pending.file_id, &pending.file_type);
        let from = PathBuf::from(&pending.from);
        if !to.exists() && from.exists() {
            layout.move_into_place(&from, &to).with_context(|| format!("moving {} into place", from.display()))?;
        }
        db.moved(&pending.file_id)?;
    }

    let mut keep: HashSet<PathBuf> = HashSet::new();
    let mut sessions = HashMap::new();
    for row in db.sessions()? {
        let path = PathBuf::from(&row.path);
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(_) => {
                // The data file is gone: start the session over.
                db.forget_parts(&row.sha)?;
                let f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
                f.set_len(row.file_size)?;
                f.sync_all()?;
                f
            }
        };
        let mut parts = Parts::default();
        for (offset, size, md5) in db.parts(&row.sha)? {
            parts.held.insert(offset, (size, md5));
        }
        keep.insert(path.clone());
        let session = Session::new(row.sha.clone(), row.file_size, row.data_size, path, file, parts, false);
        sessions.insert(row.sha, Arc::new(session));
    }
    // Data files no row references: a session whose creation a crash interrupted.
    for entry in fs::read_dir(&layout.uploads)? {
        let path = entry?.path();
        if !keep.contains(&path) {
            let _ = fs::remove_file(&path);
        }
    }
    Ok(sessions)
}
