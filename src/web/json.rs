//! The browser's `JSON.parse` behind the core's `JsonValue`, so the wasm carries no JSON parser.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::answer::JsonValue;

pub struct JsJson(JsValue);

impl JsonValue for JsJson {
    fn parse(text: &str) -> Result<Self, String> {
        // JSON.parse throws a SyntaxError.
        js_sys::JSON::parse(text).map(JsJson).map_err(|e| e.unchecked_into::<js_sys::Error>().message().into())
    }
    fn field(&self, name: &str) -> Option<Self> {
        if !self.0.is_object() {
            return None;
        }
        Reflect::get(&self.0, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null()).map(JsJson)
    }
    fn as_f64(&self) -> Option<f64> {
        self.0.as_f64()
    }
    fn as_bool(&self) -> Option<bool> {
        self.0.as_bool()
    }
    fn as_string(&self) -> Option<String> {
        self.0.as_string()
    }
    fn items(&self) -> Option<Vec<Self>> {
        self.0.dyn_ref::<Array>().map(|a| a.iter().map(JsJson).collect())
    }
    fn is_object(&self) -> bool {
        self.0.is_object() && !Array::is_array(&self.0)
    }
}
