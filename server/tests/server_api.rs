//! The server API (InitUpload / UploadPart / FinishUpload), the older MultipartUploadVodFile and
//! DescribeVodInfo, as `docs/protocol.md` ("Sessions", "Server API") decides: in process (`oneshot`
//! on the router, with the Host header a client sends), and the replay memory against the real
//! binary killed with SIGKILL.

mod common;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use hmac::{Hmac, Mac};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;
use vod_server::{common as api_common, sign};

/// The Host header every in-process request carries (the public URL's host).
const HOST: &str = "127.0.0.1:8080";
/// The canonical host a MAC may also be computed over (Config's default api_host).
const API_HOST: &str = "vod2.qcloud.com";
/// A second configured key pair.
const ID2: &str = "AKIDsecondkey";
const KEY2: &str = "second-secret-key";
/// The two key pairs (SecretId, key) the server knows.
const PRIMARY: (&str, &str) = (SECRET_ID, SECRET_KEY);
const SECOND: (&str, &str) = (ID2, KEY2);
/// The largest part MultipartUploadVodFile takes (but the first, which is exactly HALF).
const MP_MAX: usize = 5_242_880;

static NONCE: AtomicU64 = AtomicU64::new(1);

fn nonce() -> u64 {
    NONCE.fetch_add(1, Ordering::Relaxed)
}

fn now() -> u64 {
    sign::now_unix() as u64
}

/// The path and query of an absolute URL.
fn path_of(url: &str) -> String {
    url[url.find("/v2/index.php").expect("an API URL")..].to_string()
}

/// `Action` with `query` (already URL-encoded), signed by `sign_url` with `key` (SecretId, key) over
/// `host` for `method`, at `timestamp`, with `nonce`: the path and query to send.
fn signed_at(method: &str, action: &str, query: &str, key: (&str, &str), host: &str, timestamp: u64, nonce: u64) -> String {
    let sep = if query.is_empty() { "" } else { "&" };
    let url = format!("http://{host}/v2/index.php?Action={action}{sep}{query}");
    path_of(&api_common::sign_url(&url, method, key.0, key.1, timestamp, nonce).expect("sign_url"))
}

/// [`signed_at`] now, with a fresh Nonce and the primary key, over [`HOST`].
fn signed(method: &str, action: &str, query: &str) -> String {
    signed_at(method, action, query, PRIMARY, HOST, now(), nonce())
}

/// The contract's recipe, written here apart from the server's: `plain = METHOD + HOST +
/// "/v2/index.php?" + name=value pairs sorted by name, values raw`, `Signature =
/// Base64(HMAC-SHA1(key, plain))`. Returns the path and query (every value URL-encoded). Used for
/// requests `sign_url` cannot make (ill-formed or missing common parameters).
fn sign_pairs(method: &str, host: &str, pairs: &Pairs, key: &str) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let joined: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let plain = format!("{method}{host}/v2/index.php?{}", joined.join("&"));
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    format!("/v2/index.php?{}&Signature={}", query.join("&"), enc(&mac(key, &plain)))
}

