//! The real `vod-server` binary on port 0: startup line, signals, the `sign` subcommand,
//! SIGKILL-and-restart durability, concurrency over real sockets, HTTP Range.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").args([sig, &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig} {pid}");
}

/// Waits (bounded) for the process to exit and returns its status.
fn wait_exit(s: &mut Server) -> std::process::ExitStatus {
    for _ in 0..100 {
        if let Some(status) = s.child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("vod-server did not exit");
}

#[test]
fn listening_line_and_clean_exit_on_sigterm_and_sigint() {
    for sig in ["-TERM", "-INT"] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Server::start(dir.path(), &[]);
        assert!(s.url.starts_with("http://127.0.0.1:") && s.addr.port() != 0, "{}", s.url);
        // The URLs it hands out use the bound address.
        let f = TestFile::new(10, 1);
        s.call("GET", &f.init_uri(HALF), b"");
        s.call("POST", &f.part(0, HALF).0, &f.bytes);
        let v = s.call("GET", &f.finish_uri(), b"");
        assert!(v["url"].as_str().unwrap().starts_with(&s.url), "{v}");
        signal(s.pid(), sig);
        let status = wait_exit(&mut s);
        assert!(status.success(), "{sig}: {status:?}");
        // One line per call: action, SHA-1 prefix, code, duration; never the signature or key.
        let log = s.log();
        let prefix = &f.sha[..8];
        for action in ["InitUploadEx", "UploadPartEx", "FinishUploadEx"] {
            let line = log.lines().find(|l| l.starts_with(action)).unwrap_or_else(|| panic!("{log}"));
            assert!(line.contains(&format!("sha={prefix} code=0 ")) && line.ends_with("ms"), "{line}");
        }
        assert!(!log.contains(&f.sig[..20]) && !log.contains(SECRET_KEY) && !log.contains(&f.sha), "{log}");
    }
}

