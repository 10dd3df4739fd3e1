//! Upload-complete events and seed 000's notifyUrl callback (`docs/protocol.md`, "Events"), against
//! the real binary and a receiver on loopback: written with the finish, signed, retried, surviving
//! SIGKILL; and PullEvents / ConfirmEvents for a backend without a webhook.

mod common;

use common::keyed::*;
use common::receiver::{Received, Receiver};
use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};
use vod_server::events;
use vod_server::sign::{self, SignParams};

const EVENT_KEY: &str = "an-event-key-of-the-server";

fn assert_signed(r: &Received, key: &str) -> Value {
    let header = r.header(events::SIGNATURE_HEADER).expect("the MAC header");
    assert!(events::verify(key, &r.body, header), "the MAC does not verify: {header}");
    // Any other key, or one byte changed, does not.
    assert!(!events::verify("another-key", &r.body, header));
    let mut changed = r.body.clone();
    changed[1] ^= 1;
    assert!(!events::verify(key, &changed, header));
    let v = r.json();
    assert_eq!(r.header(events::EVENT_ID_HEADER), v["eventId"].as_str(), "{v}");
    v
}

#[test]
fn an_event_for_every_finished_file_is_signed_retried_and_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let port = Receiver::free_port();
    let hook = format!("http://127.0.0.1:{port}/hook");
    let flags = ["--notify-url", hook.as_str(), "--event-key", EVENT_KEY];
    let s = Server::start(dir.path(), &flags);
    // The server API, a name without its extension (seed 002's example: the type is in fileType).
    let a = data(700_000, 1);
    let meta = "fileName=clip&fileType=mp4&classId=5&tags.0=sea&tags.1=summer&isTranscode=1&isWatermark=1";
    let fin = upload_keyed(&s, &a, meta);
    assert_eq!(fin["code"], 0, "{fin}");
    // Nobody listens yet: the attempt fails, the event stays in the outbox. SIGKILL then.
    assert!(wait_for_log(&s, "not delivered", Duration::from_secs(15)), "{}", s.log());
    s.kill();
    let rx = Receiver::start(port, |i| if i == 1 { 500 } else { 200 });
    let s = Server::start(dir.path(), &flags);
    let got = rx.wait_for(1, Duration::from_secs(15));
    assert_eq!(got.len(), 1, "the event did not arrive after the restart; log: {}", s.log());
    assert_eq!(got[0].path, "/hook");
    let ev = assert_signed(&got[0], EVENT_KEY);
    assert_eq!(ev["type"], "upload.complete");
    assert_eq!((ev["fileId"].clone(), ev["url"].clone()), (fin["fileId"].clone(), fin["url"].clone()), "{ev}");
    assert_eq!(ev["fileSha"], sha1_hex(&a));
    assert_eq!((ev["fileName"].as_str(), ev["fileType"].as_str(), ev["size"].as_u64()), (Some("clip"), Some("mp4"), Some(700_000)));
    assert_eq!((ev["classId"].as_u64(), ev["tags"].clone()), (Some(5), serde_json::json!(["sea", "summer"])));
    assert_eq!((ev["isTranscode"].as_u64(), ev["isScreenshot"].as_u64(), ev["isWatermark"].as_u64()), (Some(1), Some(0), Some(1)));
    assert_eq!((ev["secretId"].as_str(), ev["uid"].clone(), ev["flavour"].as_str()), (Some(SECRET_ID), Value::Null, Some("server")));
    assert!(ev["time"].as_i64().unwrap() <= sign::now_unix());
    assert!(fin["url"].as_str().unwrap().ends_with("/f0.mp4"), "{fin}");
    let d = keyed(&s, "GET", "DescribeVodInfo", &format!("fileId={}", fin["fileId"].as_str().unwrap()), b"");
    assert_eq!((d["meta"]["fileName"].as_str(), d["meta"]["isWatermark"].as_u64()), (Some("clip"), Some(1)), "{d}");

    // A UGC upload, every optional field of the signature: its receiver answers 500 once, then 200;
    // the same event (same eventId, same bytes) comes again after the backoff.
    let b = data(1000, 2);
    let p = SignParams {
        transcode: Some(false),
        screenshot: Some(true),
        watermark: Some(true),
        class_id: Some(9),
        tags: vec!["t1".into()],
        ..SignParams::new(SECRET_ID, &sha1_hex(&b), "海边.webm", "alice", 600)
    };
    let fin_b = upload_ugc(&s, &b, &sign::sign(&p, SECRET_KEY));
    assert_eq!(fin_b["code"], 0, "{fin_b}");
    let started = Instant::now();
    let got = rx.wait_for(3, Duration::from_secs(30));
    assert_eq!(got.len(), 3, "log: {}", s.log());
    let (first, again) = (assert_signed(&got[1], EVENT_KEY), assert_signed(&got[2], EVENT_KEY));
    assert_eq!(got[1].body, got[2].body, "a retry sends the same event");
    assert!(started.elapsed() >= Duration::from_secs(3), "retried after {:?}, not after a backoff", started.elapsed());
    assert_eq!((first["fileId"].clone(), first["uid"].as_str(), first["flavour"].as_str()), (fin_b["fileId"].clone(), Some("alice"), Some("ugc")));
    assert_eq!((first["fileName"].as_str(), first["classId"].as_u64(), first["tags"].clone()), (Some("海边.webm"), Some(9), serde_json::json!(["t1"])));
    assert_eq!((first["isTranscode"].as_u64(), first["isScreenshot"].as_u64(), first["isWatermark"].as_u64()), (Some(0), Some(1), Some(1)));
    assert_ne!(again["eventId"], got[0].json()["eventId"]);
    // Delivered: nothing more comes, also not after another restart.
    s.kill();
    let s = Server::start(dir.path(), &flags);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(rx.received().len(), 3, "log: {}", s.log());
}