fn mac(key: &str, plain: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(plain.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Query parameters, raw.
type Pairs = Vec<(String, String)>;

/// The common parameters of a call made now (but its Signature), and `extra`.
fn pairs(action: &str, extra: &[(&str, String)]) -> Pairs {
    let mut v: Pairs = [("Action", action.to_string()), ("Region", "gz".into()), ("Timestamp", now().to_string()), ("Nonce", nonce().to_string()), ("SecretId", SECRET_ID.into())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    v.extend(extra.iter().map(|(k, val)| (k.to_string(), val.clone())));
    v
}

/// `pairs` with `name` set to `value` (`None`: removed).
fn with(mut pairs: Pairs, name: &str, value: Option<&str>) -> Pairs {
    pairs.retain(|(k, _)| k != name);
    if let Some(value) = value {
        pairs.push((name.to_string(), value.to_string()));
    }
    pairs
}

/// One request with a Host header; the answer must be HTTP 200 JSON with `code` and `message`,
/// and, but for MultipartUploadVodFile, `codeDesc` and `canRetry`.
async fn send_to(r: &Router, method: &str, path: &str, host: Option<&str>, body: Vec<u8>) -> Value {
    let mut req = Request::builder().method(method).uri(path).header("content-type", "application/octet-stream");
    if let Some(host) = host {
        req = req.header("host", host);
    }
    let resp = r.clone().oneshot(req.body(Body::from(body)).unwrap()).await.expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&bytes));
    let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    assert!(v["code"].is_i64() && v["message"].is_string(), "{v}");
    if !path.contains("Action=MultipartUploadVodFile") {
        assert!(v["codeDesc"].is_string() && v["canRetry"].is_i64(), "{v}");
    }
    v
}

async fn api(r: &Router, method: &str, path: &str, body: Vec<u8>) -> Value {
    send_to(r, method, path, Some(HOST), body).await
}

/// The answer is `code` with `canRetry` `retry` (where the answer carries one).
#[track_caller]
fn expect(v: &Value, code: i64, retry: i64) {
    assert_eq!(v["code"], code, "{v}");
    if v.get("canRetry").is_some() {
        assert_eq!(v["canRetry"], retry, "{v}");
    }
}

fn is_file_id(v: &Value) -> String {
    let id = v["fileId"].as_str().unwrap_or_else(|| panic!("no fileId in {v}")).to_string();
    assert!((19..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    id
}

/// The bytes at `url` (a URL of this server), fetched through the router.
async fn fetch(r: &Router, url: &str) -> Vec<u8> {
    let path = url.strip_prefix("http://127.0.0.1:8080").unwrap_or_else(|| panic!("{url}"));
    let (status, bytes) = send(r, "GET", path, vec![]).await;
    assert_eq!(status, 200, "{url}");
    bytes
}

async fn fresh() -> (Router, tempfile::TempDir) {
    router_with(|c| c.keys.push((ID2.into(), KEY2.into()))).await
}

// ------------------------------------------------------------------ the server API's calls

fn init_query(f: &TestFile, data_size: usize, extra: &str) -> String {
    format!("fileName={}&fileSha={}&fileSize={}&dataSize={data_size}&fileType=mp4{extra}", enc(&f.name), f.sha, f.bytes.len())
}

fn init(f: &TestFile, data_size: usize) -> String {
    signed("GET", "InitUpload", &init_query(f, data_size, ""))
}

/// UploadPart of part `index` of `data_size`: the path and the body.
fn part(f: &TestFile, index: usize, data_size: usize) -> (String, Vec<u8>) {
    let start = index * data_size;
    let body = f.bytes[start..(start + data_size).min(f.bytes.len())].to_vec();
    let q = format!("fileSha={}&offset={start}&dataSize={}&dataMd5={}", f.sha, body.len(), md5_hex(&body));
    (signed("POST", "UploadPart", &q), body)
}

fn finish(f: &TestFile) -> String {
    signed("GET", "FinishUpload", &format!("fileSha={}", f.sha))
}

async fn send_parts(r: &Router, f: &TestFile, data_size: usize, indexes: impl IntoIterator<Item = usize>) {
    for i in indexes {
        let (path, body) = part(f, i, data_size);
        expect(&api(r, "POST", &path, body).await, 0, 0);
    }
}

fn describe(by: &str, value: &str) -> String {
    signed("GET", "DescribeVodInfo", &format!("{by}={value}"))
}

// ------------------------------------------------------------------ MultipartUploadVodFile

/// The query pairs of a MultipartUploadVodFile part of `len` bytes at `offset`.
fn mp_pairs(f: &TestFile, offset: usize, len: usize) -> Pairs {
    [
        ("fileName", f.name.clone()),
        ("fileSha", f.sha.clone()),
        ("fileSize", f.bytes.len().to_string()),
        ("dataSize", len.to_string()),
        ("offset", offset.to_string()),
        ("fileType", "mp4".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn mp_path(pairs: &Pairs) -> String {
    let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    signed("POST", "MultipartUploadVodFile", &q.join("&"))
}

/// The part of `f` at `offset`, `len` bytes, with `extra` query pairs.
async fn mp(r: &Router, f: &TestFile, offset: usize, len: usize, extra: &[(&str, &str)]) -> Value {
    let mut p = mp_pairs(f, offset, len);
    p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    api(r, "POST", &mp_path(&p), f.bytes[offset..offset + len].to_vec()).await
}

/// `flag 0` and the next offset, as a string.
#[track_caller]
fn next_at(v: &Value, offset: usize) {
    assert_eq!((&v["code"], &v["flag"]), (&json!(0), &json!(0)), "{v}");
    assert_eq!(v["offset"], json!(offset.to_string()), "the offset is a string: {v}");
}

/// `flag 1` with a fileId and url: the fileId.
#[track_caller]
fn done(v: &Value) -> String {
    assert_eq!((&v["code"], &v["flag"]), (&json!(0), &json!(1)), "{v}");
    assert!(v["url"].is_string(), "{v}");
    is_file_id(v)
}

/// A UGC signature for `f` by (`id`, `key`) for `uid`, with `extra` fields (`&cid=…&tag.0=…`).
fn ugc_sig(f: &TestFile, id: &str, key: &str, uid: &str, extra: &str) -> String {
    let original = sign::original_string(&sign::SignParams::new(id, &f.sha, &f.name, uid, 3600));
    sign::sign_original(&format!("{original}{extra}"), key)
}

// ================================================================== the check table

#[tokio::test]
async fn the_contracts_vectors_sign_and_verify() {
    // sign_url makes the platform's own vector.
    let url = "http://vod2.qcloud.com/v2/index.php?Action=FinishUpload&fileSha=b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9";
    let signed = api_common::sign_url(url, "GET", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", 1465185770, 11888).unwrap();
    assert!(signed.starts_with(url), "{signed}");
    let query: Vec<(String, String)> = form_urlencoded::parse(signed.split_once('?').unwrap().1.as_bytes()).into_owned().collect();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("Signature"), Some("2BJTo+uJaspJ7xOsLpi0Grj7U0c="), "{signed}");
    assert_eq!((get("Region"), get("Timestamp"), get("Nonce")), (Some("gz"), Some("1465185770"), Some("11888")));
    // The test's own signer agrees with the other vector.
    let plain = "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&Nonce=11886&Region=gz&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185768&instanceIds.0=ins-09dx96dg&limit=20&offset=0";
    assert_eq!(mac("Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", plain), "NSI3UqqD99b/UJb4tbG/xZpRW64=");

    // A server with that key takes the vector's MAC over its canonical host: the MAC checks out, the
    // 2016 Timestamp does not (4500); the same URL with the Signature altered is -10002.
    let (r, _dir) = router_with(|c| c.keys.push(("AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA".into(), "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA".into()))).await;
    expect(&api(&r, "GET", &path_of(&signed), vec![]).await, 4500, 0);
    let altered = path_of(&signed).replace(&enc("2BJTo+uJ"), &enc("2BJTo+uK"));
    expect(&api(&r, "GET", &altered, vec![]).await, -10002, 0);
}

#[tokio::test]
async fn a_missing_or_ill_formed_common_parameter_is_10001() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(1000, 100);
    let own = [("fileName", f.name.clone()), ("fileSha", f.sha.clone()), ("fileSize", "1000".into()), ("dataSize", HALF.to_string()), ("fileType", "mp4".into())];
    // Each common parameter missing (the rest signed correctly without it), or empty.
    for name in ["Action", "Region", "Timestamp", "Nonce", "SecretId"] {
        for value in [None, Some("")] {
            let path = sign_pairs("GET", HOST, &with(pairs("InitUpload", &own), name, value), SECRET_KEY);
            let v = api(&r, "GET", &path, vec![]).await;
            expect(&v, -10001, 0);
            assert!(v["message"].as_str().unwrap().contains(name), "{name}: {v}");
        }
    }
    let good = sign_pairs("GET", HOST, &pairs("InitUpload", &own), SECRET_KEY);
    let unsigned = &good[..good.find("&Signature=").unwrap()];
    expect(&api(&r, "GET", unsigned, vec![]).await, -10001, 0);
    expect(&api(&r, "GET", &format!("{unsigned}&Signature="), vec![]).await, -10001, 0);
    // Timestamp and Nonce are positive integers that fit in 64 bits.
    for bad in ["abc", "-5", "0", "1.5", "12x", "18446744073709551616", " 7"] {
        for name in ["Timestamp", "Nonce"] {
            let path = sign_pairs("GET", HOST, &with(pairs("InitUpload", &own), name, Some(bad)), SECRET_KEY);
            expect(&api(&r, "GET", &path, vec![]).await, -10001, 0);
        }
    }
    // Nothing was opened by any of them.
    expect(&api(&r, "GET", &init(&f, HALF), vec![]).await, 0, 0);
    // -10001 comes before the MAC: a missing Region with a wrong key is still -10001.
    let path = sign_pairs("GET", HOST, &with(pairs("InitUpload", &own), "Region", None), "not-the-key");
    expect(&api(&r, "GET", &path, vec![]).await, -10001, 0);
}

#[tokio::test]
async fn an_unknown_secret_id_or_a_wrong_mac_is_10002() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(1000, 101);
    let q = init_query(&f, HALF, "");
    // An unknown SecretId, however well signed.
    let path = signed_at("GET", "InitUpload", &q, ("AKIDnobody", SECRET_KEY), HOST, now(), nonce());
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    // A known SecretId with another key (the second key's, too).
    for key in ["not-the-key", KEY2] {
        let path = signed_at("GET", "InitUpload", &q, (SECRET_ID, key), HOST, now(), nonce());
        expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    }
    // A MAC over a third host.
    let path = signed_at("GET", "InitUpload", &q, PRIMARY, "evil.example:8080", now(), nonce());
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    // A MAC for POST sent as GET (the method is signed).
    let path = signed_at("POST", "InitUpload", &q, PRIMARY, HOST, now(), nonce());
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    // A parameter changed after signing.
    let path = signed("GET", "InitUpload", &q).replace("fileSize=1000", "fileSize=1001");
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    // A Signature that is not Base64.
    let path = signed("GET", "InitUpload", &q);
    let path = format!("{}&Signature=%21%21%21", &path[..path.find("&Signature=").unwrap()]);
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    // Nothing was opened.
    expect(&api(&r, "GET", &init(&f, HALF), vec![]).await, 0, 0);
}

#[tokio::test]
async fn the_mac_is_taken_over_the_host_header_or_the_canonical_host() {
    let (r, _dir) = fresh().await;
    let q = |f: &TestFile| init_query(f, HALF, "");
    let (a, b, c) = (TestFile::new(1000, 102), TestFile::new(1000, 103), TestFile::new(1000, 104));
    // Over the Host header as sent (with its port), and over the canonical host.
    expect(&api(&r, "GET", &signed_at("GET", "InitUpload", &q(&a), PRIMARY, HOST, now(), nonce()), vec![]).await, 0, 0);
    expect(&api(&r, "GET", &signed_at("GET", "InitUpload", &q(&b), PRIMARY, API_HOST, now(), nonce()), vec![]).await, 0, 0);
    // The Host header is what counts, not where the request went: another Host header, its MAC.
    let path = signed_at("GET", "InitUpload", &q(&c), PRIMARY, "vod.example.com", now(), nonce());
    expect(&send_to(&r, "GET", &path, Some("vod.example.com"), vec![]).await, 0, 0);
    // The host without the port the Host header has is a third host.
    let d = TestFile::new(1000, 105);
    let path = signed_at("GET", "InitUpload", &q(&d), PRIMARY, "127.0.0.1", now(), nonce());
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);

    // A configured api_host replaces the default one.
    let (r, _dir) = router_with(|c| c.api_host = "vod.internal".into()).await;
    let path = signed_at("GET", "InitUpload", &q(&d), PRIMARY, API_HOST, now(), nonce());
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    let path = signed_at("GET", "InitUpload", &q(&d), PRIMARY, "vod.internal", now(), nonce());
    expect(&api(&r, "GET", &path, vec![]).await, 0, 0);
}

#[tokio::test]
async fn a_timestamp_over_7200_s_off_or_in_milliseconds_is_4500() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(1000, 106);
    let q = init_query(&f, HALF, "");
    let at = |ts: u64| signed_at("GET", "InitUpload", &q, PRIMARY, HOST, ts, nonce());
    for ts in [now() - 7201, now() + 7201, now() * 1000, 1] {
        let v = api(&r, "GET", &at(ts), vec![]).await;
        expect(&v, 4500, 0);
    }
    // Within the window, either way.
    expect(&api(&r, "GET", &at(now() - 7100), vec![]).await, 0, 0);
    expect(&api(&r, "GET", &at(now() + 7100), vec![]).await, 1, 0);
}

#[tokio::test]
async fn a_replayed_nonce_is_4500() {
    let (r, _dir) = fresh().await;
    let (f, g) = (TestFile::new(1000, 107), TestFile::new(1000, 108));
    let first = init(&f, HALF);
    expect(&api(&r, "GET", &first, vec![]).await, 0, 0);
    // The very same URL again.
    expect(&api(&r, "GET", &first, vec![]).await, 4500, 0);
    // The same Nonce on another, well-signed request.
    let n: u64 = form_urlencoded::parse(first.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "Nonce")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap();
    let other = signed_at("GET", "InitUpload", &init_query(&g, HALF, ""), PRIMARY, HOST, now(), n);
    expect(&api(&r, "GET", &other, vec![]).await, 4500, 0);
    // The memory is per SecretId: the same Nonce under the second key is new.
    let second = signed_at("GET", "InitUpload", &init_query(&g, HALF, ""), SECOND, HOST, now(), n);
    expect(&api(&r, "GET", &second, vec![]).await, 0, 0);
    // A request whose MAC failed recorded nothing: its Nonce, rightly signed, goes through.
    let m = nonce();
    let h = TestFile::new(1000, 109);
    let bad = signed_at("GET", "InitUpload", &init_query(&h, HALF, ""), (SECRET_ID, "not-the-key"), HOST, now(), m);
    expect(&api(&r, "GET", &bad, vec![]).await, -10002, 0);
    let good = signed_at("GET", "InitUpload", &init_query(&h, HALF, ""), PRIMARY, HOST, now(), m);
    expect(&api(&r, "GET", &good, vec![]).await, 0, 0);
    // Whatever came after the MAC, the Nonce is spent: a call refused for its parameters...
    let k = nonce();
    let refused = signed_at("GET", "InitUpload", &init_query(&h, 524_287, ""), PRIMARY, HOST, now(), k);
    expect(&api(&r, "GET", &refused, vec![]).await, -10003, 0);
    let again = signed_at("GET", "FinishUpload", &format!("fileSha={}", h.sha), PRIMARY, HOST, now(), k);
    expect(&api(&r, "GET", &again, vec![]).await, 4500, 0);
    // ...or for its clock.
    let k = nonce();
    let skewed = signed_at("GET", "FinishUpload", &format!("fileSha={}", h.sha), PRIMARY, HOST, now() - 8000, k);
    expect(&api(&r, "GET", &skewed, vec![]).await, 4500, 0);
    let again = signed_at("GET", "FinishUpload", &format!("fileSha={}", h.sha), PRIMARY, HOST, now(), k);
    expect(&api(&r, "GET", &again, vec![]).await, 4500, 0);
}

#[tokio::test]
async fn a_request_failing_two_checks_gets_the_earlier_code() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(1000, 110);
    let own = [("fileSha", f.sha.clone())];
    // -10001 before -10002: Nonce ill-formed and a wrong key.
    let path = sign_pairs("GET", HOST, &with(pairs("FinishUpload", &own), "Nonce", Some("x")), "not-the-key");
    expect(&api(&r, "GET", &path, vec![]).await, -10001, 0);
    // -10002 before 4500: a wrong key and a skewed Timestamp; a wrong key and a spent Nonce.
    let q = format!("fileSha={}", f.sha);
    let path = signed_at("GET", "FinishUpload", &q, (SECRET_ID, "not-the-key"), HOST, now() - 9000, nonce());
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    let spent = nonce();
    expect(&api(&r, "GET", &signed_at("GET", "FinishUpload", &q, PRIMARY, HOST, now(), spent), vec![]).await, -10005, 0);
    let path = signed_at("GET", "FinishUpload", &q, (SECRET_ID, "not-the-key"), HOST, now(), spent);
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    // 4500 before the method and the parameters.
    let path = signed_at("GET", "UploadPart", "fileSha=zz", PRIMARY, HOST, now() + 9000, nonce());
    expect(&api(&r, "GET", &path, vec![]).await, 4500, 0);
    // The wrong method after good common parameters: -10003.
    let q = format!("fileSha={}&offset=0&dataSize=1000&dataMd5={}", f.sha, md5_hex(&f.bytes));
    expect(&api(&r, "GET", &signed("GET", "UploadPart", &q), vec![]).await, -10003, 0);
    let q = format!("fileName=a.mp4&fileSha={}&fileSize=1000&dataSize=1000&offset=0&fileType=mp4", f.sha);
    expect(&api(&r, "GET", &signed("GET", "MultipartUploadVodFile", &q), vec![]).await, -10003, 0);
    // An unknown Action, well signed: -10003.
    expect(&api(&r, "GET", &signed("GET", "DeleteVodFile", "fileId=1"), vec![]).await, -10003, 0);
}

#[tokio::test]
async fn the_nonce_memory_survives_reopening_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let f = TestFile::new(1000, 111);
    let first = init(&f, HALF);
    {
        let r = router_on(dir.path(), |_| {}).await;
        expect(&api(&r, "GET", &first, vec![]).await, 0, 0);
    }
    let r = router_on(dir.path(), |_| {}).await;
    expect(&api(&r, "GET", &first, vec![]).await, 4500, 0);
    // The session itself is there: a fresh request resumes it.
    expect(&api(&r, "GET", &init(&f, HALF), vec![]).await, 1, 0);
}

