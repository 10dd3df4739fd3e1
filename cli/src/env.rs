//! The core's `Env` over reqwest and the file on disk: parts are read (and their MD5 taken) on the
//! blocking pool as soon as the machine asks, kept until they are sent, and read again for a retry.

use std::cell::{Cell, RefCell};
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

use crate::{Auth, Uploader};

/// A UGC signature made from the key is valid this long.
const SIGNATURE_TTL_SECS: u64 = 24 * 3600;

pub(crate) struct NetEnv<'a> {
    client: reqwest::Client,
    path: PathBuf,
    auth: Auth,
    meta: Meta,
    uid: String,
    /// Parts read ahead, by offset, until they are sent.
    parts: RefCell<HashMap<u64, Vec<u8>>>,
    started: Instant,
    random: Cell<u64>,
    on_progress: &'a dyn Fn(Progress),
}

impl<'a> NetEnv<'a> {
    pub(crate) fn new(uploader: &Uploader, path: &Path, on_progress: &'a dyn Fn(Progress)) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| format!("no HTTP client: {e}"))?;
        let seed = std::collections::hash_map::RandomState::new().build_hasher().finish() | 1;
        Ok(NetEnv {
            client,
            path: path.to_path_buf(),
            auth: uploader.auth.clone(),
            meta: uploader.meta.clone(),
            uid: uploader.uid.clone(),
            parts: RefCell::new(HashMap::new()),
            started: Instant::now(),
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
        let mut builder = self.client.request(method, url);
        if let Some(body) = body {
            builder = builder.header(reqwest::header::CONTENT_TYPE, "application/octet-stream").body(body);
        }
        // The URL is left out of errors: it carries a signature.
        let response = builder.send().await.map_err(|e| EnvError::Failed(chain(&e.without_url())))?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = response.text().await.map_err(|e| EnvError::Failed(chain(&e.without_url())))?;
        Ok(HttpReply { retry_after, ..HttpReply::new(status, body) })
    }

    fn part_md5(&self, part: Part) -> impl Future<Output = Result<String, EnvError>> {
        let path = self.path.clone();
        let read = tokio::task::spawn_blocking(move || read_part(&path, part).map(|bytes| (md5_hex(&bytes), bytes)));
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
