//! `setTimeout` as a future that an `AbortSignal` cuts short (io.js).

use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use crate::upload::EnvError;
use crate::web::io;

/// Waits `ms` milliseconds, or until `signal` aborts (then `Err(Aborted)`).
pub async fn sleep(ms: u32, signal: &AbortSignal) -> Result<(), EnvError> {
    if !signal.aborted() {
        let _ = JsFuture::from(io::sleep(ms, signal)).await;
    }
    match signal.aborted() {
        true => Err(EnvError::Aborted),
        false => Ok(()),
    }
}
