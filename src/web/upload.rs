//! One upload, as the object the browser edge drives (js/drive.js): the core's `Machine`, with
//! commands and results as plain objects with named fields. The edge asks `next()` for what to do,
//! does it (ask the app for the signature, fetch, read a part and take its MD5, wait, call the app's
//! `onProgress`), hands back what happened through the event methods, and takes the `outcome()`.

use wasm_bindgen::prelude::*;

use crate::answer::{self, HttpReply};
use crate::plan;
use crate::retry::Backoff;
use crate::web::error::description;
use crate::web::object::{number, object};
use crate::web::progress::progress_object;
use crate::{Command, EnvError, Event, FileInfo, Machine, Options, UploadResult};

/// The part sizes InitUploadEx allows (`plan::PART_SIZES`; `Large` is the core's default part size),
/// for the edge's argument checks. wasm-bindgen writes an enum's values into its JavaScript glue, so
/// the edge reads them before the wasm is loaded; they must be literals there, and the assertion
/// below ties them to the core's.
#[wasm_bindgen]
#[derive(Clone, Copy)]
pub enum PartSize {
    Small = 524_288,
    Large = 1_048_576,
}

const _: () = assert!(
    PartSize::Small as u64 == plan::PART_SIZES[0] && PartSize::Large as u64 == plan::PART_SIZES[1] && plan::DEFAULT_PART_SIZE == PartSize::Large as u64
);

#[wasm_bindgen]
pub struct Upload {
    machine: Machine,
    /// The outcome was taken: the upload is over, and nothing more is handed to the machine.
    over: bool,
}

