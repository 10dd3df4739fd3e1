//! The browser's implementation of the core's `Env`: fetch, Blob reads, timers, the app's callbacks.

use std::future::Future;

use js_sys::{Array, Function, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Blob};

use crate::answer::HttpReply;
use crate::plan::Part;
use crate::progress::Progress;
use crate::request::Request;
use crate::upload::{Env, EnvError, FileInfo};
use crate::web::js_error::{describe, failure};
use crate::hash::md5_hex;
use crate::web::{fetch, hasher, io, timer};

pub struct WebEnv {
    pub blob: Blob,
    /// Part buffers (`ArrayBuffer`s) to read into again: the parts read ahead need only a few.
    pub buffers: Array,
    pub signal: AbortSignal,
    pub get_signature: Function,
    pub on_progress: Option<Function>,
    pub timeout_ms: u32,
}

/// Calls the app's `onProgress` (an exception in it is reported on the console, not fatal).
pub fn report(on_progress: &Option<Function>, p: &Progress) {
    if let Some(f) = on_progress {
        let eta = p.eta_seconds.map(|s| (s * 10.0).round() / 10.0);
        io::report(f, p.phase.as_str(), p.loaded as f64, p.total as f64, p.bytes_per_second.round(), eta);
    }
}

impl Env for WebEnv {
    /// A part's body goes as a slice of the file: the browser streams it from disk, several times
    /// faster than a body copied out of memory. If the file changed since its MD5 was taken, the
    /// server's MD5 check refuses the part.
    async fn send(&self, request: &Request) -> Result<HttpReply, EnvError> {
        let slice = match request.part {
            Some(part) => Some(
                self.blob
                    .slice_with_f64_and_f64(part.offset as f64, part.end() as f64)
                    .map_err(failure)?,
            ),
            None => None,
        };
        fetch::send(request, slice.as_ref(), &self.signal, self.timeout_ms).await
    }

    /// Reads the part into a buffer from this upload's pool and MD5s it in the hash worker (which
    /// gives the buffer back), or here where none runs (io.js `readPart`). The read starts now and
    /// goes on by itself, so the parts read ahead are ready when a lane frees up.
    fn part_md5(&self, part: Part) -> impl Future<Output = Result<String, EnvError>> {
        let worker = hasher::worker();
        let read = io::read_part(&self.blob, part.offset as f64, part.end() as f64, &self.buffers, &self.signal, worker.as_ref());
        let pool = self.buffers.clone();
        async move {
            let read = JsFuture::from(read).await.map_err(io::env_error)?;
            if let Some(md5) = read.as_string() {
                return Ok(md5);
            }
            let bytes: Uint8Array = read.unchecked_into();
            let md5 = md5_hex(&bytes.to_vec());
            pool.push(&bytes.buffer());
            Ok(md5)
        }
    }

    async fn sleep(&self, ms: u32) -> Result<(), EnvError> {
        timer::sleep(ms, &self.signal).await
    }

    async fn signature(&self, file: &FileInfo) -> Result<String, EnvError> {
        let asked = io::ask_signature(&self.get_signature, &file.sha, &file.name, &file.file_type, file.size as f64);
        let value = JsFuture::from(asked).await.map_err(failure)?;
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
