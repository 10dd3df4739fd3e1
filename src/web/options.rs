//! `upload()`'s options: checked in io.js (a `TypeError` before any work starts), with the core's
//! defaults for what is absent.

use js_sys::{Array, Function};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::retry::Backoff;
use crate::Options;
use crate::web::io;

pub struct JsOptions {
    pub core: Options,
    pub get_signature: Function,
    pub on_progress: Option<Function>,
    pub signal: Option<AbortSignal>,
    pub timeout_ms: u32,
    pub hash_cache: bool,
}

pub const DEFAULT_TIMEOUT_MS: u32 = 120_000;

/// Element `i` of a checked options array, where it is not undefined.
fn given(options: &Array, i: u32) -> Option<JsValue> {
    Some(options.get(i)).filter(|v| !v.is_undefined())
}

/// `onProgress` and `signal`, from elements `at` and `at + 1` of a checked options array.
fn progress_and_signal(o: &Array, at: u32) -> (Option<Function>, Option<AbortSignal>) {
    (given(o, at).map(JsCast::unchecked_into), given(o, at + 1).map(JsCast::unchecked_into))
}

/// `hashFile()`'s options: `onProgress` and `signal`.
pub fn parse_hash(options: &JsValue) -> Result<(Option<Function>, Option<AbortSignal>), JsValue> {
    Ok(progress_and_signal(&io::hash_options(options)?, 0))
}

pub fn parse(options: &JsValue) -> Result<JsOptions, JsValue> {
    let o = io::upload_options(options)?;
    let defaults = Options::default();
    let number = |i: u32, default: u32| o.get(i).as_f64().map_or(default, |n| n as u32);
    let (on_progress, signal) = progress_and_signal(&o, 1);
    let base_ms = number(7, defaults.backoff.base_ms);
    let core = Options {
        endpoint: o.get(3).as_string().unwrap_or(defaults.endpoint),
        part_size: o.get(4).as_f64().map_or(defaults.part_size, |n| n as u64),
        concurrency: number(5, defaults.concurrency as u32) as usize,
        retries: number(6, defaults.retries),
        backoff: Backoff { base_ms, max_ms: defaults.backoff.max_ms.max(base_ms) },
    };
    Ok(JsOptions {
        core,
        get_signature: o.get(0).unchecked_into(),
        on_progress,
        signal,
        timeout_ms: number(8, DEFAULT_TIMEOUT_MS),
        hash_cache: o.get(9).as_bool().unwrap_or(true),
    })
}
