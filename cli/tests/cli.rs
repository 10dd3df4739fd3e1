//! `vod-upload` against the real `vod-server` binary on a real port, in each flow (UGC, server API,
//! MultipartUploadVodFile): a fresh upload (the bytes fetched back from the url and compared), an
//! instant one, a resume after the CLI is killed mid-upload, a quarter of the calls failing, a wrong
//! key failing fast with no part sent, the metadata as DescribeVodInfo shows it, and bad arguments.
//!
//! The server binary is `target/<profile>/vod-server` (`cargo test --workspace` builds it; alone,
//! run `cargo build -p vod-server` first).

mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

/// A fresh upload of a 3 MiB + 12345 file in `flow` with `extra`, then the same file again
/// (instant): the server, for the counts of calls.
fn fresh_then_instant(flow: &str, extra: &[&str]) -> Server {
    let server = Server::start(&[]);
    let bytes = data(3 * 1_048_576 + 12_345, 1);
    let file = write_file(server.dir.path(), "fresh clip.mp4", &bytes);
    let v = result(&keyed(&server, flow, &file, extra).output().unwrap());
    assert_eq!(v["fileSha"], sha1_hex(&bytes));
    assert_eq!((v["instant"].as_bool(), v["resumedBytes"].as_u64(), v["uploadedBytes"].as_u64()), (Some(false), Some(0), Some(bytes.len() as u64)));
    let file_id = v["fileId"].as_str().unwrap();
    assert!(file_id.len() >= 19 && file_id.bytes().all(|b| b.is_ascii_digit()), "{file_id}");
    assert_eq!(server.download(v["url"].as_str().unwrap()), bytes, "the stored file is the file");

    let again = result(&keyed(&server, flow, &file, &[]).output().unwrap());
    assert_eq!((again["instant"].as_bool(), again["uploadedBytes"].as_u64()), (Some(true), Some(0)));
    assert_eq!((&again["fileId"], &again["url"]), (&v["fileId"], &v["url"]));
    server
}

#[test]
fn fresh_then_instant_ugc() {
    let server = fresh_then_instant("ugc", &["--part-size", "524288", "--concurrency", "3", "--tag", "cli", "--class-id", "4"]);
    assert_eq!(server.acknowledged("UploadPartEx"), 7);
    assert_eq!(server.sent("UploadPartEx"), 7, "nothing uploaded the second time");
}

#[test]
fn fresh_then_instant_server_api() {
    // 600000: a part size only InitUpload allows.
    let server = fresh_then_instant("server", &["--part-size", "600000", "--concurrency", "3"]);
    assert_eq!((server.sent("InitUpload"), server.acknowledged("UploadPart"), server.acknowledged("FinishUpload")), (2, 6, 2), "FinishUpload also after the instant code 2");
    assert_eq!(server.sent("UploadPart"), 6, "nothing uploaded the second time");
    assert_eq!(server.sent("UploadPartEx") + server.sent("InitUploadEx") + server.sent("MultipartUploadVodFile"), 0);
}

#[test]
fn fresh_then_instant_multipart() {
    // 524288, then parts of 1 MiB, the last one shorter: 4 parts; the second time the first part
    // is answered flag 1 at once.
    let server = fresh_then_instant("multipart", &["--part-size", "1048576"]);
    assert_eq!(server.acknowledged("MultipartUploadVodFile"), 5);
    assert_eq!(server.sent("MultipartUploadVodFile"), 5, "one part the second time");
    assert_eq!(server.sent("UploadPart") + server.sent("InitUpload"), 0);
}

