//! `vod-upload` with many files against the real `vod-server` binary: directories walked, one JSON
//! line per file, a failed file not stopping the others, and a batch killed midway then run again
//! (the files done come back instant, the one cut resumes, only what is missing is sent).

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

/// The JSON lines on stdout, by the file name of their `path`.
fn lines_by_name(stdout: &[u8]) -> HashMap<String, Value> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            let name = Path::new(v["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
            (name, v)
        })
        .collect()
}

#[test]
fn a_directory_and_files_are_one_batch_with_a_line_per_file_and_a_failure_does_not_stop_the_others() {
    let server = Server::start(&[]);
    let dir = server.dir.path().join("videos");
    std::fs::create_dir_all(dir.join("day two")).unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("videos/a.mp4", data(1_300_000, 11)),
        ("videos/b.webm", data(200_000, 12)),
        ("videos/day two/c.mp4", data(2_100_000, 13)),
        ("loose.mp4", data(900_000, 14)),
    ];
    for (name, bytes) in &files {
        write_file(server.dir.path(), name, bytes);
    }
    write_file(&dir, ".hidden.mp4", &data(1000, 15));
    // Nothing to upload in an empty file (fileSize ≥ 1): it fails, the others go on.
    write_file(server.dir.path(), "empty.mp4", b"");
    let output = keyed(&server, "server", &dir, &["--concurrency", "3", "--part-size", "524288"])
        .arg(server.dir.path().join("loose.mp4"))
        .arg(server.dir.path().join("empty.mp4"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "one file failed: {}", String::from_utf8_lossy(&output.stderr));
    let lines = lines_by_name(&output.stdout);
    let mut names: Vec<&str> = lines.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["a.mp4", "b.webm", "c.mp4", "empty.mp4", "loose.mp4"], "one line a file, the hidden one skipped");
    for (name, bytes) in &files {
        let v = &lines[Path::new(name).file_name().unwrap().to_str().unwrap()];
        assert_eq!((&v["fileSha"], &v["instant"], &v["uploadedBytes"]), (&Value::from(sha1_hex(bytes)), &Value::from(false), &Value::from(bytes.len())), "{v}");
        assert!(v["path"].as_str().unwrap().ends_with(name), "{v}");
        assert_eq!(&server.download(v["url"].as_str().unwrap()), bytes, "{name}");
    }
    let failed = &lines["empty.mp4"];
    assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()) && failed.get("fileId").is_none(), "{failed}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{stderr}");
    assert!(stderr.contains("empty.mp4"), "the error names the file: {stderr}");
}

/// Three files of 6 parts, one at a time, every call answered after 150 ms: killed once the first
/// file is done and the second has parts stored, then run again.
#[test]
fn a_batch_killed_midway_resumes_where_it_stopped() {
    let server = Server::start(&["--fault-rate", "1", "--fault-kinds", "slow", "--slow-ms", "150"]);
    let dir = server.dir.path().join("batch");
    std::fs::create_dir(&dir).unwrap();
    let files: Vec<(String, Vec<u8>)> = (1..=3).map(|i| (format!("clip{i}.mp4"), data(5 * 524_288 + 1000 * i, 20 + i as u64))).collect();
    for (name, bytes) in &files {
        write_file(&dir, name, bytes);
    }
    let args = ["--concurrency", "1", "--files-at-once", "1", "--part-size", "524288"];
    let mut child = keyed(&server, "server", &dir, &args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first: Value = serde_json::from_str(&rx.recv_timeout(Duration::from_secs(60)).expect("the first file's line")).unwrap();
    assert!(first["path"].as_str().unwrap().ends_with("clip1.mp4"), "{first}");
    let started = Instant::now();
    // 6 parts of the first file, then 2 of the second.
    while server.acknowledged("UploadPart") < 8 {
        assert!(started.elapsed() < Duration::from_secs(60), "the second file got no parts");
        assert!(child.try_wait().unwrap().is_none(), "the CLI ended before it was killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // A body already in the server's socket when the client died is still stored (and logged) after
    // the kill: count once the log has been still for a second.
    let mut acknowledged = server.acknowledged("UploadPart");
    let settling = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = server.acknowledged("UploadPart");
        if now == acknowledged || settling.elapsed() > Duration::from_secs(20) {
            break;
        }
        acknowledged = now;
    }
    let held = acknowledged - 6;
    assert!((2..6).contains(&held), "{held} parts of the second file held");
    let sent_before = server.sent("UploadPart");

    let output = keyed(&server, "server", &dir, &["--concurrency", "4", "--part-size", "524288"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = lines_by_name(&output.stdout);
    assert_eq!(lines.len(), 3);
    let (one, two, three) = (&lines["clip1.mp4"], &lines["clip2.mp4"], &lines["clip3.mp4"]);
    assert_eq!((&one["instant"], &one["uploadedBytes"], &one["fileId"]), (&Value::from(true), &Value::from(0), &first["fileId"]), "the file done is instant");
    assert_eq!(two["resumedBytes"].as_u64(), Some(held as u64 * 524_288), "the file cut resumes: {two}");
    assert_eq!(three["resumedBytes"].as_u64(), Some(0));
    assert_eq!(server.sent("UploadPart") - sent_before, (6 - held) + 6, "only what was missing is sent");
    for (name, bytes) in &files {
        assert_eq!(&server.download(lines[name]["url"].as_str().unwrap()), bytes, "{name}");
    }
}
