//! Many files with one lane budget: a few files at once, and the parts in flight across them all
//! within the uploader's `concurrency` (a semaphore that every part's call takes a permit of, so a
//! file that is hashing or finishing leaves its lanes to the others).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::{Error, Uploader, UploadResult};

/// Files uploaded at once by default: enough that one hashing or finishing leaves the lanes busy.
pub const DEFAULT_FILES_AT_ONCE: usize = 3;

impl Uploader {
    /// Uploads the files at `paths`, `files_at_once` at a time, with at most `concurrency` parts in
    /// flight across them all. `on_done` gets each file's index in `paths` and its outcome as it
    /// ends (in the order they end); a failed file does not stop the others. Returns how many failed.
    ///
    /// A rerun after a crash sends only what is missing: the sessions are on the server, so the files
    /// done come back instant and the one cut resumes.
    pub async fn upload_many(&self, paths: &[PathBuf], files_at_once: usize, mut on_done: impl FnMut(usize, Result<UploadResult, Error>)) -> usize {
        let mut uploader = self.clone();
        uploader.lanes = Some(Arc::new(Semaphore::new(self.concurrency.max(1))));
        let mut running = JoinSet::new();
        let (mut next, mut failed) = (0, 0);
        loop {
            while next < paths.len() && running.len() < files_at_once.max(1) {
                let (uploader, path, index) = (uploader.clone(), paths[next].clone(), next);
                running.spawn(async move { (index, uploader.upload(path).await) });
                next += 1;
            }
            let Some(joined) = running.join_next().await else { break };
            let (index, outcome) = joined.unwrap_or_else(|e| (usize::MAX, Err(Error::Settings(format!("an upload task failed: {e}")))));
            failed += usize::from(outcome.is_err());
            if index != usize::MAX {
                on_done(index, outcome);
            }
        }
        failed
    }
}

/// The files `paths` name, in order: a directory walked (sorted by name, into its subdirectories) for
/// its regular files; anything else as it is (a path that cannot be read fails as that file's upload). Hidden entries (a name starting with `.`) and symbolic links
/// to directories are skipped in a walk (no junk such as `.DS_Store`, no loop).
pub fn walk(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            walk_dir(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk_dir(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let read = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut entries: Vec<_> = read.collect::<Result<_, _>>().map_err(|e| format!("{}: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| format!("{}: {e}", path.display()))?;
        if kind.is_dir() {
            walk_dir(&path, files)?;
        } else if kind.is_file() || (kind.is_symlink() && path.metadata().is_ok_and(|m| m.is_file())) {
            files.push(path);
        }
    }
    Ok(())
}
