//! An open upload session: its data file, the parts it holds, and the SHA-1 of its first bytes,
//! carried forward in memory as contiguous parts arrive.

use super::db::SessionRow;
use super::{lock, HeldPart, InitOutcome, Meta};
use crate::error::ApiError;
use sha1::{Digest, Sha1};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

/// A held part's size and MD5, by offset: 28 bytes a part (a 1 TiB session of 1 MiB parts
/// holds about 40 MiB of them).
#[derive(Default)]
pub(super) struct Parts {
    pub held: BTreeMap<u64, (u32, [u8; 16])>,
    /// Being written.
    pub in_flight: HashSet<u64>,
    /// Being received (the body is read), see [`super::room`].
    pub receiving: Offsets,
}

impl Parts {
    /// Records a part; `md5` is 32 hex digits (as checked by the API and stored in the database).
    pub fn hold(&mut self, offset: u64, size: u64, md5: &str) {
        let mut raw = [0u8; 16];
        // The API and the database only ever hand over 32 hex digits.
        let _ = hex::decode_to_slice(md5, &mut raw);
        self.held.insert(offset, (size as u32, raw));
    }

    /// The MD5 of the part at `offset`, hex, if it is held.
    pub fn md5_at(&self, offset: u64) -> Option<String> {
        self.held.get(&offset).map(|(_, md5)| hex::encode(md5))
    }
}

/// The SHA-1 of the file's first `frontier` bytes; `None` after a restart (recomputed at finish).
pub(super) struct Running {
    pub hasher: Option<Sha1>,
    pub frontier: u64,
}

/// An open upload session, keyed by the SHA-1 and the uid of the signature that opened it (a key
/// holder's session: [`super::KEY_HOLDER`]).
pub struct Session {
    pub sha: String,
    pub uid: String,
    pub file_size: u64,
    /// The size of every part but the last (of a contiguous session: of its first part).
    pub data_size: u64,
    /// A MultipartUploadVodFile session: contiguous bytes from 0, parts of any size.
    pub contiguous: bool,
    /// When it was opened, Unix seconds.
    pub created: i64,
    pub meta: Meta,
    /// Its data file's name inside `uploads/` (opened on demand, through the store's cache).
    pub(super) name: String,
    /// When it last got a part (or was opened), Unix seconds.
    pub(super) touched: AtomicI64,
    /// Parts hold it shared while they write; finishing holds it exclusively. `true` once closed.
    pub(super) gate: tokio::sync::RwLock<bool>,
    pub(super) parts: Mutex<Parts>,
    pub(super) running: Mutex<Running>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({} of uid {:?}, {})", self.sha, self.uid, self.name)
    }
}

impl Session {
    /// A session whose running SHA-1 starts at byte 0 (`fresh`), or is unknown (reopened after a
    /// restart: the data file is read once at finish).
    pub(super) fn new(row: SessionRow, parts: Parts, fresh: bool) -> Session {
        Session {
            sha: row.sha,
            uid: row.uid,
            file_size: row.file_size,
            data_size: row.data_size,
            contiguous: row.contiguous,
            created: row.created,
            meta: row.meta,
            name: row.name,
            touched: AtomicI64::new(row.touched),
            gate: tokio::sync::RwLock::new(false),
            parts: Mutex::new(parts),
            running: Mutex::new(Running { hasher: fresh.then(Sha1::new), frontier: 0 }),
        }
    }

    /// How many parts the whole file has.
    pub fn part_count(&self) -> u64 {
        self.file_size.div_ceil(self.data_size)
    }

    /// At most `limit` of the parts held now, from offset `from` on.
    pub fn held_parts_from(&self, from: u64, limit: usize) -> Vec<HeldPart> {
        lock(&self.parts)
            .held
            .range(from..)
            .take(limit)
            .map(|(&offset, (size, md5))| HeldPart { offset, size: u64::from(*size), md5: hex::encode(md5) })
            .collect()
    }

    /// How many parts are held now.
    pub fn held_count(&self) -> usize {
        lock(&self.parts).held.len()
    }

    /// How many bytes the parts held now cover.
    pub fn held_bytes(&self) -> u64 {
        lock(&self.parts).held.values().map(|(size, _)| u64::from(*size)).sum()
    }

    /// Where the bytes held from offset 0 on without a gap end: where a contiguous session's next
    /// part starts.
    pub fn contiguous_end(&self) -> u64 {
        let parts = lock(&self.parts);
        let mut end = 0;
        while let Some((size, _)) = parts.held.get(&end) {
            end += u64::from(*size);
        }
        end
    }

    /// An Init call on an open session: resumed, if `file_size` is its own and it is not a
    /// MultipartUploadVodFile session.
    pub(super) fn resume(self: &Arc<Self>, file_size: u64) -> Result<InitOutcome, ApiError> {
        if self.contiguous {
            return Err(other_kind_open(&self.sha, true));
        }
        if self.file_size != file_size {
            return Err(ApiError::Param(format!(
                "fileSize {file_size} differs from the upload session's {}",
                self.file_size
            )));
        }
        Ok(InitOutcome::Resume { data_size: self.data_size, session: Arc::clone(self) })
    }

    /// Feeds the running SHA-1 every held part at its frontier; `own` is the part just received,
    /// hashed from memory, the others are read back from the data file.
    pub(super) fn advance_hash(&self, file: &File, own: Option<(u64, &[u8])>) -> std::io::Result<()> {
        let mut running = lock(&self.running);
        let Running { hasher, frontier } = &mut *running;
        let Some(hasher) = hasher.as_mut() else { return Ok(()) };
        loop {
            let next = lock(&self.parts).held.get(frontier).map(|(size, _)| u64::from(*size));
            let Some(size) = next else { return Ok(()) };
            match own {
                Some((offset, bytes)) if offset == *frontier => hasher.update(bytes),
                _ => {
                    let mut buf = vec![0u8; size as usize];
                    file.read_exact_at(&mut buf, *frontier)?;
                    hasher.update(&buf);
                }
            }
            *frontier += size;
        }
    }

    /// The SHA-1 of the whole file: from the running state when it covers the file, else by
    /// reading the data file once.
    pub(super) fn whole_sha1(&self, file: &File) -> std::io::Result<String> {
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
            file.read_exact_at(&mut buf[..n], pos)?;
            hasher.update(&buf[..n]);
            pos += n as u64;
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

/// `-10003`: `sha` has a session of the other kind, which this call cannot continue (`multipart`:
/// the open one is a MultipartUploadVodFile session).
pub(super) fn other_kind_open(sha: &str, multipart: bool) -> ApiError {
    let (open, calls) = match multipart {
        true => ("a MultipartUploadVodFile upload", "the Init, UploadPart and Finish calls cannot continue it"),
        false => ("an upload opened by InitUpload or InitUploadEx", "MultipartUploadVodFile cannot continue it"),
    };
    ApiError::Param(format!("{open} of fileSha {sha} is open: {calls} (one kind of upload per file at a time)"))
}

/// Offsets whose bodies are being received ([`super::room`]).
pub(super) type Offsets = HashSet<u64>;
