//! The core's `Env` over reqwest and the file on disk: parts are read (and their MD5 taken, unless the
//! SHA-1 pass took it beside it: `crate::ahead`) on the blocking pool as soon as the machine asks, kept
//! until they are sent, and read again for a retry.
//!
//! A call fails for lack of progress, never for its length (the browser's `timeout` means the same):
//! when no byte of the body moved, or no byte of the answer came after the body was sent, for the
//! stall timeout. Once the body is sent, the whole answer must come within the stall timeout plus a
//! second per 16 KiB of it (a drip-fed answer cannot hold a call). No redirect is followed.
//!
//! What is seen here is a body handed to the HTTP stack, which buffers some hundreds of KiB (and
//! the kernel more) before the wire: "sent" is taken to be once what the buffers held at first has
//! had the time to leave at the pace the body went (see [`Watch::draining`]).

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vod_ugc_uploader::answer::HttpReply;
use vod_ugc_uploader::hash::md5_hex;
use vod_ugc_uploader::keyed::{self, Key};
use vod_ugc_uploader::plan::Part;
use vod_ugc_uploader::progress::Progress;
use vod_ugc_uploader::request::{Method, Request};
use vod_ugc_uploader::{Env, EnvError, FileInfo, Meta};

use crate::ahead::Md5s;
use crate::{Auth, Uploader};

/// A UGC signature made from the key is valid this long.
const SIGNATURE_TTL_SECS: u64 = 24 * 3600;

/// How long a call may go without progress by default.
pub(crate) const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a body is handed to the connection at a time: progress is seen at this grain.
const BODY_CHUNK: usize = 16 * 1024;

/// The answer's allowance beyond the stall timeout: a second per this many bytes of it.
const ANSWER_BYTES_PER_SEC: u64 = 16 * 1024;

/// Why a redirect is not an answer (the browser client says the same).
fn redirected(status: u16) -> String {
    format!(
        "the endpoint answered with a redirect (HTTP {status}), which is not followed: the API answers HTTP 200 only (a proxy or a wrong endpoint URL?)"
    )
}

/// Whether the file name can be sent: valid UTF-8 (not turned into U+FFFD) and without a
/// bidirectional control (which makes a name read otherwise than it is); the server refuses both
/// (`-10003` for `fileName`, `-10002` in a signature's `f`).
pub(crate) fn file_name(path: &Path) -> Result<String, String> {
    let raw = path.file_name().ok_or_else(|| format!("{} names no file", path.display()))?;
    let name = raw.to_str().ok_or_else(|| {
        format!("the file name {raw:?} is not valid UTF-8: refused rather than sent with U+FFFD in place of its bytes (rename the file)")
    })?;
    if let Some(c) = name.chars().find(|&c| vod_ugc_uploader::signature::is_bidi_control(c)) {
        return Err(format!(
            "the file name {name:?} contains the bidirectional control U+{:04X}, which makes it read otherwise than it is: refused, as the server refuses it (rename the file)",
            c as u32
        ));
    }
    Ok(name.to_string())
}

/// What a call has done so far, shared with its body (which the connection polls on its own).
struct Watch {
    /// When a byte of the body or of the answer last moved.
    moved: Instant,
    /// When the body was all handed over (at once for a call without one).
    sent: Option<Instant>,
    /// Bytes of the body handed over so far.
    handed: u64,
    /// Once the connection's buffers were full and the body went at the link's pace: since when,
    /// and how many bytes had been handed over by then (what the buffers hold).
    paced: Option<(Instant, u64)>,
    /// Bytes of the answer so far.
    received: u64,
}

impl Watch {
    /// How long what the buffers still hold once the body is handed over takes to leave: what they
    /// took at first, at the pace the body went since. A body they took whole (it never had to
    /// wait) is given `stall` more. (The bytes counted are those handed to the HTTP stack, which
    /// buffers them, and the kernel after it; the wire is not seen from here.)
    fn draining(&self, stall: Duration) -> Duration {
        match (self.paced, self.sent) {
            (Some((since, buffered)), Some(sent)) => {
                let rate = (self.handed - buffered) as f64 / sent.duration_since(since).as_secs_f64().max(0.001);
                Duration::from_secs_f64((buffered as f64 / rate.max(1.0)).min(3600.0))
            }
            _ if self.handed == 0 => Duration::ZERO,
            _ => stall,
        }
    }
}

/// A pause between two pieces of the body longer than this means the buffers are full.
const PACED: Duration = Duration::from_millis(50);