#[test]
fn the_nonce_memory_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let f = TestFile::new(1000, 112);
    let s = Server::start(dir.path(), &[]);
    let host = s.addr.to_string();
    let path = signed_at("GET", "InitUpload", &init_query(&f, HALF, ""), PRIMARY, &host, now(), nonce());
    let call = |s: &Server| -> Value {
        let r = s.http("GET", &path, &[("Host", &host)], b"").unwrap();
        assert_eq!(r.status, 200);
        serde_json::from_slice(&r.body).unwrap()
    };
    expect(&call(&s), 0, 0);
    s.kill();
    // Another port now, the same Host header as before.
    let s = Server::start(dir.path(), &[]);
    expect(&call(&s), 4500, 0);
    let log = s.log();
    assert!(log.lines().any(|l| l.starts_with("InitUpload ") && l.contains(" code=4500 ")), "{log}");
}

// ================================================================== InitUpload / UploadPart / FinishUpload

#[tokio::test]
async fn server_api_fresh_upload_round_trips_and_finish_is_idempotent() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(1_100_000, 120);
    // 600000: any size within [524288, 1048576]; Init by POST.
    expect(&api(&r, "POST", &signed("POST", "InitUpload", &init_query(&f, 600_000, "")), vec![]).await, 0, 0);
    send_parts(&r, &f, 600_000, [1, 0]).await;
    let v = api(&r, "GET", &finish(&f), vec![]).await;
    expect(&v, 0, 0);
    let id = is_file_id(&v);
    let url = format!("http://127.0.0.1:8080/vod/{id}/f0.mp4");
    assert_eq!(v["url"], url);
    assert!(v.get("verify_content").is_none(), "the trusted backend gets no verify_content: {v}");
    assert_eq!(fetch(&r, &url).await, f.bytes, "the stored file is the file");
    // Finish again, by GET and by POST: the same fileId.
    for method in ["GET", "POST"] {
        let v = api(&r, method, &signed(method, "FinishUpload", &format!("fileSha={}", f.sha)), vec![]).await;
        expect(&v, 0, 0);
        assert_eq!((&v["fileId"], &v["url"]), (&json!(id), &json!(url)));
    }
    // Init again: code 2.
    let v = api(&r, "GET", &init(&f, HALF), vec![]).await;
    expect(&v, 2, 0);
    assert_eq!((&v["fileId"], &v["url"]), (&json!(id), &json!(url)));
    // A part for the finished file: no session.
    let (path, body) = part(&f, 0, 600_000);
    expect(&api(&r, "POST", &path, body).await, -10005, 0);
}

