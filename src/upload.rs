//! The upload's options and result, and a driver for native platforms: the [`Machine`] decides every
//! step, and [`upload`] carries its commands out with an [`Env`] that sends requests, reads parts of
//! the file, sleeps, asks for signatures and reports progress. The tests implement `Env` in memory
//! and against the real server's router; the browser drives the machine from `src/web/io.js` instead.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use crate::answer::HttpReply;
use crate::error::UploadError;
use crate::machine::{Command, Event, Machine};
use crate::plan::{self, Part};
use crate::progress::Progress;
use crate::request::{self, Request};
use crate::retry::Backoff;

/// Why an [`Env`] call did not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvError {
    /// The upload was aborted: stop at once.
    Aborted,
    /// It failed; the text says how.
    Failed(String),
    /// The file could not be read (it changed on disk, or went away): sending it again will not help.
    Unreadable(String),
}

/// What the uploader asks of its platform.
pub trait Env {
    /// Send a request and return its HTTP answer. For UploadPartEx (`request.part` is set) the body
    /// is that range of the file. `Failed` means no HTTP answer came (network error, timeout);
    /// `Unreadable`, that the body could not be read from the file.
    fn send(&self, request: &Request) -> impl Future<Output = Result<HttpReply, EnvError>>;
    /// Read one part of the file and return its MD5, lowercase hex ([`crate::hash::md5_hex`]). The
    /// read should start when this is called, not when the future is first polled: the uploader asks
    /// for the next parts ahead of sending them. A part shorter than asked (the file changed) is
    /// `Failed`.
    fn part_md5(&self, part: Part) -> impl Future<Output = Result<String, EnvError>>;
    fn sleep(&self, ms: u32) -> impl Future<Output = Result<(), EnvError>>;
    /// The app backend's signature for this file.
    fn signature(&self, file: &FileInfo) -> impl Future<Output = Result<String, EnvError>>;
    fn progress(&self, progress: Progress);
    fn now_ms(&self) -> f64;
    /// A number in [0, 1), for jitter.
    fn random(&self) -> f64;
    fn aborted(&self) -> bool;
}

/// What is known of the file once it is hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
    /// Lowercase hex SHA-1 of the whole file.
    pub sha: String,
    /// The extension, lowercase, without the dot.
    pub file_type: String,
}

impl FileInfo {
    pub fn new(name: &str, size: u64, sha: String) -> Self {
        FileInfo { name: name.to_string(), size, sha, file_type: request::file_type(name) }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub endpoint: String,
    /// The part size asked of InitUploadEx: one of [`plan::PART_SIZES`].
    pub part_size: u64,
    /// Parts in flight at once (0 counts as 1). The browser API allows 1 to 16 (src/web/io.js).
    pub concurrency: usize,
    /// Retries per call for transient failures (so at most `retries + 1` sends of one call).
    pub retries: u32,
    pub backoff: Backoff,
}

pub const DEFAULT_CONCURRENCY: usize = 4;
pub const DEFAULT_RETRIES: u32 = 5;

impl Default for Options {
    fn default() -> Self {
        Options {
            endpoint: request::DEFAULT_ENDPOINT.to_string(),
            part_size: plan::DEFAULT_PART_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            retries: DEFAULT_RETRIES,
            backoff: Backoff::default(),
        }
    }
}


#[derive(Debug, Clone, PartialEq)]
pub struct UploadResult {
    pub file_id: String,
    pub url: String,
    pub file_sha: String,
    /// The server had the file already: nothing was uploaded.
    pub instant: bool,
    /// Bytes the server held from an earlier attempt and that were not sent again.
    pub resumed_bytes: u64,
    /// Bytes sent and acknowledged in this upload.
    pub uploaded_bytes: u64,
    pub verify_content: Option<String>,
}

/// Uploads a hashed file: drives a [`Machine`] with `env`, running the operations it asks for
/// concurrently, until it has an outcome (operations still running then are dropped, unfinished).
pub async fn upload<E: Env>(env: &E, file: &FileInfo, options: &Options) -> Result<UploadResult, UploadError> {
    let mut machine = Machine::new(file.clone(), options.clone());
    let mut running: Vec<Pin<Box<dyn Future<Output = Event> + '_>>> = Vec::new();
    loop {
        while let Some(command) = machine.next_command() {
            // Nothing new starts once the upload is aborted.
            if env.aborted() {
                machine.abort();
                break;
            }
            running.push(match command {
                Command::Progress(progress) => {
                    env.progress(progress);
                    continue;
                }
                Command::AskSignature => Box::pin(async { Event::Signature(env.signature(file).await) }),
                Command::Send(id, request) => Box::pin(async move { Event::Reply(id, env.send(&request).await) }),
                Command::Read(id, part) => {
                    let md5 = env.part_md5(part);
                    Box::pin(async move { Event::Read(id, md5.await) })
                }
                Command::Sleep(id, ms) => Box::pin(async move { Event::Woke(id, env.sleep(ms).await) }),
            });
        }
        if let Some(outcome) = machine.take_outcome() {
            return outcome;
        }
        assert!(!running.is_empty(), "the upload machine waits on nothing");
        // Every operation is polled on each wake-up, in the order it was asked for.
        let events = poll_fn(|cx| {
            let mut ready = Vec::new();
            running.retain_mut(|op| match op.as_mut().poll(cx) {
                Poll::Ready(event) => {
                    ready.push(event);
                    false
                }
                Poll::Pending => true,
            });
            match ready.is_empty() {
                true => Poll::Pending,
                false => Poll::Ready(ready),
            }
        })
        .await;
        for event in events {
            machine.handle(event, env.now_ms(), env.random());
        }
    }
}