#[test]
fn seed_000_notify_url_gets_its_callback_and_a_backend_can_pull_events() {
    let dir = tempfile::tempdir().unwrap();
    // A notify URL that is not http(s) is refused at start, naming the flag.
    let refused = Server::start_fails(&dir.path().join("refused"), &["--notify-url", "ftp://127.0.0.1/hook"]);
    assert!(refused.contains("--notify-url"), "{refused}");
    // No --notify-url: the upload events wait to be pulled; the event key is the verify key, by
    // default the secret key.
    let s = Server::start(dir.path(), &[]);
    let rx = Receiver::start(0, |_| 200);
    let bytes = data(300_000, 3);
    let sha = sha1_hex(&bytes);
    let multipart = |notify: &str| {
        let q = format!("fileName=cb.mp4&fileType=mp4&fileSha={sha}&fileSize=300000&dataSize=300000&offset=0&notifyUrl={}", enc(notify));
        keyed(&s, "POST", "MultipartUploadVodFile", &q, &bytes)
    };
    for bad in ["ftp://127.0.0.1/x", "not a url", "http://"] {
        assert_code(&multipart(bad), -25976, 0, "notifyUrl");
    }
    let cb_url = rx.url("/cb?app=7");
    let done = multipart(&cb_url);
    assert_eq!((done["code"].as_i64(), done["flag"].as_i64()), (Some(0), Some(1)), "{done}");
    let got = rx.wait_for(1, Duration::from_secs(15));
    assert_eq!(got.len(), 1, "log: {}", s.log());
    assert_eq!(got[0].path, "/cb?app=7");
    let cb = assert_signed(&got[0], SECRET_KEY);
    assert_eq!((cb["task"].as_str(), cb["status"].as_i64(), cb["data"]["ret"].as_i64()), (Some("file_upload"), Some(0), Some(0)), "{cb}");
    assert_eq!(cb["data"]["file_id"], done["fileId"]);
    let video = &cb["data"]["videoUrls"][0];
    assert_eq!((video["url"].clone(), video["sha"].as_str(), video["size"].as_u64()), (done["url"].clone(), Some(sha.as_str()), Some(300_000)));
    // The file is already there: answered at once, and its callback sent again (a new event).
    let instant = multipart(&cb_url);
    assert_eq!((instant["flag"].as_i64(), instant["fileId"].clone()), (Some(1), done["fileId"].clone()));
    let got = rx.wait_for(2, Duration::from_secs(15));
    assert_eq!(got.len(), 2);
    assert_ne!(assert_signed(&got[1], SECRET_KEY)["eventId"], cb["eventId"]);

    // A UGC upload too; both upload events are pulled, oldest first, until confirmed.
    let other = data(2000, 4);
    let fin = upload_ugc(&s, &other, &sig_for(&sha1_hex(&other), "b.mp4", "bob"));
    assert_eq!(fin["code"], 0, "{fin}");
    let pulled = keyed(&s, "GET", "PullEvents", "", b"");
    assert_eq!(pulled["code"], 0, "{pulled}");
    let events = pulled["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 2, "{pulled}");
    assert_eq!((events[0]["fileId"].clone(), events[0]["flavour"].as_str()), (done["fileId"].clone(), Some("multipart")));
    assert_eq!((events[1]["fileId"].clone(), events[1]["uid"].as_str()), (fin["fileId"].clone(), Some("bob")));
    // Paging without confirming, then confirming the first.
    let page = keyed(&s, "GET", "PullEvents", &format!("limit=1&after={}", keyed(&s, "GET", "PullEvents", "limit=1", b"")["cursor"]), b"");
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["eventId"], events[1]["eventId"]);
    let id = events[0]["eventId"].as_str().unwrap();
    assert_eq!(keyed(&s, "POST", "ConfirmEvents", &format!("eventIds={id}"), b"")["confirmed"], 1);
    assert_eq!(keyed(&s, "POST", "ConfirmEvents", &format!("eventIds={id}"), b"")["confirmed"], 0);
    // Survives a SIGKILL: what is confirmed stays so, what is not is pulled again.
    s.kill();
    let s = Server::start(dir.path(), &[]);
    let pulled = keyed(&s, "GET", "PullEvents", "", b"");
    let left: Vec<&Value> = pulled["events"].as_array().unwrap().iter().map(|e| &e["eventId"]).collect();
    assert_eq!(left, vec![&events[1]["eventId"]], "{pulled}");
    assert_code(&keyed(&s, "POST", "ConfirmEvents", "eventIds=1%3B2", b""), -10003, 0, "eventId");
    assert_code(&keyed(&s, "GET", "PullEvents", "limit=0", b""), -10003, 0, "limit");
    // Without the common parameters, nothing.
    assert_code(&s.call("GET", "/v2/index.php?Action=PullEvents", b""), -10001, 0, "");
    // The callbacks were delivered once each: nothing comes again after the restart.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(rx.received().len(), 2);
}
