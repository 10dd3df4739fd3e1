//! The SQL: one SQLite connection (WAL, `synchronous=FULL`) holding sessions, their parts and the
//! finished files. Every statement the store runs is here.

use super::{lock, FinishedFile};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

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

/// A session as the database holds it.
pub(super) struct SessionRow {
    pub sha: String,
    pub file_size: u64,
    pub data_size: u64,
    pub path: String,
}

/// A finished file whose move into `vod/` is not known to be done.
pub(super) struct PendingMove {
    pub file_id: String,
    pub file_type: String,
    pub from: String,
}

pub(super) struct Db(Mutex<Connection>);

impl Db {
    pub fn open(path: &Path) -> rusqlite::Result<Db> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA)?;
        Ok(Db(Mutex::new(db)))
    }

    pub fn pending_moves(&self) -> rusqlite::Result<Vec<PendingMove>> {
        lock(&self.0)
            .prepare("SELECT file_id, file_type, moved_from FROM files WHERE moved_from IS NOT NULL")?
            .query_map([], |r| Ok(PendingMove { file_id: r.get(0)?, file_type: r.get(1)?, from: r.get(2)? }))?
            .collect()
    }

    /// The file is in place in `vod/`.
    pub fn moved(&self, file_id: &str) -> rusqlite::Result<()> {
        lock(&self.0).execute("UPDATE files SET moved_from = NULL WHERE file_id = ?1", [file_id]).map(drop)
    }

    pub fn sessions(&self) -> rusqlite::Result<Vec<SessionRow>> {
        lock(&self.0)
            .prepare("SELECT sha, file_size, data_size, path FROM sessions")?
            .query_map([], |r| Ok(SessionRow { sha: r.get(0)?, file_size: r.get(1)?, data_size: r.get(2)?, path: r.get(3)? }))?
            .collect()
    }

    /// `(offset, size, md5)` of every part held for `sha`.
    pub fn parts(&self, sha: &str) -> rusqlite::Result<Vec<(u64, u64, String)>> {
        lock(&self.0)
            .prepare("SELECT offset, size, md5 FROM parts WHERE sha = ?1")?
            .query_map([sha], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    }

    pub fn forget_parts(&self, sha: &str) -> rusqlite::Result<()> {
        lock(&self.0).execute("DELETE FROM parts WHERE sha = ?1", [sha]).map(drop)
    }

    pub fn insert_session(&self, row: &SessionRow, created: i64) -> rusqlite::Result<()> {
        lock(&self.0)
            .execute(
                "INSERT INTO sessions (sha, file_size, data_size, path, created) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row.sha, row.file_size, row.data_size, row.path, created],
            )
            .map(drop)
    }

    pub fn insert_part(&self, sha: &str, offset: u64, size: u64, md5: &str) -> rusqlite::Result<()> {
        lock(&self.0)
            .execute(
                "INSERT OR REPLACE INTO parts (sha, offset, size, md5) VALUES (?1, ?2, ?3, ?4)",
                params![sha, offset, size, md5],
            )
            .map(drop)
    }

    /// Forgets a session and its parts, in one transaction.
    pub fn drop_session(&self, sha: &str) -> rusqlite::Result<()> {
        let mut db = lock(&self.0);
        let tx = db.transaction()?;
        tx.execute("DELETE FROM parts WHERE sha = ?1", [sha])?;
        tx.execute("DELETE FROM sessions WHERE sha = ?1", [sha])?;
        tx.commit()
    }

    pub fn finished(&self, sha: &str) -> rusqlite::Result<Option<FinishedFile>> {
        lock(&self.0)
            .query_row("SELECT sha, file_id, file_name, file_type, size FROM files WHERE sha = ?1", [sha], |r| {
                Ok(FinishedFile {
                    sha: r.get(0)?,
                    file_id: r.get(1)?,
                    file_name: r.get(2)?,
                    file_type: r.get(3)?,
                    size: r.get(4)?,
                })
            })
            .optional()
    }

    /// In one transaction: records the finished file under the first free fileId that
    /// `candidate(0)`, `candidate(1)`, … gives, with the data file it is still to be moved from,
    /// and forgets the session. Returns the fileId.
    pub fn record_finished(
        &self,
        f: &FinishedFile,
        moved_from: &str,
        candidate: impl Fn(u64) -> String,
    ) -> rusqlite::Result<String> {
        let mut db = lock(&self.0);
        let tx = db.transaction()?;
        let mut bump = 0;
        let file_id = loop {
            let id = candidate(bump);
            let taken: Option<i64> =
                tx.query_row("SELECT 1 FROM files WHERE file_id = ?1", [&id], |r| r.get(0)).optional()?;
            if taken.is_none() {
                break id;
            }
            bump += 1;
        };
        tx.execute(
            "INSERT INTO files (sha, file_id, file_name, file_type, size, moved_from, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![f.sha, file_id, f.file_name, f.file_type, f.size, moved_from, crate::sign::now_unix()],
        )?;
        tx.execute("DELETE FROM parts WHERE sha = ?1", [&f.sha])?;
        tx.execute("DELETE FROM sessions WHERE sha = ?1", [&f.sha])?;
        tx.commit()?;
        Ok(file_id)
    }

    #[cfg(test)]
    pub fn execute(&self, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
        lock(&self.0).execute(sql, p)
    }
}
