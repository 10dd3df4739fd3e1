//! Reading byte ranges of a `Blob` (a `File`) into wasm memory.

use std::future::Future;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::upload::EnvError;
use crate::web::js_error::describe;

/// Starts reading `len` bytes at `offset` now (the browser works on it while the caller does other
/// things) and returns a future of them, as an `ArrayBuffer` outside wasm memory.
pub fn read_buffer(blob: &Blob, offset: u64, len: u64) -> impl Future<Output = Result<ArrayBuffer, EnvError>> {
    let started = blob
        .slice_with_f64_and_f64(offset as f64, (offset + len) as f64)
        .map(|slice| JsFuture::from(slice.array_buffer()));
    async move {
        let buffer = started.map_err(|e| EnvError::Failed(describe(&e)))?.await.map_err(|e| EnvError::Failed(describe(&e)))?;
        buffer.dyn_into().map_err(|_| EnvError::Failed("Blob.arrayBuffer() gave no ArrayBuffer".into()))
    }
}

/// Copies a buffer into `buf` (reused between calls).
pub fn copy_into(buffer: &ArrayBuffer, mut buf: Vec<u8>) -> Vec<u8> {
    let view = Uint8Array::new(buffer);
    buf.resize(view.length() as usize, 0);
    view.copy_to(&mut buf);
    buf
}

/// Starts reading `len` bytes at `offset` now; a future of them in wasm memory.
pub fn read(blob: &Blob, offset: u64, len: u64) -> impl Future<Output = Result<Vec<u8>, EnvError>> {
    let read = read_buffer(blob, offset, len);
    async move { Ok(copy_into(&read.await?, Vec::new())) }
}
