//! The parts' MD5s taken on a second core while the SHA-1 pass runs on the first.
//!
//! The SHA-1 of the whole file must be known before the first call (it is in InitUploadEx and in the
//! signature), so the upload waits for that pass; on a machine with a core to spare, a thread reads
//! the file from its start, part by part, and takes each part's MD5 until the pass ends. The parts it
//! reached are sent with that MD5 and are not hashed again (their bytes are still read to be sent).
//!
//! An MD5 kept here is of the bytes as they were during the pass: if the file changes after it, the
//! server refuses the part as damaged and the core reads the part again, and that read is hashed
//! afresh (each kept MD5 is used once), so a changed file still fails as a read error.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use vod_ugc_uploader::hash::md5_hex;

/// The MD5s by part offset, each with the part's length.
pub(crate) type Md5s = HashMap<u64, (u64, String)>;

/// The thread taking MD5s while the SHA-1 pass runs.
pub(crate) struct Ahead {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Md5s>>,
}

impl Ahead {
    /// Starts taking the MD5s of the parts of `part_size` bytes of the file at `path`, from its
    /// start; nothing where the machine has a single core (the thread would slow the SHA-1 pass).
    pub(crate) fn start(path: &Path, part_size: u64) -> Ahead {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let thread = (cores > 1 && part_size > 0).then(|| {
            let (path, stop) = (path.to_path_buf(), Arc::clone(&stop));
            std::thread::spawn(move || md5s(&path, part_size, &stop))
        });
        Ahead { stop, thread }
    }

    /// Stops the thread (it ends the part it is in) and gives what it took.
    pub(crate) fn finish(mut self) -> Md5s {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Ahead {
    /// The pass failed: the thread is told to stop and left to end on its own.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Each part's MD5 in file order until `stop`, the end of the file, or a read error (the upload reads
/// the part again and reports that error where it happens).
fn md5s(path: &Path, part_size: u64, stop: &AtomicBool) -> Md5s {
    let mut taken = Md5s::new();
    let Ok(mut file) = File::open(path) else {
        return taken;
    };
    let mut buffer = Vec::with_capacity(part_size as usize);
    let mut offset = 0;
    while !stop.load(Ordering::Relaxed) {
        buffer.clear();
        match (&mut file).take(part_size).read_to_end(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                taken.insert(offset, (n as u64, md5_hex(&buffer)));
                offset += n as u64;
            }
        }
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_md5_is_that_of_its_bytes() {
        let dir = std::env::temp_dir().join(format!("vod-ahead-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        let bytes: Vec<u8> = (0..2_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let taken = md5s(&path, 1 << 20, &AtomicBool::new(false));
        assert_eq!(taken.len(), 3);
        for (offset, (len, md5)) in &taken {
            let part = &bytes[*offset as usize..(*offset + *len) as usize];
            assert_eq!(md5, &md5_hex(part), "part at {offset}");
        }
        assert_eq!(taken[&(2 << 20)].0, 2_500_000 - (2 << 20));
        // Told to stop before it starts: nothing.
        assert!(md5s(&path, 1 << 20, &AtomicBool::new(true)).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
