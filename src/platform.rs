//! The platform seam: what the core takes from the platform it runs on, chosen by cargo feature. With
//! `web` (the browser build) JSON is read with the browser's own `JSON.parse`, query values are encoded
//! with its `encodeURIComponent` and decoded with `decodeURIComponent`, Base64 is decoded with `atob`
//! and e^x is `Math.exp`, so the wasm carries no JSON parser, encoder, decoder or exp; otherwise
//! (feature `native`, the default) with `serde_json`, `percent-encoding`, `base64` and `f64::exp`.

#[cfg(not(any(feature = "web", feature = "native")))]
compile_error!("enable cargo feature `native` (the default) or `web` (the browser build)");

/// Why [`base64_text_after`] gave no text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Base64Problem {
    NotBase64,
    /// Nothing after the bytes skipped.
    TooShort,
    NotAscii,
}

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

pub use imp::{base64_text_after, decode_query_value, encode_query_value, exp, Json};

#[cfg(feature = "web")]
mod imp {
    use js_sys::{Array, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    use super::{Base64Problem, JsonValue};

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

    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        /// The platform's Base64 decoder: a string of one char per byte; throws on anything that is
        /// not Base64.
        #[wasm_bindgen(catch)]
        fn atob(text: &str) -> Result<String, JsValue>;
    }

    /// Standard Base64 with padding decoded with `atob` (which would also take it unpadded, or with
    /// ASCII whitespace): the bytes after the first `skip`, where there are some and they are ASCII.
    /// (`atob` gives a char per byte, so the ASCII tail is taken as it is: no UTF-8 check.)
    pub fn base64_text_after(text: &str, skip: usize) -> Result<String, Base64Problem> {
        if text.len() % 4 != 0 || text.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(Base64Problem::NotBase64);
        }
        let bytes = atob(text).map_err(|_| Base64Problem::NotBase64)?;
        let at = bytes.char_indices().nth(skip).map(|(at, _)| at).ok_or(Base64Problem::TooShort)?;
        // `get`, not `[..]`: a slice's panic path would bring Unicode tables into the wasm.
        match bytes.get(at..) {
            Some(tail) if tail.is_ascii() => Ok(tail.to_string()),
            _ => Err(Base64Problem::NotAscii),
        }
    }

    /// A query value decoded (`+` is a space, as form encoding writes it) with `decodeURIComponent`;
    /// None where it is not percent-encoded UTF-8.
    pub fn decode_query_value(value: &str) -> Option<String> {
        js_sys::decode_uri_component(&value.replace('+', " ")).ok().map(String::from)
    }

    /// e^x with the platform's `Math.exp` (the wasm would otherwise carry its own).
    pub fn exp(x: f64) -> f64 {
        js_sys::Math::exp(x)
    }
}

#[cfg(not(feature = "web"))]
mod imp {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

    use super::{Base64Problem, JsonValue};

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

    /// Standard Base64 with padding, strictly decoded: the bytes after the first `skip`, where there
    /// are some and they are ASCII.
    pub fn base64_text_after(text: &str, skip: usize) -> Result<String, Base64Problem> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| Base64Problem::NotBase64)?;
        match bytes.get(skip..) {
            Some(tail) if !tail.is_empty() && tail.is_ascii() => Ok(tail.iter().map(|&b| char::from(b)).collect()),
            Some(tail) if !tail.is_empty() => Err(Base64Problem::NotAscii),
            _ => Err(Base64Problem::TooShort),
        }
    }

    /// A query value decoded (`+` is a space, as form encoding writes it); None where it is not
    /// percent-encoded UTF-8.
    pub fn decode_query_value(value: &str) -> Option<String> {
        let spaced = value.replace('+', " ");
        // A `%` not followed by two hex digits is not an escape: refused, as decodeURIComponent does.
        let bytes = spaced.as_bytes();
        let malformed = bytes.iter().enumerate().any(|(i, &b)| {
            b == b'%' && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        });
        if malformed {
            return None;
        }
        percent_encoding::percent_decode_str(&spaced).decode_utf8().ok().map(|s| s.into_owned())
    }

    /// e^x.
    pub fn exp(x: f64) -> f64 {
        x.exp()
    }
}
