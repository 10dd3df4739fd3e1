//! Part writes: a part is written at its offset, `sync_data`'d, then recorded, and the running SHA-1
//! carried forward.

use super::{blocking, lock, write_err, PutOutcome, Session, Store};
use crate::error::ApiError;
use bytes::Bytes;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Store {
    /// An UploadPart call, after the request was checked against the session's sizes: writes the
    /// part at its offset, fsyncs, records it, and carries the SHA-1 forward.
    pub async fn put_part(self: &Arc<Self>, session: Arc<Session>, offset: u64, bytes: Bytes, md5: String) -> Result<PutOutcome, ApiError> {
        let gate = session.gate.read().await;
        if *gate {
            return Err(ApiError::NoSession("the upload session has just been finished or dropped".into()));
        }
        {
            let mut parts = lock(&session.parts);
            if let Some(held_md5) = parts.md5_at(offset) {
                return if held_md5 == md5 {
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
            let now = crate::sign::now_unix();
            let written = this
                .data_file(&s)
                .and_then(|file| file.write_all_at(&bytes, offset).and_then(|_| file.sync_data()).map(|_| file).map_err(|e| write_err("writing the part", e)));
            let file = match written {
                Ok(file) => file,
                Err(e) => {
                    lock(&s.parts).in_flight.remove(&offset);
                    return Err(e);
                }
            };
            let recorded = this.db.insert_part(&s.name, offset, bytes.len() as u64, &md5, now);
            {
                let mut parts = lock(&s.parts);
                parts.in_flight.remove(&offset);
                if let Err(e) = recorded {
                    return Err(write_err("recording the part", e));
                }
                parts.hold(offset, bytes.len() as u64, &md5);
            }
            s.touched.store(now, Ordering::Relaxed);
            if s.advance_hash(&file, Some((offset, &bytes))).is_err() {
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