#[tokio::test]
async fn init_upload_takes_any_data_size_between_524288_and_1048576() {
    let (r, _dir) = fresh().await;
    for (seed, ds) in [(130, 524_288), (131, 600_000), (132, 1_048_576), (133, 777_777)] {
        let f = TestFile::new(2_000_000, seed);
        expect(&api(&r, "GET", &init(&f, ds), vec![]).await, 0, 0);
        // The session keeps it: resumed with another size asked, the answer names it.
        let v = api(&r, "GET", &init(&f, HALF), vec![]).await;
        expect(&v, 1, 0);
        assert_eq!(v["dataSize"], ds, "{v}");
        assert_eq!(v["listParts"], json!([]));
    }
    let f = TestFile::new(2_000_000, 134);
    for ds in ["524287", "1048577", "0", "x", "-524288"] {
        let q = format!("fileName=a.mp4&fileSha={}&fileSize=2000000&dataSize={ds}&fileType=mp4", f.sha);
        expect(&api(&r, "GET", &signed("GET", "InitUpload", &q), vec![]).await, -10003, 0);
    }
    // The other parameters.
    let base = |name: &str, ty: &str, size: &str| format!("fileName={}&fileSha={}&fileSize={size}&dataSize=524288&fileType={ty}", enc(name), f.sha);
    let bad = [
        base("a:b.mp4", "mp4", "2000000"),
        base(&"n".repeat(41), "mp4", "2000000"),
        base("", "mp4", "2000000"),
        base("a.mp4", "", "2000000"),
        base("a.mp4", "mp/4", "2000000"),
        base("a.mp4", "mp4", "0"),
        base("a.mp4", "mp4", "abc"),
        "fileName=a.mp4&fileSize=2000000&dataSize=524288&fileType=mp4".to_string(),
        format!("fileName=a.mp4&fileSha={}&fileSize=2000000&dataSize=524288&fileType=mp4", &f.sha[..39]),
        format!("{}&isTranscode=2", base("a.mp4", "mp4", "2000000")),
        format!("{}&isScreenshot=x", base("a.mp4", "mp4", "2000000")),
        format!("{}&isWatermark=-1", base("a.mp4", "mp4", "2000000")),
        format!("{}&classId=abc", base("a.mp4", "mp4", "2000000")),
    ];
    for q in bad {
        let v = api(&r, "GET", &signed("GET", "InitUpload", &q), vec![]).await;
        assert_eq!(v["code"], -10003, "{q}: {v}");
    }
    // None of them opened a session.
    expect(&api(&r, "GET", &init(&f, HALF), vec![]).await, 0, 0);
}

