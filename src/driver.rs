//! The driver for native platforms: the [`Machine`] decides every step, and [`upload`] carries its
//! commands out as futures, with an [`Env`] that sends requests, reads parts of the file, sleeps, asks
//! for signatures and reports progress. The tests implement `Env` in memory and against the real
//! server's router; the browser drives the machine from JavaScript instead.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use crate::answer::HttpReply;
use crate::error::{EnvError, UploadError};
use crate::file::FileInfo;
use crate::flavour::Flavour;
use crate::machine::{Command, Event, Machine};
use crate::options::Options;
use crate::outcome::UploadResult;
use crate::plan::Part;
use crate::progress::Progress;
use crate::request::Request;

/// What the uploader asks of its platform.
pub trait Env {
    /// Send a request and return its HTTP answer. For a part (`request.part` is set) the body is
    /// that range of the file. Where `request.common` is set, each call (each attempt) adds the
    /// common parameters, signed afresh (native: `keyed::sign_common`). `Failed` means no HTTP
    /// answer came (network error, timeout); `Unreadable`, that the body could not be read from the
    /// file.
    fn send(&self, request: &Request) -> impl Future<Output = Result<HttpReply, EnvError>>;
    /// Read one part of the file and return its MD5, lowercase hex ([`crate::hash::md5_hex`]). The
    /// read should start when this is called, not when the future is first polled: the uploader asks
    /// for the next parts ahead of sending them. A part shorter than asked (the file changed) is
    /// `Failed`.
    fn part_md5(&self, part: Part) -> impl Future<Output = Result<String, EnvError>>;
    fn sleep(&self, ms: u32) -> impl Future<Output = Result<(), EnvError>>;
    /// The app backend's signature for this file (asked only in the UGC flavour).
    fn signature(&self, file: &FileInfo) -> impl Future<Output = Result<String, EnvError>>;
    fn progress(&self, progress: Progress);
    fn now_ms(&self) -> f64;
    /// A number in [0, 1), for jitter.
    fn random(&self) -> f64;
    fn aborted(&self) -> bool;
}

/// Uploads a hashed file through the UGC calls: drives a [`Machine`] with `env`, running the
/// operations it asks for concurrently, until it has an outcome (operations still running then are
/// dropped, unfinished). The parts in flight fit the link's speed (`options.adapt_lanes`, the
/// default), measured as parts are acknowledged (an `Env` does not report bytes as they leave): the
/// first part goes alone, then as many as take ~5 s each, `options.concurrency` at most.
pub async fn upload<E: Env>(env: &E, file: &FileInfo, options: &Options) -> Result<UploadResult, UploadError> {
    upload_flavour(env, file, options, Flavour::Ugc).await
}

/// [`upload`] in the API flavour `flavour`.
pub async fn upload_flavour<E: Env>(env: &E, file: &FileInfo, options: &Options, flavour: Flavour) -> Result<UploadResult, UploadError> {
    let mut machine = Machine::with_flavour(file.clone(), options.clone(), flavour);
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
