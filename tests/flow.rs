#![cfg(not(target_arch = "wasm32"))]
//! The upload flow driven by scripted answers: every init case, retries, signature refresh, fatal
//! errors, abort, progress and concurrency — no network, no browser.

#[path = "common/scripted.rs"]
mod scripted;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use scripted::{bytes, json, upload_signature, Scripted};
use vod_ugc_uploader::answer::HttpReply;
use vod_ugc_uploader::hash::{md5_hex, sha1_hex};
use vod_ugc_uploader::progress::Phase;
use vod_ugc_uploader::request::Method;
use vod_ugc_uploader::retry::Backoff;
use vod_ugc_uploader::{upload, upload_flavour, EnvError, ErrorKind, FileInfo, Flavour, Meta, Options, Step};

const KIB512: u64 = 524_288;
const MIB: u64 = 1_048_576;

fn options() -> Options {
    Options { endpoint: "http://vod.test/v2/index.php".into(), ..Options::default() }
}

fn file(data: &[u8]) -> FileInfo {
    FileInfo::new("Holiday.MP4", data.len() as u64, sha1_hex(data))
}

const FINISHED: &str = r#"{"code":0,"message":"","codeDesc":"","canRetry":0,"fileId":"5285890781763144364","url":"http://vod.test/vod/5285890781763144364/f0.mp4","verify_content":"dmVyaWZ5"}"#;

