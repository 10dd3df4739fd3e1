//! Helpers shared by the test files: in-process calls on the router, and a real `vod-server`
//! process with a tiny raw HTTP/1.1 client (so a dropped connection is seen as exactly that).
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use md5::Md5;
use serde_json::Value;
use sha1::{Digest, Sha1};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tower::ServiceExt;
use vod_server::{app, sign, AppState, Config};

pub const SECRET_ID: &str = "AKIDtestsecretid";
pub const SECRET_KEY: &str = "test-secret-key";
pub const HALF: usize = 524_288;
pub const MIB: usize = 1_048_576;

#[path = "../../../tests/common/bytes.rs"]
mod random;
pub mod keyed;
pub mod receiver;

/// Deterministic pseudo-random bytes.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    random::bytes(len, seed)
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A valid signature for `sha`, an hour long.
pub fn sig(sha: &str, name: &str) -> String {
    sign::sign_now(SECRET_ID, SECRET_KEY, sha, name, 3600)
}

/// A valid signature for `sha` issued to the app user `uid`.
pub fn sig_for(sha: &str, name: &str, uid: &str) -> String {
    sign::sign(&sign::SignParams::new(SECRET_ID, sha, name, uid, 3600), SECRET_KEY)
}

pub fn init_uri(sha: &str, file_size: u64, data_size: u64, signature: &str) -> String {
    format!(
        "/v2/index.php?Action=InitUploadEx&fileSha={sha}&fileSize={file_size}&dataSize={data_size}&signature={}",
        enc(signature)
    )
}

pub fn part_uri(sha: &str, offset: u64, data_size: u64, md5: &str, signature: &str) -> String {
    format!(
        "/v2/index.php?Action=UploadPartEx&fileSha={sha}&offset={offset}&dataSize={data_size}&dataMd5={md5}&signature={}",
        enc(signature)
    )
}

pub fn finish_uri(sha: &str, signature: &str) -> String {
    format!("/v2/index.php?Action=FinishUploadEx&fileSha={sha}&signature={}", enc(signature))
}

/// A file to upload: its bytes, SHA-1 and a signature for it.
pub struct TestFile {
    pub bytes: Vec<u8>,
    pub sha: String,
    pub sig: String,
    pub name: String,
}

impl TestFile {
    /// The same file, signed for the app user `uid`.
    pub fn signed_for(&self, uid: &str) -> TestFile {
        TestFile { bytes: self.bytes.clone(), sha: self.sha.clone(), sig: sig_for(&self.sha, &self.name, uid), name: self.name.clone() }
    }

    pub fn new(len: usize, seed: u64) -> TestFile {
        let bytes = data(len, seed);
        let sha = sha1_hex(&bytes);
        let name = format!("clip{seed}.mp4");
        let sig = sig(&sha, &name);
        TestFile { bytes, sha, sig, name }
    }

    pub fn init_uri(&self, data_size: usize) -> String {
        init_uri(&self.sha, self.bytes.len() as u64, data_size as u64, &self.sig)
    }

    /// The URI and body of the part at `index` for parts of `data_size`.
    pub fn part(&self, index: usize, data_size: usize) -> (String, Vec<u8>) {
        let start = index * data_size;
        let end = (start + data_size).min(self.bytes.len());
        let body = self.bytes[start..end].to_vec();
        (part_uri(&self.sha, start as u64, body.len() as u64, &md5_hex(&body), &self.sig), body)
    }

    pub fn part_count(&self, data_size: usize) -> usize {
        self.bytes.len().div_ceil(data_size)
    }

    pub fn finish_uri(&self) -> String {
        finish_uri(&self.sha, &self.sig)
    }
}

// ---------------------------------------------------------------- in process

/// The router on a fresh data folder (kept alive by the returned guard).
pub async fn router() -> (Router, tempfile::TempDir) {
    router_with(|_| {}).await
}

pub async fn router_with(adjust: impl FnOnce(&mut Config)) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = router_on(dir.path(), adjust).await;
    (r, dir)
}

pub async fn router_on(dir: &Path, adjust: impl FnOnce(&mut Config)) -> Router {
    let mut config = Config::new(dir, SECRET_ID, SECRET_KEY);
    adjust(&mut config);
    app(AppState::open(config).await.expect("open state"))
}

/// The status and raw body of one request.
pub async fn send(router: &Router, method: &str, uri: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    send_typed(router, method, uri, "application/octet-stream", body).await
}

/// [`send`] with a JSON body.
pub async fn send_json(router: &Router, uri: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    send_typed(router, "POST", uri, "application/json", body).await
}

async fn send_typed(router: &Router, method: &str, uri: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, bytes.to_vec())
}

/// A `/v2` call that must answer HTTP 200 JSON with the protocol's four fields.
pub async fn call(router: &Router, method: &str, uri: &str, body: Vec<u8>) -> Value {
    let (status, bytes) = send(router, method, uri, body).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&bytes));
    let v: Value = serde_json::from_slice(&bytes).expect("JSON answer");
    for field in ["code", "message", "codeDesc", "canRetry"] {
        assert!(v.get(field).is_some(), "{field} missing in {v}");
    }
    v
}

pub async fn get(router: &Router, uri: &str) -> Value {
    call(router, "GET", uri, Vec::new()).await
}

pub async fn post(router: &Router, uri: &str, body: Vec<u8>) -> Value {
    call(router, "POST", uri, body).await
}

