//! The two digests, for the page and the hash worker alike: a streaming SHA-1 fed through a stage in
//! wasm memory, and a part's MD5.

use wasm_bindgen::prelude::*;

use crate::hash::{md5_hex, FileHasher};

/// Bytes the caller copies into wasm memory at a time, then hashes while they are still in the
/// CPU's cache (`Sha1::stage`).
pub const STAGE: usize = 256 << 10;

/// [`STAGE`], for the edge that fills the stage (js/wasm.js).
#[wasm_bindgen(js_name = sha1Stage)]
pub fn sha1_stage() -> usize {
    STAGE
}

/// Streaming SHA-1: copy up to `STAGE` bytes to `stage()`, hash them with `updateStaged(n)`, again
/// for the next piece, then `finish()`. One stage for the whole file, instead of an allocation per
/// window.
#[wasm_bindgen]
pub struct Sha1(FileHasher, Vec<u8>);

#[wasm_bindgen]
impl Sha1 {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Sha1 {
        Sha1(FileHasher::new(), Vec::new())
    }

    /// Where in wasm memory the next piece (`STAGE` bytes or fewer) goes. May grow the memory: take
    /// its buffer after calling this.
    pub fn stage(&mut self) -> *mut u8 {
        self.1.resize(STAGE, 0);
        self.1.as_mut_ptr()
    }

    /// Hashes the first `len` bytes of the stage.
    #[wasm_bindgen(js_name = updateStaged)]
    pub fn update_staged(&mut self, len: usize) {
        self.0.update(&self.1[..len.min(self.1.len())]);
    }

    /// Lowercase hex SHA-1 of everything hashed.
    pub fn finish(self) -> String {
        self.0.finish_hex()
    }
}

/// A part's MD5, lowercase hex.
#[wasm_bindgen(js_name = md5Hex)]
pub fn md5_hex_js(bytes: &[u8]) -> String {
    md5_hex(bytes)
}
