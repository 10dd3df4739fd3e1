//! `fetch`, bound on the global scope so it works on a page and in a worker.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Blob, Headers, RequestInit, Response};

use crate::answer::HttpReply;
use crate::request::{Method, Request};
use crate::upload::EnvError;
use crate::web::js_error::failure;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_str_and_init(input: &str, init: &RequestInit) -> Promise;

    #[wasm_bindgen(js_namespace = AbortSignal, js_name = any)]
    fn abort_signal_any(signals: &js_sys::Array) -> AbortSignal;
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout)]
    fn abort_signal_timeout(ms: f64) -> AbortSignal;
}

/// A signal that aborts after `ms`, where the browser has `AbortSignal.timeout` and `AbortSignal.any`
/// (Chrome 116, Firefox 124, Safari 17.4); older browsers go without a per-call timeout.
fn timeout_signal(ms: u32) -> Option<AbortSignal> {
    let class = js_sys::Reflect::get(&js_sys::global(), &"AbortSignal".into()).ok()?;
    let has = |name: &str| js_sys::Reflect::get(&class, &name.into()).is_ok_and(|f| f.is_function());
    (has("timeout") && has("any")).then(|| abort_signal_timeout(f64::from(ms)))
}

/// Sends `request` and reads the whole answer. `signal` aborts it (→ `Aborted`); no answer within
/// `timeout_ms` is a network failure. A part's body is a slice of the file: the browser streams it
/// from the file itself, several times faster than a body copied out of memory.
pub async fn send(request: &Request, body: Option<&Blob>, signal: &AbortSignal, timeout_ms: u32) -> Result<HttpReply, EnvError> {
    if signal.aborted() {
        return Err(EnvError::Aborted);
    }
    let init = RequestInit::new();
    init.set_method(request.method.as_str());
    let timeout = timeout_signal(timeout_ms);
    match &timeout {
        Some(timeout) => init.set_signal(Some(&abort_signal_any(&js_sys::Array::of2(signal, timeout)))),
        None => init.set_signal(Some(signal)),
    }
    if let (Method::Post, Some(blob)) = (request.method, body) {
        init.set_body(blob);
        let headers = Headers::new().map_err(failure)?;
        headers.set("Content-Type", "application/octet-stream").map_err(failure)?;
        init.set_headers(&headers);
    }
    let failed = |e: JsValue| {
        if signal.aborted() {
            EnvError::Aborted
        } else if timeout.as_ref().is_some_and(AbortSignal::aborted) {
            EnvError::Failed(format!("no answer within {} s", timeout_ms / 1000))
        } else {
            failure(e)
        }
    };
    let response: Response = JsFuture::from(fetch_with_str_and_init(&request.url, &init)).await.map_err(failed)?.unchecked_into();
    let text = JsFuture::from(response.text().map_err(failed)?).await.map_err(failed)?;
    Ok(HttpReply { status: response.status(), body: text.as_string().unwrap_or_default() })
}
