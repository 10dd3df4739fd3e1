//! The upload after hashing: signature → InitUploadEx → UploadPartEx × N (several at once) →
//! FinishUploadEx, with retries, one signature refresh and progress.
//!
//! This module decides everything and does no I/O itself: the platform hands it an [`Env`] that sends
//! requests, reads parts of the file, sleeps, asks for signatures and reports progress. The browser
//! layer implements it with `fetch` and `Blob.slice`; the tests implement it in memory and against the
//! real server's router.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use futures_util::lock::Mutex;

use crate::answer::{self, Answer, HttpReply, InitDecision};
use crate::error::{ErrorKind, Step, UploadError};
use crate::plan::{self, Part, PART_SIZES};
use crate::progress::{Meter, Phase, Progress};
use crate::request::{self, Request};
use crate::retry::Backoff;

/// Why an [`Env`] call did not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvError {
    /// The upload was aborted: stop at once.
    Aborted,
    /// It failed; the text says how.
    Failed(String),
}

/// What the uploader asks of its platform.
pub trait Env {
    /// Send a request and return its HTTP answer. For UploadPartEx (`request.part` is set) the body
    /// is that range of the file. `Failed` means no HTTP answer came (network error, timeout).
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
    /// The part size asked of InitUploadEx: one of [`PART_SIZES`].
    pub part_size: u64,
    /// Parts in flight at once.
    pub concurrency: usize,
    /// Retries per call for transient failures (so at most `retries + 1` sends of one call).
    pub retries: u32,
    pub backoff: Backoff,
}

pub const DEFAULT_CONCURRENCY: usize = 4;
pub const DEFAULT_RETRIES: u32 = 5;
pub const MAX_CONCURRENCY: usize = 16;

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

impl Options {
    /// Problems with the options, as a `TypeError` would word them.
    pub fn validate(&self) -> Result<(), String> {
        if !PART_SIZES.contains(&self.part_size) {
            return Err(format!("partSize must be 524288 or 1048576 (the sizes InitUploadEx allows), not {}", self.part_size));
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return Err(format!("concurrency must be an integer from 1 to {MAX_CONCURRENCY}, not {}", self.concurrency));
        }
        if self.endpoint.is_empty() {
            return Err("endpoint must be a URL".to_string());
        }
        Ok(())
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

/// Upload a hashed file.
pub async fn upload<E: Env>(env: &E, file: &FileInfo, options: &Options) -> Result<UploadResult, UploadError> {
    if file.size == 0 {
        return Err(UploadError::new(Step::Hash, ErrorKind::EmptyFile));
    }
    let session = Session { env, file, options, signer: Signer::new(env, file).await?, meter: RefCell::new(None) };
    session.run().await
}

struct Session<'a, E: Env> {
    env: &'a E,
    file: &'a FileInfo,
    options: &'a Options,
    signer: Signer<'a, E>,
    meter: RefCell<Option<Meter>>,
}

impl<E: Env> Session<'_, E> {
    async fn run(&self) -> Result<UploadResult, UploadError> {
        let (file, opts) = (self.file, self.options);
        let (init, reply) = self.call(Step::Init, &|sig| request::init(&opts.endpoint, &file.sha, file.size, opts.part_size, sig)).await?;
        let decision = answer::decide_init(init, &reply)?;
        let (missing, resumed_bytes) = match decision {
            InitDecision::Fresh => (plan::parts(file.size, opts.part_size).collect(), 0),
            InitDecision::Resume { part_size, held } => plan::missing_parts(file.size, part_size, &held),
            InitDecision::Instant { file_id, url } => return self.instant(file_id, url).await,
        };
        let uploaded_bytes = self.send_parts(missing, resumed_bytes).await?;
        let done = self.finish().await?;
        Ok(UploadResult {
            file_id: done.file_id,
            url: done.url,
            file_sha: file.sha.clone(),
            instant: false,
            resumed_bytes,
            uploaded_bytes,
            verify_content: done.verify_content,
        })
    }