/// A server that accepts everything, checking each part's bytes against its parameters.
fn accepting(init: &'static str) -> impl Fn(&scripted::Sent, Option<&[u8]>) -> Result<HttpReply, EnvError> {
    move |sent, body| match sent.action.as_str() {
        "InitUploadEx" => json(init),
        "UploadPartEx" => {
            let body = body.expect("UploadPartEx carries a body");
            assert_eq!(sent.method, Method::Post);
            assert_eq!(sent.param("dataSize"), body.len().to_string());
            assert_eq!(sent.param("dataMd5"), md5_hex(body));
            json(r#"{"code":0,"message":"","codeDesc":"","canRetry":0}"#)
        }
        "FinishUploadEx" => json(FINISHED),
        other => panic!("unexpected action {other}"),
    }
}

#[tokio::test]
async fn fresh_upload_sends_every_part_once_then_finishes() {
    let data = bytes((2 * MIB + 1000) as usize, 1);
    let env = Scripted::new(data.clone(), accepting(r#"{"code":0,"message":"","canRetry":0}"#));
    let result = upload(&env, &file(&data), &options()).await.unwrap();

    assert_eq!(env.actions(), ["InitUploadEx", "UploadPartEx", "UploadPartEx", "UploadPartEx", "FinishUploadEx"]);
    let sent = env.sent.borrow();
    assert_eq!(sent[0].method, Method::Get);
    assert_eq!(sent[0].param("fileSha"), sha1_hex(&data));
    assert_eq!(sent[0].param("fileSize"), data.len().to_string());
    assert_eq!(sent[0].param("dataSize"), MIB.to_string());
    assert_eq!(sent[0].signature_label(), "sig-1");
    let offsets: Vec<&str> = sent[1..4].iter().map(|s| s.param("offset")).collect();
    assert_eq!(offsets, ["0", "1048576", "2097152"]);
    assert_eq!(sent[3].param("dataSize"), "1000");
    assert_eq!(env.signature_calls.get(), 1, "one signature serves all three calls");
    assert!(sent.iter().all(|s| s.signature_label() == "sig-1"));

    assert_eq!(result.file_id, "5285890781763144364");
    assert_eq!(result.url, "http://vod.test/vod/5285890781763144364/f0.mp4");
    assert_eq!(result.file_sha, sha1_hex(&data));
    assert!(!result.instant);
    assert_eq!((result.resumed_bytes, result.uploaded_bytes), (0, data.len() as u64));
    assert_eq!(result.verify_content.as_deref(), Some("dmVyaWZ5"));
}

#[tokio::test]
async fn resume_adopts_the_servers_part_size_and_skips_held_parts() {
    // Asked for 1 MiB parts; the server's session uses 512 KiB and holds parts 0 and 2.
    let data = bytes((2 * MIB + 5) as usize, 2);
    let init = r#"{"code":1,"message":"","canRetry":0,"dataSize":524288,"listParts":[
        {"offset":0,"dataSize":524288,"dataMd5":"x"},{"offset":1048576,"dataSize":524288,"dataMd5":"y"}]}"#;
    let env = Scripted::new(data.clone(), accepting(init));
    let result = upload(&env, &file(&data), &options()).await.unwrap();

    let sent = env.sent.borrow();
    assert_eq!(sent[0].param("dataSize"), MIB.to_string());
    let parts: Vec<(String, String)> = sent
        .iter()
        .filter(|s| s.action == "UploadPartEx")
        .map(|s| (s.param("offset").to_string(), s.param("dataSize").to_string()))
        .collect();
    let expected = [(KIB512, KIB512), (3 * KIB512, KIB512), (4 * KIB512, 5)];
    assert_eq!(parts, expected.map(|(o, s)| (o.to_string(), s.to_string())));
    assert_eq!(result.resumed_bytes, 2 * KIB512);
    assert_eq!(result.uploaded_bytes, data.len() as u64 - 2 * KIB512);
    // Progress starts at the held bytes and ends at the whole file.
    let progress = env.progress.borrow();
    let uploading: Vec<u64> = progress.iter().filter(|p| p.phase == Phase::Uploading).map(|p| p.loaded).collect();
    assert_eq!(uploading.first(), Some(&(2 * KIB512)));
    assert_eq!(uploading.last(), Some(&(data.len() as u64)));
}

#[tokio::test]
async fn resume_with_every_part_held_only_finishes() {
    let data = bytes(1000, 3);
    let env = Scripted::new(data.clone(), accepting(r#"{"code":1,"dataSize":1048576,"listParts":[{"offset":0,"dataSize":1000,"dataMd5":"m"}]}"#));
    let result = upload(&env, &file(&data), &options()).await.unwrap();
    assert_eq!(env.actions(), ["InitUploadEx", "FinishUploadEx"]);
    assert_eq!((result.resumed_bytes, result.uploaded_bytes, result.instant), (1000, 0, false));
}

#[tokio::test]
async fn instant_upload_sends_no_parts() {
    let data = bytes(3000, 4);
    let init = r#"{"code":2,"message":"","fileId":"5285890781763144364","url":"http://vod.test/vod/5285890781763144364/f0.mp4"}"#;
    let env = Scripted::new(data.clone(), accepting(init));
    let result = upload(&env, &file(&data), &options()).await.unwrap();
    assert_eq!(env.count("UploadPartEx"), 0);
    assert!(result.instant);
    assert_eq!(result.file_id, "5285890781763144364");
    assert_eq!((result.resumed_bytes, result.uploaded_bytes), (0, 0));
}

const INSTANT: &str = r#"{"code":2,"fileId":"5285890781763144364","url":"http://vod.test/vod/5285890781763144364/f0.mp4"}"#;
const NO_SESSION: &str = r#"{"code":-10005,"message":"no upload session for this fileSha (never opened, or already finished)","canRetry":0}"#;

/// An instant upload whose FinishUploadEx answers `finish` every time.
async fn instant_then_finish(finish: Result<HttpReply, EnvError>, retries: u32) -> (Scripted<'static>, Result<vod_ugc_uploader::UploadResult, vod_ugc_uploader::UploadError>) {
    let data = bytes(3000, 15);
    let accept = accepting(INSTANT);
    let env = Scripted::new(data.clone(), move |sent, body| match sent.action.as_str() {
        "FinishUploadEx" => finish.clone(),
        _ => accept(sent, body),
    });
    let outcome = upload(&env, &file(&data), &Options { retries, ..options() }).await;
    (env, outcome)
}

#[tokio::test]
async fn an_instant_upload_whose_finish_cannot_be_reached_keeps_the_init_answer() {
    let (env, outcome) = instant_then_finish(Ok(HttpReply::new(503, "busy")), 2).await;
    let result = outcome.unwrap();
    assert!(result.instant);
    assert_eq!(result.file_id, "5285890781763144364");
    assert_eq!(result.url, "http://vod.test/vod/5285890781763144364/f0.mp4");
    assert_eq!(result.verify_content, None, "no proof without FinishUploadEx's answer");
    assert_eq!(env.count("FinishUploadEx"), 3, "retried like any call first");
    assert_eq!(env.count("UploadPartEx"), 0);
}

#[tokio::test]
async fn an_instant_upload_whose_finish_is_refused_fails_and_says_after_what() {
    let (env, outcome) = instant_then_finish(json(r#"{"code":-10003,"message":"1 of 1 parts missing","canRetry":0}"#), 5).await;
    let error = outcome.unwrap_err();
    assert_eq!((error.step, error.code()), (Step::Finish, Some(-10003)));
    assert_eq!(
        error.to_string(),
        "FinishUploadEx (finish step) was refused with code -10003: 1 of 1 parts missing \
         (after InitUploadEx had answered code 2: file 5285890781763144364 already stored)"
    );
    assert_eq!(env.actions(), ["InitUploadEx", "FinishUploadEx"]);
}

#[tokio::test]
async fn an_instant_upload_whose_file_is_gone_at_finish_asks_init_again_and_uploads_it() {
    // Code 2, then FinishUploadEx finds neither the file nor a session: InitUploadEx is asked again,
    // opens a session (code 0) and the file is uploaded.
    let data = bytes((MIB + 10) as usize, 15);
    let inits = Cell::new(0);
    let finishes = Cell::new(0);
    let accept = accepting(r#"{"code":0}"#);
    let env = Scripted::new(data.clone(), |sent, body| match sent.action.as_str() {
        "InitUploadEx" => {
            inits.set(inits.get() + 1);
            if inits.get() == 1 { json(INSTANT) } else { json(r#"{"code":0}"#) }
        }
        "FinishUploadEx" => {
            finishes.set(finishes.get() + 1);
            if finishes.get() == 1 { json(NO_SESSION) } else { json(FINISHED) }
        }
        _ => accept(sent, body),
    });
    let result = upload(&env, &file(&data), &options()).await.unwrap();
    assert_eq!(env.actions(), ["InitUploadEx", "FinishUploadEx", "InitUploadEx", "UploadPartEx", "UploadPartEx", "FinishUploadEx"]);
    assert!(!result.instant, "the file was uploaded");
    assert_eq!((result.resumed_bytes, result.uploaded_bytes), (0, data.len() as u64));
    assert_eq!(result.verify_content.as_deref(), Some("dmVyaWZ5"));
}

/// Another upload of the same file finishes the session after `acked` of this upload's parts were
/// acknowledged: later parts get −10005, and InitUploadEx answers `after` from then on.
fn finished_by_another_upload(acked: usize, after: &'static str) -> impl Fn(&scripted::Sent, Option<&[u8]>) -> Result<HttpReply, EnvError> {
    let parts = Cell::new(0);
    let accept = accepting(r#"{"code":0}"#);
    move |sent, body| match sent.action.as_str() {
        "InitUploadEx" if parts.get() >= acked => json(after),
        "UploadPartEx" if parts.get() >= acked => json(NO_SESSION),
        "UploadPartEx" => {
            parts.set(parts.get() + 1);
            accept(sent, body)
        }
        _ => accept(sent, body),
    }
}

#[tokio::test]
async fn a_part_that_finds_the_session_finished_by_another_upload_ends_with_that_file() {
    let data = bytes((6 * MIB) as usize, 17);
    let env = Scripted::new(data.clone(), finished_by_another_upload(2, INSTANT));
    let result = upload(&env, &file(&data), &Options { concurrency: 2, ..options() }).await.unwrap();
    assert_eq!(result.file_id, "5285890781763144364");
    assert_eq!(result.verify_content.as_deref(), Some("dmVyaWZ5"), "FinishUploadEx confirmed it");
    assert!(!result.instant, "this upload sent parts of it");
    assert_eq!(result.uploaded_bytes, 2 * MIB, "what this upload got acknowledged");
    assert_eq!(env.count("InitUploadEx"), 2, "asked once more");
    assert!(env.sleeps.borrow().is_empty(), "no retry of the refused part");
    let actions = env.actions();
    let again = actions.iter().rposition(|a| a == "InitUploadEx").unwrap();
    assert_eq!(actions[again + 1..], ["FinishUploadEx"], "no part is sent once the file is there: {actions:?}");
    let loaded: Vec<u64> = env.progress.borrow().iter().map(|p| p.loaded).collect();
    assert_eq!(env.progress.borrow().last().map(|p| (p.phase, p.loaded)), Some((Phase::Finishing, data.len() as u64)), "{loaded:?}");
}

#[tokio::test]
async fn a_session_dropped_mid_upload_is_opened_again_and_the_missing_parts_sent() {
    // The session is gone after two parts; InitUploadEx asked again finds one (opened by another
    // upload) that holds part 0 at 512 KiB, so every other part is sent again at that size.
    let data = bytes((3 * MIB) as usize, 18);
    let resume = r#"{"code":1,"dataSize":524288,"listParts":[{"offset":0,"dataSize":524288,"dataMd5":"m"}]}"#;
    let dropped = finished_by_another_upload(2, resume);
    let env = Scripted::new(data.clone(), |sent, body| match dropped(sent, body) {
        // After the drop, the new session takes parts.
        Ok(reply) if reply.body == NO_SESSION && sent.param("dataSize") == KIB512.to_string() => accepting("")(sent, body),
        reply => reply,
    });
    let result = upload(&env, &file(&data), &Options { concurrency: 1, ..options() }).await.unwrap();
    let sent = env.sent.borrow();
    let again = sent.iter().rposition(|s| s.action == "InitUploadEx").unwrap();
    assert_eq!(again, 4, "init, two parts, the refused one, init: {:?}", env.actions());
    let parts: Vec<(String, String)> = sent[again + 1..]
        .iter()
        .filter(|s| s.action == "UploadPartEx")
        .map(|s| (s.param("offset").to_string(), s.param("dataSize").to_string()))
        .collect();
    let expected: Vec<(String, String)> = (1..6).map(|i| ((i * KIB512).to_string(), KIB512.to_string())).collect();
    assert_eq!(parts, expected);
    assert_eq!(sent.last().unwrap().action, "FinishUploadEx");
    assert_eq!(result.resumed_bytes, 0, "held before this upload: nothing");
    assert_eq!(result.uploaded_bytes, 2 * MIB + 5 * KIB512, "every part acknowledged, both sessions");
    let loaded: Vec<u64> = env.progress.borrow().iter().filter(|p| p.phase == Phase::Uploading).map(|p| p.loaded).collect();
    assert!(loaded.windows(2).all(|w| w[0] <= w[1]), "progress went back: {loaded:?}");
}

#[tokio::test]
async fn init_is_asked_again_only_once() {
    let data = bytes((2 * MIB) as usize, 19);
    let env = Scripted::new(data.clone(), finished_by_another_upload(0, r#"{"code":0}"#));
    let error = upload(&env, &file(&data), &options()).await.unwrap_err();
    assert_eq!((error.step, error.code()), (Step::Part, Some(-10005)));
    assert!(!error.can_retry());
    assert_eq!(env.count("InitUploadEx"), 2);
    assert_eq!(env.count("FinishUploadEx"), 0);
}

#[tokio::test]
async fn a_resumed_part_size_outside_what_sessions_have_fails_before_any_part() {
    let data = bytes(4096, 20);
    for size in [1, 64 * MIB] {
        let init = format!(r#"{{"code":1,"dataSize":{size},"listParts":[]}}"#);
        let env = Scripted::new(data.clone(), move |_, _| json(&init));
        let error = upload(&env, &file(&data), &options()).await.unwrap_err();
        assert_eq!(env.actions(), ["InitUploadEx"], "nothing after the answer");
        assert_eq!(error.step, Step::Init);
        assert!(matches!(error.kind, ErrorKind::Malformed { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(&format!("code 1 with dataSize {size}, outside the 524288–1048576 bytes")), "{message}");
        assert!(message.contains(&format!(r#""dataSize":{size}"#)), "the answer is quoted: {message}");
    }
    // A size only InitUpload opens sessions with is adopted.
    let data = bytes((2 * MIB) as usize, 21);
    let env = Scripted::new(data.clone(), accepting(r#"{"code":1,"dataSize":786432,"listParts":[]}"#));
    upload(&env, &file(&data), &options()).await.unwrap();
    let sizes: Vec<String> = env.sent.borrow().iter().filter(|s| s.action == "UploadPartEx").map(|s| s.param("dataSize").to_string()).collect();
    assert_eq!(sizes, ["786432", "786432", "524288"]);
}

#[tokio::test]
async fn a_signature_too_long_to_be_one_fails_before_any_request() {
    let data = bytes(1000, 22);
    let env = Scripted::new(data.clone(), |_, _| panic!("no request with that signature"));
    *env.signatures.borrow_mut() = vec!["A".repeat(10 << 20)];
    let too_long = upload_signature(&"A".repeat(10 << 20), &file(&data)).len();
    let error = upload(&env, &file(&data), &options()).await.unwrap_err();
    assert_eq!(error.step, Step::Signature);
    assert!(!error.can_retry());
    assert_eq!(error.to_string(), format!("getSignature failed: it returned {too_long} bytes, and a signature is at most 4096"));
    // The longest one taken is sent: a label that makes the signature exactly 4096 bytes long.
    let label = (1..4096).map(|n| "A".repeat(n)).find(|l| upload_signature(l, &file(&data)).len() == 4096).expect("some label length gives 4096");
    let env = Scripted::new(data.clone(), accepting(r#"{"code":0}"#));
    *env.signatures.borrow_mut() = vec![label];
    upload(&env, &file(&data), &options()).await.unwrap();
    assert_eq!(env.sent.borrow()[0].param("signature").len(), 4096);
}

#[tokio::test]
async fn transient_failures_are_retried_with_growing_backoff_and_progress_never_counts_twice() {
    let data = bytes((3 * MIB) as usize, 5);
    let failures_left = Cell::new(4);
    let fail_kinds = RefCell::new(vec![
        Err(EnvError::Failed("connection reset".into())),
        Ok(HttpReply::new(503, "<html>Service Unavailable</html>")),
        json(r#"{"code":-10004,"message":"cache write failed","canRetry":1}"#),
        json(r#"{"code":-10006,"message":"md5 mismatch","canRetry":1}"#),
    ]);
    let accept = accepting(r#"{"code":0}"#);
    let env = Scripted::new(data.clone(), |sent, body| {
        if sent.action == "UploadPartEx" && sent.param("offset") == "1048576" && failures_left.get() > 0 {
            failures_left.set(failures_left.get() - 1);
            return fail_kinds.borrow_mut().remove(0);
        }
        accept(sent, body)
    });
    let opts = Options { backoff: Backoff { base_ms: 100, max_ms: 10_000 }, ..options() };
    let result = upload(&env, &file(&data), &opts).await.unwrap();
    assert_eq!(env.count("UploadPartEx"), 3 + 4);
    // Equal jitter with random 0.5: 75% of 100, 200, 400, 800.
    assert_eq!(*env.sleeps.borrow(), [75, 150, 300, 600]);
    assert_eq!(result.uploaded_bytes, data.len() as u64);
    let loaded: Vec<u64> = env.progress.borrow().iter().filter(|p| p.phase == Phase::Uploading).map(|p| p.loaded).collect();
    assert!(loaded.windows(2).all(|w| w[0] <= w[1]), "progress went back: {loaded:?}");
    assert_eq!(loaded.last(), Some(&(data.len() as u64)));
    assert_eq!(loaded.len(), 4, "one report at the start and one per acknowledged part: {loaded:?}");
}

#[tokio::test]
async fn a_retry_after_is_waited_and_rate_limits_spend_no_retry() {
    let data = bytes((2 * MIB) as usize, 6);
    let answers = RefCell::new(vec![
        // 4400 three times: more than the one retry allowed, none of them spends it.
        json(r#"{"code":4400,"message":"too many calls, try again in a minute","canRetry":1}"#),
        json(r#"{"code":4400,"message":"too many calls","canRetry":1}"#),
        json(r#"{"code":4400,"message":"too many calls","canRetry":1}"#),
        Ok(HttpReply { retry_after: Some("7".into()), ..HttpReply::new(503, "busy") }),
    ]);
    let accept = accepting(r#"{"code":0}"#);
    let env = Scripted::new(data.clone(), |sent, body| match sent.action.as_str() {
        "UploadPartEx" if sent.param("offset") == "1048576" && !answers.borrow().is_empty() => answers.borrow_mut().remove(0),
        _ => accept(sent, body),
    });
    let opts = Options { concurrency: 1, retries: 1, backoff: Backoff { base_ms: 100, max_ms: 10_000 }, ..options() };
    let result = upload(&env, &file(&data), &opts).await.unwrap();
    assert_eq!(result.uploaded_bytes, data.len() as u64);
    // Rate limits back off on their own count (75% of 100, 200, 400); the 503 waits what it asked.
    assert_eq!(*env.sleeps.borrow(), [75, 150, 300, 7_000]);
    assert_eq!(env.count("UploadPartEx"), 2 + 4);
}

#[tokio::test]
async fn an_authorisation_refused_by_http_fails_at_once() {
    for status in [401, 403] {
        let data = bytes(1000, 2);
        let env = Scripted::new(data.clone(), move |sent, _| match sent.action.as_str() {
            "InitUploadEx" => Ok(HttpReply { retry_after: Some("1".into()), ..HttpReply::new(status, "no") }),
            other => panic!("nothing after InitUploadEx: {other}"),
        });
        let error = upload(&env, &file(&data), &options()).await.unwrap_err();
        assert!(env.sleeps.borrow().is_empty(), "{status} is not retried");
        assert_eq!((error.step, &error.kind), (Step::Init, &ErrorKind::Http { status, body: "no".into() }));
        assert!(!error.can_retry());
        assert_eq!(error.to_string(), format!("InitUploadEx (init step) failed: HTTP {status} instead of 200; the body began: \"no\""));
    }
}

#[tokio::test]
async fn a_file_changed_on_disk_under_the_upload_fails_as_a_read_error_not_as_damaged_parts() {
    // Read ahead before the change, the later parts go with their old MD5 and new bytes, which a
    // server refuses as damaged; the part read again has another MD5, and nothing is sent again.
    let data = bytes((3 * MIB) as usize, 9);
    let checking = |sent: &scripted::Sent, body: Option<&[u8]>| match sent.action.as_str() {
        "UploadPartEx" if sent.param("dataMd5") != md5_hex(body.unwrap()) => json(r#"{"code":-10006,"message":"md5 mismatch","canRetry":1}"#),
        _ => accepting(r#"{"code":0}"#)(sent, body),
    };
    let mut env = Scripted::new(data.clone(), checking);
    env.edited = Some((2, bytes(data.len(), 10)));
    // Three parts read ahead at once: lanes not fitted to the link, which would read one first.
    let error = upload(&env, &file(&data), &Options { adapt_lanes: false, ..options() }).await.unwrap_err();
    assert_eq!(error.step, Step::Part);
    assert!(matches!(error.kind, ErrorKind::Read(_)), "{error:?}");
    assert!(error.to_string().contains("changed on disk while it was uploaded"), "{error}");
    assert!(env.sleeps.borrow().is_empty(), "no retry");
    assert_eq!(env.actions(), ["InitUploadEx", "UploadPartEx", "UploadPartEx", "UploadPartEx"], "each part sent once");
}

#[tokio::test]
async fn retries_are_bounded_then_the_last_error_is_reported() {
    let data = bytes(2000, 6);
    let env = Scripted::new(data.clone(), |sent, _| match sent.action.as_str() {
        "InitUploadEx" => Ok(HttpReply::new(500, "<html><body>Internal Server Error</body></html>")),
        _ => panic!("nothing is sent after init fails"),
    });
    let opts = Options { retries: 3, ..options() };
    let error = upload(&env, &file(&data), &opts).await.unwrap_err();
    assert_eq!(env.count("InitUploadEx"), 4, "the first send and 3 retries");
    assert_eq!(error.step, Step::Init);
    assert_eq!(error.attempts, 4);
    assert!(matches!(&error.kind, ErrorKind::Http { status: 500, body } if body.contains("Internal Server Error")));
    assert!(error.can_retry());
    assert!(error.to_string().contains("after 4 attempts: HTTP 500"), "{error}");
}

#[tokio::test]
async fn an_error_that_cannot_be_retried_fails_at_once_and_stops_the_other_parts() {
    let data = bytes((6 * MIB) as usize, 7);
    let accept = accepting(r#"{"code":0}"#);
    let env = Scripted::new(data.clone(), |sent, body| {
        if sent.action == "UploadPartEx" && sent.param("offset") == "0" {
            return json(r#"{"code":-10003,"message":"offset is not a multiple of dataSize","canRetry":0}"#);
        }
        accept(sent, body)
    });
    let opts = Options { concurrency: 2, ..options() };
    let error = upload(&env, &file(&data), &opts).await.unwrap_err();
    assert_eq!(error.step, Step::Part);
    assert_eq!(error.code(), Some(-10003));
    assert!(!error.can_retry());
    assert!(env.sleeps.borrow().is_empty(), "no retry of a canRetry 0 answer");
    assert!(env.count("UploadPartEx") <= 2, "parts stop being sent once one failed: {:?}", env.actions());
    assert_eq!(env.count("FinishUploadEx"), 0);
}

#[tokio::test]
async fn a_refused_signature_is_refreshed_once_and_the_call_repeated() {
    let data = bytes(1500, 8);
    let accept = accepting(r#"{"code":0}"#);
    let env = Scripted::new(data.clone(), |sent, body| {
        if sent.signature_label() == "sig-1" {
            return json(r#"{"code":-10002,"message":"signature expired","canRetry":0}"#);
        }
        accept(sent, body)
    });
    let result = upload(&env, &file(&data), &options()).await.unwrap();
    assert_eq!(env.signature_calls.get(), 2);
    assert_eq!(env.actions(), ["InitUploadEx", "InitUploadEx", "UploadPartEx", "FinishUploadEx"]);
    assert!(env.sent.borrow()[1..].iter().all(|s| s.signature_label() == "sig-2"));
    assert_eq!(result.uploaded_bytes, 1500);
}

#[tokio::test]
async fn a_second_refusal_fails_with_the_servers_code() {
    let data = bytes(1500, 9);
    let env = Scripted::new(data.clone(), |_, _| json(r#"{"code":-10002,"message":"bad signature","canRetry":0}"#));
    let error = upload(&env, &file(&data), &options()).await.unwrap_err();
    assert_eq!(env.signature_calls.get(), 2);
    assert_eq!(env.count("InitUploadEx"), 2);
    assert_eq!((error.step, error.code()), (Step::Init, Some(-10002)));
}

#[tokio::test]
async fn parts_refused_together_share_one_refresh() {
    let data = bytes((4 * MIB) as usize, 10);
    let accept = accepting(r#"{"code":0}"#);
    let env = Scripted::new(data.clone(), |sent, body| {
        if sent.action == "UploadPartEx" && sent.signature_label() == "sig-1" {
            return json(r#"{"code":-10002,"message":"expired","canRetry":0}"#);
        }
        accept(sent, body)
    });
    // Four parts in flight at once from the start (not one first to measure the link).
    let result = upload(&env, &file(&data), &Options { concurrency: 4, adapt_lanes: false, ..options() }).await.unwrap();
    assert_eq!(env.signature_calls.get(), 2, "four refusals, one refresh");
    assert_eq!(env.count("UploadPartEx"), 8);
    assert_eq!(result.uploaded_bytes, 4 * MIB);
}

#[tokio::test]
async fn parts_in_flight_never_exceed_the_concurrency() {
    let data = bytes((10 * MIB) as usize, 11);
    // Fitted to the link (the default), a fast one (a part acknowledged every 50 ms): more than
    // one part in flight once the first is acknowledged, and never more than `concurrency`.
    for (concurrency, adapt_lanes) in [(1, false), (3, false), (6, false), (3, true), (6, true)] {
        let env = Scripted::new(data.clone(), accepting(r#"{"code":0}"#));
        upload(&env, &file(&data), &Options { concurrency, adapt_lanes, ..options() }).await.unwrap();
        let most = env.max_in_flight.get();
        match adapt_lanes {
            false => assert_eq!(most, concurrency, "concurrency {concurrency}"),
            true => assert!(most > 1 && most <= concurrency, "concurrency {concurrency}, fitted to the link: {most}"),
        }
        let offsets: HashSet<String> = env.sent.borrow().iter().map(|s| s.param("offset").to_string()).collect();
        assert_eq!(offsets.len(), 11, "10 parts plus the calls without an offset");
    }
}

#[tokio::test]
async fn abort_stops_sending_at_once() {
    let data = bytes((8 * MIB) as usize, 12);
    let env = Scripted::new(data.clone(), accepting(r#"{"code":0}"#));
    env.abort_after_sends.set(Some(3));
    let error = upload(&env, &file(&data), &Options { concurrency: 2, ..options() }).await.unwrap_err();
    assert!(error.is_abort(), "{error:?}");
    assert_eq!(env.sent.borrow().len(), 3, "no request after the abort");
}

#[tokio::test]
async fn malformed_answers_fail_with_what_came_back() {
    let data = bytes(10, 13);
    let env = Scripted::new(data.clone(), |_, _| json("<!DOCTYPE html><title>Login</title>"));
    let error = upload(&env, &file(&data), &options()).await.unwrap_err();
    assert_eq!(env.count("InitUploadEx"), 1, "a 200 that is not JSON is not retried");
    assert!(matches!(&error.kind, ErrorKind::Malformed { body, .. } if body.contains("<title>Login</title>")));
    assert!(error.to_string().contains("not a protocol answer"), "{error}");
}

#[tokio::test]
async fn an_empty_file_is_refused_before_any_request() {
    let env = Scripted::new(Vec::new(), |_, _| panic!("no request for an empty file"));
    let error = upload(&env, &FileInfo::new("empty.mp4", 0, sha1_hex(b"")), &options()).await.unwrap_err();
    assert_eq!((error.step, error.kind.clone()), (Step::Hash, ErrorKind::EmptyFile));
    assert_eq!(env.signature_calls.get(), 0);
}

#[tokio::test]
async fn finish_refusing_missing_parts_is_fatal() {
    let data = bytes(10, 14);
    let accept = accepting(r#"{"code":0}"#);
    let env = Scripted::new(data.clone(), |sent, body| {
        if sent.action == "FinishUploadEx" {
            return json(r#"{"code":-10003,"message":"1 part missing","canRetry":0}"#);
        }
        accept(sent, body)
    });
    let error = upload(&env, &file(&data), &options()).await.unwrap_err();
    assert_eq!((error.step, error.code()), (Step::Finish, Some(-10003)));
    assert!(error.to_string().contains("1 part missing"));
}

#[tokio::test]
async fn a_part_body_the_file_no_longer_gives_fails_at_once_as_a_read_error() {
    let data = bytes((3 * MIB) as usize, 16);
    let accept = accepting(r#"{"code":0}"#);
    let env = Scripted::new(data.clone(), |sent, body| {
        if sent.action == "UploadPartEx" && sent.param("offset") == "1048576" {
            return Err(EnvError::Unreadable("NotReadableError: the file changed".into()));
        }
        accept(sent, body)
    });
    let error = upload(&env, &file(&data), &Options { concurrency: 1, ..options() }).await.unwrap_err();
    assert_eq!(error.step, Step::Part);
    assert!(matches!(&error.kind, ErrorKind::Read(why) if why.contains("the file changed")), "{error:?}");
    assert!(env.sleeps.borrow().is_empty(), "not retried: the same body cannot be read again");
    assert_eq!(env.count("UploadPartEx"), 2);
    assert_eq!(env.count("FinishUploadEx"), 0);
    assert!(error.to_string().contains("could not read the file"), "{error}");
}

// ---------------------------------------------------------------- the key flavours

fn meta() -> Meta {
    Meta { class_id: Some(12), tags: vec!["talk".into(), "2026".into()], transcode: true, ..Meta::NONE }
}

/// A server speaking InitUpload / UploadPart / FinishUpload, checking what a key flavour must send.
fn server_api(init: &'static str) -> impl Fn(&scripted::Sent, Option<&[u8]>) -> Result<HttpReply, EnvError> {
    move |sent, body| {
        assert!(sent.common, "{} must be signed with the key by the sender", sent.action);
        assert!(!sent.params.contains_key("signature"), "no UGC signature in the server API");
        match sent.action.as_str() {
            "InitUpload" => {
                // Seed 002: the name without its extension, the type apart.
                assert_eq!((sent.method, sent.param("fileName"), sent.param("fileType")), (Method::Get, "Holiday", "mp4"));
                assert_eq!((sent.param("classId"), sent.param("tags.0"), sent.param("tags.1")), ("12", "talk", "2026"));
                assert_eq!((sent.param("isTranscode"), sent.params.get("isScreenshot")), ("1", None), "the flags set, and only those");
                json(init)
            }
            "UploadPart" => {
                let body = body.expect("UploadPart carries a body");
                assert_eq!(sent.method, Method::Post);
                assert_eq!(sent.param("dataSize"), body.len().to_string());
                assert_eq!(sent.param("dataMd5"), md5_hex(body), "the MD5 of this part, not of the file");
                json(r#"{"code":0,"message":"","codeDesc":"","canRetry":0}"#)
            }
            "FinishUpload" => json(r#"{"code":0,"message":"","codeDesc":"","canRetry":0,"fileId":"5285890781763144364","url":"http://vod.test/vod/5285890781763144364/f0.mp4"}"#),
            other => panic!("unexpected action {other}"),
        }
    }
}

#[tokio::test]
async fn the_server_flavour_asks_no_signature_and_names_its_own_actions() {
    let data = bytes((2 * MIB + 10) as usize, 20);
    let env = Scripted::new(data.clone(), server_api(r#"{"code":0,"message":"","canRetry":0}"#));
    let result = upload_flavour(&env, &file(&data), &Options { meta: meta(), ..options() }, Flavour::Server).await.unwrap();
    assert_eq!(env.signature_calls.get(), 0);
    assert_eq!(env.actions(), ["InitUpload", "UploadPart", "UploadPart", "UploadPart", "FinishUpload"]);
    assert_eq!((result.uploaded_bytes, result.instant, result.verify_content), (data.len() as u64, false, None));
}

#[tokio::test]
async fn the_server_flavour_resumes_with_a_part_size_only_initupload_allows() {
    let data = bytes(1_500_000, 21);
    let init = r#"{"code":1,"dataSize":600000,"listParts":[{"offset":600000,"dataSize":600000,"dataMd5":"m"}]}"#;
    let env = Scripted::new(data.clone(), server_api(init));
    let result = upload_flavour(&env, &file(&data), &Options { meta: meta(), ..options() }, Flavour::Server).await.unwrap();
    let offsets: Vec<String> = env.sent.borrow().iter().filter(|s| s.action == "UploadPart").map(|s| s.param("offset").to_string()).collect();
    assert_eq!(offsets, ["0", "1200000"]);
    assert_eq!((result.resumed_bytes, result.uploaded_bytes), (600_000, 900_000));
}

#[tokio::test]
async fn a_refused_key_fails_at_once_with_no_part_sent_and_no_signature_asked() {
    let data = bytes((3 * MIB) as usize, 22);
    for (code, message) in [(-10002, "signature mismatch"), (4500, "Nonce already used")] {
        let body = format!(r#"{{"code":{code},"message":"{message}","canRetry":0}}"#);
        let env = Scripted::new(data.clone(), |_, _| json(&body));
        let error = upload_flavour(&env, &file(&data), &Options { meta: meta(), ..options() }, Flavour::Server).await.unwrap_err();
        assert_eq!(env.actions(), ["InitUpload"], "{code}");
        assert_eq!((error.step, error.code(), env.signature_calls.get()), (Step::Init, Some(code), 0));
        assert!(env.sleeps.borrow().is_empty());
    }
}

#[tokio::test]
async fn the_server_flavour_retries_transient_failures_like_the_browser() {
    let data = bytes((2 * MIB) as usize, 23);
    let failures = Cell::new(2);
    let accept = server_api(r#"{"code":0}"#);
    let env = Scripted::new(data.clone(), |sent, body| {
        if sent.action == "UploadPart" && sent.param("offset") == "0" && failures.get() > 0 {
            failures.set(failures.get() - 1);
            return json(r#"{"code":-10004,"message":"busy","canRetry":1}"#);
        }
        accept(sent, body)
    });
    let opts = Options { backoff: Backoff { base_ms: 100, max_ms: 10_000 }, ..options() };
    upload_flavour(&env, &file(&data), &Options { meta: meta(), ..opts.clone() }, Flavour::Server).await.unwrap();
    assert_eq!(*env.sleeps.borrow(), [75, 150]);
    assert_eq!(env.count("UploadPart"), 4);
}

/// A MultipartUploadVodFile server over `data`: it holds `held` bytes at first, stores a part only at
/// the offset it expects, and answers the next offset as a string; `flag 1` once it has everything.
fn multipart_server(size: u64, held: u64) -> impl Fn(&scripted::Sent, Option<&[u8]>) -> Result<HttpReply, EnvError> {
    let expected = Cell::new(held);
    move |sent, body| {
        assert_eq!((sent.action.as_str(), sent.method, sent.common), ("MultipartUploadVodFile", Method::Post, true));
        assert_eq!((sent.param("fileName"), sent.param("fileType"), sent.param("fileSize")), ("Holiday", "mp4", size.to_string().as_str()));
        let body = body.expect("a part");
        let offset: u64 = sent.param("offset").parse().unwrap();
        assert_eq!(sent.param("dataSize"), body.len().to_string());
        if offset == 0 {
            assert_eq!(body.len() as u64, KIB512.min(size), "the first part is 524288 bytes");
        }
        if offset == expected.get() {
            expected.set(offset + body.len() as u64);
        }
        if expected.get() == size {
            return json(r#"{"code":0,"message":"","flag":1,"fileId":"5285890781763144364","url":"http://vod.test/vod/5285890781763144364/f0.mp4"}"#);
        }
        json(&format!(r#"{{"code":0,"message":"","flag":0,"offset":"{}"}}"#, expected.get()))
    }
}

fn parts_sent(env: &Scripted) -> Vec<(u64, usize)> {
    env.sent.borrow().iter().map(|s| (s.param("offset").parse().unwrap(), s.body_len.unwrap())).collect()
}

#[tokio::test]
async fn multipart_sends_contiguous_parts_where_the_server_says() {
    let data = bytes((3 * MIB + 100) as usize, 24);
    let size = data.len() as u64;
    let env = Scripted::new(data.clone(), multipart_server(size, 0));
    let opts = Options { part_size: MIB, concurrency: 4, ..options() };
    let result = upload_flavour(&env, &file(&data), &Options { meta: meta(), ..opts.clone() }, Flavour::Multipart).await.unwrap();
    let half = KIB512 as usize;
    assert_eq!(parts_sent(&env), [(0, half), (KIB512, MIB as usize), (3 * KIB512, MIB as usize), (5 * KIB512, half + 100)]);
    assert_eq!(env.max_in_flight.get(), 1, "one part at a time");
    assert_eq!(env.signature_calls.get(), 0);
    assert_eq!((result.file_id.as_str(), result.instant, result.resumed_bytes, result.uploaded_bytes), ("5285890781763144364", false, 0, size));
}

#[tokio::test]
async fn multipart_resumes_by_sending_the_first_part_again_and_following_the_offset() {
    let data = bytes((3 * MIB) as usize, 25);
    let size = data.len() as u64;
    let env = Scripted::new(data.clone(), multipart_server(size, 2 * MIB));
    let opts = Options { part_size: 5 * MIB, ..options() };
    let result = upload_flavour(&env, &file(&data), &Options { meta: meta(), ..opts.clone() }, Flavour::Multipart).await.unwrap();
    assert_eq!(parts_sent(&env), [(0, KIB512 as usize), (2 * MIB, MIB as usize)]);
    assert_eq!((result.resumed_bytes, result.uploaded_bytes, result.instant), (2 * MIB, MIB, false));
    let loaded: Vec<u64> = env.progress.borrow().iter().filter(|p| p.phase == Phase::Uploading).map(|p| p.loaded).collect();
    assert!(loaded.windows(2).all(|w| w[0] <= w[1]), "{loaded:?}");
}

#[tokio::test]
async fn multipart_instant_and_a_server_that_goes_round_in_circles() {
    let data = bytes((2 * MIB) as usize, 26);
    let size = data.len() as u64;
    let env = Scripted::new(data.clone(), multipart_server(size, size));
    let result = upload_flavour(&env, &file(&data), &Options { meta: meta(), ..options() }, Flavour::Multipart).await.unwrap();
    assert_eq!((result.instant, result.uploaded_bytes, env.sent.borrow().len()), (true, 0, 1));

    // A server that never takes a part: it names offset 1048576 to the part at 0, then again to the part at 1048576.
    let env = Scripted::new(data.clone(), |_, _| json(r#"{"code":0,"flag":0,"offset":"1048576"}"#));
    let error = upload_flavour(&env, &file(&data), &Options { meta: meta(), ..options() }, Flavour::Multipart).await.unwrap_err();
    assert_eq!(error.step, Step::Part);
    assert!(matches!(&error.kind, ErrorKind::Malformed { reason, .. } if reason.contains("it had just asked for")), "{error}");
    assert_eq!(env.sent.borrow().len(), 2);

    let env = Scripted::new(data.clone(), |_, _| json(r#"{"code":-29200,"message":"sha1 mismatch","canRetry":0}"#));
    let error = upload_flavour(&env, &file(&data), &Options { meta: meta(), ..options() }, Flavour::Multipart).await.unwrap_err();
    assert_eq!((error.step, error.code(), env.sent.borrow().len()), (Step::Part, Some(-29200), 1));
}