/// Asserts `code` and `canRetry`, and that the message mentions `needle`.
pub fn assert_code(v: &Value, code: i64, can_retry: i64, needle: &str) {
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["canRetry"], can_retry, "{v}");
    let msg = v["message"].as_str().unwrap_or_default();
    assert!(msg.to_lowercase().contains(&needle.to_lowercase()), "message {msg:?} lacks {needle:?}");
}

/// Init, every part, finish: returns the finish answer.
pub async fn upload_all(router: &Router, f: &TestFile, data_size: usize) -> Value {
    let v = get(router, &f.init_uri(data_size)).await;
    assert_eq!(v["code"], 0, "{v}");
    for i in 0..f.part_count(data_size) {
        let (uri, body) = f.part(i, data_size);
        let v = post(router, &uri, body).await;
        assert_eq!(v["code"], 0, "{v}");
    }
    let v = get(router, &f.finish_uri()).await;
    assert_eq!(v["code"], 0, "{v}");
    v
}

// ---------------------------------------------------------------- real binary

/// A running `vod-server` process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub url: String,
    pub data_dir: PathBuf,
}

impl Server {
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_in(None, data_dir, extra)
    }

    /// Started in the working directory `cwd` (if given), `--data-dir` spelled as `data_dir`.
    pub fn start_in(cwd: Option<&Path>, data_dir: &Path, extra: &[&str]) -> Server {
        let full = cwd.map(|c| c.join(data_dir)).unwrap_or_else(|| data_dir.to_path_buf());
        let mut command = server_command(data_dir, extra);
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(log_file(&full)).spawn().expect("spawn vod-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read stdout");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; log: {}", std::fs::read_to_string(full.join("server.log")).unwrap_or_default()))
            .to_string();
        let addr = url.trim_start_matches("http://").parse().expect("address");
        Server { child, addr, url, data_dir: full }
    }

    /// A start that must fail: its exit status and stderr.
    pub fn start_fails(data_dir: &Path, extra: &[&str]) -> String {
        let out = server_command(data_dir, extra).output().expect("run vod-server");
        assert!(!out.status.success(), "vod-server started: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    /// What the server logged to stderr so far (all runs on this data folder).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Descriptors the process holds now.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map(|d| d.count()).unwrap_or(0)
    }

    /// Resident memory now, KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// A `/v2` call over a connection from the loopback address `from`, as JSON.
    pub fn call_from(&self, from: std::net::IpAddr, method: &str, path: &str, body: &[u8]) -> Value {
        let stream = connect_from(from, self.addr).expect("connect");
        let r = http_on(stream, self.addr, method, path, &[], body).expect("http");
        assert_eq!(r.status, 200, "{path}: {}", String::from_utf8_lossy(&r.body));
        serde_json::from_slice(&r.body).expect("JSON")
    }

    pub fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<RawResponse> {
        http(self.addr, method, path, headers, body)
    }

    /// A `/v2` call over the socket, as JSON.
    pub fn call(&self, method: &str, path: &str, body: &[u8]) -> Value {
        let r = self.http(method, path, &[], body).expect("http");
        assert_eq!(r.status, 200, "{path}: {}", String::from_utf8_lossy(&r.body));
        serde_json::from_slice(&r.body).expect("JSON")
    }
}

fn server_command(data_dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vod-server"));
    command
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
        .args(extra)
        .stdin(Stdio::null());
    command
}

/// stderr of a server, appended to `<data_dir>/server.log`.
fn log_file(data_dir: &Path) -> Stdio {
    std::fs::create_dir_all(data_dir).expect("data dir");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("server.log"))
        .expect("log file");
    Stdio::from(f)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end. A connection
/// closed before a full response is an error of kind `UnexpectedEof`.
pub fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<RawResponse> {
    http_on(TcpStream::connect(addr)?, addr, method, path, headers, body)
}

/// A connection to `addr` from the loopback address `from` (127.0.0.2, ...: another client).
pub fn connect_from(from: std::net::IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket_from(from)?;
    // A blocking connect through the standard library's socket: tokio's needs a runtime.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stream = rt.block_on(socket.connect(addr))?.into_std()?;
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// An unconnected socket bound to `from`.
pub fn socket_from(from: std::net::IpAddr) -> std::io::Result<tokio::net::TcpSocket> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    Ok(socket)
}

/// [`http`] on `stream`.
pub fn http_on(mut s: TcpStream, addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<RawResponse> {
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn eof(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, what.to_string())
}

fn parse_response(raw: &[u8]) -> std::io::Result<RawResponse> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| eof("no complete response head"))?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| eof("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let line_end = rest[pos..].windows(2).position(|w| w == b"\r\n").ok_or_else(|| eof("cut chunk"))? + pos;
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[pos..line_end]).trim(), 16)
                .map_err(|_| eof("bad chunk size"))?;
            pos = line_end + 2;
            if size == 0 {
                break out;
            }
            if rest.len() < pos + size {
                return Err(eof("cut chunk"));
            }
            out.extend_from_slice(&rest[pos..pos + size]);
            pos += size + 2;
        }
    } else if let Some(len) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
        let len: usize = len.1.parse().map_err(|_| eof("bad content-length"))?;
        if rest.len() < len {
            return Err(eof("cut body"));
        }
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(RawResponse { status, headers, body })
}
