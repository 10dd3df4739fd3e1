//! An `Env` for native tests: the file is a byte vector, requests go to a handler the test supplies,
//! sleeps take no time but are recorded, and every request is logged.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use vod_ugc_uploader::answer::HttpReply;
use vod_ugc_uploader::hash::md5_hex;
use vod_ugc_uploader::plan::Part;
use vod_ugc_uploader::progress::Progress;
use vod_ugc_uploader::request::{Method, Request};
use vod_ugc_uploader::{Env, EnvError, FileInfo};

/// A request as the server would see it: the action, the query parameters, and the body's length.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: Method,
    pub action: String,
    pub params: HashMap<String, String>,
    pub body_len: Option<usize>,
    /// The sender was to add the common parameters (a key flavour).
    pub common: bool,
}

impl Sent {
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }

    /// Which of the env's signatures the request carried (its label, in the `uid` field).
    pub fn signature_label(&self) -> String {
        let raw = STANDARD.decode(self.param("signature")).expect("a Base64 signature");
        let original = String::from_utf8(raw[20..].to_vec()).unwrap();
        let uid = original.split('&').find_map(|pair| pair.strip_prefix("uid=")).expect("a uid field");
        uid.to_string()
    }
}

/// An upload signature for `file` that expires in 2100, with a made-up MAC (the client cannot check a
/// MAC) and `label` as its `uid`, so that a test sees which one a request carried. Signed 30 days
/// before it expires: a lifetime within the platform's 90 days.
pub fn upload_signature(label: &str, file: &FileInfo) -> String {
    let original = format!("s=AKIDtest&t=4099852800&e=4102444800&r=1&f={}&fs={}&ft={}&uid={label}", file.name, file.sha, file.file_type);
    let mut raw = vec![7u8; 20];
    raw.extend_from_slice(original.as_bytes());
    STANDARD.encode(raw)
}

pub fn parse_query(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).expect("valid percent escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8 query")
}

pub type Handler<'a> = Box<dyn Fn(&Sent, Option<&[u8]>) -> Result<HttpReply, EnvError> + 'a>;

pub struct Scripted<'a> {
    pub data: Vec<u8>,
    /// The file changed on disk: after this many requests sent, it reads as these bytes.
    pub edited: Option<(usize, Vec<u8>)>,
    pub handler: Handler<'a>,
    /// The labels of the signatures handed out, in order; the last one repeats.
    pub signatures: RefCell<Vec<String>>,
    pub signature_calls: Cell<usize>,
    pub sent: RefCell<Vec<Sent>>,
    pub sleeps: RefCell<Vec<u32>>,
    pub progress: RefCell<Vec<Progress>>,
    pub abort_after_sends: Cell<Option<usize>>,
    pub in_flight: Cell<usize>,
    pub max_in_flight: Cell<usize>,
    clock: Cell<f64>,
}

pub fn json(body: &str) -> Result<HttpReply, EnvError> {
    Ok(HttpReply::new(200, body))
}

impl<'a> Scripted<'a> {
    pub fn new(data: Vec<u8>, handler: impl Fn(&Sent, Option<&[u8]>) -> Result<HttpReply, EnvError> + 'a) -> Self {
        Scripted {
            data,
            edited: None,
            handler: Box::new(handler),
            signatures: RefCell::new(vec!["sig-1".into(), "sig-2".into(), "sig-3".into()]),
            signature_calls: Cell::new(0),
            sent: RefCell::new(Vec::new()),
            sleeps: RefCell::new(Vec::new()),
            progress: RefCell::new(Vec::new()),
            abort_after_sends: Cell::new(None),
            in_flight: Cell::new(0),
            max_in_flight: Cell::new(0),
            clock: Cell::new(0.0),
        }
    }

    pub fn actions(&self) -> Vec<String> {
        self.sent.borrow().iter().map(|s| s.action.clone()).collect()
    }

    pub fn count(&self, action: &str) -> usize {
        self.sent.borrow().iter().filter(|s| s.action == action).count()
    }

    /// The bytes of `part` as the file reads now.
    fn bytes_of(&self, part: Part) -> &[u8] {
        let data = match &self.edited {
            Some((after, edited)) if self.sent.borrow().len() >= *after => edited,
            _ => &self.data,
        };
        &data[part.offset as usize..part.end() as usize]
    }
}

impl Env for Scripted<'_> {
    async fn send(&self, request: &Request) -> Result<HttpReply, EnvError> {
        let body = request.part.map(|p| self.bytes_of(p));
        let params = parse_query(&request.url);
        let sent = Sent {
            method: request.method,
            action: params.get("Action").cloned().unwrap_or_default(),
            params,
            body_len: body.map(<[u8]>::len),
            common: request.common,
        };
        self.sent.borrow_mut().push(sent.clone());
        self.in_flight.set(self.in_flight.get() + 1);
        self.max_in_flight.set(self.max_in_flight.get().max(self.in_flight.get()));
        // Let the other part workers run, as a real network would.
        tokio::task::yield_now().await;
        self.in_flight.set(self.in_flight.get() - 1);
        self.clock.set(self.clock.get() + 50.0);
        if let Some(limit) = self.abort_after_sends.get() {
            if self.sent.borrow().len() >= limit {
                return Err(EnvError::Aborted);
            }
        }
        (self.handler)(&sent, body)
    }

    async fn part_md5(&self, part: Part) -> Result<String, EnvError> {
        Ok(md5_hex(self.bytes_of(part)))
    }

    async fn sleep(&self, ms: u32) -> Result<(), EnvError> {
        self.sleeps.borrow_mut().push(ms);
        self.clock.set(self.clock.get() + f64::from(ms));
        Ok(())
    }

    async fn signature(&self, file: &FileInfo) -> Result<String, EnvError> {
        assert_eq!(file.sha.len(), 40);
        let n = self.signature_calls.get();
        self.signature_calls.set(n + 1);
        Ok(upload_signature(&self.signatures.borrow()[n.min(self.signatures.borrow().len() - 1)], file))
    }

    fn progress(&self, progress: Progress) {
        self.progress.borrow_mut().push(progress);
    }

    fn now_ms(&self) -> f64 {
        self.clock.get()
    }

    fn random(&self) -> f64 {
        0.5
    }

    fn aborted(&self) -> bool {
        matches!(self.abort_after_sends.get(), Some(limit) if self.sent.borrow().len() >= limit)
    }
}

#[path = "bytes.rs"]
mod random;
pub use random::bytes;
