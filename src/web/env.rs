//! The browser's implementation of the core's `Env`: fetch, Blob reads, timers, the app's callbacks.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{AbortSignal, Blob};

use crate::answer::HttpReply;
use crate::plan::Part;
use crate::progress::Progress;
use crate::request::Request;
use crate::upload::{Env, EnvError, FileInfo};
use crate::web::js_error::{describe, failure};
use crate::hash::md5_hex;
use crate::web::{fetch, file, hasher, io, timer};

pub struct WebEnv {
    pub blob: Blob,
    /// Part buffers to read into again (the parts read ahead and in flight need only a few).
    pub buffers: Rc<RefCell<Vec<ArrayBuffer>>>,
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

/// Runs `work` as a task of its own from now on (not only when the returned future is polled) and
/// returns a future of its output.
fn eager<T: 'static>(work: impl Future<Output = T> + 'static) -> impl Future<Output = T> {
    let output: Rc<RefCell<Option<T>>> = Rc::default();
    let mut done = None;
    let signal = Promise::new(&mut |resolve, _| done = Some(resolve));
    let slot = output.clone();
    spawn_local(async move {
        *slot.borrow_mut() = Some(work.await);
        if let Some(resolve) = done {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    async move {
        let _ = JsFuture::from(signal).await;
        let taken = output.borrow_mut().take();
        taken.expect("the task stored its output before it resolved")
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
    /// gives the buffer back), or here where none runs: all of it starts now and goes on by itself,
    /// so the parts read ahead are ready when a lane frees up.
    fn part_md5(&self, part: Part) -> impl Future<Output = Result<String, EnvError>> {
        let slice = self.blob.slice_with_f64_and_f64(part.offset as f64, part.end() as f64);
        let (signal, pool) = (self.signal.clone(), self.buffers.clone());
        let buffer = pool.borrow_mut().pop().filter(|b| u64::from(b.byte_length()) >= part.len);
        let buffer = buffer.unwrap_or_else(|| ArrayBuffer::new(part.len as u32));
        let read_into = move |buffer: ArrayBuffer| {
            let slice = slice.clone();
            async move {
                let slice = slice.map_err(failure)?;
                let read = file::StreamReader::new(&slice)?.fill(buffer, part.len as u32).await?;
                if u64::from(read.length()) != part.len {
                    let why = format!("asked for {} bytes at offset {}, got {}: the file changed", part.len, part.offset, read.length());
                    return Err(EnvError::Failed(why));
                }
                Ok(read)
            }
        };
        eager(async move {
            let mut read = read_into(buffer).await?;
            if signal.aborted() {
                return Err(EnvError::Aborted);
            }
            if let Some((md5, buffer)) = hasher::md5_in_worker(&read).await {
                pool.borrow_mut().extend(buffer);
                match md5 {
                    Ok(md5) => return Ok(md5),
                    // The worker failed (and kept the buffer): read the part again, MD5 it here.
                    Err(_) => read = read_into(ArrayBuffer::new(part.len as u32)).await?,
                }
            }
            let md5 = md5_hex(&read.to_vec());
            pool.borrow_mut().push(read.buffer());
            Ok(md5)
        })
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
