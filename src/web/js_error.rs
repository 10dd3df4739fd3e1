//! Errors at the JS edge: an `UploadError` becomes an instance of the `UploadError` class the package
//! exports (or a `DOMException` named `AbortError`); invalid arguments are `TypeError`s.

use std::cell::RefCell;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::DomException;

use crate::error::{ErrorKind, UploadError};

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Called once by the package's entry module with its `UploadError` class, so that errors made here
/// are instances of the class users import.
#[wasm_bindgen(js_name = registerErrorClass, skip_typescript)]
pub fn register_error_class(class: Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

pub fn abort_error() -> JsValue {
    DomException::new_with_message_and_name("The upload was aborted.", "AbortError")
        .map(JsValue::from)
        .unwrap_or_else(|_| js_sys::Error::new("The upload was aborted.").into())
}

pub fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// What came back, for `error.cause`.
fn cause(error: &UploadError) -> JsValue {
    let cause = Object::new();
    match &error.kind {
        ErrorKind::Http { status, body } => {
            set(&cause, "status", &JsValue::from(*status));
            set(&cause, "body", &JsValue::from_str(body));
        }
        ErrorKind::Malformed { reason, body } => {
            set(&cause, "reason", &JsValue::from_str(reason));
            set(&cause, "body", &JsValue::from_str(body));
        }
        ErrorKind::Server { code, message, can_retry } => {
            set(&cause, "code", &JsValue::from(*code as f64));
            set(&cause, "message", &JsValue::from_str(message));
            set(&cause, "canRetry", &JsValue::from(*can_retry));
        }
        ErrorKind::Network(why) | ErrorKind::Read(why) | ErrorKind::Signature(why) => {
            return js_sys::Error::new(why).into();
        }
        ErrorKind::Aborted | ErrorKind::EmptyFile => return JsValue::UNDEFINED,
    }
    if error.attempts > 0 {
        set(&cause, "attempts", &JsValue::from(error.attempts));
    }
    cause.into()
}

/// The JS value a failed upload rejects with.
pub fn to_js(error: &UploadError) -> JsValue {
    if error.is_abort() {
        return abort_error();
    }
    let message = JsValue::from_str(&error.to_string());
    let details = Object::new();
    set(&details, "code", &error.code().map_or(JsValue::NULL, |c| JsValue::from(c as f64)));
    set(&details, "canRetry", &JsValue::from(error.can_retry()));
    set(&details, "step", &JsValue::from_str(error.step.as_str()));
    set(&details, "cause", &cause(error));
    let class = ERROR_CLASS.with(|c| c.borrow().clone());
    if let Some(class) = class {
        if let Ok(made) = Reflect::construct(&class, &js_sys::Array::of2(&message, &details)) {
            return made;
        }
    }
    // Used without the package's entry module: a plain Error with the same fields.
    let plain = js_sys::Error::new(&error.to_string());
    plain.set_name("UploadError");
    for key in ["code", "canRetry", "step", "cause"] {
        set(&plain, key, &Reflect::get(&details, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED));
    }
    plain.into()
}
