//! The bindings to io.js: the browser calls that are a few lines of JS and would be kilobytes of wasm
//! bound from Rust one method at a time.

use js_sys::{Array, ArrayBuffer, Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, AbortSignal, Blob, File, ReadableStreamByobReader};

use crate::upload::EnvError;

/// What a rejection of `send` or `readPart` means: null is an abort, a string says what failed, and
/// `{ read }` says why the file could not be read.
pub fn env_error(why: JsValue) -> EnvError {
    if let Some(text) = why.as_string() {
        return EnvError::Failed(text);
    }
    match js_sys::Reflect::get(&why, &"read".into()).ok().and_then(|r| r.as_string()) {
        Some(text) => EnvError::Unreadable(text),
        None => EnvError::Aborted,
    }
}

#[wasm_bindgen(module = "/src/web/io.js")]
extern "C" {
    /// `[status, text]`; rejects with null when `signal` aborted, `{ read }` when the body could not be
    /// read from the file, else with a string.
    pub fn send(method: &str, url: &str, body: Option<&Blob>, signal: &AbortSignal, timeout_ms: u32) -> Promise;
    pub fn sleep(ms: u32, signal: &AbortSignal) -> Promise;
    #[wasm_bindgen(js_name = linkedController)]
    pub fn linked_controller(signal: Option<&AbortSignal>) -> AbortController;
    pub fn report(on_progress: &Function, phase: &str, loaded: f64, total: f64, bytes_per_second: f64, eta_seconds: Option<f64>);
    #[wasm_bindgen(js_name = askSignature)]
    pub fn ask_signature(get_signature: &Function, file_sha: &str, file_name: &str, file_type: &str, file_size: f64) -> Promise;
    /// The part's MD5, or its bytes (a `Uint8Array`) to hash here; rejects like `send`.
    #[wasm_bindgen(js_name = readPart)]
    pub fn read_part(blob: &Blob, offset: f64, end: f64, pool: &Array, signal: &AbortSignal, worker: Option<&JsValue>) -> Promise;
    /// A `Uint8Array`; rejects with an `Error`.
    pub fn fill(reader: &ReadableStreamByobReader, buffer: ArrayBuffer, want: u32) -> Promise;
    #[wasm_bindgen(js_name = cacheGet)]
    pub fn cache_get(file: &File) -> Promise;
    #[wasm_bindgen(js_name = cachePut)]
    pub fn cache_put(file: &File, sha: &str, edge: &str) -> Promise;
    #[wasm_bindgen(js_name = cacheDelete)]
    pub fn cache_delete(file: &File) -> Promise;
}
