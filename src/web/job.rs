//! One `upload()` or `hashFile()` call, as the object io.js drives. io.js does the browser's work —
//! reading the file, the hash worker, fetch, timers, IndexedDB — and hands every outcome to this
//! object; the core's `Machine` decides what the upload does next, progress is measured and reported
//! here, and errors become the JS values the call rejects with.

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use web_sys::File;

use crate::answer::HttpReply;
use crate::error::{ErrorKind, Step, UploadError};
use crate::hash::{md5_hex, FileHasher};
use crate::machine::{Command, Event, Machine};
use crate::progress::{Meter, Phase, Progress};
use crate::{EnvError, FileInfo, Options, UploadResult};
use crate::web::io;
use crate::web::js_error::to_js;

/// FinishUploadEx's code when the assembled file's SHA-1 is not `fileSha`.
const SHA_MISMATCH: i64 = -10006;

/// Calls the app's `onProgress` (an exception in it is reported on the console, not fatal).
fn report(on_progress: &Option<Function>, p: &Progress) {
    if let Some(f) = on_progress {
        let eta = p.eta_seconds.map(|s| (s * 10.0).round() / 10.0);
        io::report(f, p.phase.as_str(), p.loaded as f64, p.total as f64, p.bytes_per_second.round(), eta);
    }
}

/// What a rejection from io.js means: null is an abort, a string says what failed, and `{ read }`
/// says why the file could not be read.
fn env_error(why: JsValue) -> EnvError {
    if why.is_null() {
        return EnvError::Aborted;
    }
    match js_sys::Reflect::get(&why, &"read".into()).ok().and_then(|r| r.as_string()) {
        Some(text) => EnvError::Unreadable(text),
        None => EnvError::Failed(why.as_string().unwrap_or_default()),
    }
}

#[wasm_bindgen(skip_typescript)]
pub struct Job {
    file: File,
    size: u64,
    on_progress: Option<Function>,
    /// The hash pass's meter.
    meter: Meter,
    /// The SHA-1 of a hash pass on this thread (where no worker runs).
    hasher: Option<FileHasher>,
    /// The upload's options until it starts; `None` for `hashFile`.
    options: Option<Options>,
    /// The upload, once the file is hashed, until its outcome is taken.
    machine: Option<Machine>,
}

impl Job {
    pub fn new(file: File, size: u64, on_progress: Option<Function>, options: Option<Options>) -> Job {
        let meter = Meter::new(Phase::Hashing, size, 0, js_sys::Date::now());
        Job { file, size, on_progress, meter, hasher: None, options, machine: None }
    }

    fn handle(&mut self, event: Event) {
        if let Some(machine) = &mut self.machine {
            machine.handle(event, js_sys::Date::now(), js_sys::Math::random());
        }
    }
}

#[wasm_bindgen]
impl Job {
    /// `bytes` more of the file are hashed.
    pub fn hashing(&mut self, bytes: f64) {
        let progress = self.meter.advance(bytes as u64, js_sys::Date::now());
        report(&self.on_progress, &progress);
    }

