//! `fetch` with a per-call timeout, in io.js: bound on the global scope, so it works on a page and in
//! a worker.

use js_sys::Array;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Blob};

use crate::answer::HttpReply;
use crate::request::Request;
use crate::upload::EnvError;
use crate::web::io;

/// Sends `request` and reads the whole answer. `signal` aborts it (→ `Aborted`); no answer within
/// `timeout_ms` is a network failure. A part's body is a slice of the file: the browser streams it
/// from the file itself, several times faster than a body copied out of memory.
pub async fn send(request: &Request, body: Option<&Blob>, signal: &AbortSignal, timeout_ms: u32) -> Result<HttpReply, EnvError> {
    if signal.aborted() {
        return Err(EnvError::Aborted);
    }
    match JsFuture::from(io::send(request.method.as_str(), &request.url, body, signal, timeout_ms)).await {
        Ok(reply) => {
            let reply: Array = reply.into();
            Ok(HttpReply { status: reply.get(0).as_f64().unwrap_or(0.0) as u16, body: reply.get(1).as_string().unwrap_or_default() })
        }
        Err(why) => Err(io::env_error(why)),
    }
}
