//! The hash worker's side of the wasm, and where the page's side finds the worker. The hash pass
//! (io.js) reads the file on the calling thread, window by window with the next read in flight, and
//! hands each window to the Web Worker the package's entry module registered (transferred, not
//! copied), which hashes it with this module's `Sha1`; parts' MD5s go to the same worker. Reading
//! and hashing then run on two threads at once, and the calling thread only waits on I/O.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::hash::FileHasher;

thread_local! {
    static WORKER: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Called by the package's entry module with its hash worker's interface: `startHash()` starts a
/// SHA-1 job and returns `{ update(window): Promise, spare(): ArrayBuffer | null,
/// digest(): Promise<string>, abort() }` (a window's buffer goes to the worker and comes back as a
/// spare), and `md5(view)` returns a promise of `{ md5, buffer }` (the same round trip); both return
/// null where no worker can run, and then the work is done on this thread.
#[wasm_bindgen(js_name = registerHashWorker, skip_typescript)]
pub fn register_hash_worker(worker: JsValue) {
    WORKER.with(|w| *w.borrow_mut() = Some(worker));
}

/// The hash worker's interface, where the entry module registered one.
pub fn worker() -> Option<JsValue> {
    WORKER.with(|w| w.borrow().clone())
}

/// MD5 for the hash worker, lowercase hex.
#[wasm_bindgen(js_name = md5Hex, skip_typescript)]
pub fn md5_hex_js(bytes: &[u8]) -> String {
    crate::hash::md5_hex(bytes)
}

/// Bytes of a window the hash worker copies into wasm memory at a time, then hashes while they are
/// still in the CPU's cache (`Sha1::stage`).
pub const STAGE: usize = 256 << 10;

/// Streaming SHA-1 for the hash worker: each window through `stage` and `updateStaged`, then `finish`. Internal to the
/// package, so kept out of its types (whose `Symbol.dispose` would also ask consumers for lib esnext).
#[wasm_bindgen(skip_typescript)]
pub struct Sha1(FileHasher, Vec<u8>);

#[wasm_bindgen]
impl Sha1 {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Sha1 {
        Sha1(FileHasher::new(), Vec::new())
    }

    /// Where in wasm memory the worker copies the next `STAGE` bytes (or fewer) to be hashed by
    /// `update_staged`: one buffer for the whole file, instead of a window-sized one per window.
    pub fn stage(&mut self) -> *mut u8 {
        self.1.resize(STAGE, 0);
        self.1.as_mut_ptr()
    }

    /// Hashes the first `len` bytes of the stage.
    #[wasm_bindgen(js_name = updateStaged)]
    pub fn update_staged(&mut self, len: usize) {
        self.0.update(&self.1[..len.min(self.1.len())]);
    }

    /// Lowercase hex SHA-1 of everything staged and hashed.
    pub fn finish(self) -> String {
        self.0.finish_hex()
    }
}