#[tokio::test]
async fn upload_part_is_post_only_and_checks_each_part() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(700_000, 140);
    // No session yet.
    let (path, body) = part(&f, 0, HALF);
    expect(&api(&r, "POST", &path, body).await, -10005, 0);
    expect(&api(&r, "GET", &init(&f, HALF), vec![]).await, 0, 0);
    // GET refused.
    let q = format!("fileSha={}&offset=0&dataSize={HALF}&dataMd5={}", f.sha, md5_hex(&f.bytes[..HALF]));
    expect(&api(&r, "GET", &signed("GET", "UploadPart", &q), vec![]).await, -10003, 0);
    // Damaged bytes: -10006, retryable, nothing stored.
    let (path, mut body) = part(&f, 0, HALF);
    body[100] ^= 1;
    expect(&api(&r, "POST", &path, body).await, -10006, 1);
    // dataMd5 of the whole file instead of the part (seed 001's wording) is a mismatch too.
    let whole = format!("fileSha={}&offset=0&dataSize={HALF}&dataMd5={}", f.sha, md5_hex(&f.bytes));
    expect(&api(&r, "POST", &signed("POST", "UploadPart", &whole), f.bytes[..HALF].to_vec()).await, -10006, 1);
    // A part of another size than the session's, an offset not a multiple of it.
    let q = format!("fileSha={}&offset=0&dataSize=600000&dataMd5={}", f.sha, md5_hex(&f.bytes[..600_000]));
    expect(&api(&r, "POST", &signed("POST", "UploadPart", &q), f.bytes[..600_000].to_vec()).await, -10003, 0);
    let q = format!("fileSha={}&offset=1000&dataSize=1000&dataMd5={}", f.sha, md5_hex(&f.bytes[1000..2000]));
    expect(&api(&r, "POST", &signed("POST", "UploadPart", &q), f.bytes[1000..2000].to_vec()).await, -10003, 0);
    let v = api(&r, "GET", &init(&f, HALF), vec![]).await;
    assert_eq!(v["listParts"], json!([]), "{v}");
    // The right parts.
    send_parts(&r, &f, HALF, [0, 1, 0]).await;
    let v = api(&r, "GET", &init(&f, HALF), vec![]).await;
    let offsets: Vec<u64> = v["listParts"].as_array().unwrap().iter().map(|p| p["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, [0, HALF as u64], "{v}");
    assert_eq!(v["listParts"][1]["dataMd5"], md5_hex(&f.bytes[HALF..]), "{v}");
}

#[tokio::test]
async fn finish_upload_refuses_missing_parts_and_a_wrong_sha1() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(HALF * 3 + 5, 150);
    expect(&api(&r, "GET", &init(&f, HALF), vec![]).await, 0, 0);
    send_parts(&r, &f, HALF, [1]).await;
    let v = api(&r, "GET", &finish(&f), vec![]).await;
    expect(&v, -10003, 0);
    assert!(v["message"].as_str().unwrap().contains('3'), "says how many are missing: {v}");
    send_parts(&r, &f, HALF, [0, 2, 3]).await;
    expect(&api(&r, "POST", &signed("POST", "FinishUpload", &format!("fileSha={}", f.sha)), vec![]).await, 0, 0);

    // Bytes that are not the file: -10006 at finish and the session is gone.
    let g = TestFile::new(HALF + 5, 151);
    let wrong = TestFile { bytes: data(HALF + 5, 152), sha: g.sha.clone(), sig: g.sig.clone(), name: g.name.clone() };
    expect(&api(&r, "GET", &init(&g, HALF), vec![]).await, 0, 0);
    send_parts(&r, &wrong, HALF, [0, 1]).await;
    expect(&api(&r, "GET", &finish(&g), vec![]).await, -10006, 0);
    expect(&api(&r, "GET", &finish(&g), vec![]).await, -10005, 0);
    expect(&api(&r, "GET", &init(&g, HALF), vec![]).await, 0, 0);
}

// ================================================================== sessions across flavours

#[tokio::test]
async fn an_init_upload_ex_session_is_resumed_by_init_upload_and_back() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(HALF * 3 + 9, 160);
    expect(&api(&r, "GET", &f.init_uri(HALF), vec![]).await, 0, 0);
    let (uri, body) = f.part(0, HALF);
    expect(&api(&r, "POST", &uri, body).await, 0, 0);
    // InitUpload asking for 1 MiB: the session's 512 KiB and the part held.
    let v = api(&r, "GET", &init(&f, MIB), vec![]).await;
    expect(&v, 1, 0);
    assert_eq!(v["dataSize"], HALF);
    assert_eq!(v["listParts"], json!([{"offset": 0, "dataSize": HALF, "dataMd5": md5_hex(&f.bytes[..HALF])}]));
    send_parts(&r, &f, HALF, [2]).await;
    // Back to the UGC call: both parts.
    let v = api(&r, "GET", &f.init_uri(MIB), vec![]).await;
    expect(&v, 1, 0);
    assert_eq!(v["dataSize"], HALF);
    assert_eq!(v["listParts"].as_array().unwrap().len(), 2, "{v}");
    let (uri, body) = f.part(1, HALF);
    expect(&api(&r, "POST", &uri, body).await, 0, 0);
    send_parts(&r, &f, HALF, [3]).await;
    let v = api(&r, "GET", &finish(&f), vec![]).await;
    expect(&v, 0, 0);
    let id = is_file_id(&v);
    assert_eq!(fetch(&r, v["url"].as_str().unwrap()).await, f.bytes);
    // Finished: instant for the UGC calls (also another uid), the server API and the multipart flow.
    let v = api(&r, "GET", &f.signed_for("someone-else").init_uri(HALF), vec![]).await;
    expect(&v, 2, 0);
    assert_eq!(v["fileId"], id);
    assert_eq!(api(&r, "GET", &f.finish_uri(), vec![]).await["fileId"], id);
    assert_eq!(done(&mp(&r, &f, 0, HALF, &[]).await), id);
}

#[tokio::test]
async fn an_init_upload_session_of_600000_is_resumed_by_init_upload_ex() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(1_500_000, 170);
    expect(&api(&r, "GET", &init(&f, 600_000), vec![]).await, 0, 0);
    send_parts(&r, &f, 600_000, [0]).await;
    // A browser (any uid) resumes it: the answer names 600000, and its parts of 600000 go in.
    let g = f.signed_for("alice");
    let v = api(&r, "GET", &g.init_uri(HALF), vec![]).await;
    expect(&v, 1, 0);
    assert_eq!(v["dataSize"], 600_000, "{v}");
    assert_eq!(v["listParts"], json!([{"offset": 0, "dataSize": 600_000, "dataMd5": md5_hex(&f.bytes[..600_000])}]));
    for i in [1, 2] {
        let (uri, body) = g.part(i, 600_000);
        expect(&api(&r, "POST", &uri, body).await, 0, 0);
    }
    let v = api(&r, "GET", &g.finish_uri(), vec![]).await;
    expect(&v, 0, 0);
    assert!(v["verify_content"].is_string(), "{v}");
    assert_eq!(fetch(&r, v["url"].as_str().unwrap()).await, f.bytes);
    let v = api(&r, "GET", &init(&f, HALF), vec![]).await;
    expect(&v, 2, 0);
}

