//! The browser layer: one small file per browser API, and the exported JavaScript API. Everything here
//! binds the global scope itself (no `window()`), so the same code runs on a page and in a Web Worker.

mod api;
mod cache;
mod diagnostics;
mod env;
mod fetch;
mod hasher;
mod io;
pub(crate) mod json;
mod file;
mod js_error;
mod options;
mod timer;
mod types;

pub use api::{hash_file_js, upload_js};
pub use hasher::register_hash_worker;
pub use js_error::register_error_class;
pub use types::TS_TYPES;

/// Talc instead of the standard library's dlmalloc: a fraction of its code in the wasm, and faster.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
