//! What the CLI's tests share: `vod-server` started on a real port, the CLI run with the key, the
//! JSON it prints.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const SECRET_ID: &str = "AKIDclitest";
pub const SECRET_KEY: &str = "cli-test-secret-key";

pub fn server_binary() -> PathBuf {
    // VOD_SERVER_BIN, as the browser tests take it; else target/<profile>/deps/cli-<hash> →
    // target/<profile>/vod-server.
    if let Some(path) = std::env::var_os("VOD_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(Path::parent).unwrap().join("vod-server");
    assert!(path.exists(), "{} is missing: run `cargo build -p vod-server` (cargo test --workspace builds it)", path.display());
    path
}

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = Command::new(server_binary())
            .args(["--listen", "127.0.0.1:0", "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY, "--data-dir"])
            .arg(dir.path().join("data"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn vod-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line:?}")).to_string();
        Server { child, addr, dir }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/v2/index.php", self.addr)
    }

    /// Lines the server logged for `action` with code 0.
    pub fn acknowledged(&self, action: &str) -> usize {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        log.lines().filter(|l| l.starts_with(&format!("{action} ")) && l.contains(" code=0 ")).count()
    }

    pub fn sent(&self, action: &str) -> usize {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        log.lines().filter(|l| l.starts_with(&format!("{action} "))).count()
    }

    /// GET `url` (on this server) and return the body.
    pub fn download(&self, url: &str) -> Vec<u8> {
        let path = url.split_once(&self.addr).map(|(_, p)| p).unwrap_or_else(|| panic!("{url} is not on {}", self.addr));
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
        let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(!head.contains("chunked"), "{head}");
        raw[split + 4..].to_vec()
    }

    /// DescribeVodInfo for `fileId`, by a URL that `vod-server sign --url` signed.
    pub fn describe(&self, file_id: &str) -> Value {
        let out = Command::new(server_binary())
            .args(["sign", "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY, "--url"])
            .arg(format!("{}?Action=DescribeVodInfo&fileId={file_id}", self.endpoint()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        serde_json::from_slice(&self.download(&url)).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[path = "../../../tests/common/bytes.rs"]
mod random;
pub use random::bytes as data;

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

pub fn cli() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vod-upload"));
    command.env_remove("VOD_SECRET_ID").env_remove("VOD_SECRET_KEY").stdin(Stdio::null());
    command
}

/// `vod-upload FILE --endpoint … --flow FLOW --json` with the key in the environment, plus `extra`.
pub fn keyed(server: &Server, flow: &str, file: &Path, extra: &[&str]) -> Command {
    let mut command = cli();
    command.arg(file).args(["--endpoint", &server.endpoint(), "--flow", flow, "--json"]).args(extra);
    command.env("VOD_SECRET_ID", SECRET_ID).env("VOD_SECRET_KEY", SECRET_KEY);
    command
}

/// [`keyed`] in the UGC flow (the signature made from the key).
pub fn ugc(server: &Server, file: &Path, extra: &[&str]) -> Command {
    keyed(server, "ugc", file, extra)
}

/// The one JSON object on stdout of a successful run.
pub fn result(output: &Output) -> Value {
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(output.status.success(), "exit {:?}; stderr: {}", output.status, String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.lines().count(), 1, "one line on stdout: {stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["fileId", "fileSha", "instant", "path", "resumedBytes", "uploadedBytes", "url"]);
    v
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    vod_ugc_uploader::hash::sha1_hex(bytes)
}