#[tokio::test]
async fn multipart_and_init_sessions_exclude_each_other() {
    let (r, _dir) = fresh().await;
    // An Init session open (either flavour): MultipartUploadVodFile is -10003.
    let f = TestFile::new(HALF * 2, 180);
    expect(&api(&r, "GET", &init(&f, HALF), vec![]).await, 0, 0);
    let v = mp(&r, &f, 0, HALF, &[]).await;
    expect(&v, -10003, 0);
    let said = format!("an upload opened by InitUpload or InitUploadEx of fileSha {} is open: MultipartUploadVodFile cannot continue it", f.sha);
    assert!(v["message"].as_str().unwrap().starts_with(&said), "{v}");
    let g = TestFile::new(HALF * 2, 181);
    expect(&api(&r, "GET", &g.init_uri(HALF), vec![]).await, 0, 0);
    expect(&mp(&r, &g, 0, HALF, &[]).await, -10003, 0);
    // A MultipartUploadVodFile session open: both Init calls are -10003.
    let h = TestFile::new(HALF * 2, 182);
    next_at(&mp(&r, &h, 0, HALF, &[]).await, HALF);
    let v = api(&r, "GET", &init(&h, HALF), vec![]).await;
    expect(&v, -10003, 0);
    let said = format!("a MultipartUploadVodFile upload of fileSha {} is open: the Init, UploadPart and Finish calls cannot continue it", h.sha);
    assert!(v["message"].as_str().unwrap().starts_with(&said), "{v}");
    expect(&api(&r, "GET", &h.init_uri(HALF), vec![]).await, -10003, 0);
    // It goes on and finishes; then everyone gets it instantly.
    let id = done(&mp(&r, &h, HALF, HALF, &[]).await);
    let v = api(&r, "GET", &init(&h, HALF), vec![]).await;
    expect(&v, 2, 0);
    assert_eq!(v["fileId"], id);
    expect(&api(&r, "GET", &h.init_uri(HALF), vec![]).await, 2, 0);
    // The Init session still goes on too.
    send_parts(&r, &f, HALF, [0, 1]).await;
    expect(&api(&r, "GET", &finish(&f), vec![]).await, 0, 0);
}

// ================================================================== MultipartUploadVodFile

#[tokio::test]
async fn multipart_upload_follows_the_servers_offsets() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(HALF + MP_MAX + 300_000, 190);
    let v = mp(&r, &f, 0, HALF, &[]).await;
    next_at(&v, HALF);
    assert_eq!(v["message"], "");
    // A middle part of the largest size, then the shorter last one.
    next_at(&mp(&r, &f, HALF, MP_MAX, &[]).await, HALF + MP_MAX);
    let v = mp(&r, &f, HALF + MP_MAX, 300_000, &[]).await;
    let id = done(&v);
    assert_eq!(v["url"], format!("http://127.0.0.1:8080/vod/{id}/f0.mp4"));
    assert_eq!(fetch(&r, v["url"].as_str().unwrap()).await, f.bytes);
    // The file is there: flag 1 at once for a first part, and for the server API.
    assert_eq!(done(&mp(&r, &f, 0, HALF, &[]).await), id);
    assert_eq!(api(&r, "GET", &init(&f, HALF), vec![]).await["fileId"], id);

    // A file under 512 KiB goes in one part; middle parts may be any size from 524288.
    let small = TestFile::new(1000, 191);
    assert_eq!(fetch(&r, mp(&r, &small, 0, 1000, &[]).await["url"].as_str().unwrap()).await, small.bytes);
    let g = TestFile::new(HALF * 3 + 1, 192);
    next_at(&mp(&r, &g, 0, HALF, &[]).await, HALF);
    next_at(&mp(&r, &g, HALF, HALF + 1, &[]).await, 2 * HALF + 1);
    done(&mp(&r, &g, 2 * HALF + 1, HALF, &[]).await);
}

#[tokio::test]
async fn multipart_parts_elsewhere_are_not_stored_and_part_one_resumes() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(HALF * 4 + 10, 200);
    // No session: the expected offset is 0, and nothing is stored.
    next_at(&mp(&r, &f, HALF, HALF, &[]).await, 0);
    next_at(&mp(&r, &f, 0, HALF, &[]).await, HALF);
    next_at(&mp(&r, &f, HALF, HALF * 2, &[]).await, HALF * 3);
    // Ahead of, or behind, the expected offset: not stored, the answer names it.
    next_at(&mp(&r, &f, HALF * 3 + 10, HALF, &[]).await, HALF * 3);
    next_at(&mp(&r, &f, HALF, HALF, &[]).await, HALF * 3);
    // A client that lost track sends part one again and is told where to go on.
    next_at(&mp(&r, &f, 0, HALF, &[]).await, HALF * 3);
    // Other bytes at the right place? A wrong part 4 is caught by the SHA-1, below; here, the right one.
    let id = done(&mp(&r, &f, HALF * 3, HALF + 10, &[]).await);
    let v = api(&r, "GET", &describe("fileId", &id), vec![]).await;
    assert_eq!(v["size"], f.bytes.len(), "{v}");
    assert_eq!(fetch(&r, v["url"].as_str().unwrap()).await, f.bytes);
}

