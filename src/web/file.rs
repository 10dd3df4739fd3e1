//! Reading a `Blob` (a `File`): byte ranges into wasm memory, or the whole stream into reused buffers.

use std::future::Future;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ReadableStreamByobReader};

use crate::upload::EnvError;
use crate::web::io;
use crate::web::js_error::failure;

/// Starts reading `len` bytes at `offset` now; a future of them in wasm memory.
pub fn read(blob: &Blob, offset: u64, len: u64) -> impl Future<Output = Result<Vec<u8>, EnvError>> {
    let started = blob
        .slice_with_f64_and_f64(offset as f64, (offset + len) as f64)
        .map(|slice| JsFuture::from(slice.array_buffer()));
    async move { Ok(Uint8Array::new(&started.map_err(failure)?.await.map_err(failure)?).to_vec()) }
}

/// Reads a `Blob` front to back into buffers the caller owns (a BYOB stream reader), so a pass over
/// a file of any size cycles through a few buffers instead of allocating one per window.
pub struct StreamReader(ReadableStreamByobReader);

impl StreamReader {
    pub fn new(blob: &Blob) -> Result<Self, EnvError> {
        ReadableStreamByobReader::new(&blob.stream()).map(StreamReader).map_err(failure)
    }

    /// Reads the next `want` bytes into the start of `buffer` (which the stream takes and gives
    /// back); returns a view of what was read: fewer bytes only where the file ended.
    pub async fn fill(&self, buffer: ArrayBuffer, want: u32) -> Result<Uint8Array, EnvError> {
        JsFuture::from(io::fill(&self.0, buffer, want)).await.map(JsCast::unchecked_into).map_err(failure)
    }

    pub fn cancel(&self) {
        let _ = self.0.cancel();
    }
}
