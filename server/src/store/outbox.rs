//! The events' outbox (`docs/protocol.md`, "Events"): a row per event, written in the same SQLite
//! transaction that records the finished file, so that no finished file goes without its event and
//! no event names a file that is not finished. [`crate::events`] delivers the rows; PullEvents and
//! ConfirmEvents read and retire them.
//!
//! Two kinds: `upload`, the project's upload-complete event, for every finished file, sent to
//! `--notify-url` (the target is left empty, so a restart with another URL sends there) or pulled;
//! `callback`, seed 000's `notifyUrl` callback of a MultipartUploadVodFile upload, sent to that URL.

use super::{blocking, lock, read_err, write_err, FinishedFile, Store};
use crate::error::ApiError;
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT UNIQUE,
    kind TEXT NOT NULL,
    target TEXT,
    file_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    done_at INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, id);
CREATE INDEX IF NOT EXISTS outbox_file ON outbox (file_id);
";

/// How long an event is retried before its delivery is given up (it stays pullable).
pub const DELIVERY_WINDOW_SECS: i64 = 86_400;
/// How long a delivered or confirmed event is kept (so that a late ConfirmEvents is not an error).
const KEEP_DONE_SECS: i64 = 86_400;

/// One event to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub row: i64,
    pub event_id: String,
    /// `upload` or `callback`.
    pub kind: String,
    /// The callback's URL; none: `--notify-url`.
    pub target: Option<String>,
    /// The exact bytes POSTed (and MAC'd).
    pub body: String,
    pub attempts: u32,
    pub created: i64,
}

/// The upload-complete event of `f` (the project's format; `README`, "Events").
fn upload_event(event_id: &str, f: &FinishedFile, url: &str, time: i64) -> Value {
    let m = &f.meta;
    json!({
        "eventId": event_id, "type": "upload.complete", "time": time,
        "fileId": f.file_id, "url": url, "fileSha": f.sha, "fileName": f.file_name, "fileType": f.file_type,
        "size": f.size, "classId": m.class_id, "tags": m.tags,
        "isTranscode": m.is_transcode, "isScreenshot": m.is_screenshot, "isWatermark": m.is_watermark,
        "uid": m.uid, "secretId": m.secret_id, "flavour": m.flavour,
    })
}

/// Seed 000's callback, as the contract gives it: `task` `file_upload`, `status` 0, `data` with
/// `ret`, `file_id` and `videoUrls` (`url`, `sha`, `size`); plus our `eventId`.
fn callback(event_id: &str, f: &FinishedFile, url: &str) -> Value {
    json!({
        "status": 0, "message": "", "task": "file_upload", "eventId": event_id,
        "data": { "ret": 0, "message": "", "file_id": f.file_id,
                  "videoUrls": [{ "url": url, "sha": f.sha, "size": f.size }] },
    })
}

/// Inserts one event row (its id is its row's, so it is known only once inserted).
fn insert(tx: &Transaction<'_>, kind: &str, target: Option<&str>, f: &FinishedFile, url: &str, now: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO outbox (kind, target, file_id, body, created, next_at) VALUES (?1, ?2, ?3, '', ?4, ?4)",
        params![kind, target, f.file_id, now],
    )?;
    let row = tx.last_insert_rowid();
    let event_id = format!("{}-{row}", f.file_id);
    let body = match kind {
        "callback" => callback(&event_id, f, url),
        _ => upload_event(&event_id, f, url, now),
    };
    tx.execute("UPDATE outbox SET event_id = ?2, body = ?3 WHERE id = ?1", params![row, event_id, body.to_string()])?;
    Ok(())
}

/// In the transaction that records `f` as finished: its upload-complete event, and its seed-000
/// callback if its session was given a `notifyUrl`.
pub(super) fn record_finish(tx: &Transaction<'_>, f: &FinishedFile, url: &str, now: i64) -> rusqlite::Result<()> {
    insert(tx, "upload", None, f, url, now)?;
    if let Some(target) = &f.meta.notify_url {
        insert(tx, "callback", Some(target), f, url, now)?;
    }
    Ok(())
}

fn outgoing(r: &rusqlite::Row<'_>) -> rusqlite::Result<Outgoing> {
    Ok(Outgoing {
        row: r.get(0)?,
        event_id: r.get(1)?,
        kind: r.get(2)?,
        target: r.get(3)?,
        body: r.get(4)?,
        attempts: r.get(5)?,
        created: r.get(6)?,
    })
}

const COLUMNS: &str = "id, event_id, kind, target, body, attempts, created";

impl Store {
    /// The base of finished files' URLs in events (the server's `--public-url`).
    pub fn set_public_url(&self, url: &str) {
        *lock(&self.public_url) = url.to_string();
    }

    fn file_url(&self, f: &FinishedFile) -> String {
        format!("{}/vod/{}/f0.{}", lock(&self.public_url), f.file_id, f.file_type)
    }