type Watched = Arc<Mutex<Watch>>;

fn watch(watched: &Watched) -> std::sync::MutexGuard<'_, Watch> {
    watched.lock().unwrap_or_else(|e| e.into_inner())
}

/// A part's bytes handed to the connection [`BODY_CHUNK`] at a time, noting each move.
struct Sending {
    rest: bytes::Bytes,
    watched: Watched,
}

impl http_body::Body for Sending {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let this = &mut *self;
        let now = Instant::now();
        let mut w = watch(&this.watched);
        if w.paced.is_none() && w.handed > 0 && now.duration_since(w.moved) > PACED {
            w.paced = Some((w.moved, w.handed));
        }
        w.moved = now;
        if this.rest.is_empty() {
            w.sent.get_or_insert(now);
            return Poll::Ready(None);
        }
        let piece = this.rest.split_to(this.rest.len().min(BODY_CHUNK));
        w.handed += piece.len() as u64;
        if this.rest.is_empty() {
            w.sent.get_or_insert(now);
        }
        Poll::Ready(Some(Ok(http_body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.rest.len() as u64)
    }
}

/// Resolves with why the call is cut: no progress for `stall` (once the body is handed over,
/// beyond the time its buffered bytes take to leave), or an answer slower than its allowance.
async fn stalled(watched: &Watched, stall: Duration) -> String {
    loop {
        let (moved, sent, received, draining) = {
            let w = watch(watched);
            (w.moved, w.sent, w.received, w.sent.map(|_| w.draining(stall)).unwrap_or_default())
        };
        let secs = stall.as_secs_f64();
        if moved.elapsed() >= stall + draining {
            return match sent {
                None => format!("stalled: no byte of the body moved for {secs} s"),
                Some(_) => format!("stalled: no answer byte came for {secs} s after the body was sent"),
            };
        }
        let allowance = stall + draining + Duration::from_secs(received / ANSWER_BYTES_PER_SEC);
        if sent.is_some_and(|at| at.elapsed() >= allowance) {
            return format!("the answer did not come within {} s of the body being sent ({received} bytes of it came)", allowance.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200).min(stall)).await;
    }
}

pub(crate) struct NetEnv<'a> {
    client: reqwest::Client,
    path: PathBuf,
    auth: Auth,
    meta: Meta,
    uid: String,
    /// A batch's shared lanes: a part's call holds one while it runs.
    lanes: Option<Arc<tokio::sync::Semaphore>>,
    /// Parts read ahead, by offset, until they are sent.
    parts: RefCell<HashMap<u64, Vec<u8>>>,
    /// MD5s taken beside the SHA-1 pass, each used once (a part read again is hashed again).
    md5s: RefCell<Md5s>,
    started: Instant,
    stall: Duration,
    random: Cell<u64>,
    on_progress: &'a dyn Fn(Progress),
}

impl<'a> NetEnv<'a> {
    pub(crate) fn new(uploader: &Uploader, path: &Path, md5s: Md5s, on_progress: &'a dyn Fn(Progress)) -> Result<Self, String> {
        // No whole-call timeout: a slow link takes as long as it needs, and a stall is cut in `send`.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("no HTTP client: {e}"))?;
        let seed = std::collections::hash_map::RandomState::new().build_hasher().finish() | 1;
        Ok(NetEnv {
            client,
            path: path.to_path_buf(),
            auth: uploader.auth.clone(),
            meta: uploader.meta.clone(),
            uid: uploader.uid.clone(),
            lanes: uploader.lanes.clone(),
            parts: RefCell::new(HashMap::new()),
            md5s: RefCell::new(md5s),
            started: Instant::now(),
            stall: uploader.stall_timeout.max(Duration::from_millis(100)),
            random: Cell::new(seed),
            on_progress,
        })
    }

