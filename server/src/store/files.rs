//! The data files kept open: a few, the least recently used closed first, so that descriptors do
//! not grow with the number of sessions.

use super::layout::Layout;
use super::lock;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::sync::{Arc, Mutex};

/// Open data files by name, each with when it was last used.
type OpenFiles = HashMap<String, (Arc<File>, u64)>;

/// A few open data files, the least recently used closed first.
pub(super) struct FileCache {
    cap: usize,
    /// The files, and the use counter.
    open: Mutex<(OpenFiles, u64)>,
}

impl FileCache {
    /// The data file `name`, opened if it is not open.
    pub(super) fn get(&self, layout: &Layout, name: &str) -> std::io::Result<Arc<File>> {
        let mut guard = lock(&self.open);
        let (files, tick) = &mut *guard;
        *tick += 1;
        if let Some((file, used)) = files.get_mut(name) {
            *used = *tick;
            return Ok(Arc::clone(file));
        }
        let file = Arc::new(OpenOptions::new().read(true).write(true).open(layout.upload_path(name))?);
        if files.len() >= self.cap {
            if let Some(oldest) = files.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone()) {
                files.remove(&oldest);
            }
        }
        files.insert(name.to_string(), (Arc::clone(&file), *tick));
        Ok(file)
    }

    pub(super) fn close(&self, name: &str) {
        lock(&self.open).0.remove(name);
    }
}

impl FileCache {
    pub(super) fn new(cap: usize) -> FileCache {
        FileCache { cap: cap.max(1), open: Mutex::new((HashMap::new(), 0)) }
    }
}
