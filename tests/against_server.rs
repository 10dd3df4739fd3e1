//! Whole uploads by the protocol core against the real `vod-server` router, in process: the requests
//! the core builds go through `app(state).oneshot(..)`, so every answer is the server's own. Covers
//! fresh, instant, resume after an interrupted upload (with another part size), injected faults, a
//! refreshed signature and a fatal refusal, and checks the stored bytes.
#![cfg(not(target_arch = "wasm32"))]

#[path = "common/scripted.rs"]
mod scripted;

use std::cell::{Cell, RefCell};

use axum::body::Body;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::BodyExt;
use tower::ServiceExt;
use vod_server::{app, AppState, Config, FaultConfig, FaultKind};
use vod_ugc_uploader::answer::HttpReply;
use vod_ugc_uploader::hash::{md5_hex, sha1_hex};
use vod_ugc_uploader::plan::Part;
use vod_ugc_uploader::progress::Progress;
use vod_ugc_uploader::request::Request;
use vod_ugc_uploader::retry::Backoff;
use vod_ugc_uploader::{upload, Env, EnvError, FileInfo, Options, Step};

const ORIGIN: &str = "http://vod.test";
const SECRET_ID: &str = "AKIDinprocess";
const SECRET_KEY: &str = "in-process-secret";

struct Server {
    router: Router,
    _dir: tempfile::TempDir,
}

async fn server(faults: FaultConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path(), SECRET_ID, SECRET_KEY);
    config.public_url = ORIGIN.to_string();
    config.dev_signing = true;
    config.faults = faults;
    Server { router: app(AppState::open(config).await.unwrap()), _dir: dir }
}

/// The core's `Env` over the router: a request is a `oneshot` call; a body that breaks off is a
/// network failure, as in a browser.
struct RouterEnv<'a> {
    router: &'a Router,
    data: &'a [u8],
    /// TTLs of the signatures handed out, in order; the last one repeats.
    ttls: Vec<i64>,
    /// How many of the first signatures have a damaged MAC: the server refuses them, the client cannot
    /// tell.
    tampered: usize,
    signatures: Cell<usize>,
    /// Requests sent, of every kind.
    calls: Cell<usize>,
    parts_sent: Cell<usize>,
    abort_after_parts: Option<usize>,
    progress: RefCell<Vec<Progress>>,
}

impl<'a> RouterEnv<'a> {
    fn new(server: &'a Server, data: &'a [u8]) -> Self {
        RouterEnv {
            router: &server.router,
            data,
            ttls: vec![3600],
            tampered: 0,
            signatures: Cell::new(0),
            calls: Cell::new(0),
            parts_sent: Cell::new(0),
            abort_after_parts: None,
            progress: RefCell::new(Vec::new()),
        }
    }
}

async fn call(router: &Router, method: &str, uri: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>), String> {
    let request = http::Request::builder().method(method).uri(uri).body(Body::from(body)).unwrap();
    let response = router.clone().oneshot(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.map_err(|e| format!("connection dropped: {e}"))?.to_bytes();
    Ok((status, bytes.to_vec()))
}

impl Env for RouterEnv<'_> {
    async fn send(&self, request: &Request) -> Result<HttpReply, EnvError> {
        self.calls.set(self.calls.get() + 1);
        let body = match request.part {
            Some(part) => {
                self.parts_sent.set(self.parts_sent.get() + 1);
                self.data[part.offset as usize..part.end() as usize].to_vec()
            }
            None => Vec::new(),
        };
        let uri = request.url.strip_prefix(ORIGIN).expect("requests go to the endpoint");
        let (status, body) = call(self.router, request.method.as_str(), uri, body)
            .await
            .map_err(EnvError::Failed)?;
        Ok(HttpReply::new(status, String::from_utf8_lossy(&body)))
    }

    async fn part_md5(&self, part: Part) -> Result<String, EnvError> {
        Ok(md5_hex(&self.data[part.offset as usize..part.end() as usize]))
    }

    async fn sleep(&self, ms: u32) -> Result<(), EnvError> {
        tokio::time::sleep(std::time::Duration::from_millis(ms.into())).await;
        Ok(())
    }

    async fn signature(&self, file: &FileInfo) -> Result<String, EnvError> {
        let n = self.signatures.get();
        self.signatures.set(n + 1);
        let ttl = self.ttls[n.min(self.ttls.len() - 1)];
        let signature = vod_server::sign::sign_now(SECRET_ID, SECRET_KEY, &file.sha, &file.name, ttl);
        if n >= self.tampered {
            return Ok(signature);
        }
        let mut raw = STANDARD.decode(signature).unwrap();
        raw[0] ^= 1;
        Ok(STANDARD.encode(raw))
    }

    fn progress(&self, progress: Progress) {
        self.progress.borrow_mut().push(progress);
    }

    fn now_ms(&self) -> f64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0
    }

    fn random(&self) -> f64 {
        0.5
    }

    fn aborted(&self) -> bool {
        matches!(self.abort_after_parts, Some(n) if self.parts_sent.get() >= n)
    }
}

fn options(part_size: u64) -> Options {
    Options {
        endpoint: format!("{ORIGIN}/v2/index.php"),
        part_size,
        backoff: Backoff { base_ms: 5, max_ms: 50 },
        ..Options::default()
    }
}

fn info(data: &[u8]) -> FileInfo {
    FileInfo::new("clip.mp4", data.len() as u64, sha1_hex(data))
}

