//! Progress as the edge hands it to the app's `onProgress`, and the hash pass's meter.

use wasm_bindgen::prelude::*;

use crate::progress::{Meter, Phase, Progress};
use crate::web::object::{number, object};

/// `{ kind: 'progress', phase, loaded, total, bytesPerSecond, etaSeconds }`: speed in whole bytes,
/// time left to a tenth of a second (null until measured).
pub fn progress_object(p: &Progress) -> JsValue {
    let eta = p.eta_seconds.map_or(JsValue::NULL, |s| JsValue::from((s * 10.0).round() / 10.0));
    object(&[
        ("kind", "progress".into()),
        ("phase", p.phase.as_str().into()),
        ("loaded", number(p.loaded)),
        ("total", number(p.total)),
        ("bytesPerSecond", p.bytes_per_second.round().into()),
        ("etaSeconds", eta),
    ])
}

/// The hash pass's progress: bytes hashed of `total`, with a smoothed speed.
#[wasm_bindgen]
pub struct HashMeter(Meter);

#[wasm_bindgen]
impl HashMeter {
    /// A meter for hashing `total` bytes, starting now.
    #[wasm_bindgen(constructor)]
    pub fn new(total: f64) -> HashMeter {
        HashMeter(Meter::new(Phase::Hashing, total as u64, 0, js_sys::Date::now()))
    }

    /// `bytes` more are hashed: the progress to report (a `progress` command's fields).
    pub fn advance(&mut self, bytes: f64) -> JsValue {
        progress_object(&self.0.advance(bytes as u64, js_sys::Date::now()))
    }
}
