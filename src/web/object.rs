//! Plain JS objects with named fields, the only shape in which values leave the wasm.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// A new object with these fields.
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&o, &JsValue::from_str(key), value);
    }
    o.into()
}

/// A byte count or offset as a JS number (exact up to 2^53, far past any file a browser reads).
pub fn number(n: u64) -> JsValue {
    JsValue::from(n as f64)
}