async fn stored(server: &Server, url: &str) -> Vec<u8> {
    let (status, body) = call(&server.router, "GET", url.strip_prefix(ORIGIN).unwrap(), Vec::new()).await.unwrap();
    assert_eq!(status, 200, "GET {url}");
    body
}

async fn parts_received(server: &Server, sha: &str) -> u64 {
    let (_, body) = call(&server.router, "GET", &format!("/dev/stats?fileSha={sha}"), Vec::new()).await.unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
    stats["partsReceived"].as_u64().unwrap()
}

#[tokio::test]
async fn fresh_then_instant() {
    let server = server(FaultConfig::default()).await;
    let data = scripted::bytes(2_400_000, 21);
    let env = RouterEnv::new(&server, &data);
    let first = upload(&env, &info(&data), &options(1_048_576)).await.unwrap();
    assert!(!first.instant);
    assert_eq!(first.uploaded_bytes, 2_400_000);
    assert_eq!(stored(&server, &first.url).await, data);
    assert!(first.verify_content.is_some());

    let again = RouterEnv::new(&server, &data);
    let second = upload(&again, &info(&data), &options(524_288)).await.unwrap();
    assert!(second.instant);
    assert_eq!(second.file_id, first.file_id);
    assert_eq!(again.parts_sent.get(), 0);
    assert_eq!(parts_received(&server, &first.file_sha).await, 3);
}

#[tokio::test]
async fn an_interrupted_upload_resumes_with_the_sessions_part_size_and_sends_only_missing_parts() {
    let server = server(FaultConfig::default()).await;
    let data = scripted::bytes(3_000_000, 22);
    let mut interrupted = RouterEnv::new(&server, &data);
    interrupted.abort_after_parts = Some(3);
    let mut opts = options(524_288);
    opts.concurrency = 1;
    let error = upload(&interrupted, &info(&data), &opts).await.unwrap_err();
    assert!(error.is_abort());

    // Asks for 1 MiB parts; the session says 512 KiB, and holds 3 of its 6 parts.
    let resumed = RouterEnv::new(&server, &data);
    let result = upload(&resumed, &info(&data), &options(1_048_576)).await.unwrap();
    assert_eq!(result.resumed_bytes, 3 * 524_288);
    assert_eq!(result.uploaded_bytes, 3_000_000 - 3 * 524_288);
    assert_eq!(resumed.parts_sent.get(), 3);
    assert_eq!(parts_received(&server, &result.file_sha).await, 6, "no part was sent twice");
    assert_eq!(stored(&server, &result.url).await, data);
    let first_uploading = resumed.progress.borrow().iter().find(|p| p.phase == vod_ugc_uploader::progress::Phase::Uploading).copied();
    assert_eq!(first_uploading.map(|p| p.loaded), Some(3 * 524_288), "progress starts at what the server held");
}

#[tokio::test]
async fn completes_through_injected_faults() {
    let faults = FaultConfig {
        rate: 0.3,
        seed: 11,
        kinds: vec![FaultKind::RetryCode, FaultKind::Http500, FaultKind::Http503, FaultKind::Drop],
        slow_ms: 0,
    };
    let server = server(faults).await;
    let data = scripted::bytes(5_000_000, 23);
    let env = RouterEnv::new(&server, &data);
    let mut opts = options(524_288);
    opts.retries = 10;
    let result = upload(&env, &info(&data), &opts).await.unwrap();
    assert!(env.parts_sent.get() > 10, "some parts were sent again ({} sends for 10 parts)", env.parts_sent.get());
    assert_eq!(parts_received(&server, &result.file_sha).await, 10, "faulted parts were not stored");
    assert_eq!(stored(&server, &result.url).await, data);
}

#[tokio::test]
async fn a_refused_signature_is_refreshed_once() {
    let server = server(FaultConfig::default()).await;
    let data = scripted::bytes(600_000, 24);
    let mut env = RouterEnv::new(&server, &data);
    env.tampered = 1;
    let result = upload(&env, &info(&data), &options(524_288)).await.unwrap();
    assert_eq!(env.signatures.get(), 2);
    assert_eq!(stored(&server, &result.url).await, data);
}

#[tokio::test]
async fn a_signature_refused_twice_is_a_fatal_error_with_the_servers_code() {
    let server = server(FaultConfig::default()).await;
    let data = scripted::bytes(600_000, 25);
    let mut env = RouterEnv::new(&server, &data);
    env.tampered = 2;
    let error = upload(&env, &info(&data), &options(524_288)).await.unwrap_err();
    assert_eq!((error.step, error.code(), error.can_retry()), (Step::Init, Some(-10002), false));
    assert_eq!(env.signatures.get(), 2);
    assert_eq!(env.parts_sent.get(), 0);
}

#[tokio::test]
async fn an_expired_signature_fails_before_any_request() {
    let server = server(FaultConfig::default()).await;
    let data = scripted::bytes(600_000, 26);
    let mut env = RouterEnv::new(&server, &data);
    env.ttls = vec![-60];
    let error = upload(&env, &info(&data), &options(524_288)).await.unwrap_err();
    assert_eq!((error.step, error.code(), error.can_retry()), (Step::Signature, None, false));
    assert!(error.to_string().starts_with("signature: expired at "), "{error}");
    assert_eq!((env.signatures.get(), env.calls.get()), (1, 0), "asked once, nothing sent");
}