#[test]
fn bad_flags_fail_to_start() {
    let out = Command::new(env!("CARGO_BIN_EXE_vod-server")).args(["--listen", "127.0.0.1:0"]).output().unwrap();
    assert!(!out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vod-server"))
        .args(["--listen", "127.0.0.1:0", "--secret-id", "a", "--secret-key", "b", "--fault-rate", "2", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fault rate"));
}

#[test]
fn sign_subcommand_prints_a_valid_signature() {
    let sha = sha1_hex(b"hello");
    let run = |ttl: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_vod-server"))
            .args(["sign", "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY, "--file-sha", &sha])
            .args(["--file-name", "hello world.mp4", "--uid", "alice", "--ttl", ttl])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let s = run("600");
    let v = vod_server::sign::verify(&s, &sha, vod_server::sign::single_key(SECRET_ID, SECRET_KEY), vod_server::sign::now_unix()).unwrap();
    assert_eq!((v.file_name.as_str(), v.file_type.as_str(), v.uid.as_str()), ("hello world.mp4", "mp4", "alice"));
    let expired = run("-10");
    let err = vod_server::sign::verify(&expired, &sha, vod_server::sign::single_key(SECRET_ID, SECRET_KEY), vod_server::sign::now_unix()).unwrap_err();
    assert!(err.contains("expired"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_vod-server"))
        .args(["sign", "--secret-id", "a", "--secret-key", "b", "--file-sha", "xyz", "--file-name", "a.mp4"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn sigkill_mid_upload_then_restart() {
    let dir = tempfile::tempdir().unwrap();
    let partial = TestFile::new(HALF * 2 + HALF / 2, 10);
    let done = TestFile::new(HALF + 7, 11);
    let s = Server::start(dir.path(), &[]);
    s.call("GET", &done.init_uri(HALF), b"");
    for i in 0..2 {
        let (uri, body) = done.part(i, HALF);
        assert_eq!(s.call("POST", &uri, &body)["code"], 0);
    }
    let finished = s.call("GET", &done.finish_uri(), b"");
    let file_id = finished["fileId"].as_str().unwrap().to_string();
    assert_eq!(s.call("GET", &partial.init_uri(HALF), b"")["code"], 0);
    for i in [2, 0] {
        let (uri, body) = partial.part(i, HALF);
        assert_eq!(s.call("POST", &uri, &body)["code"], 0);
    }
    s.kill();

    let s = Server::start(dir.path(), &[]);
    let v = s.call("GET", &done.init_uri(MIB), b"");
    assert_eq!(v["code"], 2, "{v}");
    assert_eq!(v["fileId"], file_id.as_str());
    assert_eq!(s.call("GET", &done.finish_uri(), b"")["fileId"], file_id.as_str());
    let v = s.call("GET", &partial.init_uri(MIB), b"");
    assert_eq!(v["code"], 1, "{v}");
    assert_eq!(v["dataSize"], HALF);
    let listed: Vec<(u64, String)> = v["listParts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["offset"].as_u64().unwrap(), p["dataMd5"].as_str().unwrap().to_string()))
        .collect();
    let expect = |i: usize| {
        let (_, body) = partial.part(i, HALF);
        ((i * HALF) as u64, md5_hex(&body))
    };
    assert_eq!(listed, vec![expect(0), expect(2)]);
    let (uri, body) = partial.part(1, HALF);
    assert_eq!(s.call("POST", &uri, &body)["code"], 0);
    let v = s.call("GET", &partial.finish_uri(), b"");
    assert_eq!(v["code"], 0, "{v}");
    let path = format!("/vod/{}/f0.mp4", v["fileId"].as_str().unwrap());
    assert_eq!(s.http("GET", &path, &[], b"").unwrap().body, partial.bytes);
    assert_eq!(s.http("GET", &format!("/vod/{file_id}/f0.mp4"), &[], b"").unwrap().body, done.bytes);
}

#[test]
fn sigkill_during_concurrent_parts_keeps_every_acknowledged_part() {
    let dir = tempfile::tempdir().unwrap();
    let f = Arc::new(TestFile::new(HALF * 16, 20));
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let addr = s.addr;
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (f, acked) = (Arc::clone(&f), Arc::clone(&acked));
            std::thread::spawn(move || {
                for i in (w..16).step_by(4) {
                    let (uri, body) = f.part(i, HALF);
                    match http(addr, "POST", &uri, &[], &body) {
                        Ok(r) if serde_json::from_slice::<Value>(&r.body).map(|v| v["code"] == 0).unwrap_or(false) => {
                            acked.lock().unwrap().insert((i * HALF) as u64);
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 3 {
        std::thread::sleep(Duration::from_millis(2));
    }
    s.kill();
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let s = Server::start(dir.path(), &[]);
    let v = s.call("GET", &f.init_uri(HALF), b"");
    assert_eq!(v["code"], 1, "{v}");
    let listed: HashMap<u64, String> = v["listParts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["offset"].as_u64().unwrap(), p["dataMd5"].as_str().unwrap().to_string()))
        .collect();
    for off in &acked {
        assert!(listed.contains_key(off), "acknowledged part {off} lost; listed {:?}", listed.keys());
    }
    // Every listed part is intact: upload the rest and the SHA-1 checks out.
    for (off, md5) in &listed {
        let i = *off as usize / HALF;
        assert_eq!(md5, &md5_hex(&f.part(i, HALF).1));
    }
    for i in 0..16 {
        if !listed.contains_key(&((i * HALF) as u64)) {
            let (uri, body) = f.part(i, HALF);
            assert_eq!(s.call("POST", &uri, &body)["code"], 0);
        }
    }
    assert_eq!(s.call("GET", &f.finish_uri(), b"")["code"], 0);
}

#[test]
fn concurrent_out_of_order_parts_and_several_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--dev-signing"]);
    let files: Vec<Arc<TestFile>> = (30..34).map(|seed| Arc::new(TestFile::new(HALF * 5 + 1234, seed))).collect();
    for f in &files {
        assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    }
    let addr = s.addr;
    let mut threads = Vec::new();
    for f in &files {
        for i in [5, 3, 1, 4, 0, 2] {
            let f = Arc::clone(f);
            threads.push(std::thread::spawn(move || {
                let (uri, body) = f.part(i, HALF);
                let r = http(addr, "POST", &uri, &[], &body).unwrap();
                serde_json::from_slice::<Value>(&r.body).unwrap()["code"].as_i64().unwrap()
            }));
        }
    }
    for t in threads {
        assert_eq!(t.join().unwrap(), 0);
    }
    for f in &files {
        let v = s.call("GET", &f.finish_uri(), b"");
        assert_eq!(v["code"], 0, "{v}");
        let r = s.http("GET", &format!("/vod/{}/f0.mp4", v["fileId"].as_str().unwrap()), &[], b"").unwrap();
        assert_eq!(sha1_hex(&r.body), f.sha);
    }
    let stats: Value = serde_json::from_slice(&s.http("GET", "/dev/stats", &[], b"").unwrap().body).unwrap();
    assert_eq!(stats["partsReceived"], 24, "{stats}");
}

#[test]
fn range_requests_on_finished_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let f = TestFile::new(HALF + 5000, 40);
    s.call("GET", &f.init_uri(HALF), b"");
    for i in 0..2 {
        let (uri, body) = f.part(i, HALF);
        s.call("POST", &uri, &body);
    }
    let v = s.call("GET", &f.finish_uri(), b"");
    let path = v["url"].as_str().unwrap().strip_prefix(&s.url).unwrap().to_string();
    let r = s.http("GET", &path, &[("Range", "bytes=100-199")], b"").unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &f.bytes[100..200]);
    assert_eq!(r.header("content-range"), Some(format!("bytes 100-199/{}", f.bytes.len()).as_str()));
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    let r = s.http("GET", &path, &[("Range", &format!("bytes={}-", HALF))], b"").unwrap();
    assert_eq!((r.status, r.body.as_slice()), (206, &f.bytes[HALF..]));
    let r = s.http("GET", &path, &[], b"").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.body, f.bytes);
    assert_eq!(s.http("GET", "/vod/../vod.sqlite", &[], b"").unwrap().status, 404);
}
