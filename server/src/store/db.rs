//! The SQL: one SQLite connection (WAL, `synchronous=FULL`) holding sessions, their parts and the
//! finished files. Every statement the store runs is here.
//!
//! Files are named relative to the data folder (a session's data file by its name inside
//! `uploads/`), so the folder can be given another way, or moved, without losing anything.

use super::{lock, FinishedFile, Meta};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    name TEXT PRIMARY KEY,
    sha TEXT NOT NULL,
    uid TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    data_size INTEGER NOT NULL,
    created INTEGER NOT NULL,
    touched INTEGER NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    contiguous INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sha, uid)
);
CREATE TABLE IF NOT EXISTS parts (
    session TEXT NOT NULL,
    offset INTEGER NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    PRIMARY KEY (session, offset)
);
CREATE TABLE IF NOT EXISTS files (
    sha TEXT PRIMARY KEY,
    file_id TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    file_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    moved_from TEXT,
    created INTEGER NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS nonces (
    secret_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen INTEGER NOT NULL,
    PRIMARY KEY (secret_id, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen);
";

/// Columns added after the second version, each with the default its old rows get.
const ADDED_COLUMNS: [(&str, &str, &str); 3] = [
    ("sessions", "meta", "TEXT NOT NULL DEFAULT '{}'"),
    ("sessions", "contiguous", "INTEGER NOT NULL DEFAULT 0"),
    ("files", "meta", "TEXT NOT NULL DEFAULT '{}'"),
];

/// The first version's tables named sessions and parts by SHA-1 alone, with full paths.
const MIGRATE_FROM_V1: &str = "
ALTER TABLE sessions RENAME TO sessions_v1;
ALTER TABLE parts RENAME TO parts_v1;
";

/// A session as the database holds it.
pub(super) struct SessionRow {
    /// The data file's name inside `uploads/`.
    pub name: String,
    pub sha: String,
    pub uid: String,
    pub file_size: u64,
    pub data_size: u64,
    /// When it last got a part (or was opened), Unix seconds.
    pub touched: i64,
    /// When it was opened, Unix seconds.
    pub created: i64,
    pub meta: Meta,
    /// A MultipartUploadVodFile session: contiguous bytes, parts of any size.
    pub contiguous: bool,
}

/// A finished file whose move into `vod/` is not known to be done.
pub(super) struct PendingMove {
    pub file: FinishedFile,
    /// The data file's name inside `uploads/`.
    pub from: String,
}

pub(super) struct Db(pub(super) Mutex<Connection>);

fn base_name(path: &str) -> String {
    Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Db {
    pub fn open(path: &Path) -> rusqlite::Result<Db> {
        let mut db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        let tx = db.transaction()?;
        let v1: bool = tx
            .prepare("SELECT 1 FROM pragma_table_info('sessions') WHERE name = 'path'")?
            .exists([])?;
        if v1 {
            tx.execute_batch(MIGRATE_FROM_V1)?;
        }
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(super::outbox::SCHEMA)?;
        for (table, column, declaration) in ADDED_COLUMNS {
            let present: bool = tx
                .prepare(&format!("SELECT 1 FROM pragma_table_info('{table}') WHERE name = '{column}'"))?
                .exists([])?;
            if !present {
                tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {declaration}"))?;
            }
        }
        if v1 {
            let rows: Vec<(String, String, u64, u64, i64)> = tx
                .prepare("SELECT sha, path, file_size, data_size, created FROM sessions_v1")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                .collect::<Result<_, _>>()?;
            for (sha, path, file_size, data_size, created) in rows {
                let name = base_name(&path);
                tx.execute(
                    "INSERT INTO sessions (name, sha, uid, file_size, data_size, created, touched) VALUES (?1, ?2, '', ?3, ?4, ?5, ?5)",
                    params![name, sha, file_size, data_size, created],
                )?;
                tx.execute(
                    "INSERT INTO parts (session, offset, size, md5) SELECT ?1, offset, size, md5 FROM parts_v1 WHERE sha = ?2",
                    params![name, sha],
                )?;
            }
            tx.execute_batch("DROP TABLE sessions_v1; DROP TABLE parts_v1;")?;
            let moved: Vec<(String, String)> = tx
                .prepare("SELECT file_id, moved_from FROM files WHERE moved_from IS NOT NULL")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (file_id, from) in moved {
                tx.execute("UPDATE files SET moved_from = ?1 WHERE file_id = ?2", params![base_name(&from), file_id])?;
            }
        }
        tx.commit()?;
        Ok(Db(Mutex::new(db)))
    }

    pub fn meta(&self, key: &str) -> rusqlite::Result<Option<String>> {
        lock(&self.0).query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
    }

    pub fn set_meta(&self, key: &str, value: &str) -> rusqlite::Result<()> {
        lock(&self.0)
            .execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [key, value])
            .map(drop)
    }

    /// How many sessions and finished files the database knows.
    pub fn counts(&self) -> rusqlite::Result<(u64, u64)> {
        lock(&self.0).query_row(
            "SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM files)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    pub fn pending_moves(&self) -> rusqlite::Result<Vec<PendingMove>> {
        lock(&self.0)
            .prepare(&format!("SELECT {FILE_COLUMNS}, moved_from FROM files WHERE moved_from IS NOT NULL"))?
            .query_map([], |r| Ok(PendingMove { file: finished_file(r)?, from: r.get(6)? }))?
            .collect()
    }

    /// The file is in place in `vod/`.
    pub fn moved(&self, file_id: &str) -> rusqlite::Result<()> {
        lock(&self.0).execute("UPDATE files SET moved_from = NULL WHERE file_id = ?1", [file_id]).map(drop)
    }

    pub fn sessions(&self) -> rusqlite::Result<Vec<SessionRow>> {
        lock(&self.0)
            .prepare("SELECT name, sha, uid, file_size, data_size, touched, created, meta, contiguous FROM sessions")?
            .query_map([], |r| {
                Ok(SessionRow {
                    name: r.get(0)?,
                    sha: r.get(1)?,
                    uid: r.get(2)?,
                    file_size: r.get(3)?,
                    data_size: r.get(4)?,
                    touched: r.get(5)?,
                    created: r.get(6)?,
                    meta: Meta::from_json(&r.get::<_, String>(7)?),
                    contiguous: r.get(8)?,
                })
            })?
            .collect()
    }

    /// `(offset, size, md5)` of every part held by the session `name`.
    pub fn parts(&self, name: &str) -> rusqlite::Result<Vec<(u64, u64, String)>> {
        lock(&self.0)
            .prepare("SELECT offset, size, md5 FROM parts WHERE session = ?1")?
            .query_map([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    }

    /// Forgets the parts of session `name` that end past `len` bytes (its data file is shorter).
    pub fn forget_parts_past(&self, name: &str, len: u64) -> rusqlite::Result<usize> {
        lock(&self.0).execute("DELETE FROM parts WHERE session = ?1 AND offset + size > ?2", params![name, len])
    }

    pub fn insert_session(&self, row: &SessionRow) -> rusqlite::Result<()> {
        lock(&self.0)
            .execute(
                "INSERT INTO sessions (name, sha, uid, file_size, data_size, created, touched, meta, contiguous) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![row.name, row.sha, row.uid, row.file_size, row.data_size, row.created, row.touched, row.meta.to_json(), row.contiguous],
            )
            .map(drop)
    }

    /// Records a part of session `name`, and that the session got it `now`.
    pub fn insert_part(&self, name: &str, offset: u64, size: u64, md5: &str, now: i64) -> rusqlite::Result<()> {
        let mut db = lock(&self.0);
        let tx = db.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO parts (session, offset, size, md5) VALUES (?1, ?2, ?3, ?4)",
            params![name, offset, size, md5],
        )?;
        tx.execute("UPDATE sessions SET touched = ?2 WHERE name = ?1", params![name, now])?;
        tx.commit()
    }

    /// Forgets a session and its parts, in one transaction.
    pub fn drop_session(&self, name: &str) -> rusqlite::Result<()> {
        let mut db = lock(&self.0);
        let tx = db.transaction()?;
        tx.execute("DELETE FROM parts WHERE session = ?1", [name])?;
        tx.execute("DELETE FROM sessions WHERE name = ?1", [name])?;
        tx.commit()
    }

    /// The finished file for `sha`, and the data file it is still to be moved from, if any.
    pub fn finished(&self, sha: &str) -> rusqlite::Result<Option<(FinishedFile, Option<String>)>> {
        lock(&self.0)
            .query_row(&format!("SELECT {FILE_COLUMNS}, moved_from FROM files WHERE sha = ?1"), [sha], |r| {
                Ok((finished_file(r)?, r.get(6)?))
            })
            .optional()
    }

    /// The SHA-1 of the finished file `file_id`, if there is one.
    pub fn sha_of_file(&self, file_id: &str) -> rusqlite::Result<Option<String>> {
        lock(&self.0).query_row("SELECT sha FROM files WHERE file_id = ?1", [file_id], |r| r.get(0)).optional()
    }

    /// Records that `secret_id` used `nonce` at `now`, unless it did within the last `window`
    /// seconds: then returns `false` (a replay) and changes nothing. Committed before it returns.
    pub fn remember_nonce(&self, secret_id: &str, nonce: u64, now: i64, window: i64) -> rusqlite::Result<bool> {
        let mut db = lock(&self.0);
        let tx = db.transaction()?;
        let nonce = nonce.to_string();
        let seen: Option<i64> = tx
            .query_row("SELECT seen FROM nonces WHERE secret_id = ?1 AND nonce = ?2", [secret_id, &nonce], |r| r.get(0))
            .optional()?;
        if seen.is_some_and(|seen| seen >= now - window) {
            return Ok(false);
        }
        tx.execute("INSERT OR REPLACE INTO nonces (secret_id, nonce, seen) VALUES (?1, ?2, ?3)", params![secret_id, nonce, now])?;
        tx.commit()?;
        Ok(true)
    }

    /// Forgets the nonces seen before `before`; returns how many.
    pub fn forget_nonces(&self, before: i64) -> rusqlite::Result<usize> {
        lock(&self.0).execute("DELETE FROM nonces WHERE seen < ?1", [before])
    }

    /// In one transaction: records the finished file (under the first free fileId that
    /// `candidate(0)`, `candidate(1)`, … gives, or under its old one when it is uploaded again), with
    /// the data file it is still to be moved from, writes its `events` (a new file only: one
    /// uploaded again was announced already), and forgets the session. Returns the file.
    pub fn record_finished(
        &self,
        mut f: FinishedFile,
        session: &str,
        candidate: impl Fn(u64) -> String,
        events: impl FnOnce(&rusqlite::Transaction<'_>, &FinishedFile) -> rusqlite::Result<()>,
    ) -> rusqlite::Result<FinishedFile> {
        let mut db = lock(&self.0);
        let tx = db.transaction()?;
        let known: Option<FinishedFile> = tx
            .query_row(&format!("SELECT {FILE_COLUMNS} FROM files WHERE sha = ?1"), [&f.sha], finished_file)
            .optional()?;
        if let Some(known) = known {
            // Uploaded again after its file went missing: same fileId, name, url and metadata as before.
            f = known;
            tx.execute("UPDATE files SET moved_from = ?1 WHERE sha = ?2", params![session, f.sha])?;
        } else {
            let mut bump = 0;
            f.file_id = loop {
                let id = candidate(bump);
                let taken: Option<i64> =
                    tx.query_row("SELECT 1 FROM files WHERE file_id = ?1", [&id], |r| r.get(0)).optional()?;
                if taken.is_none() {
                    break id;
                }
                bump += 1;
            };
            tx.execute(
                "INSERT INTO files (sha, file_id, file_name, file_type, size, moved_from, created, meta) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![f.sha, f.file_id, f.file_name, f.file_type, f.size, session, crate::sign::now_unix(), f.meta.to_json()],
            )?;
            events(&tx, &f)?;
        }
        tx.execute("DELETE FROM parts WHERE session = ?1", [session])?;
        tx.execute("DELETE FROM sessions WHERE name = ?1", [session])?;
        tx.commit()?;
        Ok(f)
    }

    #[cfg(test)]
    pub fn execute(&self, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
        lock(&self.0).execute(sql, p)
    }
}

/// The columns [`finished_file`] reads, in its order.
const FILE_COLUMNS: &str = "sha, file_id, file_name, file_type, size, meta";

fn finished_file(r: &rusqlite::Row<'_>) -> rusqlite::Result<FinishedFile> {
    Ok(FinishedFile {
        sha: r.get(0)?,
        file_id: r.get(1)?,
        file_name: r.get(2)?,
        file_type: r.get(3)?,
        size: r.get(4)?,
        meta: Meta::from_json(&r.get::<_, String>(5)?),
    })
}
