//! The uploader in headless Chromium against real `vod-server` processes: real `File`s, real fetch,
//! and the stored bytes checked by downloading them. Run by `scripts/wasm-test.sh`, which starts the
//! servers and sets VOD_SERVER_URL (a plain server) and VOD_FAULTY_URL (one injecting faults).
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use vod_ugc_uploader::hash::{md5_hex, sha1_hex};
use vod_ugc_uploader::web::{hash_file_js, upload_js, TS_TYPES};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use wasm_bindgen_test::*;
use web_sys::{AbortController, File, FilePropertyBag, RequestInit, Response};

wasm_bindgen_test_configure!(run_in_browser);

fn server() -> &'static str {
    env!("VOD_SERVER_URL", "VOD_SERVER_URL is not set: run these tests with scripts/wasm-test.sh")
}

fn faulty_server() -> &'static str {
    env!("VOD_FAULTY_URL", "VOD_FAULTY_URL is not set: run these tests with scripts/wasm-test.sh")
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_init(url: &str, init: &RequestInit) -> Promise;
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap()
}

fn set(target: &Object, key: &str, value: impl Into<JsValue>) {
    Reflect::set(target, &key.into(), &value.into()).unwrap();
}

async fn fetch(url: &str, method: &str, body: Option<JsValue>) -> Response {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&body);
        // The dev endpoints take JSON only (and grant this page's origin with --dev-origin).
        let headers = Object::new();
        set(&headers, "content-type", "application/json");
        init.set_headers(&headers);
    }
    JsFuture::from(fetch_with_init(url, &init)).await.unwrap().unchecked_into()
}

async fn fetch_json(url: &str, method: &str, body: Option<JsValue>) -> JsValue {
    let response = fetch(url, method, body).await;
    JsFuture::from(response.json().unwrap()).await.unwrap()
}

async fn download(url: &str) -> Vec<u8> {
    let response = fetch(url, "GET", None).await;
    assert_eq!(response.status(), 200, "GET {url}");
    let buffer = JsFuture::from(response.array_buffer().unwrap()).await.unwrap();
    Uint8Array::new(&buffer).to_vec()
}

/// A signature from the server's dev endpoint, as an app backend would issue it.
async fn sign(server: &str, sha: &str, name: &str, ttl: i64) -> String {
    let body = format!(r#"{{"fileSha":"{sha}","fileName":"{name}","ttl":{ttl}}}"#);
    let answer = fetch_json(&format!("{server}/dev/signature"), "POST", Some(body.into())).await;
    get(&answer, "signature").as_string().expect("a signature")
}

async fn stats(server: &str, sha: &str) -> JsValue {
    fetch_json(&format!("{server}/dev/stats?fileSha={sha}"), "GET", None).await
}

#[path = "common/bytes.rs"]
mod random;

/// Pseudo-random bytes, different on every run so that earlier runs' files do not answer instantly.
fn random_bytes(len: usize) -> Vec<u8> {
    random::bytes(len, (js_sys::Math::random() * 9e15) as u64)
}

fn file(name: &str, bytes: &[u8]) -> File {
    file_dated(name, bytes, js_sys::Date::now())
}

fn file_dated(name: &str, bytes: &[u8], last_modified: f64) -> File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let bag = FilePropertyBag::new();
    bag.set_type("video/mp4");
    bag.set_last_modified(last_modified);
    File::new_with_u8_array_sequence_and_options(&parts, name, &bag).unwrap()
}

/// `getSignature` for `server`: the first `expired_first` calls get an expired signature.
fn signer(server: &'static str, expired_first: u32, calls: Rc<Cell<u32>>) -> Function {
    let closure = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |request: JsValue| {
        let n = calls.get();
        calls.set(n + 1);
        let sha = get(&request, "fileSha").as_string().unwrap();
        let name = get(&request, "fileName").as_string().unwrap();
        let ttl = if n < expired_first { -60 } else { 3600 };
        future_to_promise(async move { Ok(sign(server, &sha, &name, ttl).await.into()) })
    });
    closure.into_js_value().unchecked_into()
}

type Events = Rc<RefCell<Vec<(String, f64, f64)>>>;

fn recorder(events: Events) -> Function {
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| {
        let phase = get(&p, "phase").as_string().unwrap();
        events.borrow_mut().push((phase, get(&p, "loaded").as_f64().unwrap(), get(&p, "total").as_f64().unwrap()));
    });
    closure.into_js_value().unchecked_into()
}

