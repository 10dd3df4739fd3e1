//! The exported functions: `upload` and `hashFile`.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, AbortSignal, File};

use crate::error::{ErrorKind, Step, UploadError};
use crate::progress::{Meter, Phase};
use crate::upload::{self, FileInfo, UploadResult};
use crate::web::env::{report, WebEnv};
use crate::web::js_error::{abort_error, to_js, type_error};
use crate::web::{cache, hasher, io, options};

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// The object `upload` resolves with (the `UploadResult` interface of types.rs).
fn result_object(r: UploadResult) -> Object {
    let o = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&o, &key.into(), &value);
    };
    set("fileId", r.file_id.into());
    set("url", r.url.into());
    set("fileSha", r.file_sha.into());
    set("instant", r.instant.into());
    set("resumedBytes", (r.resumed_bytes as f64).into());
    set("uploadedBytes", (r.uploaded_bytes as f64).into());
    set("verifyContent", r.verify_content.map_or(JsValue::NULL, JsValue::from));
    o
}

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

/// The file's SHA-1: from the cache when it still matches, else from a hash pass. Errors are JS
/// values ready to reject with.
async fn file_sha(file: &File, size: u64, signal: &AbortSignal, opts: &options::JsOptions) -> Result<String, JsValue> {
    if opts.hash_cache {
        if let Some(sha) = cache::lookup(file, size).await {
            report(&opts.on_progress, &Meter::new(Phase::Hashing, size, size, js_sys::Date::now()).progress());
            return Ok(sha);
        }
    }
    let sha = hasher::sha1(file, size, signal, &opts.on_progress).await.map_err(|e| to_js(&e))?;
    if opts.hash_cache {
        cache::store(file, size, &sha).await;
    }
    Ok(sha)
}

/// Uploads `file`: hashes it, asks `getSignature`, then InitUploadEx → UploadPartEx × N →
/// FinishUploadEx. Resolves with the stored file's id and url; rejects with an `UploadError`, an
/// `AbortError`, or (for invalid arguments) a `TypeError`.
#[wasm_bindgen(js_name = upload, unchecked_return_type = "UploadResult")]
pub async fn upload_js(
    #[wasm_bindgen(unchecked_param_type = "File")] file: JsValue,
    #[wasm_bindgen(unchecked_param_type = "UploadOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let (file, size) = checked_file(file, "upload")?;
    let opts = options::parse(&options).map_err(|m| type_error(&m))?;
    let controller = linked_controller(opts.signal.as_ref())?;
    let signal = controller.signal();
    let outcome = async {
        if size == 0 {
            return Err(to_js(&UploadError::new(Step::Hash, ErrorKind::EmptyFile)));
        }
        let sha = file_sha(&file, size, &signal, &opts).await?;
        let info = FileInfo::new(&file.name(), size, sha);
        let env = WebEnv {
            blob: file.clone().into(),
            buffers: js_sys::Array::new(),
            signal: signal.clone(),
            get_signature: opts.get_signature.clone(),
            on_progress: opts.on_progress.clone(),
            timeout_ms: opts.timeout_ms,
        };
        let uploaded = upload::upload(&env, &info, &opts.core).await;
        if let Err(e) = &uploaded {
            if e.step == Step::Finish && e.code() == Some(SHA_MISMATCH) {
                // The server assembled bytes whose SHA-1 is not the one sent: never trust that hash again.
                cache::forget(&file).await;
            }
        }
        uploaded.map_err(|e| to_js(&e))
    }
    .await;
    controller.abort();
    Ok(result_object(outcome?).into())
}

/// FinishUploadEx's code when the assembled file's SHA-1 is not `fileSha`.
const SHA_MISMATCH: i64 = -10006;

/// SHA-1 of a whole file, lowercase hex, as `upload` computes it (streamed; the file is never held in
/// memory whole).
#[wasm_bindgen(js_name = hashFile, unchecked_return_type = "string")]
pub async fn hash_file_js(
    #[wasm_bindgen(unchecked_param_type = "File")] file: JsValue,
    #[wasm_bindgen(unchecked_param_type = "HashOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let (file, size) = checked_file(file, "hashFile")?;
    let (user_signal, on_progress) = options::signal_and_progress(&options).map_err(|m| type_error(&m))?;
    let controller = linked_controller(user_signal.as_ref())?;
    let outcome = hasher::sha1(&file, size, &controller.signal(), &on_progress).await;
    controller.abort();
    outcome.map(JsValue::from).map_err(|e| to_js(&e))
}
