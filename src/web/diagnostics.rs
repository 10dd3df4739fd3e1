//! Figures for benchmarks and memory checks: the SHA-1 compute ceiling of this build, and the size
//! of its wasm memory.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::hash::FileHasher;

/// SHA-1 throughput of this wasm build, in MB/s (10^6 bytes per second), hashing `megabytes` MB that
/// are already in wasm memory: the ceiling a streamed hash of a file can approach.
#[wasm_bindgen(js_name = sha1Throughput)]
pub fn sha1_throughput(megabytes: u32) -> f64 {
    let chunk = vec![0x5au8; 1 << 20];
    let total = u64::from(megabytes.max(1)) * 1_000_000;
    let mut hasher = FileHasher::new();
    let start = js_sys::Date::now();
    let mut done = 0u64;
    while done < total {
        let n = (total - done).min(chunk.len() as u64) as usize;
        hasher.update(&chunk[..n]);
        done += n as u64;
    }
    let digest = hasher.finish_hex();
    let seconds = ((js_sys::Date::now() - start) / 1000.0).max(1e-3);
    // Keep the digest observable so the work is not optimised away.
    if digest.is_empty() {
        return 0.0;
    }
    total as f64 / 1e6 / seconds
}

/// Bytes of linear memory this wasm instance holds now.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}