/// An `onProgress` that aborts `controller` once `phase` has made progress.
fn abort_once_under_way(controller: &AbortController, phase: &'static str) -> JsValue {
    let controller = controller.clone();
    Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| {
        if get(&p, "phase").as_string().as_deref() == Some(phase) && get(&p, "loaded").as_f64().unwrap() > 0.0 {
            controller.abort();
        }
    })
    .into_js_value()
}

fn options(server: &'static str, calls: Rc<Cell<u32>>) -> Object {
    let o = Object::new();
    set(&o, "endpoint", format!("{server}/v2/index.php"));
    set(&o, "getSignature", signer(server, 0, calls));
    set(&o, "partSize", 524_288);
    o
}

async fn upload(file: &File, options: &Object) -> Result<JsValue, JsValue> {
    JsFuture::from(upload_js(file.clone().into(), options.clone().into())).await
}

#[wasm_bindgen_test]
async fn fresh_upload_stores_the_exact_bytes_and_reports_honest_progress() {
    let bytes = random_bytes(1_300_000);
    let f = file("fresh.mp4", &bytes);
    let calls = Rc::new(Cell::new(0));
    let events: Events = Rc::default();
    let opts = options(server(), calls.clone());
    set(&opts, "onProgress", recorder(events.clone()));

    let result = upload(&f, &opts).await.expect("upload succeeds");

    assert_eq!(get(&result, "fileSha").as_string().unwrap(), sha1_hex(&bytes));
    assert_eq!(get(&result, "instant"), JsValue::FALSE);
    assert_eq!(get(&result, "uploadedBytes").as_f64(), Some(1_300_000.0));
    assert_eq!(get(&result, "resumedBytes").as_f64(), Some(0.0));
    let file_id = get(&result, "fileId").as_string().unwrap();
    assert!(matches!(file_id.len(), 19 | 20) && file_id.bytes().all(|b| b.is_ascii_digit()), "{file_id}");
    let url = get(&result, "url").as_string().unwrap();
    assert!(url.ends_with(&format!("/vod/{file_id}/f0.mp4")), "{url}");
    assert!(get(&result, "verifyContent").as_string().is_some());
    assert_eq!(download(&url).await, bytes, "the stored file is byte-identical");
    assert_eq!(calls.get(), 1);

    let events = events.borrow();
    let phases: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    let first_upload = phases.iter().position(|p| *p == "uploading").unwrap();
    assert!(phases[..first_upload].iter().all(|p| *p == "hashing"), "{phases:?}");
    assert_eq!(phases.last(), Some(&"finishing"));
    for phase in ["hashing", "uploading"] {
        let loaded: Vec<f64> = events.iter().filter(|e| e.0 == phase).map(|e| e.1).collect();
        assert!(loaded.windows(2).all(|w| w[0] <= w[1]), "{phase} went back: {loaded:?}");
        assert_eq!(loaded.last(), Some(&1_300_000.0), "{phase} ends at the whole file");
    }
    assert!(events.iter().all(|e| e.2 == 1_300_000.0));
}

#[wasm_bindgen_test]
async fn the_same_file_again_is_an_instant_upload_with_the_same_file_id() {
    let bytes = random_bytes(700_000);
    let calls = Rc::new(Cell::new(0));
    let first = upload(&file("twice.mp4", &bytes), &options(server(), calls.clone())).await.unwrap();
    let second = upload(&file("twice.mp4", &bytes), &options(server(), calls.clone())).await.unwrap();
    assert_eq!(get(&second, "instant"), JsValue::TRUE);
    assert_eq!(get(&second, "fileId").as_string(), get(&first, "fileId").as_string());
    assert_eq!(get(&second, "uploadedBytes").as_f64(), Some(0.0));
    let sha = sha1_hex(&bytes);
    assert_eq!(get(&stats(server(), &sha).await, "partsReceived").as_f64(), Some(2.0), "no part sent the second time");
}

