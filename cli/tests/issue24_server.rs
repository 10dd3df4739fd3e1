//! vod-upload against vod-server's side of issue 24: names of 40 characters, rate limits answering
//! 4400 (waited out, not failed), seed 000's notifyUrl callback.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use support::*;

/// Seed 002's rule: 40 characters, not bytes. Fourteen characters of Chinese with `.mp4` are 46 bytes:
/// the UGC signature's `f` carries all of it, the server API's `fileName` the 42 bytes without `.mp4`.
#[test]
fn a_fourteen_character_chinese_title_is_uploaded_in_every_flow() {
    let name = "盗梦空间盗梦空间盗梦空间盗梦.mp4";
    assert_eq!((name.chars().count(), name.len()), (18, 46));
    for (flow, kept) in [("server", "盗梦空间盗梦空间盗梦空间盗梦"), ("multipart", "盗梦空间盗梦空间盗梦空间盗梦"), ("ugc", name)] {
        let server = Server::start(&[]);
        let bytes = data(700_000, 50);
        let file = write_file(server.dir.path(), name, &bytes);
        let v = result(&keyed(&server, flow, &file, &[]).output().unwrap());
        assert_eq!(server.download(v["url"].as_str().unwrap()), bytes, "{flow}");
        let meta = &server.describe(v["fileId"].as_str().unwrap())["meta"];
        assert_eq!((&meta["fileName"], &meta["fileType"]), (&json!(kept), &json!("mp4")), "{flow}: {meta}");
    }
}

/// InitUpload limited to 3 a minute: a batch of 6 files gets 4400 from the 4th call, waits it out
/// (a backoff, not a failure), and every file arrives.
#[test]
fn a_batch_over_the_init_rate_limit_waits_and_finishes() {
    let server = Server::start(&["--rate-init-upload", "3"]);
    let dir = server.dir.path().join("many");
    std::fs::create_dir(&dir).unwrap();
    let files: Vec<Vec<u8>> = (0..6).map(|i| data(300_000 + i, 60 + i as u64)).collect();
    for (i, bytes) in files.iter().enumerate() {
        write_file(&dir, &format!("f{i}.mp4"), bytes);
    }
    let output = keyed(&server, "server", &dir, &["--files-at-once", "3"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> = String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 6);
    for v in &lines {
        let name = Path::new(v["path"].as_str().unwrap()).file_name().unwrap().to_str().unwrap().to_string();
        let i: usize = name.trim_start_matches('f').trim_end_matches(".mp4").parse().unwrap();
        assert_eq!(server.download(v["url"].as_str().unwrap()), files[i], "{name}");
    }
    let log = std::fs::read_to_string(server.dir.path().join("server.log")).unwrap();
    let limited = log.lines().filter(|l| l.starts_with("InitUpload ") && l.contains("code=4400")).count();
    assert!(limited >= 1, "some InitUpload calls were over the limit:\n{log}");
    assert_eq!(server.acknowledged("InitUpload"), 6);
}

/// Seed 000's `notifyUrl`, given with `--notify-url` in the multipart flow: the server POSTs its
/// `file_upload` callback there when the file is finished.
#[test]
fn multipart_with_notify_url_gets_the_seeds_callback() {
    use std::io::{Read, Write};
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let notify = format!("http://{}/vod/callback", receiver.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for mut stream in receiver.incoming().flatten() {
            let mut raw = Vec::new();
            let mut byte = [0u8; 1];
            while !raw.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                raw.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&raw).to_lowercase();
            let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap_or(0));
            let mut body = vec![0u8; len];
            let _ = stream.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = tx.send((head, body));
        }
    });
    let server = Server::start(&[]);
    let bytes = data(900_000, 70);
    let file = write_file(server.dir.path(), "notified.mp4", &bytes);
    let v = result(&keyed(&server, "multipart", &file, &["--notify-url", &notify]).output().unwrap());
    let (head, body) = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("a callback");
    assert!(head.starts_with("post /vod/callback "), "{head}");
    let callback: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((&callback["task"], &callback["status"], &callback["data"]["file_id"]), (&json!("file_upload"), &json!(0), &v["fileId"]), "{callback}");
    assert_eq!(callback["data"]["videoUrls"][0]["sha"], v["fileSha"], "{callback}");
}
