//! The bindings to io.js, the JavaScript half of the browser layer: it reads the file, runs the hash
//! worker, sends requests, waits, and keeps the hash cache, driving a `Job` — a few lines of JS each,
//! where binding every browser method from Rust would be kilobytes of wasm and glue.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, AbortSignal, File};

#[wasm_bindgen(module = "/src/web/io.js")]
extern "C" {
    /// Hashes (or finds in the cache) and uploads `file`, driving `job`; settles with what `upload` does.
    pub fn upload(job: JsValue, file: &File, controller: &AbortController, get_signature: &Function, timeout_ms: u32, hash_cache: bool, worker: Option<JsValue>) -> Promise;
    /// Hashes `file`, driving `job`; settles with what `hashFile` does.
    #[wasm_bindgen(js_name = hashFile)]
    pub fn hash_file(job: JsValue, file: &File, controller: &AbortController, worker: Option<JsValue>) -> Promise;
    /// `upload()`'s options, checked (see io.js); throws a `TypeError`.
    #[wasm_bindgen(catch, js_name = uploadOptions)]
    pub fn upload_options(options: &JsValue) -> Result<Array, JsValue>;
    /// `[onProgress, signal]`, checked; throws a `TypeError`.
    #[wasm_bindgen(catch, js_name = hashOptions)]
    pub fn hash_options(options: &JsValue) -> Result<Array, JsValue>;
    #[wasm_bindgen(js_name = linkedController)]
    pub fn linked_controller(signal: Option<&AbortSignal>) -> AbortController;
    pub fn report(on_progress: &Function, phase: &str, loaded: f64, total: f64, bytes_per_second: f64, eta_seconds: Option<f64>);
    #[wasm_bindgen(js_name = cacheDelete)]
    pub fn cache_delete(file: &File) -> Promise;
}