    /// Hashes `bytes` on this thread (where no worker runs).
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.get_or_insert_with(FileHasher::new).update(bytes);
    }

    /// Lowercase hex SHA-1 of everything passed to `update`.
    pub fn digest(&mut self) -> String {
        self.hasher.take().unwrap_or_default().finish_hex()
    }

    /// SHA-1 of the file's first and last MiB (io.js reads them), which a cache entry must match.
    pub fn edge(&self, head: &[u8], tail: &[u8]) -> String {
        let mut hasher = FileHasher::new();
        hasher.update(head);
        hasher.update(tail);
        hasher.finish_hex()
    }

    /// MD5 of a part read on this thread, lowercase hex.
    pub fn md5(&self, bytes: &[u8]) -> String {
        md5_hex(bytes)
    }

    /// The error a failed hash pass rejects with, given why (as io.js rejects: null when aborted).
    #[wasm_bindgen(js_name = hashError)]
    pub fn hash_error(&self, why: JsValue) -> JsValue {
        let kind = match env_error(why) {
            EnvError::Aborted => ErrorKind::Aborted,
            EnvError::Failed(why) | EnvError::Unreadable(why) => ErrorKind::Read(why),
        };
        to_js(&UploadError::new(Step::Hash, kind))
    }

    /// The file's SHA-1 is known, from the hash pass or (`cached`) from the cache: the upload starts.
    pub fn hashed(&mut self, sha: String, cached: bool) {
        if cached {
            report(&self.on_progress, &Meter::new(Phase::Hashing, self.size, self.size, js_sys::Date::now()).progress());
        }
        if let Some(options) = self.options.take() {
            self.machine = Some(Machine::new(FileInfo::new(&self.file.name(), self.size, sha), options));
        }
    }

    /// The next thing to do, for io.js: `["sign", fileSha, fileName, fileType, fileSize]`,
    /// `["send", id, method, url, offset?, end?]` (a part's body is that slice of the file),
    /// `["read", id, offset, end]` or `["sleep", id, ms]`; undefined when there is nothing more to
    /// start now. Progress is reported on the way.
    pub fn next(&mut self) -> JsValue {
        let Some(machine) = &mut self.machine else { return JsValue::UNDEFINED };
        loop {
            let command: Vec<JsValue> = match machine.next_command() {
                None => return JsValue::UNDEFINED,
                Some(Command::Progress(progress)) => {
                    report(&self.on_progress, &progress);
                    continue;
                }
                Some(Command::AskSignature) => {
                    let file = machine.file();
                    vec!["sign".into(), file.sha.as_str().into(), file.name.as_str().into(), file.file_type.as_str().into(), (file.size as f64).into()]
                }
                Some(Command::Send(id, request)) => {
                    let mut command = vec!["send".into(), id.into(), request.method.as_str().into(), request.url.into()];
                    if let Some(part) = request.part {
                        command.extend([(part.offset as f64).into(), (part.end() as f64).into()]);
                    }
                    command
                }
                Some(Command::Read(id, part)) => vec!["read".into(), id.into(), (part.offset as f64).into(), (part.end() as f64).into()],
                Some(Command::Sleep(id, ms)) => vec!["sleep".into(), id.into(), ms.into()],
            };
            return command.into_iter().collect::<Array>().into();
        }
    }

    /// The signature string `getSignature` gave.
    pub fn signed(&mut self, signature: String) {
        self.handle(Event::Signature(Ok(signature)));
    }

    /// Why `getSignature` gave no signature string, in words.
    #[wasm_bindgen(js_name = signFailed)]
    pub fn sign_failed(&mut self, why: String) {
        self.handle(Event::Signature(Err(EnvError::Failed(why))));
    }

    pub fn replied(&mut self, id: u32, status: u16, text: String) {
        self.handle(Event::Reply(id, Ok(HttpReply { status, body: text })));
    }

    /// A request got no answer; `why` as io.js's `send` rejects.
    pub fn failed(&mut self, id: u32, why: JsValue) {
        self.handle(Event::Reply(id, Err(env_error(why))));
    }

    pub fn read(&mut self, id: u32, md5: String) {
        self.handle(Event::Read(id, Ok(md5)));
    }

    /// A part could not be read; `why` as io.js's `readPart` rejects.
    #[wasm_bindgen(js_name = readFailed)]
    pub fn read_failed(&mut self, id: u32, why: JsValue) {
        self.handle(Event::Read(id, Err(env_error(why))));
    }

    pub fn woke(&mut self, id: u32) {
        self.handle(Event::Woke(id, Ok(())));
    }

    pub fn abort(&mut self) {
        if let Some(machine) = &mut self.machine {
            machine.abort();
        }
    }

    /// Undefined while the upload runs; then the result it resolves with, or (thrown) the error it
    /// rejects with.
    pub fn outcome(&mut self) -> Result<JsValue, JsValue> {
        let Some(outcome) = self.machine.as_mut().and_then(Machine::take_outcome) else { return Ok(JsValue::UNDEFINED) };
        self.machine = None;
        match outcome {
            Ok(result) => Ok(result_object(result)),
            Err(error) => {
                if error.step == Step::Finish && error.code() == Some(SHA_MISMATCH) {
                    // The server assembled bytes whose SHA-1 is not the one sent: never trust that hash again.
                    let _ = io::cache_delete(&self.file);
                }
                Err(to_js(&error))
            }
        }
    }
}

/// The object `upload` resolves with (the `UploadResult` interface of types.rs).
fn result_object(r: UploadResult) -> JsValue {
    let o = js_sys::Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = js_sys::Reflect::set(&o, &key.into(), &value);
    };
    set("fileId", r.file_id.into());
    set("url", r.url.into());
    set("fileSha", r.file_sha.into());
    set("instant", r.instant.into());
    set("resumedBytes", (r.resumed_bytes as f64).into());
    set("uploadedBytes", (r.uploaded_bytes as f64).into());
    set("verifyContent", r.verify_content.map_or(JsValue::NULL, JsValue::from));
    o.into()
}
