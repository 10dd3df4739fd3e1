//! Rate limits (`docs/protocol.md`, "Rate limits"), `vod-server sign`'s optional fields, and the name
//! rule of 40 characters, against the real binary.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::keyed::*;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const ID2: &str = "AKIDsecondkey";
const KEY2: &str = "second-secret-key";

fn init_query(sha: &str) -> String {
    format!("fileName=a.mp4&fileType=mp4&fileSha={sha}&fileSize=64&dataSize={HALF}")
}

#[test]
fn init_upload_is_limited_to_100_a_minute_per_secret_id() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--key", &format!("{ID2}:{KEY2}")]);
    let started = Instant::now();
    let shas: Vec<String> = (0..150).map(|i| sha1_hex(&data(64, 1000 + i))).collect();
    let mut answers = Vec::new();
    for sha in &shas {
        let path = keyed_path(&s, "GET", "InitUpload", &init_query(sha), (SECRET_ID, SECRET_KEY));
        answers.push(s.http("GET", &path, &[], b"").expect("http"));
    }
    // The limit is about calls within a minute: the 150 must have been.
    assert!(started.elapsed() < Duration::from_secs(55), "150 calls took {:?}", started.elapsed());
    let codes: Vec<i64> = answers.iter().map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["code"].as_i64().unwrap()).collect();
    assert!(codes[..100].iter().all(|c| *c == 0), "{codes:?}");
    assert!(codes[100..].iter().all(|c| *c == 4400), "{codes:?}");
    let refused: serde_json::Value = serde_json::from_slice(&answers[100].body).unwrap();
    assert_code(&refused, 4400, 1, "try again in");
    let after: u64 = answers[100].header("Retry-After").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&after), "{after}");
    // Nothing of a refused call is stored.
    let d = keyed(&s, "GET", "DescribeVodInfo", &format!("fileSha={}", shas[100]), b"");
    assert_code(&d, -10003, 0, "");
    let d = keyed(&s, "GET", "DescribeVodInfo", &format!("fileSha={}", shas[99]), b"");
    assert_eq!(d["state"], "uploading", "{d}");
    // Another key is not affected; the limited one still finishes what it opened (FinishUpload and
    // UploadPart have limits of their own).
    let other = s.call("GET", &keyed_path(&s, "GET", "InitUpload", &init_query(&shas[120]), (ID2, KEY2)), b"");
    assert_eq!(other["code"], 0, "{other}");
    let bytes = data(64, 1000);
    let q = format!("fileSha={}&offset=0&dataSize=64&dataMd5={}", shas[0], md5_hex(&bytes));
    assert_eq!(keyed(&s, "POST", "UploadPart", &q, &bytes)["code"], 0);
}

#[test]
fn parts_and_the_ugc_calls_are_limited_per_key_and_per_uid() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--rate-upload-part", "2", "--rate-init-upload-ex", "3", "--rate-finish-upload-ex", "1"]);
    // UploadPart per SecretId: the third part in a minute is refused before it is stored.
    let bytes = data(3 * HALF, 7);
    let sha = sha1_hex(&bytes);
    assert_eq!(keyed(&s, "GET", "InitUpload", &format!("fileName=p&fileType=mp4&fileSha={sha}&fileSize={}&dataSize={HALF}", bytes.len()), b"")["code"], 0);
    for (i, part) in bytes.chunks(HALF).enumerate() {
        let q = format!("fileSha={sha}&offset={}&dataSize={HALF}&dataMd5={}", i * HALF, md5_hex(part));
        let v = keyed(&s, "POST", "UploadPart", &q, part);
        assert_eq!(v["code"], if i < 2 { 0 } else { 4400 }, "part {i}: {v}");
    }
    let d = keyed(&s, "GET", "DescribeVodInfo", &format!("fileSha={sha}"), b"");
    assert_eq!(d["sessions"][0]["heldBytes"], 2 * HALF, "{d}");
    // InitUploadEx per uid: alice's fourth is refused, bob is served.
    for i in 0..4 {
        let f = data(100, 50 + i);
        let v = s.call("GET", &init_uri(&sha1_hex(&f), 100, HALF as u64, &sig_for(&sha1_hex(&f), "a.mp4", "alice")), b"");
        assert_eq!(v["code"], if i < 3 { 0 } else { 4400 }, "{v}");
        if i == 3 {
            assert_code(&v, 4400, 1, "uid \"alice\"");
        }
    }
    let f = data(100, 60);
    let signature = sig_for(&sha1_hex(&f), "b.mp4", "bob");
    assert_eq!(s.call("GET", &init_uri(&sha1_hex(&f), 100, HALF as u64, &signature), b"")["code"], 0);
    assert_eq!(s.call("POST", &part_uri(&sha1_hex(&f), 0, 100, &md5_hex(&f), &signature), &f)["code"], 0);
    assert_eq!(s.call("GET", &finish_uri(&sha1_hex(&f), &signature), b"")["code"], 0);
    // A refused FinishUploadEx finishes nothing: the file is still uploading under carol's limit.
    let g = data(100, 61);
    let carol = sig_for(&sha1_hex(&g), "c.mp4", "carol");
    assert_eq!(s.call("GET", &init_uri(&sha1_hex(&g), 100, HALF as u64, &carol), b"")["code"], 0);
    assert_eq!(s.call("POST", &part_uri(&sha1_hex(&g), 0, 100, &md5_hex(&g), &carol), &g)["code"], 0);
    let other = data(100, 62);
    let carol2 = sig_for(&sha1_hex(&other), "d.mp4", "carol");
    assert_eq!(s.call("GET", &finish_uri(&sha1_hex(&other), &carol2), b"")["code"], -10005);
    assert_code(&s.call("GET", &finish_uri(&sha1_hex(&g), &carol), b""), 4400, 1, "FinishUploadEx");
    let d = keyed(&s, "GET", "DescribeVodInfo", &format!("fileSha={}", sha1_hex(&g)), b"");
    assert_eq!(d["state"], "uploading", "{d}");
}