#[tokio::test]
async fn multipart_parameter_codes() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(HALF * 2 + 1000, 210);
    let p = || mp_pairs(&f, 0, HALF);
    let body = || f.bytes[..HALF].to_vec();
    let cases: Vec<(Pairs, i64)> = vec![
        (with(p(), "fileSha", Some(&f.sha.to_uppercase())), -25985),
        (with(p(), "fileSha", Some(&f.sha[..39])), -25985),
        (with(p(), "fileSha", Some(&"g".repeat(40))), -25985),
        (with(p(), "fileSize", Some("-5")), -25981),
        (with(p(), "fileSize", Some("abc")), -25981),
        (with(p(), "fileType", Some("")), -25986),
        (with(p(), "fileType", Some("mp/4")), -25986),
        (with(p(), "isTranscode", Some("2")), -25978),
        (with(p(), "isWatermark", Some("2")), -25979),
        (with(p(), "isScreenshot", Some("x")), -25980),
        (with(p(), "classId", Some("abc")), -25983),
        (with(p(), "classId", Some("-1")), -25983),
        (with(p(), "fileName", Some("a|b.mp4")), -10003),
        (with(p(), "fileName", Some("clip\u{202E}4pm.exe")), -10003),
        (with(p(), "fileName", Some(&"n".repeat(41))), -10003),
        (with(p(), "fileName", Some("")), -10003),
        (with(p(), "offset", Some("x")), -10003),
        (with(p(), "offset", Some("-1")), -10003),
        // The first part is exactly 524288 (the file is bigger).
        (with(p(), "dataSize", Some("600000")), -25982),
        // dataSize is the body's length.
        (with(p(), "dataSize", Some("524289")), -25982),
        // The first part past the end of a smaller declared file.
        (with(p(), "fileSize", Some("1000")), -25977),
    ];
    for (pairs, code) in cases {
        let v = api(&r, "POST", &mp_path(&pairs), body()).await;
        assert_eq!(v["code"], code, "{pairs:?}: {v}");
        if v.get("canRetry").is_some() {
            assert_eq!(v["canRetry"], 0, "{v}");
        }
    }
    // A first part shorter than 524288 of a bigger file.
    let v = api(&r, "POST", &mp_path(&mp_pairs(&f, 0, 1000)), f.bytes[..1000].to_vec()).await;
    assert_eq!(v["code"], -25982, "{v}");
    // Nothing was stored by any of them: the first part is still expected.
    next_at(&mp(&r, &f, HALF, HALF, &[]).await, 0);
    next_at(&mp(&r, &f, 0, HALF, &[]).await, HALF);
    // Later parts: under 524288 but not the last; past the end; another fileSize than the session's.
    let v = api(&r, "POST", &mp_path(&mp_pairs(&f, HALF, HALF - 1)), f.bytes[HALF..2 * HALF - 1].to_vec()).await;
    expect(&v, -25982, 0);
    let v = api(&r, "POST", &mp_path(&with(mp_pairs(&f, HALF, HALF), "dataSize", Some(&(HALF + 1001).to_string()))), vec![9; HALF + 1001]).await;
    expect(&v, -25977, 0);
    let v = api(&r, "POST", &mp_path(&with(mp_pairs(&f, HALF, HALF), "fileSize", Some(&(f.bytes.len() + 1).to_string()))), f.bytes[HALF..2 * HALF].to_vec()).await;
    expect(&v, -25981, 0);
    let id = done(&mp(&r, &f, HALF, HALF + 1000, &[]).await);
    assert_eq!(fetch(&r, &format!("http://127.0.0.1:8080/vod/{id}/f0.mp4")).await, f.bytes);

    // A last part over 5242880.
    let g = TestFile::new(HALF + MP_MAX + 1, 211);
    next_at(&mp(&r, &g, 0, HALF, &[]).await, HALF);
    expect(&mp(&r, &g, HALF, MP_MAX + 1, &[]).await, -25982, 0);
}

#[tokio::test]
async fn multipart_sha1_mismatch_is_29200_and_drops_the_session() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(HALF + 5000, 220);
    let wrong = TestFile { bytes: data(HALF + 5000, 221), sha: f.sha.clone(), sig: f.sig.clone(), name: f.name.clone() };
    next_at(&mp(&r, &wrong, 0, HALF, &[]).await, HALF);
    expect(&mp(&r, &wrong, HALF, 5000, &[]).await, -29200, 0);
    // The session is gone: the first part is expected again; and the right bytes make the file.
    next_at(&mp(&r, &f, HALF, 5000, &[]).await, 0);
    next_at(&mp(&r, &f, 0, HALF, &[]).await, HALF);
    done(&mp(&r, &f, HALF, 5000, &[]).await);
}

// ================================================================== DescribeVodInfo

#[tokio::test]
async fn describe_shows_init_upload_metadata_while_uploading_and_finished() {
    let (r, _dir) = fresh().await;
    let f = TestFile { name: "talk one.mp4".into(), ..TestFile::new(HALF + 10, 230) };
    expect(&api(&r, "GET", &describe("fileSha", &f.sha), vec![]).await, -10003, 0);
    let q = init_query(&f, HALF, "&classId=7&tags.0=alpha&tags.1=beta%20gamma&isTranscode=1&isScreenshot=0&isWatermark=1&RequestClient=SDK&contentLen=10");
    expect(&api(&r, "GET", &signed("GET", "InitUpload", &q), vec![]).await, 0, 0);
    send_parts(&r, &f, HALF, [1]).await;
    let meta = json!({
        "fileName": "talk one.mp4", "fileType": "mp4", "classId": 7, "tags": ["alpha", "beta gamma"],
        "isTranscode": 1, "isScreenshot": 0, "isWatermark": 1, "uid": null, "secretId": SECRET_ID, "flavour": "server",
    });
    let v = api(&r, "GET", &describe("fileSha", &f.sha), vec![]).await;
    expect(&v, 0, 0);
    assert_eq!(v["state"], "uploading", "{v}");
    assert_eq!(v["fileSha"], f.sha);
    assert_eq!(v["sessions"], json!([{"flavour": "server", "fileSize": HALF + 10, "dataSize": HALF, "heldBytes": 10, "meta": meta}]));
    send_parts(&r, &f, HALF, [0]).await;
    let id = is_file_id(&api(&r, "GET", &finish(&f), vec![]).await);
    // Finished: by fileSha and by fileId (GET or POST), the same answer.
    let v = api(&r, "GET", &describe("fileSha", &f.sha), vec![]).await;
    expect(&v, 0, 0);
    assert_eq!(v["state"], "finished", "{v}");
    assert_eq!((&v["fileId"], &v["fileSha"], &v["size"]), (&json!(id), &json!(f.sha), &json!(HALF + 10)));
    assert_eq!(v["url"], format!("http://127.0.0.1:8080/vod/{id}/f0.mp4"));
    assert_eq!(v["meta"], meta);
    let by_id = api(&r, "POST", &signed("POST", "DescribeVodInfo", &format!("fileId={id}")), vec![]).await;
    assert_eq!(by_id, v);
    // tag.N is accepted for tags.N; no flags given are 0, no class is null.
    let g = TestFile::new(1000, 231);
    let q = init_query(&g, HALF, "&tag.0=x&tag.1=y");
    expect(&api(&r, "GET", &signed("GET", "InitUpload", &q), vec![]).await, 0, 0);
    let v = api(&r, "GET", &describe("fileSha", &g.sha), vec![]).await;
    let meta = &v["sessions"][0]["meta"];
    assert_eq!(meta["tags"], json!(["x", "y"]), "{v}");
    assert_eq!((&meta["classId"], &meta["isTranscode"], &meta["isScreenshot"], &meta["isWatermark"]), (&Value::Null, &json!(0), &json!(0), &json!(0)), "{v}");
    // Neither fileId nor fileSha, or an unknown fileId: -10003; DescribeVodInfo needs the key like the rest.
    expect(&api(&r, "GET", &signed("GET", "DescribeVodInfo", ""), vec![]).await, -10003, 0);
    expect(&api(&r, "GET", &describe("fileId", "1234567890123456789"), vec![]).await, -10003, 0);
    let path = signed_at("GET", "DescribeVodInfo", &format!("fileSha={}", f.sha), (SECRET_ID, "not-the-key"), HOST, now(), nonce());
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
}

