//! The browser layer's wasm side: the upload machine as an object the browser edge (`js/`) drives,
//! the progress meter of the hash pass and the queue, and the two digests. It calls no JavaScript of this package: the
//! edge calls in, hands over what happened, and takes back plain objects (commands, progress, a
//! result or an error description). Nothing here binds `window`, so the same module runs on a page
//! and in a Web Worker.

mod error;
mod hash;
mod object;
mod progress;
mod upload;

pub use hash::{md5_hex_js, sha1_stage, Sha1};
pub use progress::EdgeMeter;
pub use upload::{PartSize, Upload};

/// Talc instead of the standard library's dlmalloc: a fraction of its code in the wasm, and faster.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
