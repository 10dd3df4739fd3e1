//! The platform seam: the two things the core takes from the platform it runs on, chosen by cargo
//! feature. With `web` (the browser build) JSON is read with the browser's own `JSON.parse` and query
//! values are encoded with its `encodeURIComponent`, so the wasm carries neither a JSON parser nor
//! an encoder; otherwise (feature `native`, the default) with `serde_json` and `percent-encoding`.

#[cfg(not(any(feature = "web", feature = "native")))]
compile_error!("enable cargo feature `native` (the default) or `web` (the browser build)");

/// A parsed JSON value, as much of it as answers need, so that one reading of the fields
/// ([`crate::answer::Answer::from_json`]) serves every platform.
pub trait JsonValue: Sized {
    fn parse(text: &str) -> Result<Self, String>;
    /// The field's value where the value is an object holding it and it is not null.
    fn field(&self, name: &str) -> Option<Self>;
    fn as_f64(&self) -> Option<f64>;
    fn as_bool(&self) -> Option<bool>;
    fn as_string(&self) -> Option<String>;
    fn items(&self) -> Option<Vec<Self>>;
    /// An object, not an array.
    fn is_object(&self) -> bool;
}

pub use imp::{encode_query_value, Json};

#[cfg(feature = "web")]
mod imp {
    use js_sys::{Array, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    use super::JsonValue;

    /// A value `JSON.parse` returned.
    pub struct Json(JsValue);

    impl JsonValue for Json {
        fn parse(text: &str) -> Result<Self, String> {
            // JSON.parse throws a SyntaxError.
            js_sys::JSON::parse(text).map(Json).map_err(|e| e.unchecked_into::<js_sys::Error>().message().into())
        }
        fn field(&self, name: &str) -> Option<Self> {
            if !self.0.is_object() {
                return None;
            }
            Reflect::get(&self.0, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null()).map(Json)
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
            self.0.dyn_ref::<Array>().map(|a| a.iter().map(Json).collect())
        }
        fn is_object(&self) -> bool {
            self.0.is_object() && !Array::is_array(&self.0)
        }
    }

    /// Appends `value` percent-encoded with `encodeURIComponent`, which leaves `A-Za-z0-9-_.!~*'()`
    /// (`!'()*` are legal in a query and decoded alike).
    pub fn encode_query_value(value: &str, url: &mut String) {
        url.push_str(&String::from(js_sys::encode_uri_component(value)));
    }
}

#[cfg(not(feature = "web"))]
mod imp {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

    use super::JsonValue;

    pub type Json = serde_json::Value;

    impl JsonValue for serde_json::Value {
        fn parse(text: &str) -> Result<Self, String> {
            serde_json::from_str(text).map_err(|e| e.to_string())
        }
        fn field(&self, name: &str) -> Option<Self> {
            self.get(name).filter(|v| !v.is_null()).cloned()
        }
        fn as_f64(&self) -> Option<f64> {
            serde_json::Value::as_f64(self)
        }
        fn as_bool(&self) -> Option<bool> {
            serde_json::Value::as_bool(self)
        }
        fn as_string(&self) -> Option<String> {
            self.as_str().map(str::to_string)
        }
        fn items(&self) -> Option<Vec<Self>> {
            self.as_array().cloned()
        }
        fn is_object(&self) -> bool {
            serde_json::Value::is_object(self)
        }
    }

    /// RFC 3986's unreserved characters stay; everything else, Base64's `+`, `/` and `=` included, is
    /// percent-encoded.
    const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

    /// Appends `value` percent-encoded.
    pub fn encode_query_value(value: &str, url: &mut String) {
        url.extend(utf8_percent_encode(value, QUERY_VALUE));
    }
}
