//! `upload()`'s options object, checked: anything the protocol does not allow is a `TypeError` before
//! any work starts.

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::retry::Backoff;
use crate::upload::{Options, MAX_CONCURRENCY};

pub struct JsOptions {
    pub core: Options,
    pub get_signature: Function,
    pub on_progress: Option<Function>,
    pub signal: Option<AbortSignal>,
    pub timeout_ms: u32,
    pub hash_cache: bool,
}

pub const DEFAULT_TIMEOUT_MS: u32 = 120_000;
const MAX_RETRIES: u32 = 100;

fn get(options: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(options, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined())
}

/// An integer option in `min..=max`, or its default when absent.
fn integer(options: &JsValue, key: &str, min: u32, max: u32, default: u32) -> Result<u32, String> {
    let Some(value) = get(options, key) else { return Ok(default) };
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (f64::from(min)..=f64::from(max)).contains(&n) => Ok(n as u32),
        _ => Err(format!("options.{key} must be an integer from {min} to {max}, not {}", shown(&value))),
    }
}

/// A value as a message shows it: as JSON where it has a JSON form.
fn shown(value: &JsValue) -> String {
    js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string()).unwrap_or_else(|| "a value that is not a number".into())
}

/// The `signal` and `onProgress` options, which `upload` and `hashFile` share.
pub fn signal_and_progress(options: &JsValue) -> Result<(Option<AbortSignal>, Option<Function>), String> {
    let signal = match get(options, "signal") {
        None => None,
        Some(s) => Some(s.dyn_into::<AbortSignal>().map_err(|_| "options.signal must be an AbortSignal".to_string())?),
    };
    let on_progress = match get(options, "onProgress") {
        None => None,
        Some(f) => Some(f.dyn_into::<Function>().map_err(|_| "options.onProgress must be a function".to_string())?),
    };
    Ok((signal, on_progress))
}

pub fn parse(options: &JsValue) -> Result<JsOptions, String> {
    if !options.is_object() {
        return Err("upload(file, options): options must be an object with a getSignature function".into());
    }
    let get_signature = get(options, "getSignature")
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or("options.getSignature must be a function ({ fileSha, fileName, fileType, fileSize }) => signature string or Promise of one")?;
    let (signal, on_progress) = signal_and_progress(options)?;
    let endpoint = match get(options, "endpoint") {
        None => Options::default().endpoint,
        Some(e) => e.as_string().filter(|s| !s.trim().is_empty()).ok_or("options.endpoint must be a URL string")?,
    };
    let defaults = Options::default();
    let part_size = match get(options, "partSize") {
        None => defaults.part_size,
        Some(v) => match v.as_f64() {
            Some(n) if n == 524_288.0 || n == 1_048_576.0 => n as u64,
            _ => return Err(format!("options.partSize must be 524288 or 1048576 (the sizes InitUploadEx allows), not {}", shown(&v))),
        },
    };
    let concurrency = integer(options, "concurrency", 1, MAX_CONCURRENCY as u32, defaults.concurrency as u32)? as usize;
    let retries = integer(options, "retries", 0, MAX_RETRIES, defaults.retries)?;
    let base_ms = integer(options, "retryDelay", 0, 60_000, defaults.backoff.base_ms)?;
    let timeout_ms = integer(options, "timeout", 1_000, 3_600_000, DEFAULT_TIMEOUT_MS)?;
    let core = Options {
        endpoint,
        part_size,
        concurrency,
        retries,
        backoff: Backoff { base_ms, max_ms: Backoff::default().max_ms.max(base_ms) },
    };
    let hash_cache = match get(options, "hashCache") {
        None => true,
        Some(v) => v.as_bool().ok_or("options.hashCache must be a boolean")?,
    };
    core.validate()?;
    Ok(JsOptions { core, get_signature, on_progress, signal, timeout_ms, hash_cache })
}