    /// xorshift64*: jitter and nonces need to differ, not to be secret.
    fn next_random(&self) -> u64 {
        let mut x = self.random.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn key(&self) -> Result<&Key, EnvError> {
        match &self.auth {
            Auth::Key(key) => Ok(key),
            Auth::Signature(_) => Err(EnvError::Failed("this call is signed with the key, and there is none".into())),
        }
    }

    /// The part's bytes: read ahead, or from the file now (a retry).
    async fn body(&self, part: Part) -> Result<Vec<u8>, EnvError> {
        if let Some(bytes) = self.parts.borrow_mut().remove(&part.offset).filter(|b| b.len() as u64 == part.len) {
            return Ok(bytes);
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || read_part(&path, part))
            .await
            .map_err(|e| EnvError::Unreadable(e.to_string()))?
            .map_err(EnvError::Unreadable)
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn read_part(path: &Path, part: Part) -> Result<Vec<u8>, String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    file.seek(SeekFrom::Start(part.offset)).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(part.len as usize);
    file.take(part.len).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 != part.len {
        return Err(format!("the file changed: {} bytes at {} instead of {}", bytes.len(), part.offset, part.len));
    }
    Ok(bytes)
}

/// An error with its causes, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Env for NetEnv<'_> {
    async fn send(&self, request: &Request) -> Result<HttpReply, EnvError> {
        // In a batch, a part waits for a lane of the budget the files share (never closed).
        let _lane = match (&self.lanes, request.part) {
            (Some(lanes), Some(_)) => Some(lanes.acquire().await.map_err(|e| EnvError::Failed(e.to_string()))?),
            _ => None,
        };
        let body = match request.part {
            Some(part) => Some(self.body(part).await?),
            None => None,
        };
        // Every attempt is signed afresh: a new Timestamp and Nonce, so that no retry is a replay.
        let url = match request.common {
            true => keyed::sign_common(request, self.key()?, unix_now(), (self.next_random() >> 2).max(1)).map_err(EnvError::Failed)?,
            false => request.url.clone(),
        };
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let now = Instant::now();
        let watched = Arc::new(Mutex::new(Watch { moved: now, sent: body.is_none().then_some(now), handed: 0, paced: None, received: 0 }));
        let mut builder = self.client.request(method, url);
        if let Some(body) = body {
            let sending = Sending { rest: body.into(), watched: Arc::clone(&watched) };
            builder = builder.header(reqwest::header::CONTENT_TYPE, "application/octet-stream").body(reqwest::Body::wrap(sending));
        }
        let call = async {
            // The URL is left out of errors: it carries a signature.
            let failed = |e: reqwest::Error| EnvError::Failed(chain(&e.without_url()));
            let mut response = builder.send().await.map_err(failed)?;
            let status = response.status().as_u16();
            if (300..400).contains(&status) {
                return Err(EnvError::Failed(redirected(status)));
            }
            let retry_after = response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
            let mut bytes = Vec::new();
            watch(&watched).moved = Instant::now();
            while let Some(chunk) = response.chunk().await.map_err(failed)? {
                bytes.extend_from_slice(&chunk);
                let mut w = watch(&watched);
                (w.moved, w.received) = (Instant::now(), bytes.len() as u64);
            }
            Ok(HttpReply { retry_after, ..HttpReply::new(status, String::from_utf8_lossy(&bytes).into_owned()) })
        };
        tokio::select! {
            reply = call => reply,
            why = stalled(&watched, self.stall) => Err(EnvError::Failed(why)),
        }
    }

    fn part_md5(&self, part: Part) -> impl Future<Output = Result<String, EnvError>> {
        let path = self.path.clone();
        let kept = self.md5s.borrow_mut().remove(&part.offset).filter(|(len, _)| *len == part.len).map(|(_, md5)| md5);
        let read = tokio::task::spawn_blocking(move || read_part(&path, part).map(|bytes| (kept.unwrap_or_else(|| md5_hex(&bytes)), bytes)));
        async move {
            let (md5, bytes) = read.await.map_err(|e| EnvError::Failed(e.to_string()))?.map_err(EnvError::Failed)?;
            self.parts.borrow_mut().insert(part.offset, bytes);
            Ok(md5)
        }
    }

    async fn sleep(&self, ms: u32) -> Result<(), EnvError> {
        tokio::time::sleep(Duration::from_millis(ms.into())).await;
        Ok(())
    }

    async fn signature(&self, file: &FileInfo) -> Result<String, EnvError> {
        match &self.auth {
            Auth::Signature(signature) => Ok(signature.clone()),
            Auth::Key(key) => {
                let r = (self.next_random() % 4_294_967_295) as u32;
                Ok(keyed::ugc_signature(key, file, &self.meta, &self.uid, unix_now(), SIGNATURE_TTL_SECS, r))
            }
        }
    }

    fn progress(&self, progress: Progress) {
        (self.on_progress)(progress);
    }

    fn now_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    fn random(&self) -> f64 {
        (self.next_random() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn aborted(&self) -> bool {
        false
    }
}