/// The CLI killed once at least 4 of 17 parts of 512 KiB are stored, then run again: only the
/// missing parts are sent (and `resend` parts more: multipart sends part one again to learn where
/// to go on).
fn resume_after_kill(flow: &str, part_action: &str, resend: usize) {
    // Every call answered after 150 ms, one part at a time: the upload takes seconds.
    let server = Server::start(&["--fault-rate", "1", "--fault-kinds", "slow", "--slow-ms", "150"]);
    let bytes = data(16 * 524_288 + 77, 2);
    let file = write_file(server.dir.path(), "resume.mp4", &bytes);
    let mut child = keyed(&server, flow, &file, &["--part-size", "524288", "--concurrency", "1"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while server.acknowledged(part_action) < 4 {
        assert!(started.elapsed() < Duration::from_secs(60), "no parts acknowledged");
        assert!(child.try_wait().unwrap().is_none(), "the CLI ended before it was killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The part in flight when the CLI died may still be stored: let the server settle.
    std::thread::sleep(Duration::from_millis(500));
    let held = server.acknowledged(part_action) as u64;
    assert!((4..16).contains(&held), "{held} parts held");
    let sent_before = server.sent(part_action);

    let v = result(&keyed(&server, flow, &file, &["--part-size", "524288", "--concurrency", "4"]).output().unwrap());
    let (resumed, uploaded) = (v["resumedBytes"].as_u64().unwrap(), v["uploadedBytes"].as_u64().unwrap());
    assert_eq!(resumed, held * 524_288, "the parts held are not sent again");
    assert_eq!(resumed + uploaded, bytes.len() as u64);
    assert_eq!(server.sent(part_action) - sent_before, 17 - held as usize + resend, "only the missing parts are sent");
    assert_eq!(server.download(v["url"].as_str().unwrap()), bytes);
}

#[test]
fn resume_after_the_cli_is_killed_mid_upload_ugc() {
    resume_after_kill("ugc", "UploadPartEx", 0);
}

#[test]
fn resume_after_the_cli_is_killed_mid_upload_server_api() {
    resume_after_kill("server", "UploadPart", 0);
}

#[test]
fn resume_after_the_cli_is_killed_mid_upload_multipart() {
    resume_after_kill("multipart", "MultipartUploadVodFile", 1);
}

/// A quarter of the calls failing (every kind of fault): the upload of 7 parts goes through.
fn faults_retried(flow: &str, part_action: &str) {
    let server = Server::start(&["--fault-rate", "0.25", "--fault-seed", "7", "--slow-ms", "50"]);
    let bytes = data(6 * 524_288 + 3, 3);
    let file = write_file(server.dir.path(), "faults.mp4", &bytes);
    let output = keyed(&server, flow, &file, &["--part-size", "524288", "--retries", "12"]).output().unwrap();
    let v = result(&output);
    assert_eq!(server.download(v["url"].as_str().unwrap()), bytes);
    assert!(server.sent(part_action) > 7, "some parts were sent again: {}", server.sent(part_action));
}

#[test]
fn a_quarter_of_the_calls_failing_is_retried_through_ugc() {
    faults_retried("ugc", "UploadPartEx");
}

#[test]
fn a_quarter_of_the_calls_failing_is_retried_through_server_api() {
    faults_retried("server", "UploadPart");
}

#[test]
fn a_quarter_of_the_calls_failing_is_retried_through_multipart() {
    faults_retried("multipart", "MultipartUploadVodFile");
}

/// With --json, a failed file's one line on stdout: its path, the error, the step and the code.
fn assert_error_line(stdout: &[u8], step: &str, code: i64) {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["path"].as_str().unwrap().ends_with("wrong.mp4") && v["error"].as_str().unwrap().contains(&code.to_string()), "{v}");
    assert_eq!((&v["step"], &v["code"]), (&json!(step), &json!(code)), "{v}");
    assert!(v.get("fileId").is_none(), "{v}");
}

#[test]
fn a_wrong_key_fails_fast_with_no_part_sent() {
    let server = Server::start(&[]);
    let file = write_file(server.dir.path(), "wrong.mp4", &data(2 * 1_048_576, 4));
    let started = Instant::now();
    let output = ugc(&server, &file, &[]).env("VOD_SECRET_KEY", "not-the-key").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_error_line(&output.stdout, "init", -10002);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: InitUploadEx (init step)") && stderr.contains("-10002"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The signature is refreshed once (the protocol's rule), then the upload fails: no part goes.
    assert_eq!((server.sent("InitUploadEx"), server.sent("UploadPartEx")), (2, 0));
}

#[test]
fn a_wrong_key_fails_fast_in_the_keyed_flows() {
    for (flow, first, part) in [("server", "InitUpload (init step)", "UploadPart"), ("multipart", "MultipartUploadVodFile (part step)", "MultipartUploadVodFile")] {
        let server = Server::start(&[]);
        let file = write_file(server.dir.path(), "wrong.mp4", &data(2 * 1_048_576, 4));
        let started = Instant::now();
        let output = keyed(&server, flow, &file, &[]).env("VOD_SECRET_KEY", "not-the-key").output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{flow}");
        assert_error_line(&output.stdout, if flow == "server" { "init" } else { "part" }, -10002);
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("error: {first}")) && stderr.contains("-10002"), "{flow}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(10));
        // Refused at once, never retried round and round; no part stored (multipart: the first call
        // carries the first part, refused before it is read).
        let calls = server.sent(part) + server.sent("InitUpload");
        assert!((1..=2).contains(&calls), "{flow}: {calls} calls");
        assert_eq!(server.acknowledged(part), 0);
        if flow == "server" {
            assert_eq!(server.sent("UploadPart"), 0);
        }
    }
}

/// Every seed parameter the CLI takes, kept by the server as DescribeVodInfo shows it: class, tags,
/// the processing flags (only those asked for), the uid of a signature made from the key; the server
/// API's fileName without its extension (seeds 000 and 002), the UGC signature's `f` with it.
#[test]
fn every_seed_parameter_reaches_describe_vod_info() {
    for (flow, name) in [("server", "meta clip"), ("multipart", "meta clip"), ("ugc", "meta clip.mp4")] {
        let server = Server::start(&[]);
        let bytes = data(1_048_576 + 5, 6);
        let file = write_file(server.dir.path(), "meta clip.mp4", &bytes);
        let args = ["--part-size", "524288", "--class-id", "4", "--tag", "cli", "--tag", "two words", "--transcode", "--watermark", "--uid", "user-7"];
        let v = result(&keyed(&server, flow, &file, &args).output().unwrap());
        let info = server.describe(v["fileId"].as_str().unwrap());
        assert_eq!((&info["code"], &info["state"], &info["fileSha"], &info["size"]), (&json!(0), &json!("finished"), &json!(sha1_hex(&bytes)), &json!(bytes.len())), "{info}");
        let meta = &info["meta"];
        assert_eq!((&meta["fileName"], &meta["fileType"], &meta["classId"], &meta["tags"]), (&json!(name), &json!("mp4"), &json!(4), &json!(["cli", "two words"])), "{flow}: {info}");
        assert_eq!((&meta["isTranscode"], &meta["isScreenshot"], &meta["isWatermark"]), (&json!(1), &json!(0), &json!(1)), "{flow}: {info}");
        assert_eq!((&meta["secretId"], &meta["flavour"]), (&json!(SECRET_ID), &json!(flow)), "{info}");
        let uid = if flow == "ugc" { json!("user-7") } else { json!(null) };
        assert_eq!(meta["uid"], uid, "{flow}: the uid goes in a UGC signature only: {info}");

        // Each flag on its own: another file with --screenshot only.
        let other = write_file(server.dir.path(), "shots.mp4", &data(600_000, 7));
        let v = result(&keyed(&server, flow, &other, &["--screenshot"]).output().unwrap());
        let meta = &server.describe(v["fileId"].as_str().unwrap())["meta"];
        assert_eq!((&meta["isTranscode"], &meta["isScreenshot"], &meta["isWatermark"]), (&json!(0), &json!(1), &json!(0)), "{flow}: {meta}");
    }
}

#[test]
fn a_signature_given_is_used_as_is() {
    let server = Server::start(&[]);
    let bytes = data(700_000, 5);
    let file = write_file(server.dir.path(), "given.mp4", &bytes);
    let out = Command::new(server_binary())
        .args(["sign", "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY, "--file-sha", &sha1_hex(&bytes), "--file-name", "given.mp4"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let signature = String::from_utf8(out.stdout).unwrap().trim().to_string();
    // With a (wrong) key in the environment too: a signature given means the UGC flow, with it.
    let output = cli()
        .arg(&file)
        .args(["--endpoint", &server.endpoint(), "--signature", &signature, "--json"])
        .env("VOD_SECRET_ID", SECRET_ID)
        .env("VOD_SECRET_KEY", "not-the-key")
        .output()
        .unwrap();
    let v = result(&output);
    assert_eq!(server.download(v["url"].as_str().unwrap()), bytes);
}

#[test]
fn bad_arguments_print_usage_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "a.mp4", b"abc");
    let file = file.to_str().unwrap();
    let empty_dir = dir.path().join("nothing");
    std::fs::create_dir(&empty_dir).unwrap();
    let empty_dir = empty_dir.to_str().unwrap();
    let key = ["--secret-id", "id", "--secret-key", "k"];
    let cases: Vec<Vec<&str>> = vec![
        vec![file],
        vec![file, "--endpoint", "http://h/v2/index.php"],
        vec![file, "--endpoint", "http://h/v2/index.php", "--flow", "server", "--signature", "s"],
        [&[file, "--endpoint", "http://h/v2/index.php", "--part-size", "600000", "--flow", "ugc"][..], &key].concat(),
        [&[file, "--endpoint", "http://h/v2/index.php", "--part-size", "6000000", "--flow", "multipart"][..], &key].concat(),
        [&[file, "--endpoint", "http://h/v2/index.php", "--concurrency", "0"][..], &key].concat(),
        vec![file, "--endpoint", "http://h/v2/index.php", "--secret-id", "only-the-id"],
        vec![file, "--endpoint", "http://h/v2/index.php", "--flow", "multipart"],
        [&[file, "--endpoint", "http://h/v2/index.php", "--flow", "sideways"][..], &key].concat(),
        // notifyUrl is MultipartUploadVodFile's, and a URL.
        [&[file, "--endpoint", "http://h/v2/index.php", "--notify-url", "http://app.test/cb"][..], &key].concat(),
        [&[file, "--endpoint", "http://h/v2/index.php", "--flow", "multipart", "--notify-url", "app.test/cb"][..], &key].concat(),
        [&[file, "--endpoint", "http://h/v2/index.php", "--files-at-once", "0"][..], &key].concat(),
        vec![file, file, "--endpoint", "http://h/v2/index.php", "--signature", "s"],
        [&[empty_dir, "--endpoint", "http://h/v2/index.php"][..], &key].concat(),
    ];
    for args in cases {
        let output = cli().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        // clap prints the usage, or for a value out of range where to find it.
        assert!(stderr.starts_with("error: ") && (stderr.contains("Usage: vod-upload") || stderr.contains("'--help'")), "{args:?}: {stderr}");
    }
    let help = cli().arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("VOD_SECRET_KEY") && help.contains("visible to every user"), "{help}");
}

#[test]
fn an_unreadable_file_fails_at_the_hash_step() {
    let output = cli().args(["/nonexistent/clip.mp4", "--endpoint", "http://127.0.0.1:9/v2/index.php", "--secret-id", "a", "--secret-key", "b"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("error: hash step: could not read /nonexistent/clip.mp4"), "{stderr}");
}

#[test]
fn a_redirect_is_refused_by_the_binary_and_says_why() {
    // Answers every request with a 307 to a port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = stream.write_all(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/v2/index.php\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "redirected.mp4", &data(1000, 5));
    let output = cli()
        .arg(&file)
        .args(["--endpoint", &format!("http://{addr}/v2/index.php"), "--retries", "0", "--stall-timeout", "5"])
        .env("VOD_SECRET_ID", SECRET_ID)
        .env("VOD_SECRET_KEY", SECRET_KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("error: InitUpload (init step)") && stderr.contains("redirect (HTTP 307), which is not followed"), "{stderr}");
}

#[test]
fn sha1_prints_each_files_sha1_as_sha1sum_does_and_needs_no_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (data(1_500_000, 8), data(10, 9));
    let (pa, pb) = (write_file(dir.path(), "a.mp4", &a), write_file(dir.path(), "b.mp4", &b));
    let output = cli().arg("--sha1").arg(&pa).arg(&pb).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected = format!("{}  {}\n{}  {}\n", sha1_hex(&a), pa.display(), sha1_hex(&b), pb.display());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
}