    pub(super) fn record_finish_events(&self, tx: &Transaction<'_>, f: &FinishedFile, now: i64) -> rusqlite::Result<()> {
        record_finish(tx, f, &self.file_url(f), now)
    }

    /// Resolves when an event may have been recorded since the last call (the delivery loop's wake-up).
    pub async fn event_recorded(&self) {
        self.event_wake.notified().await
    }

    pub(super) fn wake_delivery(&self) {
        self.event_wake.notify_one();
    }

    /// Seed 000's callback for a file that was already there (a MultipartUploadVodFile answered
    /// `flag 1` at once), to `target`.
    pub async fn record_callback(self: &Arc<Self>, f: &FinishedFile, target: &str) -> Result<(), ApiError> {
        let (this, f, target) = (Arc::clone(self), f.clone(), target.to_string());
        blocking(move || {
            let url = this.file_url(&f);
            let mut db = lock(&this.db.0);
            let tx = db.transaction().map_err(|e| write_err("recording the callback", e))?;
            insert(&tx, "callback", Some(&target), &f, &url, crate::sign::now_unix())
                .and_then(|_| tx.commit())
                .map_err(|e| write_err("recording the callback", e))?;
            drop(db);
            this.wake_delivery();
            Ok(())
        })
        .await
    }

    /// Events due for delivery at `now` (or all pending ones with `all_due`), oldest first: only the
    /// first pending one of each file and receiver, so that a file's events arrive in order.
    /// Upload events only if `push_uploads` (a `--notify-url` is set).
    pub async fn due_events(self: &Arc<Self>, now: i64, all_due: bool, push_uploads: bool, limit: usize) -> Result<Vec<Outgoing>, ApiError> {
        let this = Arc::clone(self);
        blocking(move || {
            let read = || -> rusqlite::Result<Vec<Outgoing>> {
            let db = lock(&this.db.0);
            let sql = format!(
                "SELECT {COLUMNS} FROM outbox o WHERE state = 'pending' AND (?1 OR next_at <= ?2) \
                 AND (?3 OR kind <> 'upload') \
                 AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.state = 'pending' AND p.file_id = o.file_id \
                                 AND p.target IS o.target AND p.kind = o.kind AND p.id < o.id) \
                 ORDER BY id LIMIT ?4"
            );
            let mut stmt = db.prepare(&sql)?;
            let rows = stmt.query_map(params![all_due, now, push_uploads, limit as i64], outgoing)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
            };
            read().map_err(|e| read_err("reading the outbox", e))
        })
        .await
    }

    /// The receiver answered 2xx: the event is done.
    pub async fn event_delivered(self: &Arc<Self>, row: i64, now: i64) -> Result<(), ApiError> {
        let this = Arc::clone(self);
        blocking(move || {
            lock(&this.db.0)
                .execute("UPDATE outbox SET state = 'done', done_at = ?2, attempts = attempts + 1 WHERE id = ?1", params![row, now])
                .map(drop)
                .map_err(|e| write_err("recording a delivery", e))
        })
        .await
    }

