//! A failed upload as a plain description, from which the edge makes the `UploadError` users catch
//! (or, for an abort, a `DOMException` named `AbortError`).

use wasm_bindgen::prelude::*;

use crate::retry;
use crate::web::object::{number, object};
use crate::{ErrorKind, Step, UploadError};

/// `{ message, code, canRetry, resumable, hashRefused, step, cause, aborted }`: `code` is the
/// server's (or null), `resumable` and `hashRefused` the core's verdicts the edge acts on (keep the
/// pending upload; forget the file's remembered hash), `cause` what came back (`{ status, body }`,
/// `{ reason, body }`, `{ code, message, canRetry }`, each with `attempts` where the call was sent),
/// or the failure in words (a string), or undefined.
pub fn description(error: &UploadError) -> JsValue {
    object(&[
        ("message", error.message().into()),
        ("code", error.code().map_or(JsValue::NULL, |c| JsValue::from(c as f64))),
        ("canRetry", error.can_retry().into()),
        ("resumable", retry::resumable(error).into()),
        ("hashRefused", retry::hash_refused(error).into()),
        ("step", error.step.as_str().into()),
        ("cause", cause(error)),
        ("aborted", error.is_abort().into()),
    ])
}

fn cause(error: &UploadError) -> JsValue {
    let mut fields = match &error.kind {
        ErrorKind::Http { status, body } => vec![("status", JsValue::from(*status)), ("body", body.into())],
        ErrorKind::Malformed { reason, body } => vec![("reason", reason.into()), ("body", body.into())],
        ErrorKind::Server { code, message, can_retry } => {
            vec![("code", JsValue::from(*code as f64)), ("message", message.into()), ("canRetry", (*can_retry).into())]
        }
        ErrorKind::Network(why) | ErrorKind::Read(why) | ErrorKind::Signature(why) => return why.into(),
        ErrorKind::Aborted | ErrorKind::EmptyFile | ErrorKind::BadSignature(_) => return JsValue::UNDEFINED,
    };
    if error.attempts > 0 {
        fields.push(("attempts", number(error.attempts.into())));
    }
    object(&fields)
}

/// The description of a hash pass that could not read the file, `why` in words.
#[wasm_bindgen(js_name = hashError)]
pub fn hash_error(why: String) -> JsValue {
    description(&UploadError::new(Step::Hash, ErrorKind::Read(why)))
}