#[wasm_bindgen_test]
async fn a_cached_hash_skips_the_hash_pass_but_a_changed_file_is_hashed_anew() {
    let bytes = random_bytes(2_500_000);
    let date = 1_700_000_000_000.0;
    let first = upload(&file_dated("cached.mp4", &bytes, date), &options(server(), Rc::default())).await.unwrap();

    // The same file again: the hash comes from IndexedDB, one "hashing" report at 100%.
    let events: Events = Rc::default();
    let opts = options(server(), Rc::default());
    set(&opts, "onProgress", recorder(events.clone()));
    let again = upload(&file_dated("cached.mp4", &bytes, date), &opts).await.unwrap();
    assert_eq!(get(&again, "instant"), JsValue::TRUE);
    let hashing: Vec<f64> = events.borrow().iter().filter(|e| e.0 == "hashing").map(|e| e.1).collect();
    assert_eq!(hashing, [2_500_000.0], "no hash pass for a cached file");

    // Same name, size and date, other bytes near the end: never the stale hash.
    let mut changed = bytes.clone();
    changed[2_400_000] ^= 0xff;
    let result = upload(&file_dated("cached.mp4", &changed, date), &options(server(), Rc::default())).await.unwrap();
    assert_eq!(get(&result, "fileSha").as_string().unwrap(), sha1_hex(&changed));
    assert_ne!(get(&result, "fileId").as_string(), get(&first, "fileId").as_string());
    assert_eq!(download(&get(&result, "url").as_string().unwrap()).await, changed);

    // With the cache off, the file is hashed again.
    let events: Events = Rc::default();
    let opts = options(server(), Rc::default());
    set(&opts, "onProgress", recorder(events.clone()));
    set(&opts, "hashCache", false);
    upload(&file_dated("cached.mp4", &bytes, date), &opts).await.unwrap();
    assert!(events.borrow().iter().filter(|e| e.0 == "hashing").count() > 1);
}

#[wasm_bindgen_test]
async fn resume_adopts_the_sessions_part_size_and_sends_only_missing_parts() {
    // Another client opened the session with 512 KiB parts and sent the first one.
    let bytes = random_bytes(1_600_000);
    let sha = sha1_hex(&bytes);
    let signature = sign(server(), &sha, "resume.mp4", 3600).await;
    let sig = js_sys::encode_uri_component(&signature);
    let api = format!("{}/v2/index.php", server());
    let init = fetch_json(&format!("{api}?Action=InitUploadEx&fileSha={sha}&fileSize=1600000&dataSize=524288&signature={sig}"), "GET", None).await;
    assert_eq!(get(&init, "code").as_f64(), Some(0.0));
    let first = &bytes[..524_288];
    let part_url = format!("{api}?Action=UploadPartEx&fileSha={sha}&offset=0&dataSize=524288&dataMd5={}&signature={sig}", md5_hex(first));
    let part = fetch_json(&part_url, "POST", Some(Uint8Array::from(first).into())).await;
    assert_eq!(get(&part, "code").as_f64(), Some(0.0));

    // This upload asks for 1 MiB parts; the server's session says 512 KiB.
    let calls = Rc::new(Cell::new(0));
    let opts = options(server(), calls);
    set(&opts, "partSize", 1_048_576);
    let result = upload(&file("resume.mp4", &bytes), &opts).await.unwrap();
    assert_eq!(get(&result, "resumedBytes").as_f64(), Some(524_288.0));
    assert_eq!(get(&result, "uploadedBytes").as_f64(), Some(1_600_000.0 - 524_288.0));
    assert_eq!(download(&get(&result, "url").as_string().unwrap()).await, bytes);
    let s = stats(server(), &sha).await;
    assert_eq!(get(&s, "partsReceived").as_f64(), Some(4.0), "part 0 once by hand, parts 1-3 by the uploader");
}

#[wasm_bindgen_test]
async fn survives_injected_faults() {
    let bytes = random_bytes(3_000_000);
    let calls = Rc::new(Cell::new(0));
    let opts = options(faulty_server(), calls);
    set(&opts, "retries", 10);
    set(&opts, "retryDelay", 20);
    let result = upload(&file("faults.mp4", &bytes), &opts).await.expect("completes despite faults");
    assert_eq!(download(&get(&result, "url").as_string().unwrap()).await, bytes);
    let global = fetch_json(&format!("{}/dev/stats", faulty_server()), "GET", None).await;
    assert!(get(&global, "faultsInjected").as_f64().unwrap() > 0.0, "the server did inject faults");
}

#[wasm_bindgen_test]
async fn a_refused_signature_is_refreshed_once() {
    let bytes = random_bytes(600_000);
    let calls = Rc::new(Cell::new(0));
    let opts = options(server(), calls.clone());
    set(&opts, "getSignature", signer(server(), 1, calls.clone()));
    let result = upload(&file("refresh.mp4", &bytes), &opts).await.expect("the second signature works");
    assert_eq!(calls.get(), 2);
    assert_eq!(download(&get(&result, "url").as_string().unwrap()).await, bytes);
}