#[tokio::test]
async fn describe_shows_multipart_metadata_from_the_first_part_only() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(HALF * 2 + 7, 240);
    let first: [(&str, &str); 5] = [("classId", "3"), ("tags.0", "first"), ("isTranscode", "1"), ("isScreenshot", "1"), ("isWatermark", "0")];
    let later: [(&str, &str); 5] = [("classId", "9"), ("tags.0", "later"), ("isTranscode", "0"), ("isScreenshot", "0"), ("isWatermark", "1")];
    next_at(&mp(&r, &f, 0, HALF, &first).await, HALF);
    let meta = json!({
        "fileName": f.name, "fileType": "mp4", "classId": 3, "tags": ["first"],
        "isTranscode": 1, "isScreenshot": 1, "isWatermark": 0, "uid": null, "secretId": SECRET_ID, "flavour": "multipart",
    });
    let v = api(&r, "GET", &describe("fileSha", &f.sha), vec![]).await;
    assert_eq!(v["state"], "uploading", "{v}");
    let session = &v["sessions"][0];
    assert_eq!((&session["flavour"], &session["fileSize"], &session["heldBytes"]), (&json!("multipart"), &json!(HALF * 2 + 7), &json!(HALF)), "{v}");
    assert_eq!(session["meta"], meta);
    next_at(&mp(&r, &f, HALF, HALF, &later).await, HALF * 2);
    let id = done(&mp(&r, &f, HALF * 2, 7, &later).await);
    let v = api(&r, "GET", &describe("fileId", &id), vec![]).await;
    assert_eq!(v["state"], "finished", "{v}");
    assert_eq!(v["meta"], meta);
}

#[tokio::test]
async fn describe_shows_ugc_signature_metadata() {
    let (r, _dir) = fresh().await;
    let mut f = TestFile::new(HALF + 3, 250);
    f.sig = ugc_sig(&f, SECRET_ID, SECRET_KEY, "alice", "&cid=12&tag.0=t1&tag.1=t2&tc=1&ss=1&wm=0");
    expect(&api(&r, "GET", &f.init_uri(HALF), vec![]).await, 0, 0);
    let meta = json!({
        "fileName": f.name, "fileType": "mp4", "classId": 12, "tags": ["t1", "t2"],
        "isTranscode": 1, "isScreenshot": 1, "isWatermark": 0, "uid": "alice", "secretId": SECRET_ID, "flavour": "ugc",
    });
    let v = api(&r, "GET", &describe("fileSha", &f.sha), vec![]).await;
    assert_eq!(v["state"], "uploading", "{v}");
    assert_eq!(v["sessions"], json!([{"flavour": "ugc", "fileSize": HALF + 3, "dataSize": HALF, "heldBytes": 0, "meta": meta}]));
    let finished = upload_rest(&r, &f).await;
    let v = api(&r, "GET", &describe("fileSha", &f.sha), vec![]).await;
    assert_eq!((&v["state"], &v["fileId"], &v["meta"]), (&json!("finished"), &finished["fileId"], &meta), "{v}");
}

/// Every part of a UGC upload whose session is open, and FinishUploadEx.
async fn upload_rest(r: &Router, f: &TestFile) -> Value {
    for i in 0..f.part_count(HALF) {
        let (uri, body) = f.part(i, HALF);
        expect(&api(r, "POST", &uri, body).await, 0, 0);
    }
    let v = api(r, "GET", &f.finish_uri(), vec![]).await;
    expect(&v, 0, 0);
    v
}

// ================================================================== several keys

#[tokio::test]
async fn a_second_key_signs_server_api_calls_and_ugc_signatures() {
    let (r, _dir) = fresh().await;
    // The server API with the second key; the metadata names it.
    let f = TestFile::new(HALF + 1, 260);
    let path = signed_at("GET", "InitUpload", &init_query(&f, HALF, ""), SECOND, HOST, now(), nonce());
    expect(&api(&r, "GET", &path, vec![]).await, 0, 0);
    let v = api(&r, "GET", &describe("fileSha", &f.sha), vec![]).await;
    assert_eq!(v["sessions"][0]["meta"]["secretId"], ID2, "{v}");
    // The second SecretId with the primary key is refused.
    let path = signed_at("GET", "InitUpload", &init_query(&f, HALF, ""), (ID2, SECRET_KEY), HOST, now(), nonce());
    expect(&api(&r, "GET", &path, vec![]).await, -10002, 0);
    // A UGC signature by the second key: the whole upload goes.
    let mut g = TestFile::new(HALF + 2, 261);
    g.sig = ugc_sig(&g, ID2, KEY2, "bob", "");
    expect(&api(&r, "GET", &g.init_uri(HALF), vec![]).await, 0, 0);
    let done = upload_rest(&r, &g).await;
    let v = api(&r, "GET", &describe("fileId", done["fileId"].as_str().unwrap()), vec![]).await;
    assert_eq!((&v["meta"]["secretId"], &v["meta"]["uid"]), (&json!(ID2), &json!("bob")), "{v}");
    // ... and one naming the second SecretId but made with the primary key is refused.
    let mut h = TestFile::new(1000, 262);
    h.sig = ugc_sig(&h, ID2, SECRET_KEY, "bob", "");
    expect(&api(&r, "GET", &h.init_uri(HALF), vec![]).await, -10002, 0);
}

#[tokio::test]
async fn a_file_name_with_a_bidi_control_or_invalid_utf8_is_refused_in_every_flavour() {
    let (r, _dir) = fresh().await;
    let f = TestFile::new(1000, 190);
    // InitUpload: -10003, the message says why.
    for (name, needle) in [("clip%E2%80%AE4pm.exe", "bidirectional control U+202E"), ("clip%FF.mp4", "not valid UTF-8"), ("clip%E2%81%A7.mp4", "U+2067")] {
        let query = init_query(&f, HALF, "").replace(&format!("fileName={}", enc(&f.name)), &format!("fileName={name}"));
        let path = signed("GET", "InitUpload", &query);
        let v = api(&r, "GET", &path, vec![]).await;
        expect(&v, -10003, 0);
        assert!(v["message"].as_str().unwrap().contains(needle), "{name}: {v}");
    }
    // A UGC signature whose f holds a bidi control, or bytes that are not UTF-8: -10002.
    let bidi = sign::sign(&sign::SignParams::new(SECRET_ID, &f.sha, "clip\u{202E}4pm.exe", "u", 3600), SECRET_KEY);
    let original = sign::original_string(&sign::SignParams::new(SECRET_ID, &f.sha, "clip.mp4", "u", 3600)).replace("f=clip.mp4", "f=clip%FF.mp4");
    let not_utf8 = sign::sign_original(&original, SECRET_KEY);
    for (signature, needle) in [(bidi, "U+202E"), (not_utf8, "not valid UTF-8")] {
        let v = api(&r, "GET", &init_uri(&f.sha, 1000, HALF as u64, &signature), vec![]).await;
        expect(&v, -10002, 0);
        assert!(v["message"].as_str().unwrap().contains(needle), "{v}");
    }
}
