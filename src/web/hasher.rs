//! The hash pass: the file is read here, window by window with the next read in flight, and hashed
//! either here or — where the package's entry module registered its worker — in a Web Worker that
//! the windows are transferred to (not copied). Reading and hashing then run on two threads at once,
//! and the calling thread only waits on I/O. Parts' MD5s go to the same worker.

use std::cell::RefCell;

use futures_util::future::join;
use js_sys::{ArrayBuffer, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, File};

use crate::error::{ErrorKind, Step, UploadError};
use crate::hash::FileHasher;
use crate::progress::{Meter, Phase};
use crate::upload::EnvError;
use crate::web::env::report;
use crate::web::file;
use crate::web::js_error::describe;

/// Bytes read and hashed per step of the hash pass.
pub const HASH_WINDOW: u64 = 8 << 20;

thread_local! {
    static WORKER: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Called by the package's entry module with its hash worker's interface: `startHash()` starts a
/// SHA-1 job and returns `{ update(window): Promise, spare(): ArrayBuffer | null,
/// digest(): Promise<string>, abort() }` (a window's buffer goes to the worker and comes back as a
/// spare), and `md5(view)` returns a promise of `{ md5, buffer }` (the same round trip); both return
/// null where no worker can run, and then the work is done on this thread.
#[wasm_bindgen(js_name = registerHashWorker, skip_typescript)]
pub fn register_hash_worker(worker: JsValue) {
    WORKER.with(|w| *w.borrow_mut() = Some(worker));
}

/// The hash worker's interface, where the entry module registered one.
pub fn worker() -> Option<JsValue> {
    WORKER.with(|w| w.borrow().clone())
}

/// `worker.method(args)`, where a worker is registered and answers with an object.
fn ask_worker(method: &str, args: &[&JsValue]) -> Option<JsValue> {
    call_job(&worker()?, method, args).ok().filter(JsValue::is_object)
}

/// MD5 for the hash worker, lowercase hex.
#[wasm_bindgen(js_name = md5Hex, skip_typescript)]
pub fn md5_hex_js(bytes: &[u8]) -> String {
    crate::hash::md5_hex(bytes)
}

/// Bytes of a window the hash worker copies into wasm memory at a time, then hashes while they are
/// still in the CPU's cache (`Sha1::stage`).
pub const STAGE: usize = 256 << 10;

/// Streaming SHA-1 for the hash worker: each window through `stage` and `updateStaged`, then `finish`. Internal to the
/// package, so kept out of its types (whose `Symbol.dispose` would also ask consumers for lib esnext).
#[wasm_bindgen(skip_typescript)]
pub struct Sha1(FileHasher, Vec<u8>);

#[wasm_bindgen]
impl Sha1 {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Sha1 {
        Sha1(FileHasher::new(), Vec::new())
    }

    /// Where in wasm memory the worker copies the next `STAGE` bytes (or fewer) to be hashed by
    /// `update_staged`: one buffer for the whole file, instead of a window-sized one per window.
    pub fn stage(&mut self) -> *mut u8 {
        self.1.resize(STAGE, 0);
        self.1.as_mut_ptr()
    }

    /// Hashes the first `len` bytes of the stage.
    #[wasm_bindgen(js_name = updateStaged)]
    pub fn update_staged(&mut self, len: usize) {
        self.0.update(&self.1[..len.min(self.1.len())]);
    }

    /// Lowercase hex SHA-1 of everything staged and hashed.
    pub fn finish(self) -> String {
        self.0.finish_hex()
    }
}

/// Where the windows go.
enum Sink {
    Here(FileHasher, Vec<u8>),
    Worker(JsValue),
}

/// Why a pass in the worker did not finish: the worker failed (hash here instead) or the upload did.
enum Stop {
    WorkerFailed(String),
    Upload(UploadError),
}

fn call_job(job: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(job, &method.into())?.into();
    match args {
        [] => f.call0(job),
        [a] => f.call1(job, a),
        _ => unreachable!("hash jobs take at most one argument"),
    }
}

async fn job_promise(job: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, String> {
    let promise = call_job(job, method, args).map_err(|e| describe(&e))?;
    JsFuture::from(Promise::resolve(&promise)).await.map_err(|e| describe(&e))
}

/// A buffer for the next window: one the worker handed back, one this pass is done with, or a new one.
fn spare(sink: &Sink, spares: &mut Vec<ArrayBuffer>) -> ArrayBuffer {
    if let Sink::Worker(job) = sink {
        if let Ok(buffer) = call_job(job, "spare", &[]).and_then(|b| b.dyn_into::<ArrayBuffer>()) {
            return buffer;
        }
    }
    spares.pop().unwrap_or_else(|| ArrayBuffer::new(HASH_WINDOW as u32))
}

/// Hashes one window here, or hands it to the worker (transferring its buffer).
async fn hash_window(sink: &mut Sink, window: &Uint8Array, spares: &mut Vec<ArrayBuffer>) -> Result<(), String> {
    match sink {
        Sink::Here(hasher, buf) => {
            buf.resize(window.length() as usize, 0);
            window.copy_to(buf);
            hasher.update(buf);
            spares.push(window.buffer());
            Ok(())
        }
        Sink::Worker(job) => job_promise(job, "update", &[window]).await.map(drop),
    }
}

async fn pass(file: &File, size: u64, signal: &AbortSignal, on_progress: &Option<Function>, mut sink: Sink) -> Result<String, Stop> {
    let failed = |kind| Stop::Upload(UploadError::new(Step::Hash, kind));
    let read_failed = |e: EnvError| match e {
        EnvError::Aborted => failed(ErrorKind::Aborted),
        EnvError::Failed(why) | EnvError::Unreadable(why) => failed(ErrorKind::Read(why)),
    };
    let window_at = |offset: u64| HASH_WINDOW.min(size - offset) as u32;
    let reader = file::StreamReader::new(file).map_err(read_failed)?;
    let mut meter = Meter::new(Phase::Hashing, size, 0, js_sys::Date::now());
    report(on_progress, &meter.progress());
    let mut spares = Vec::new();
    let mut offset = 0u64;
    let mut window = reader.fill(ArrayBuffer::new(HASH_WINDOW as u32), window_at(0)).await.map_err(read_failed)?;
    loop {
        let expected = window_at(offset);
        let stop = if signal.aborted() {
            Some(failed(ErrorKind::Aborted))
        } else if window.length() != expected {
            let why = format!("expected {expected} bytes at offset {offset}, read {}: the file changed while it was read", window.length());
            Some(failed(ErrorKind::Read(why)))
        } else {
            None
        };
        if let Some(stop) = stop {
            reader.cancel();
            return Err(stop);
        }
        offset += u64::from(expected);
        // The next window is read while this one is hashed.
        let buffer = spare(&sink, &mut spares);
        let next = async {
            match offset < size {
                true => reader.fill(buffer, window_at(offset)).await.map(Some),
                false => Ok(None),
            }
        };
        let (next, hashed) = join(next, hash_window(&mut sink, &window, &mut spares)).await;
        hashed.map_err(Stop::WorkerFailed)?;
        report(on_progress, &meter.advance(u64::from(expected), js_sys::Date::now()));
        match next.map_err(read_failed)? {
            Some(read) => window = read,
            None => break,
        }
    }
    match sink {
        Sink::Here(hasher, _) => Ok(hasher.finish_hex()),
        Sink::Worker(job) => job_promise(&job, "digest", &[]).await.map_err(Stop::WorkerFailed)?.as_string().ok_or_else(|| Stop::WorkerFailed("the worker gave no digest".into())),
    }
}

/// SHA-1 of the whole file, lowercase hex.
pub async fn sha1(file: &File, size: u64, signal: &AbortSignal, on_progress: &Option<Function>) -> Result<String, UploadError> {
    if let Some(job) = ask_worker("startHash", &[]) {
        match pass(file, size, signal, on_progress, Sink::Worker(job.clone())).await {
            Ok(sha) => return Ok(sha),
            Err(Stop::Upload(e)) => {
                let _ = call_job(&job, "abort", &[]);
                return Err(e);
            }
            Err(Stop::WorkerFailed(why)) => {
                web_sys::console::warn_1(&format!("vod-ugc-uploader: the hash worker failed ({why}); hashing on this thread").into());
            }
        }
    }
    match pass(file, size, signal, on_progress, Sink::Here(FileHasher::new(), Vec::new())).await {
        Ok(sha) => Ok(sha),
        Err(Stop::Upload(e)) => Err(e),
        Err(Stop::WorkerFailed(why)) => unreachable!("no worker in this pass: {why}"),
    }
}