    /// A failed attempt: the next one at `next_at`, or none (`failed`) past the delivery window.
    pub async fn event_failed(self: &Arc<Self>, row: i64, next_at: Option<i64>, error: &str) -> Result<(), ApiError> {
        let (this, error) = (Arc::clone(self), error.chars().take(300).collect::<String>());
        blocking(move || {
            let db = lock(&this.db.0);
            match next_at {
                Some(at) => db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_at = ?2, last_error = ?3 WHERE id = ?1",
                    params![row, at, error],
                ),
                None => db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, state = 'failed', last_error = ?2 WHERE id = ?1",
                    params![row, error],
                ),
            }
            .map(drop)
            .map_err(|e| write_err("recording a failed delivery", e))
        })
        .await
    }

    /// PullEvents: upload events not yet delivered or confirmed, oldest first, after row `after`.
    pub async fn pull_events(self: &Arc<Self>, after: i64, limit: usize) -> Result<Vec<(i64, Value)>, ApiError> {
        let this = Arc::clone(self);
        blocking(move || {
            let read = || -> rusqlite::Result<Vec<(i64, Value)>> {
            let db = lock(&this.db.0);
            let mut stmt = db.prepare(
                "SELECT id, body FROM outbox WHERE kind = 'upload' AND state <> 'done' AND id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after, limit as i64], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            rows.map(|r| r.map(|(id, body)| (id, serde_json::from_str(&body).unwrap_or(Value::Null)))).collect()
            };
            read().map_err(|e| read_err("reading the outbox", e))
        })
        .await
    }

    /// ConfirmEvents: the upload events named are done. Returns how many were pending; ids
    /// unknown (or long pruned) are skipped.
    pub async fn confirm_events(self: &Arc<Self>, event_ids: Vec<String>, now: i64) -> Result<usize, ApiError> {
        let this = Arc::clone(self);
        blocking(move || {
            let write = || -> rusqlite::Result<usize> {
            let mut db = lock(&this.db.0);
            let tx = db.transaction()?;
            let mut confirmed = 0;
            for id in &event_ids {
                confirmed += tx.execute(
                    "UPDATE outbox SET state = 'done', done_at = ?2 WHERE event_id = ?1 AND kind = 'upload' AND state <> 'done'",
                    params![id, now],
                )?;
            }
            tx.commit()?;
            Ok(confirmed)
            };
            write().map_err(|e| write_err("confirming events", e))
        })
        .await
    }

    /// Forgets events done more than a day before `now`, and callbacks given up more than a day
    /// before (nobody can pull them); returns how many. An upload event given up stays until it is
    /// confirmed: it is a backend's only news of that file.
    pub async fn prune_events(self: &Arc<Self>, now: i64) -> Result<usize, ApiError> {
        let this = Arc::clone(self);
        blocking(move || {
            lock(&this.db.0)
                .execute(
                    "DELETE FROM outbox WHERE (state = 'done' AND done_at < ?1) \
                     OR (state = 'failed' AND kind = 'callback' AND created < ?2)",
                    params![now - KEEP_DONE_SECS, now - DELIVERY_WINDOW_SECS - KEEP_DONE_SECS],
                )
                .map_err(|e| write_err("pruning the outbox", e))
        })
        .await
    }

    /// The outbox row of an event, for tests: its state and attempts.
    pub async fn event_state(self: &Arc<Self>, event_id: &str) -> Result<Option<(String, u32)>, ApiError> {
        let (this, id) = (Arc::clone(self), event_id.to_string());
        blocking(move || {
            lock(&this.db.0)
                .query_row("SELECT state, attempts FROM outbox WHERE event_id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(|e| read_err("reading the outbox", e))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Meta;

    fn file(sha: &str, notify: Option<&str>) -> FinishedFile {
        let meta = Meta { file_name: "a.mp4".into(), file_type: "mp4".into(), notify_url: notify.map(String::from), ..Meta::default() };
        FinishedFile { sha: sha.into(), file_id: String::new(), file_name: "a.mp4".into(), file_type: "mp4".into(), size: 3, meta }
    }

    #[tokio::test]
    async fn the_events_commit_with_the_file_or_not_at_all_and_go_in_order_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let sha = "aa".repeat(20);
        // An event that cannot be written takes the file's record with it.
        let failed = store.db.record_finished(file(&sha, None), "s1", |_| "1000000000000000001".into(), |_, _| {
            Err(rusqlite::Error::InvalidQuery)
        });
        assert!(failed.is_err());
        assert!(store.db.finished(&sha).unwrap().is_none());
        assert!(store.due_events(0, true, true, 10).await.unwrap().is_empty());
        // Written with it: the upload event and the callback.
        let f = store
            .db
            .record_finished(file(&sha, Some("http://x/cb")), "s1", |_| "1000000000000000001".into(), |tx, f| {
                record_finish(tx, f, "http://h/vod/1/f0.mp4", 100)
            })
            .unwrap();
        store.record_callback(&f, "http://x/cb").await.unwrap();
        let due = store.due_events(100, false, true, 10).await.unwrap();
        // The second callback of the file waits for the first: in order per file and receiver.
        let kinds: Vec<(&str, Option<&str>)> = due.iter().map(|e| (e.kind.as_str(), e.target.as_deref())).collect();
        assert_eq!(kinds, vec![("upload", None), ("callback", Some("http://x/cb"))]);
        assert!(store.due_events(100, false, false, 10).await.unwrap().iter().all(|e| e.kind == "callback"));
        store.event_failed(due[1].row, Some(160), "HTTP 500").await.unwrap();
        assert_eq!(store.due_events(150, false, true, 10).await.unwrap().len(), 1, "the failed one waits for its backoff");
        assert_eq!(store.due_events(150, true, true, 10).await.unwrap().len(), 2, "a start tries every pending one");
        store.event_delivered(due[1].row, 170).await.unwrap();
        // (The second callback was recorded at the real clock's time: all due, to see it.)
        let next = store.due_events(170, true, true, 10).await.unwrap();
        assert_eq!(next.len(), 2);
        assert_ne!(next[1].event_id, due[1].event_id);
        let body: Value = serde_json::from_str(&next[0].body).unwrap();
        assert_eq!((body["eventId"].as_str(), body["fileId"].as_str()), (Some(next[0].event_id.as_str()), Some("1000000000000000001")));
        // Done events are pruned a day later; pending ones are not.
        assert_eq!(store.prune_events(170 + KEEP_DONE_SECS + 1).await.unwrap(), 1);
        assert_eq!(store.event_state(&due[0].event_id).await.unwrap(), Some(("pending".into(), 0)));
    }
}