    async fn finish(&self) -> Result<answer::Finished, UploadError> {
        let (file, opts) = (self.file, self.options);
        self.report(Phase::Finishing, file.size);
        let (done, reply) = self.call(Step::Finish, &|sig| request::finish(&opts.endpoint, &file.sha, sig)).await?;
        answer::decide_finished(done, &reply)
    }

    /// The server has the file already (InitUploadEx code 2). FinishUploadEx is asked for the
    /// `verify_content` an app backend checks; a server that will not give it still has the file, so
    /// its refusal only leaves `verify_content` out.
    async fn instant(&self, file_id: String, url: String) -> Result<UploadResult, UploadError> {
        let (file_id, url, verify_content) = match self.finish().await {
            Ok(done) => (done.file_id, done.url, done.verify_content),
            Err(e) if e.is_abort() => return Err(e),
            Err(_) => (file_id, url, None),
        };
        Ok(UploadResult {
            file_id,
            url,
            file_sha: self.file.sha.clone(),
            instant: true,
            resumed_bytes: 0,
            uploaded_bytes: 0,
            verify_content,
        })
    }

    /// Sends the parts, `concurrency` at a time, in file order; returns the bytes acknowledged. The
    /// reads of the next parts are started ahead, so a part's bytes are there when a lane frees up.
    async fn send_parts(&self, parts: Vec<Part>, held_bytes: u64) -> Result<u64, UploadError> {
        *self.meter.borrow_mut() = Some(Meter::new(Phase::Uploading, self.file.size, held_bytes, self.env.now_ms()));
        self.report(Phase::Uploading, 0);
        let queue = RefCell::new(ReadAhead::new(self.env, parts, self.options.concurrency));
        let sent = Cell::new(0u64);
        let worker = || async {
            loop {
                let Some((part, md5)) = queue.borrow_mut().next() else { return Ok::<(), UploadError>(()) };
                self.send_part(part, md5.await).await?;
                sent.set(sent.get() + part.len);
                self.report(Phase::Uploading, part.len);
            }
        };
        all_ok((0..self.options.concurrency).map(|_| worker()).collect()).await?;
        Ok(sent.get())
    }

    /// Sends one part, given its MD5 (or why it could not be read).
    async fn send_part(&self, part: Part, md5: Result<String, EnvError>) -> Result<(), UploadError> {
        let md5 = md5.map_err(|e| match e {
            EnvError::Aborted => UploadError::new(Step::Part, ErrorKind::Aborted),
            EnvError::Failed(why) => UploadError::new(Step::Part, ErrorKind::Read(why)),
        })?;
        let (file, opts) = (self.file, self.options);
        let (ack, reply) = self.call(Step::Part, &|sig| request::part(&opts.endpoint, &file.sha, part, &md5, sig)).await?;
        answer::check_part_ack(ack, &reply)
    }

    /// Moves the meter on by `bytes` and reports; `Finishing` reports the whole file done.
    fn report(&self, phase: Phase, bytes: u64) {
        let now = self.env.now_ms();
        let progress = match (phase, self.meter.borrow_mut().as_mut()) {
            (Phase::Uploading, Some(meter)) => meter.advance(bytes, now),
            _ => Meter::new(phase, self.file.size, bytes, now).progress(),
        };
        self.env.progress(progress);
    }

    /// One call with the protocol's client rules: transient failures are retried with backoff up to
    /// `retries` times, a refused signature is refreshed once, anything else fails at once.
    /// Returns the answer (with a code of success) and the reply it was read from, for the step's own
    /// checks.
    async fn call(&self, step: Step, build: &dyn Fn(&str) -> Request) -> Result<(Answer, HttpReply), UploadError> {
        let (mut sends, mut retries) = (0u32, 0u32);
        loop {
            if self.env.aborted() {
                return Err(UploadError::new(step, ErrorKind::Aborted));
            }
            let (signature, generation) = self.signer.current();
            let request = build(&signature);
            sends += 1;
            let outcome = match self.env.send(&request).await {
                Ok(reply) => answer::read(step, &reply).map(|answer| (answer, reply)),
                Err(EnvError::Aborted) => return Err(UploadError::new(step, ErrorKind::Aborted)),
                Err(EnvError::Failed(why)) => Err(UploadError::new(step, ErrorKind::Network(why))),
            };
            let error = match outcome {
                Ok(value) => return Ok(value),
                Err(error) => error.with_attempts(sends),
            };
            if error.code() == Some(SIGNATURE_REFUSED) {
                if !self.signer.refresh(generation).await? {
                    return Err(error);
                }
            } else if error.is_transient() && retries < self.options.retries {
                retries += 1;
                let delay = self.options.backoff.delay_ms(retries, self.env.random());
                self.env.sleep(delay).await.map_err(|_| UploadError::new(step, ErrorKind::Aborted))?;
            } else {
                return Err(error);
            }
        }
    }
}