fn sign_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vod-server"))
        .arg("sign")
        .args(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
        .args(args)
        .output()
        .expect("run vod-server sign")
}

#[test]
fn sign_issues_every_optional_field_and_describe_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    // A 14-character Chinese title with .mp4: 18 characters, 46 bytes.
    let name = "我们的夏天旅行记录第一集海边.mp4";
    let bytes = data(5000, 9);
    let sha = sha1_hex(&bytes);
    let out = sign_cli(&[
        "--file-sha", &sha, "--file-name", name, "--uid", "dora", "--lifetime", "600", "--class-id", "12",
        "--tag", "travel", "--tag", "海", "--transcode", "1", "--screenshot", "0", "--watermark", "1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let signature = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let original = String::from_utf8(STANDARD.decode(&signature).unwrap()[20..].to_vec()).unwrap();
    let fields: std::collections::HashMap<String, String> = form_urlencoded::parse(original.as_bytes()).into_owned().collect();
    let (t, e): (i64, i64) = (fields["t"].parse().unwrap(), fields["e"].parse().unwrap());
    assert_eq!(e - t, 600);
    for (k, v) in [("uid", "dora"), ("cid", "12"), ("tag.0", "travel"), ("tag.1", "海"), ("tc", "1"), ("ss", "0"), ("wm", "1"), ("f", name), ("ft", "mp4")] {
        assert_eq!(fields.get(k).map(String::as_str), Some(v), "{k} in {original}");
    }
    let fin = upload_ugc(&s, &bytes, &signature);
    assert_eq!(fin["code"], 0, "{fin}");
    let d = keyed(&s, "GET", "DescribeVodInfo", &format!("fileId={}", fin["fileId"].as_str().unwrap()), b"");
    let m = &d["meta"];
    assert_eq!((m["fileName"].as_str(), m["classId"].as_u64(), m["tags"].clone()), (Some(name), Some(12), serde_json::json!(["travel", "海"])), "{d}");
    assert_eq!((m["isTranscode"].as_u64(), m["isScreenshot"].as_u64(), m["isWatermark"].as_u64(), m["uid"].as_str()), (Some(1), Some(0), Some(1), Some("dora")), "{d}");
    // Refused: a lifetime over 90 days, a flag other than 0/1, a name of 41 characters.
    assert!(!sign_cli(&["--file-sha", &sha, "--file-name", "a.mp4", "--lifetime", "7776001"]).status.success());
    assert!(!sign_cli(&["--file-sha", &sha, "--file-name", "a.mp4", "--transcode", "2"]).status.success());
    let long = "字".repeat(37) + ".mp4";
    assert!(!sign_cli(&["--file-sha", &sha, "--file-name", &long]).status.success());
    assert!(sign_cli(&["--file-sha", &sha, "--file-name", &("字".repeat(36) + ".mp4")]).status.success());
    // The server API's fileName: 40 characters too, with or without its extension.
    let other = data(10, 10);
    let q = |name: &str| format!("fileName={}&fileType=mp4&fileSha={}&fileSize=10&dataSize={HALF}", enc(name), sha1_hex(&other));
    assert_code(&keyed(&s, "GET", "InitUpload", &q(&"字".repeat(41)), b""), -10003, 0, "41 characters");
    assert_eq!(keyed(&s, "GET", "InitUpload", &q("我们的夏天旅行记录第一集海边"), b"")["code"], 0);
}