#[wasm_bindgen_test]
async fn a_fatal_error_rejects_with_a_typed_error_and_its_code() {
    let bytes = random_bytes(10_000);
    let calls = Rc::new(Cell::new(0));
    let opts = options(server(), calls.clone());
    set(&opts, "getSignature", signer(server(), 2, calls.clone()));
    let error = upload(&file("fatal.mp4", &bytes), &opts).await.unwrap_err();
    assert_eq!(get(&error, "name").as_string().as_deref(), Some("UploadError"));
    assert_eq!(get(&error, "code").as_f64(), Some(-10002.0));
    assert_eq!(get(&error, "step").as_string().as_deref(), Some("init"));
    assert_eq!(get(&error, "canRetry"), JsValue::FALSE);
    assert!(error.is_instance_of::<js_sys::Error>());
    let message = get(&error, "message").as_string().unwrap();
    assert!(message.contains("InitUploadEx") && message.contains("-10002"), "{message}");
    assert_eq!(calls.get(), 2, "asked once more, then failed");
}

#[wasm_bindgen_test]
async fn abort_rejects_with_abort_error_and_stops_sending() {
    let bytes = random_bytes(6 * 524_288);
    let sha = sha1_hex(&bytes);
    let controller = AbortController::new().unwrap();
    let calls = Rc::new(Cell::new(0));
    let opts = options(server(), calls);
    set(&opts, "concurrency", 1);
    set(&opts, "signal", controller.signal());
    set(&opts, "onProgress", abort_once_under_way(&controller, "uploading"));
    let error = upload(&file("abort.mp4", &bytes), &opts).await.unwrap_err();
    assert_eq!(get(&error, "name").as_string().as_deref(), Some("AbortError"));
    assert!(error.is_instance_of::<web_sys::DomException>());
    let received = get(&stats(server(), &sha).await, "partsReceived").as_f64().unwrap();
    assert!(received < 6.0, "the upload stopped early ({received} parts)");
    let later = Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 500).unwrap();
    });
    JsFuture::from(later).await.unwrap();
    assert_eq!(get(&stats(server(), &sha).await, "partsReceived").as_f64().unwrap(), received, "nothing sent after abort");
}

#[wasm_bindgen_test]
async fn an_already_aborted_signal_rejects_before_any_work() {
    let controller = AbortController::new().unwrap();
    controller.abort();
    let opts = options(server(), Rc::default());
    set(&opts, "signal", controller.signal());
    let error = upload(&file("a.mp4", b"abc"), &opts).await.unwrap_err();
    assert_eq!(get(&error, "name").as_string().as_deref(), Some("AbortError"));
}

#[wasm_bindgen_test]
async fn an_empty_file_is_refused_before_any_request() {
    let calls = Rc::new(Cell::new(0));
    let before = fetch_json(&format!("{}/dev/stats", server()), "GET", None).await;
    let error = upload(&file("empty.mp4", b""), &options(server(), calls.clone())).await.unwrap_err();
    assert_eq!(get(&error, "name").as_string().as_deref(), Some("UploadError"));
    assert_eq!(get(&error, "step").as_string().as_deref(), Some("hash"));
    assert!(get(&error, "message").as_string().unwrap().contains("empty"));
    assert_eq!(calls.get(), 0);
    let after = fetch_json(&format!("{}/dev/stats", server()), "GET", None).await;
    assert_eq!(get(&get(&after, "calls"), "InitUploadEx"), get(&get(&before, "calls"), "InitUploadEx"));
}

#[wasm_bindgen_test]
async fn invalid_arguments_are_type_errors() {
    let f = file("x.mp4", b"abc");
    let bad_part = options(server(), Rc::default());
    set(&bad_part, "partSize", 1000);
    let no_signer = Object::new();
    let bad_concurrency = options(server(), Rc::default());
    set(&bad_concurrency, "concurrency", 0);
    for (file, opts, says) in [
        (JsValue::from(f.clone()), JsValue::from(bad_part), "partSize"),
        (JsValue::from(f.clone()), JsValue::from(no_signer), "getSignature"),
        (JsValue::from(f.clone()), JsValue::from(bad_concurrency), "concurrency"),
        (JsValue::from("not a file"), JsValue::from(options(server(), Rc::default())), "File"),
        (JsValue::from(f.clone()), JsValue::UNDEFINED, "options"),
    ] {
        let error = JsFuture::from(upload_js(file, opts)).await.unwrap_err();
        assert!(error.is_instance_of::<js_sys::TypeError>(), "{says}: {error:?}");
        assert!(get(&error, "message").as_string().unwrap().contains(says), "{says}: {error:?}");
    }
}

