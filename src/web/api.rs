//! The exported functions: `upload` and `hashFile`. Each checks its arguments (a `TypeError` before
//! any work starts), then hands a `Job` to io.js, which drives it and settles the returned promise.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, AbortSignal, File};

use crate::error::{ErrorKind, Step, UploadError};
use crate::web::js_error::{abort_error, to_js, type_error};
use crate::web::job::Job;
use crate::web::{hasher, io, options};

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn checked_file(file: JsValue, function: &str) -> Result<(File, u64), JsValue> {
    let file: File = file.dyn_into().map_err(|_| {
        type_error(&format!("{function}(file, options): file must be a File (from <input type=file>, a drop, or new File([...], name))"))
    })?;
    let size = file.size();
    if !(size.is_finite() && size >= 0.0 && size.fract() == 0.0 && size <= MAX_SAFE_INTEGER) {
        return Err(type_error("file.size is not a byte count this uploader can address"));
    }
    Ok((file, size as u64))
}

/// An `AbortController` for this call that follows the caller's signal, so that the call can also
/// cancel its own stragglers when it ends.
fn linked_controller(user: Option<&AbortSignal>) -> Result<AbortController, JsValue> {
    match user {
        Some(user) if user.aborted() => Err(abort_error()),
        _ => Ok(io::linked_controller(user)),
    }
}

/// Uploads `file`: hashes it, asks `getSignature`, then InitUploadEx → UploadPartEx × N →
/// FinishUploadEx. Resolves with the stored file's id and url; rejects with an `UploadError`, an
/// `AbortError`, or (for invalid arguments) a `TypeError`.
#[wasm_bindgen(js_name = upload, unchecked_return_type = "Promise<UploadResult>")]
pub fn upload_js(
    #[wasm_bindgen(unchecked_param_type = "File")] file: JsValue,
    #[wasm_bindgen(unchecked_param_type = "UploadOptions")] options: JsValue,
) -> Promise {
    let start = || {
        let (file, size) = checked_file(file, "upload")?;
        let opts = options::parse(&options)?;
        let controller = linked_controller(opts.signal.as_ref())?;
        if size == 0 {
            return Err(to_js(&UploadError::new(Step::Hash, ErrorKind::EmptyFile)));
        }
        let job = Job::new(file.clone(), size, opts.on_progress, Some(opts.core));
        Ok(io::upload(job.into(), &file, &controller, &opts.get_signature, opts.timeout_ms, opts.hash_cache, hasher::worker()))
    };
    start().unwrap_or_else(|error| Promise::reject(&error))
}

/// SHA-1 of a whole file, lowercase hex, as `upload` computes it (streamed; the file is never held in
/// memory whole).
#[wasm_bindgen(js_name = hashFile, unchecked_return_type = "Promise<string>")]
pub fn hash_file_js(
    #[wasm_bindgen(unchecked_param_type = "File")] file: JsValue,
    #[wasm_bindgen(unchecked_param_type = "HashOptions")] options: JsValue,
) -> Promise {
    let start = || {
        let (file, size) = checked_file(file, "hashFile")?;
        let (on_progress, user_signal) = options::parse_hash(&options)?;
        let controller = linked_controller(user_signal.as_ref())?;
        let job = Job::new(file.clone(), size, on_progress, None);
        Ok(io::hash_file(job.into(), &file, &controller, hasher::worker()))
    };
    start().unwrap_or_else(|error| Promise::reject(&error))
}
