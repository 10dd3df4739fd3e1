//! `setTimeout` as a future that an `AbortSignal` cuts short.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use crate::upload::EnvError;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Waits `ms` milliseconds, or until `signal` aborts (then `Err(Aborted)`).
pub async fn sleep(ms: u32, signal: &AbortSignal) -> Result<(), EnvError> {
    if signal.aborted() {
        return Err(EnvError::Aborted);
    }
    let signal_for_promise = signal.clone();
    let promise = Promise::new(&mut |resolve: Function, _reject: Function| {
        let id = set_timeout(&resolve, ms.min(i32::MAX as u32) as i32);
        // On abort, stop the timer and settle at once; the caller sees the signal aborted.
        let on_abort = Closure::once_into_js(move || {
            clear_timeout(&id);
            let _ = resolve.call0(&JsValue::NULL);
        });
        let _ = signal_for_promise.add_event_listener_with_callback("abort", on_abort.unchecked_ref());
    });
    let _ = JsFuture::from(promise).await;
    if signal.aborted() {
        Err(EnvError::Aborted)
    } else {
        Ok(())
    }
}