#[wasm_bindgen_test]
async fn hash_file_matches_the_one_shot_sha1_across_windows() {
    // Larger than one read window, and not a multiple of it.
    let bytes = random_bytes((8 << 20) + 12_345);
    let sha = JsFuture::from(hash_file_js(file("big.bin", &bytes).into(), Object::new().into())).await.unwrap();
    assert_eq!(sha.as_string().unwrap(), sha1_hex(&bytes));
}

/// The names of an interface's fields in the TypeScript the package ships.
fn interface_fields(name: &str) -> Vec<String> {
    let start = TS_TYPES.find(&format!("export interface {name} {{")).expect("interface present");
    let body = &TS_TYPES[start..TS_TYPES[start..].find("\n}").unwrap() + start];
    body.lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.starts_with("/**") && !l.starts_with('*') && l.contains(':'))
        .map(|l| l.split([':', '?']).next().unwrap().to_string())
        .collect()
}

#[wasm_bindgen_test]
async fn the_shipped_types_name_exactly_the_fields_the_api_produces() {
    let bytes = random_bytes(1000);
    let progress_keys: Rc<RefCell<Vec<String>>> = Rc::default();
    let keys = progress_keys.clone();
    let opts = options(server(), Rc::default());
    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| {
        *keys.borrow_mut() = Object::keys(p.unchecked_ref::<Object>()).iter().map(|k| k.as_string().unwrap()).collect();
    });
    set(&opts, "onProgress", on_progress.into_js_value());
    let result = upload(&file("types.mp4", &bytes), &opts).await.unwrap();
    let mut produced: Vec<String> = Object::keys(result.unchecked_ref::<Object>()).iter().map(|k| k.as_string().unwrap()).collect();
    let mut declared = interface_fields("UploadResult");
    produced.sort();
    declared.sort();
    assert_eq!(produced, declared);
    let mut produced = progress_keys.borrow().clone();
    let mut declared = interface_fields("UploadProgress");
    produced.sort();
    declared.sort();
    assert_eq!(produced, declared);
    let mut declared = interface_fields("SignatureRequest");
    declared.sort();
    assert_eq!(declared, ["fileName", "fileSha", "fileSize", "fileType"]);
}

#[wasm_bindgen_test]
fn answers_read_with_json_parse_match_the_native_reading() {
    use vod_ugc_uploader::answer::{Answer, PlatformJson};
    let a = Answer::from_json::<PlatformJson>(
        r#"{"code":1,"canRetry":0,"dataSize":524288,"listParts":[{"offset":0,"dataSize":524288,"dataSha":"x"}],"message":null}"#,
    )
    .unwrap();
    assert_eq!((a.code, a.can_retry, a.data_size, a.message.as_str()), (1, false, Some(524_288), ""));
    assert_eq!(a.list_parts.unwrap()[0].data_md5, None);
    let a = Answer::from_json::<PlatformJson>(r#"{"code":"-10004","canRetry":true,"fileId":1609250423210357}"#).unwrap();
    assert_eq!((a.code, a.can_retry, a.file_id.as_deref()), (-10004, true, Some("1609250423210357")));
    assert!(Answer::from_json::<PlatformJson>("<html>busy</html>").unwrap_err().starts_with("not JSON"));
    assert_eq!(Answer::from_json::<PlatformJson>("[1]").unwrap_err(), "not a JSON object");
    assert!(Answer::from_json::<PlatformJson>(r#"{"message":"x"}"#).unwrap_err().contains("code"));
}

#[wasm_bindgen_test]
async fn abort_during_the_hash_pass_rejects_before_any_request() {
    // Several read windows, so that the abort lands mid-pass.
    let bytes = random_bytes(3 * (8 << 20));
    let controller = AbortController::new().unwrap();
    let calls = Rc::new(Cell::new(0));
    let opts = options(server(), calls.clone());
    set(&opts, "signal", controller.signal());
    set(&opts, "onProgress", abort_once_under_way(&controller, "hashing"));
    let before = fetch_json(&format!("{}/dev/stats", server()), "GET", None).await;
    let error = upload(&file("abort-hash.mp4", &bytes), &opts).await.unwrap_err();
    assert_eq!(get(&error, "name").as_string().as_deref(), Some("AbortError"));
    assert_eq!(calls.get(), 0, "no signature was asked for");
    let after = fetch_json(&format!("{}/dev/stats", server()), "GET", None).await;
    assert_eq!(get(&get(&after, "calls"), "InitUploadEx"), get(&get(&before, "calls"), "InitUploadEx"));
}
