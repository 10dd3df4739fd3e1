//! The browser's implementation of the core's `Env`: fetch, Blob reads, timers, the app's callbacks.

use std::future::Future;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Blob};

use crate::answer::HttpReply;
use crate::plan::Part;
use crate::progress::Progress;
use crate::request::Request;
use crate::upload::{Env, EnvError, FileInfo};
use crate::web::js_error::describe;
use crate::web::{fetch, file, timer};

pub struct WebEnv {
    pub blob: Blob,
    pub signal: AbortSignal,
    pub get_signature: Function,
    pub on_progress: Option<Function>,
    pub timeout_ms: u32,
}

fn set(target: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), &value);
}

/// The object `onProgress` receives.
pub fn progress_object(p: &Progress) -> Object {
    let o = Object::new();
    set(&o, "phase", p.phase.as_str().into());
    set(&o, "loaded", (p.loaded as f64).into());
    set(&o, "total", (p.total as f64).into());
    set(&o, "bytesPerSecond", p.bytes_per_second.round().into());
    set(&o, "etaSeconds", p.eta_seconds.map_or(JsValue::NULL, |s| ((s * 10.0).round() / 10.0).into()));
    o
}

/// Calls the app's `onProgress`; an exception in it is reported on the console, not fatal.
pub fn report(on_progress: &Option<Function>, p: &Progress) {
    if let Some(f) = on_progress {
        if let Err(e) = f.call1(&JsValue::NULL, &progress_object(p)) {
            web_sys::console::warn_2(&"vod-ugc-uploader: onProgress threw".into(), &e);
        }
    }
}

impl Env for WebEnv {
    /// The body goes as a slice of the file, not as the bytes the core hashed: if the file changed
    /// since, the server's MD5 check refuses the part.
    async fn send(&self, request: &Request, body: Option<&[u8]>) -> Result<HttpReply, EnvError> {
        let slice = match (request.part, body) {
            (Some(part), Some(_)) => Some(
                self.blob
                    .slice_with_f64_and_f64(part.offset as f64, part.end() as f64)
                    .map_err(|e| EnvError::Failed(describe(&e)))?,
            ),
            _ => None,
        };
        fetch::send(request, slice.as_ref(), &self.signal, self.timeout_ms).await
    }

    fn read(&self, part: Part) -> impl Future<Output = Result<Vec<u8>, EnvError>> {
        let read = file::read(&self.blob, part.offset, part.len);
        let signal = self.signal.clone();
        async move {
            let bytes = read.await;
            if signal.aborted() {
                return Err(EnvError::Aborted);
            }
            bytes
        }
    }

    async fn sleep(&self, ms: u32) -> Result<(), EnvError> {
        timer::sleep(ms, &self.signal).await
    }

    async fn signature(&self, file: &FileInfo) -> Result<String, EnvError> {
        let request = Object::new();
        set(&request, "fileSha", file.sha.as_str().into());
        set(&request, "fileName", file.name.as_str().into());
        set(&request, "fileType", file.file_type.as_str().into());
        set(&request, "fileSize", (file.size as f64).into());
        let returned = self.get_signature.call1(&JsValue::NULL, &request).map_err(|e| EnvError::Failed(describe(&e)))?;
        let value = JsFuture::from(Promise::resolve(&returned)).await.map_err(|e| EnvError::Failed(describe(&e)))?;
        if self.signal.aborted() {
            return Err(EnvError::Aborted);
        }
        value.as_string().ok_or_else(|| EnvError::Failed(format!("it must return a signature string, not {}", describe(&value))))
    }

    fn progress(&self, progress: Progress) {
        report(&self.on_progress, &progress);
    }

    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    fn aborted(&self) -> bool {
        self.signal.aborted()
    }
}