type Read<'a> = Pin<Box<dyn Future<Output = Result<String, EnvError>> + 'a>>;

/// The parts in file order, with the reads (and MD5s) of the next `ahead` of them already asked for.
struct ReadAhead<'a, E: Env> {
    env: &'a E,
    parts: std::vec::IntoIter<Part>,
    reads: VecDeque<(Part, Read<'a>)>,
    ahead: usize,
}

impl<'a, E: Env> ReadAhead<'a, E> {
    fn new(env: &'a E, parts: Vec<Part>, ahead: usize) -> Self {
        ReadAhead { env, parts: parts.into_iter(), reads: VecDeque::new(), ahead }
    }

    fn next(&mut self) -> Option<(Part, Read<'a>)> {
        while self.reads.len() <= self.ahead {
            let Some(part) = self.parts.next() else { break };
            self.reads.push_back((part, Box::pin(self.env.part_md5(part))));
        }
        self.reads.pop_front()
    }
}

/// Runs the futures together until all succeed or one fails (then the rest are dropped, unfinished).
async fn all_ok<F: Future<Output = Result<(), E>>, E>(futures: Vec<F>) -> Result<(), E> {
    let mut futures: Vec<Option<Pin<Box<F>>>> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    poll_fn(|cx| {
        for slot in futures.iter_mut() {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(Ok(())) => *slot = None,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            }
        }
        if futures.iter().all(Option::is_none) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// The code of a refused signature.
pub const SIGNATURE_REFUSED: i64 = -10002;

/// The file's signature, and the one refresh the protocol allows after a `-10002`.
struct Signer<'a, E: Env> {
    env: &'a E,
    file: &'a FileInfo,
    current: RefCell<(String, u32)>,
    refreshing: Mutex<()>,
}

impl<'a, E: Env> Signer<'a, E> {
    async fn new(env: &'a E, file: &'a FileInfo) -> Result<Self, UploadError> {
        let signature = Self::ask(env, file).await?;
        Ok(Signer { env, file, current: RefCell::new((signature, 0)), refreshing: Mutex::new(()) })
    }

    async fn ask(env: &E, file: &FileInfo) -> Result<String, UploadError> {
        match env.signature(file).await {
            Ok(signature) if !signature.trim().is_empty() => Ok(signature.trim().to_string()),
            Ok(_) => Err(UploadError::new(Step::Signature, ErrorKind::Signature("it returned an empty signature".into()))),
            Err(EnvError::Aborted) => Err(UploadError::new(Step::Signature, ErrorKind::Aborted)),
            Err(EnvError::Failed(why)) => Err(UploadError::new(Step::Signature, ErrorKind::Signature(why))),
        }
    }

    /// The signature to send, and its generation (0 first, 1 after the refresh).
    fn current(&self) -> (String, u32) {
        self.current.borrow().clone()
    }

    /// After a call sent with generation `used` was refused: whether to send it again (with a newer
    /// signature). Several parts refused at once share one refresh; a refusal of the refreshed
    /// signature is final.
    async fn refresh(&self, used: u32) -> Result<bool, UploadError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let generation = self.current.borrow().1;
        if generation > used {
            return Ok(true);
        }
        if generation >= 1 {
            return Ok(false);
        }
        let signature = Self::ask(self.env, self.file).await?;
        *self.current.borrow_mut() = (signature, generation + 1);
        Ok(true)
    }
}