#[wasm_bindgen]
impl Upload {
    /// The upload of a hashed file. The options are checked by the edge (js/options.js); those left
    /// undefined take the core's defaults, but for the part size, which fits the link's speed as the
    /// last upload in this page measured it (`adapt::last_rate`: the wasm instance lives as long as
    /// the page). The lanes follow the link
    /// (`sending` reports bytes as they leave). An empty file fails at once (its outcome is ready).
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        file_name: &str,
        file_size: f64,
        file_sha: String,
        endpoint: Option<String>,
        part_size: Option<f64>,
        concurrency: Option<u32>,
        retries: Option<u32>,
        retry_delay: Option<u32>,
    ) -> Upload {
        let defaults = Options::default();
        let base_ms = retry_delay.unwrap_or(defaults.backoff.base_ms);
        let options = Options {
            endpoint: endpoint.unwrap_or(defaults.endpoint),
            part_size: part_size.map_or_else(|| crate::adapt::part_size(crate::adapt::last_rate()), |n| n as u64),
            concurrency: concurrency.map_or(defaults.concurrency, |n| n as usize),
            adapt_lanes: true,
            retries: retries.unwrap_or(defaults.retries),
            backoff: Backoff { base_ms, max_ms: defaults.backoff.max_ms.max(base_ms) },
            #[cfg(feature = "keyed")]
            meta: Default::default(),
        };
        Upload { machine: Machine::new(FileInfo::new(file_name, file_size as u64, file_sha), options), over: false }
    }

    /// The next thing to do, or undefined when there is nothing more to start now:
    /// `{ kind: 'sign', fileSha, fileName, fileType, fileSize }`,
    /// `{ kind: 'send', id, step, method, url, answerCap, offset?, end? }` (a part's body is that slice
    /// of the file; `answerCap`: the most bytes of the answer to take, see `replied`),
    /// `{ kind: 'read', id, offset, end }`, `{ kind: 'sleep', id, ms }`, or
    /// `{ kind: 'progress', phase, loaded, total, bytesPerSecond, etaSeconds }`.
    #[wasm_bindgen(js_name = next)]
    pub fn next_command(&mut self) -> JsValue {
        let Some(command) = self.machine.next_command() else { return JsValue::UNDEFINED };
        match command {
            Command::Progress(progress) => progress_object(&progress),
            Command::AskSignature => {
                let file = self.machine.file();
                object(&[
                    ("kind", "sign".into()),
                    ("fileSha", file.sha.as_str().into()),
                    ("fileName", file.name.as_str().into()),
                    ("fileType", file.file_type.as_str().into()),
                    ("fileSize", number(file.size)),
                ])
            }
            Command::Send(id, request) => {
                let cap = answer::answer_cap(request.step, self.machine.file().size);
                let mut fields = vec![
                    ("kind", "send".into()),
                    ("id", id.into()),
                    ("step", request.step.as_str().into()),
                    ("method", request.method.as_str().into()),
                    ("url", request.url.into()),
                    ("answerCap", number(cap)),
                ];
                if let Some(part) = request.part {
                    fields.extend([("offset", number(part.offset)), ("end", number(part.end()))]);
                }
                object(&fields)
            }
            Command::Read(id, part) => object(&[("kind", "read".into()), ("id", id.into()), ("offset", number(part.offset)), ("end", number(part.end()))]),
            Command::Sleep(id, ms) => object(&[("kind", "sleep".into()), ("id", id.into()), ("ms", ms.into())]),
        }
    }

    /// The protocol's file type of the file's name (`ft`: its extension, lowercase).
    #[wasm_bindgen(getter, js_name = fileType)]
    pub fn file_type(&self) -> String {
        self.machine.file().file_type.clone()
    }

    /// The signature `getSignature` gave.
    pub fn signed(&mut self, signature: String) {
        self.handle(Event::Signature(Ok(signature)));
    }

    /// Why `getSignature` gave no signature string, in words.
    #[wasm_bindgen(js_name = signFailed)]
    pub fn sign_failed(&mut self, why: String) {
        self.handle(Event::Signature(Err(EnvError::Failed(why))));
    }

    /// Request `id` was answered: `body` is the whole answer, or where `over_cap`, only its first
    /// characters: the answer was longer than the send command's `answerCap`, and was not taken. That
    /// one fails as a malformed answer. `retry_after` is its `Retry-After` header, where it had one.
    pub fn replied(&mut self, id: u32, status: u16, body: String, over_cap: bool, retry_after: Option<String>) {
        let reply = if over_cap { answer::over_cap(status, &body) } else { HttpReply::new(status, body) };
        self.handle(Event::Reply(id, Ok(HttpReply { retry_after, ..reply })));
    }

    /// Request `id` got no answer (network error, timeout), `why` in words.
    pub fn failed(&mut self, id: u32, why: String) {
        self.handle(Event::Reply(id, Err(EnvError::Failed(why))));
    }

    /// Read `id` is done: the part's MD5, lowercase hex.
    pub fn read(&mut self, id: u32, md5: String) {
        self.handle(Event::Read(id, Ok(md5)));
    }

    /// Read `id` failed (a part shorter than asked, or other bytes than hashed: the file changed),
    /// `why` in words; also a part's bytes read again for a retry of send `id`: the upload fails.
    #[wasm_bindgen(js_name = readFailed)]
    pub fn read_failed(&mut self, id: u32, why: String) {
        self.handle(Event::Read(id, Err(EnvError::Failed(why))));
    }

    /// `bytes` of request `id`'s body have left so far.
    pub fn sending(&mut self, id: u32, bytes: f64) {
        self.handle(Event::Sending(id, bytes as u64));
    }

    /// Sleep `id` is over.
    pub fn woke(&mut self, id: u32) {
        self.handle(Event::Woke(id, Ok(())));
    }

    /// The caller aborted: the upload fails at once, at the step it was in.
    pub fn abort(&mut self) {
        if !self.over {
            self.machine.abort();
        }
    }

    /// Undefined while the upload runs; then `{ result }` (the `UploadResult`) or `{ error }` (see
    /// `description`), once.
    pub fn outcome(&mut self) -> JsValue {
        let Some(outcome) = self.machine.take_outcome() else { return JsValue::UNDEFINED };
        self.over = true;

        match outcome {
            Ok(result) => object(&[("result", result_object(result))]),
            Err(error) => object(&[("error", description(&error))]),
        }
    }
}

impl Upload {
    fn handle(&mut self, event: Event) {
        if !self.over {
            self.machine.handle(event, js_sys::Date::now(), js_sys::Math::random());
        }
    }
}

/// The `UploadResult` of js/index.d.ts.
fn result_object(r: UploadResult) -> JsValue {
    object(&[
        ("fileId", r.file_id.into()),
        ("url", r.url.into()),
        ("fileSha", r.file_sha.into()),
        ("instant", r.instant.into()),
        ("resumedBytes", number(r.resumed_bytes)),
        ("uploadedBytes", number(r.uploaded_bytes)),
        ("verifyContent", r.verify_content.map_or(JsValue::NULL, JsValue::from)),
    ])
}
