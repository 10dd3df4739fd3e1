//! Progress as the edge hands it to the app's `onProgress`, and the meter of the edge's own
//! progress (the hash pass, the queue).

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

/// The core's progress meter for the edge's own progress: the hash pass (bytes hashed of `total`),
/// and the queue's sums; the speed is smoothed as the upload's is.
#[wasm_bindgen(js_name = Meter)]
pub struct EdgeMeter(Meter);

#[wasm_bindgen(js_class = Meter)]
impl EdgeMeter {
    /// A meter for hashing `total` bytes, starting now.
    #[wasm_bindgen(constructor)]
    pub fn new(total: f64) -> EdgeMeter {
        EdgeMeter(Meter::new(Phase::Hashing, total as u64, 0, js_sys::Date::now()))
    }

    /// `loaded` of `total` are done now (a queue's sums may move either way): the progress to
    /// report (a `progress` command's fields).
    pub fn at(&mut self, loaded: f64, total: f64) -> JsValue {
        progress_object(&self.0.at(loaded as u64, total as u64, js_sys::Date::now()))
    }
}
