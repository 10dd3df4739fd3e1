//! The browser layer: the exported JavaScript API, the `Job` that io.js drives for each call, and the
//! hash worker's exports. Nothing here binds `window`, so the same code runs on a page and in a Web
//! Worker.

mod api;
mod hasher;
mod io;
mod job;
mod js_error;
mod options;
mod types;

pub use api::{hash_file_js, upload_js};
pub use hasher::register_hash_worker;
pub use js_error::register_error_class;
pub use types::TS_TYPES;

/// Talc instead of the standard library's dlmalloc: a fraction of its code in the wasm, and faster.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
