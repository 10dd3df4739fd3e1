//! Server-API calls on a real `vod-server`: signed URLs (a fresh Nonce each) and whole uploads.

use super::*;
use std::sync::atomic::{AtomicU64, Ordering};

static NONCE: AtomicU64 = AtomicU64::new(1);

/// The path and query of `Action` with `query` (URL-encoded), signed with `key` for `method`.
pub fn keyed_path(s: &Server, method: &str, action: &str, query: &str, key: (&str, &str)) -> String {
    let sep = if query.is_empty() { "" } else { "&" };
    let url = format!("{}/v2/index.php?Action={action}{sep}{query}", s.url);
    let nonce = NONCE.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id()) * 1_000_000;
    let signed = vod_server::common::sign_url(&url, method, key.0, key.1, sign::now_unix() as u64, nonce).expect("sign_url");
    signed[signed.find("/v2/index.php").expect("an API URL")..].to_string()
}

/// A server-API call with the primary key, as JSON.
pub fn keyed(s: &Server, method: &str, action: &str, query: &str, body: &[u8]) -> Value {
    s.call(method, &keyed_path(s, method, action, query, (SECRET_ID, SECRET_KEY)), body)
}

/// InitUpload (with `meta`, URL-encoded, e.g. `fileName=clip&fileType=mp4`), every part,
/// FinishUpload: the finish answer.
pub fn upload_keyed(s: &Server, bytes: &[u8], meta: &str) -> Value {
    let sha = sha1_hex(bytes);
    let q = format!("fileSha={sha}&fileSize={}&dataSize={HALF}&{meta}", bytes.len());
    let v = keyed(s, "GET", "InitUpload", &q, b"");
    assert_eq!(v["code"], 0, "{v}");
    for (i, part) in bytes.chunks(HALF).enumerate() {
        let q = format!("fileSha={sha}&offset={}&dataSize={}&dataMd5={}", i * HALF, part.len(), md5_hex(part));
        let v = keyed(s, "POST", "UploadPart", &q, part);
        assert_eq!(v["code"], 0, "{v}");
    }
    keyed(s, "GET", "FinishUpload", &format!("fileSha={sha}"), b"")
}

/// InitUploadEx, every part, FinishUploadEx with `signature`: the finish answer.
pub fn upload_ugc(s: &Server, bytes: &[u8], signature: &str) -> Value {
    let sha = sha1_hex(bytes);
    let v = s.call("GET", &init_uri(&sha, bytes.len() as u64, HALF as u64, signature), b"");
    assert_eq!(v["code"], 0, "{v}");
    for (i, part) in bytes.chunks(HALF).enumerate() {
        let v = s.call("POST", &part_uri(&sha, (i * HALF) as u64, part.len() as u64, &md5_hex(part), signature), part);
        assert_eq!(v["code"], 0, "{v}");
    }
    s.call("GET", &finish_uri(&sha, signature), b"")
}

/// Waits until the server's log contains `needle` (at most `within`).
pub fn wait_for_log(s: &Server, needle: &str, within: Duration) -> bool {
    let until = std::time::Instant::now() + within;
    while std::time::Instant::now() < until {
        if s.log().contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
