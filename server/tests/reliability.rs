//! What the server guarantees under operator mistakes and hostile clients, each shown against the
//! real binary: the data folder spelled another way, a move into `vod/` that fails, finished files
//! missing behind its back, a damaged database or data file, sessions owned by uids, expiry and
//! ceilings, the signature checked before the body, and a log no fileSha can forge.

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Uploads the parts at `indexes` (half-MiB parts), each answered code 0.
fn put_parts(s: &Server, f: &TestFile, indexes: &[usize]) {
    for &i in indexes {
        let (uri, body) = f.part(i, HALF);
        let v = s.call("POST", &uri, &body);
        assert_eq!(v["code"], 0, "part {i}: {v}");
    }
}

/// The offsets an InitUploadEx answer lists (it must be code 1).
fn listed(v: &Value) -> Vec<u64> {
    assert_eq!(v["code"], 1, "{v}");
    v["listParts"].as_array().unwrap().iter().map(|p| p["offset"].as_u64().unwrap()).collect()
}

/// The bytes behind a finished file's url.
fn fetch(s: &Server, v: &Value) -> (u16, Vec<u8>) {
    let path = v["url"].as_str().unwrap().strip_prefix(&s.url).unwrap().to_string();
    let r = s.http("GET", &path, &[], b"").unwrap();
    (r.status, r.body)
}

/// The data file of the one open session for `sha`.
fn data_file(dir: &Path, sha: &str) -> PathBuf {
    let found: Vec<PathBuf> = fs::read_dir(dir.join("uploads"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(sha))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

/// Every file under `dir` with its length (the server's own log left out).
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "server.log" {
                let len = fs::metadata(&p).unwrap().len();
                out.push((p, len));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_data_folder_spelled_another_way_or_from_another_directory_keeps_open_uploads() {
    let root = tempfile::tempdir().unwrap();
    let f = TestFile::new(HALF * 3 + 100, 101);
    let s = Server::start_in(Some(root.path()), Path::new("./data"), &[]);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    put_parts(&s, &f, &[0, 2]);
    s.kill();

    // `data` after `./data`, from the same directory.
    let s = Server::start_in(Some(root.path()), Path::new("data"), &[]);
    assert_eq!(listed(&s.call("GET", &f.init_uri(HALF), b"")), vec![0, 2 * HALF as u64]);
    s.kill();

    // An absolute path, from another working directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let absolute = root.path().join("data");
    let s = Server::start_in(Some(elsewhere.path()), &absolute, &[]);
    assert_eq!(listed(&s.call("GET", &f.init_uri(HALF), b"")), vec![0, 2 * HALF as u64]);
    put_parts(&s, &f, &[1, 3]);
    let v = s.call("GET", &f.finish_uri(), b"");
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(fetch(&s, &v), (200, f.bytes.clone()));
    s.kill();

    // And back to the relative spelling: the finished file is there, and served.
    let s = Server::start_in(Some(root.path()), Path::new("data"), &[]);
    let again = s.call("GET", &f.init_uri(HALF), b"");
    assert_eq!(again["code"], 2, "{again}");
    assert_eq!(fetch(&s, &again), (200, f.bytes.clone()));
}

#[test]
fn a_failed_move_into_vod_answers_retry_until_the_file_is_in_place() {
    let dir = tempfile::tempdir().unwrap();
    // vod/ on another filesystem (tmpfs where there is one), not there yet.
    let shm = Path::new("/dev/shm");
    let other = tempfile::tempdir_in(if shm.is_dir() { shm } else { dir.path() }).unwrap();
    let target = other.path().join("vod");
    let data = dir.path().join("data");
    fs::create_dir_all(&data).unwrap();
    std::os::unix::fs::symlink(&target, data.join("vod")).unwrap();
    fs::create_dir_all(&target).unwrap();
    let s = Server::start(&data, &[]);
    let f = TestFile::new(HALF + 10, 102);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    put_parts(&s, &f, &[0, 1]);
    fs::remove_dir(&target).unwrap();

    // The move fails: a retryable code, no url, again and again; InitUploadEx says the same.
    for _ in 0..2 {
        let v = s.call("GET", &f.finish_uri(), b"");
        assert_code(&v, -10004, 1, "moving the finished file into place");
        assert!(v.get("url").is_none(), "{v}");
        assert_code(&s.call("GET", &f.init_uri(HALF), b""), -10004, 1, "moving");
    }
    // Once it can be moved (copied across filesystems), the next call answers with a url that serves it.
    fs::create_dir_all(&target).unwrap();
    let v = s.call("GET", &f.finish_uri(), b"");
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(fetch(&s, &v), (200, f.bytes.clone()));
    assert!(fs::read_dir(data.join("uploads")).unwrap().next().is_none());

    // A start finishes a move left pending instead of dying.
    let g = TestFile::new(HALF + 20, 103);
    assert_eq!(s.call("GET", &g.init_uri(HALF), b"")["code"], 0);
    put_parts(&s, &g, &[0, 1]);
    fs::rename(&target, other.path().join("away")).unwrap();
    assert_code(&s.call("GET", &g.finish_uri(), b""), -10004, 1, "moving");
    s.kill();
    fs::rename(other.path().join("away"), &target).unwrap();
    let s = Server::start(&data, &[]);
    let v = s.call("GET", &g.init_uri(HALF), b"");
    assert_eq!(v["code"], 2, "{v}");
    assert_eq!(fetch(&s, &v), (200, g.bytes.clone()));
    assert_eq!(fetch(&s, &s.call("GET", &f.init_uri(HALF), b"")), (200, f.bytes.clone()));
}

#[test]
fn a_finished_file_missing_on_disk_is_uploaded_again_under_its_file_id() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let f = TestFile::new(HALF + 30, 104);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    put_parts(&s, &f, &[0, 1]);
    let done = s.call("GET", &f.finish_uri(), b"");
    let path = dir.path().join("vod").join(done["fileId"].as_str().unwrap()).join("f0.mp4");

    for damage in ["deleted", "cut short"] {
        if damage == "deleted" {
            fs::remove_file(&path).unwrap();
        } else {
            fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(100).unwrap();
        }
        // Not reported as there: no code 2, no code 0 from a finish without a session.
        assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0, "{damage}");
        let other = TestFile::new(HALF + 30, 104).signed_for("someone-else");
        assert_code(&s.call("GET", &other.finish_uri(), b""), -10005, 0, "no upload session");
        // Uploaded again: the same fileId and url, serving the bytes.
        put_parts(&s, &f, &[0, 1]);
        let v = s.call("GET", &f.finish_uri(), b"");
        assert_eq!((v["code"].clone(), v["fileId"].clone(), v["url"].clone()), (0.into(), done["fileId"].clone(), done["url"].clone()), "{damage}: {v}");
        assert_eq!(fetch(&s, &v), (200, f.bytes.clone()));
        assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 2);
    }
}

#[test]
fn a_missing_or_emptied_database_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let f = TestFile::new(HALF * 2 + 40, 105);
    let g = TestFile::new(HALF + 50, 106);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.call("GET", &g.init_uri(HALF), b"")["code"], 0);
    put_parts(&s, &g, &[0, 1]);
    assert_eq!(s.call("GET", &g.finish_uri(), b"")["code"], 0);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    put_parts(&s, &f, &[1]);
    s.kill();
    let db = dir.path().join("vod.sqlite");
    let saved: Vec<(PathBuf, Vec<u8>)> = ["vod.sqlite", "vod.sqlite-wal", "vod.sqlite-shm"]
        .iter()
        .map(|n| dir.path().join(n))
        .filter(|p| p.exists())
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();

    for damage in ["deleted", "emptied"] {
        for (p, _) in &saved {
            let _ = fs::remove_file(p);
        }
        if damage == "emptied" {
            fs::write(&db, b"").unwrap();
        }
        let before = snapshot(dir.path());
        let err = Server::start_fails(dir.path(), &[]);
        assert!(err.contains("vod.sqlite") && err.contains("Nothing was changed") && err.contains("restore"), "{damage}: {err}");
        assert_eq!(snapshot(dir.path()), before, "{damage}: the failed start changed the folder");
    }
    // Another folder's database is refused too.
    let other = tempfile::tempdir().unwrap();
    Server::start(other.path(), &[]).kill();
    for n in ["vod.sqlite", "vod.sqlite-wal"] {
        if other.path().join(n).exists() {
            fs::copy(other.path().join(n), dir.path().join(n)).unwrap();
        }
    }
    let err = Server::start_fails(dir.path(), &[]);
    assert!(err.contains("belongs to the folder"), "{err}");

    // With its own database back, everything is there.
    for (p, bytes) in &saved {
        fs::write(p, bytes).unwrap();
    }
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.call("GET", &g.init_uri(HALF), b"")["code"], 2);
    assert_eq!(listed(&s.call("GET", &f.init_uri(HALF), b"")), vec![HALF as u64]);
}

#[test]
fn a_data_file_cut_short_loses_only_the_parts_past_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let f = TestFile::new(HALF * 3 + 60, 107);
    let s = Server::start(dir.path(), &[]);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    put_parts(&s, &f, &[0, 1, 2, 3]);
    // Cut behind the server's back while it runs: the finish says what is missing (no endless retry).
    let file = data_file(dir.path(), &f.sha);
    fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(HALF as u64 + 10).unwrap();
    assert_code(&s.call("GET", &f.finish_uri(), b""), -10003, 0, "3 of 4 parts are missing");
    assert_eq!(listed(&s.call("GET", &f.init_uri(HALF), b"")), vec![0]);
    put_parts(&s, &f, &[1, 2]);
    s.kill();
    // Cut while it is stopped: the start forgets the lost parts.
    fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(HALF as u64 * 2).unwrap();
    let s = Server::start(dir.path(), &[]);
    assert_eq!(listed(&s.call("GET", &f.init_uri(HALF), b"")), vec![0, HALF as u64]);
    put_parts(&s, &f, &[2, 3]);
    let v = s.call("GET", &f.finish_uri(), b"");
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(fetch(&s, &v), (200, f.bytes.clone()));
    // A data file deleted outright: the session is dropped and can be opened again.
    let g = TestFile::new(HALF + 70, 108);
    assert_eq!(s.call("GET", &g.init_uri(HALF), b"")["code"], 0);
    fs::remove_file(data_file(dir.path(), &g.sha)).unwrap();
    let (uri, body) = g.part(0, HALF);
    assert_code(&s.call("POST", &uri, &body), -10005, 0, "data file is gone");
    assert_eq!(s.call("GET", &g.init_uri(HALF), b"")["code"], 0);
}

#[test]
fn a_session_belongs_to_the_uid_that_opened_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let owner = TestFile::new(HALF * 2 + 80, 109).signed_for("owner");
    let squatter = owner.signed_for("squatter");
    // The squatter opens the SHA-1 first, with a wrong fileSize, and stores junk as part 0.
    let wrong = init_uri(&squatter.sha, owner.bytes.len() as u64 + 1, HALF as u64, &squatter.sig);
    assert_eq!(s.call("GET", &wrong, b"")["code"], 0);
    let junk = data(HALF, 1);
    let uri = part_uri(&squatter.sha, 0, HALF as u64, &md5_hex(&junk), &squatter.sig);
    assert_eq!(s.call("POST", &uri, &junk)["code"], 0);
    // The owner gets a session of its own, and finishes.
    assert_eq!(s.call("GET", &owner.init_uri(HALF), b"")["code"], 0);
    put_parts(&s, &owner, &[0, 1, 2]);
    let v = s.call("GET", &owner.finish_uri(), b"");
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(fetch(&s, &v), (200, owner.bytes.clone()));
    // Finished files are shared: the squatter (and anyone) gets code 2.
    let again = s.call("GET", &init_uri(&squatter.sha, owner.bytes.len() as u64, HALF as u64, &squatter.sig), b"");
    assert_eq!((again["code"].clone(), again["fileId"].clone()), (2.into(), v["fileId"].clone()), "{again}");
    // Across a restart too.
    s.kill();
    let s = Server::start(dir.path(), &[]);
    let third = owner.signed_for("third");
    assert_eq!(s.call("GET", &third.init_uri(MIB), b"")["fileId"], v["fileId"]);
}

#[test]
fn abandoned_sessions_expire_and_ceilings_hold() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--session-ttl", "2s", "--max-sessions", "3", "--max-file-size", "5000000"]);
    let f = TestFile::new(HALF + 90, 110);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    put_parts(&s, &f, &[0]);
    let last_part = Instant::now();
    let file = data_file(dir.path(), &f.sha);
    // Ceilings: a larger file is refused; a fourth session waits for a free place (each of the
    // three holds an acknowledged part: none gives way).
    let big = init_uri(&f.sha, 5_000_001, HALF as u64, &f.sig);
    assert_code(&s.call("GET", &big, b""), -10003, 0, "fileSize must be 1 to 5000000");
    for seed in [111, 112] {
        let other = TestFile::new(100, seed);
        assert_eq!(s.call("GET", &other.init_uri(HALF), b"")["code"], 0);
        put_parts(&s, &other, &[0]);
    }
    assert_code(&s.call("GET", &TestFile::new(100, 113).init_uri(HALF), b""), -10004, 1, "sessions are open");
    // No part for longer than the TTL: dropped, the data file deleted; a new init starts afresh.
    while file.exists() {
        assert!(last_part.elapsed() < Duration::from_secs(10), "the session never expired");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(last_part.elapsed() >= Duration::from_secs(1), "expired too early");
    let (uri, body) = f.part(1, HALF);
    assert_code(&s.call("POST", &uri, &body), -10005, 0, "no upload session");
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    assert_eq!(s.call("GET", &TestFile::new(100, 113).init_uri(HALF), b"")["code"], 0);
    assert!(s.log().contains("dropped"), "{}", s.log());
}

#[test]
fn data_files_are_opened_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let fds = || fs::read_dir(format!("/proc/{}/fd", s.pid())).map(|d| d.count()).unwrap_or(0);
    let before = fds();
    for seed in 0..150 {
        let f = TestFile::new(3000, 1000 + seed);
        assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
        let (uri, body) = f.part(0, HALF);
        assert_eq!(s.call("POST", &uri, &body)["code"], 0);
    }
    // 150 open sessions, at most 64 data files open (and a few descriptors more for the rest).
    assert!(fds() <= before + 64 + 8, "{} descriptors open (from {before})", fds());
    s.kill();
    let s = Server::start(dir.path(), &[]);
    let f = TestFile::new(3000, 1000);
    assert_eq!(s.call("GET", &f.finish_uri(), b"")["code"], 0);
}

#[test]
fn the_signature_and_session_are_checked_before_the_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let f = TestFile::new(MIB * 2, 114);
    assert_eq!(s.call("GET", &f.init_uri(MIB), b"")["code"], 0);
    let (good_uri, _) = f.part(0, MIB);
    let forged = part_uri(&f.sha, 0, MIB as u64, &md5_hex(b""), "Zm9yZ2VkIHNpZ25hdHVyZSBvZiBzb21lIGxlbmd0aA==");
    let unopened = TestFile::new(MIB * 2, 115);
    for (uri, code) in [(forged, -10002), (unopened.part(0, MIB).0, -10005), (good_uri.replace("offset=0", "offset=5"), -10003)] {
        // The head promises a MiB that never comes: the answer must not wait for it.
        let mut stream = std::net::TcpStream::connect(s.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(stream, "POST {uri} HTTP/1.1\r\nHost: {}\r\nContent-Length: {MIB}\r\n\r\n", s.addr).unwrap();
        let mut got = vec![0u8; 4096];
        let n = stream.read(&mut got).expect("an answer before the body");
        let text = String::from_utf8_lossy(&got[..n]);
        assert!(text.contains(&format!("\"code\":{code}")), "{text}");
    }
}

#[test]
fn no_log_line_can_be_forged_and_times_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let f = TestFile::new(100, 116);
    let forged = format!("/v2/index.php?Action=InitUploadEx&fileSha=%0aFAKE%20line%0a&fileSize=1&dataSize=524288&signature={}", enc(&f.sig));
    assert_code(&s.call("GET", &forged, b""), -10003, 0, "fileSha");
    let t = vod_server::sign::now_unix();
    for (t, e, needle) in [(t + 100, t + 50, "before it was signed"), (t + 10_000, t + 10_060, "in the future")] {
        let p = vod_server::sign::SignParams { t, e, ..vod_server::sign::SignParams::new(SECRET_ID, &f.sha, "a.mp4", "u", 0) };
        let v = s.call("GET", &init_uri(&f.sha, 100, HALF as u64, &vod_server::sign::sign(&p, SECRET_KEY)), b"");
        assert_code(&v, -10002, 0, needle);
    }
    std::thread::sleep(Duration::from_millis(100));
    let log = s.log();
    assert!(log.lines().all(|l| !l.starts_with("FAKE") && !l.contains("FAKE")), "{log}");
    assert!(log.contains("InitUploadEx sha=? code=-10003"), "{log}");
}

/// Waits (bounded by `within`) until the server closes `stream`; returns how long that took.
fn closed_within(stream: &mut std::net::TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return started.elapsed(),
            Err(e) => panic!("still open after {:?}: {e}", started.elapsed()),
        }
    }
}

/// A connection that sent part 0's head and its first 1000 bytes, and nothing more.
fn half_sent_part(s: &Server, f: &TestFile) -> std::net::TcpStream {
    half_sent_part_at(s, f, 0)
}

/// [`half_sent_part`] of part `index`.
fn half_sent_part_at(s: &Server, f: &TestFile, index: usize) -> std::net::TcpStream {
    let (uri, body) = f.part(index, HALF);
    let mut stream = std::net::TcpStream::connect(s.addr).unwrap();
    write!(stream, "POST {uri} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n", s.addr, body.len()).unwrap();
    stream.write_all(&body[..1000]).unwrap();
    stream
}

#[test]
fn slow_and_silent_clients_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--client-timeout", "1s"]);
    // Silent: connected, nothing sent.
    let mut silent = std::net::TcpStream::connect(s.addr).unwrap();
    // Slowloris: a header byte every 300 ms, never the end of the head.
    let mut slow = std::net::TcpStream::connect(s.addr).unwrap();
    let writer = {
        let mut w = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(b"GET /v2/index.php HTTP/1.1\r\n");
            for _ in 0..40 {
                if w.write_all(b"X").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    assert!(closed_within(&mut silent, Duration::from_secs(4)) < Duration::from_secs(4));
    assert!(closed_within(&mut slow, Duration::from_secs(4)) < Duration::from_secs(4));
    writer.join().unwrap();
    // A body that stops halfway: not stored, and the connection does not hang.
    let f = TestFile::new(HALF + 5, 117);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    let mut stream = half_sent_part(&s, &f);
    closed_within(&mut stream, Duration::from_secs(4));
    assert!(listed(&s.call("GET", &f.init_uri(HALF), b"")).is_empty());
}

#[test]
fn one_client_cannot_take_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--client-timeout", "30s", "--max-connections-per-client", "8"]);
    let f = TestFile::new(HALF * 8 + 5, 119);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    // Eight connections, each in the middle of sending a part: busy, so none is closed to make room.
    let hogs: Vec<std::net::TcpStream> = (0..8).map(|i| half_sent_part_at(&s, &f, i)).collect();
    std::thread::sleep(Duration::from_millis(200));
    // The ninth from the same address is closed at once ...
    let mut ninth = std::net::TcpStream::connect(s.addr).unwrap();
    assert!(closed_within(&mut ninth, Duration::from_secs(2)) < Duration::from_secs(2));
    // ... while another client address is answered.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let answer = rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut stream = socket.connect(s.addr).await.unwrap();
        let request = format!("GET /v2/index.php HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", s.addr);
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await.unwrap().unwrap();
        String::from_utf8_lossy(&out).to_string()
    });
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("-10001"), "{answer}");
    // Once the hogs go, the first address is served again.
    drop(hogs);
    std::thread::sleep(Duration::from_millis(200));
    assert_code(&s.call("GET", "/v2/index.php", b""), -10001, 0, "Action");
}

/// Sends one request on a kept-alive connection and reads its whole answer (by Content-Length).
fn ask_keep_alive(stream: &mut std::net::TcpStream, addr: std::net::SocketAddr) -> String {
    write!(stream, "GET /v2/index.php HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the answer: {}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                .expect("a Content-Length");
            if raw.len() >= head_end + 4 + length {
                return text;
            }
        }
    }
}

/// Whether the server closed `stream` within `within` (an answer or silence means no).
fn closed(stream: &mut std::net::TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(n) => panic!("unasked bytes from the server: {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn idle_connections_make_room_under_pressure() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--client-timeout", "30s", "--max-connections-per-client", "3", "--max-connections", "3"]);
    // Three kept-alive connections that had their answer and wait for the next request: idle.
    let mut idle: Vec<std::net::TcpStream> = (0..3)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(s.addr).unwrap();
            assert!(ask_keep_alive(&mut c, s.addr).contains("-10001"));
            c
        })
        .collect();
    // A fourth from the same address is answered: one idle connection was closed to make room,
    // and the address still holds three.
    let mut fourth = std::net::TcpStream::connect(s.addr).unwrap();
    assert!(ask_keep_alive(&mut fourth, s.addr).contains("-10001"));
    let shed: Vec<usize> = (0..3).filter(|&i| closed(&mut idle[i], Duration::from_millis(500))).collect();
    assert_eq!(shed.len(), 1, "one idle connection closed, not {shed:?}");
    let mut kept: Vec<std::net::TcpStream> = idle.into_iter().enumerate().filter(|(i, _)| !shed.contains(i)).map(|(_, c)| c).collect();
    kept.push(fourth);
    // The total cap (3) reached from another address: the address holding the most gives up an
    // idle one, and the newcomer is answered.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let other = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        socket.connect(s.addr).await.unwrap().into_std().unwrap()
    });
    other.set_nonblocking(false).unwrap();
    let mut other = other;
    assert!(ask_keep_alive(&mut other, s.addr).contains("-10001"));
    let shed: Vec<bool> = kept.iter_mut().map(|c| closed(c, Duration::from_millis(500))).collect();
    assert_eq!(shed.iter().filter(|s| **s).count(), 1, "one connection of the address holding the most was closed");
    // The others still serve their next request.
    for (c, _) in kept.iter_mut().zip(&shed).filter(|(_, shed)| !**shed) {
        assert!(ask_keep_alive(c, s.addr).contains("-10001"));
    }
}

#[test]
fn shutdown_has_a_deadline_even_with_a_request_half_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), &["--client-timeout", "60s", "--shutdown-timeout", "1s"]);
    let f = TestFile::new(HALF + 5, 118);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    let _half_sent = half_sent_part(&s, &f);
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert!(std::process::Command::new("kill").args(["-TERM", &s.pid().to_string()]).status().unwrap().success());
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(8), "SIGTERM did not end the server");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(s.log().contains("the shutdown deadline closed 1 connections"), "{}", s.log());
}

#[test]
fn the_dev_signer_answers_only_the_servers_own_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--dev-signing", "--dev-origin", "http://127.0.0.1:1"]);
    let sha = sha1_hex(b"dev");
    let body = format!(r#"{{"fileSha":"{sha}","fileName":"a.mp4"}}"#);
    let own = s.url.clone();
    let sign = |headers: &[(&str, &str)]| s.http("POST", "/dev/signature", headers, body.as_bytes()).unwrap();
    let json = ("Content-Type", "application/json");
    // A no-preflight form or text/plain POST from any site: refused, with no signature.
    for (origin, content_type) in [("https://evil.test", "text/plain"), ("https://evil.test", "application/x-www-form-urlencoded"), (own.as_str(), "text/plain")] {
        let r = sign(&[("Origin", origin), ("Content-Type", content_type)]);
        assert!(r.status == 403 || r.status == 415, "{origin} {content_type}: {}", r.status);
        assert!(!String::from_utf8_lossy(&r.body).contains("signature\""), "{}", String::from_utf8_lossy(&r.body));
    }
    // JSON from another origin, and its preflight: refused, no CORS grant.
    assert_eq!(sign(&[("Origin", "https://evil.test"), json]).status, 403);
    let preflight = s
        .http("OPTIONS", "/dev/signature", &[("Origin", "https://evil.test"), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type")], b"")
        .unwrap();
    assert_eq!(preflight.header("access-control-allow-origin"), None);
    assert_eq!(s.http("GET", "/dev/stats", &[("Origin", "https://evil.test")], b"").unwrap().status, 403);
    // DNS rebinding: the attacker's name in Host, even from the "same" origin.
    let rebound = s.http("POST", "/dev/signature", &[("Host", "evil.test:80"), ("Origin", "http://evil.test:80"), json], body.as_bytes());
    assert_eq!(rebound.unwrap().status, 403);
    // The server's own page, an allowed origin, and a caller with no Origin (a backend, curl) are answered.
    for headers in [vec![("Origin", own.as_str()), json], vec![("Origin", "http://127.0.0.1:1"), json], vec![json]] {
        let r = sign(&headers);
        assert_eq!(r.status, 200, "{headers:?}: {}", String::from_utf8_lossy(&r.body));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert!(vod_server::sign::verify(v["signature"].as_str().unwrap(), &sha, vod_server::sign::single_key(SECRET_ID, SECRET_KEY), vod_server::sign::now_unix()).is_ok());
    }
    let preflight = s
        .http("OPTIONS", "/dev/signature", &[("Origin", "http://127.0.0.1:1"), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type")], b"")
        .unwrap();
    assert_eq!(preflight.header("access-control-allow-origin"), Some("http://127.0.0.1:1"));
    // The API itself stays open to every origin.
    let r = s.http("GET", "/v2/index.php", &[("Origin", "https://evil.test")], b"").unwrap();
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

// ------------------------------------------------------------------ hostile clients (issue 21)

const FORGED: &str = "Zm9yZ2VkIHNpZ25hdHVyZSBvZiBzb21lIGxlbmd0aA==";

fn ip(last: u8) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, last))
}

/// Init, every MiB part and finish of `f` from the address `from`: how long it took.
fn honest_upload(s: &Server, f: &TestFile, from: std::net::IpAddr) -> Duration {
    let started = Instant::now();
    assert_eq!(s.call_from(from, "GET", &f.init_uri(MIB), b"")["code"], 0);
    for i in 0..f.part_count(MIB) {
        let (uri, body) = f.part(i, MIB);
        assert_eq!(s.call_from(from, "POST", &uri, &body)["code"], 0, "part {i}");
    }
    assert_eq!(s.call_from(from, "GET", &f.finish_uri(), b"")["code"], 0);
    started.elapsed()
}

/// Samples the server's descriptors and RSS every 100 ms until `done`: the largest of each.
fn sample_until(s: &Server, done: &std::sync::atomic::AtomicBool) -> (usize, u64) {
    let (mut fds, mut rss) = (0, 0);
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        fds = fds.max(s.fds());
        rss = rss.max(s.rss_kib());
        std::thread::sleep(Duration::from_millis(100));
    }
    (fds, rss)
}

/// `clients` tasks from 127.0.0.1 that, for `secs`, each send a part's head with a forged signature
/// and then its body one byte a second, connecting again whenever they are closed. Returns how many
/// connections were made and how many got the refusal (-10002) while still sending.
fn slow_refused_bodies(addr: std::net::SocketAddr, uri: String, clients: usize, secs: u64) -> (usize, usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        let head = format!("POST {uri} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {MIB}\r\n\r\n");
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let head = head.clone();
                tokio::spawn(async move {
                    let (mut made, mut answered) = (0, 0);
                    while tokio::time::Instant::now() < deadline {
                        let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        };
                        made += 1;
                        if stream.write_all(head.as_bytes()).await.is_err() {
                            continue;
                        }
                        let mut buf = [0u8; 1024];
                        loop {
                            tokio::select! {
                                read = stream.read(&mut buf) => match read {
                                    Ok(n) if n > 0 => {
                                        if String::from_utf8_lossy(&buf[..n]).contains("-10002") {
                                            answered += 1;
                                        }
                                    }
                                    _ => break,
                                },
                                () = tokio::time::sleep(Duration::from_secs(1)) => {
                                    if stream.write_all(b"x").await.is_err() {
                                        break;
                                    }
                                }
                                () = tokio::time::sleep_until(deadline) => return (made, answered),
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    (made, answered)
                })
            })
            .collect();
        let mut total = (0, 0);
        for t in tasks {
            let (m, a) = t.await.unwrap();
            total = (total.0 + m, total.1 + a);
        }
        total
    })
}

#[test]
fn refused_slow_bodies_are_closed_and_counted_until_closed() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let target = TestFile::new(MIB * 2, 130);
    let forged = part_uri(&target.sha, 0, MIB as u64, &md5_hex(b""), FORGED);
    // One refused request whose body comes a byte a second: answered, then closed within a few
    // seconds, not after the 12 days its body would take.
    let mut one = std::net::TcpStream::connect(s.addr).unwrap();
    write!(one, "POST {forged} HTTP/1.1\r\nHost: {}\r\nContent-Length: {MIB}\r\n\r\n", s.addr).unwrap();
    let mut dripper = one.try_clone().unwrap();
    let drip = std::thread::spawn(move || {
        for _ in 0..20 {
            if dripper.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let took = closed_within(&mut one, Duration::from_secs(9));
    drip.join().unwrap();
    // 300 such clients from one address for 12 s, reconnecting whenever closed; an honest upload
    // from another address meanwhile.
    let base = s.fds();
    let rss_base = s.rss_kib();
    let done = std::sync::atomic::AtomicBool::new(false);
    let honest = TestFile::new(8 * MIB, 131);
    let (addr, attack_uri) = (s.addr, forged.clone());
    let ((made, answered), honest_took, (fds, rss)) = std::thread::scope(|scope| {
        let attack = scope.spawn(move || slow_refused_bodies(addr, attack_uri, 300, 12));
        let sampler = scope.spawn(|| sample_until(&s, &done));
        std::thread::sleep(Duration::from_secs(4));
        let honest_took = honest_upload(&s, &honest, ip(2));
        let attack = attack.join().unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (attack, honest_took, sampler.join().unwrap())
    });
    eprintln!(
        "slow refused bodies: one closed {took:?} after its answer; 300 clients made {made} connections ({answered} answered while sending); \
         descriptors {base} -> at most {fds}; RSS {} -> at most {} MiB; an honest 8 MiB upload took {honest_took:?}",
        rss_base / 1024,
        rss / 1024
    );
    // Caps of 64 per address: 64 staying and at most 64 closing, plus the honest client's.
    assert!(fds <= base + 2 * 64 + 16, "{fds} descriptors (from {base})");
    assert!(answered > 0, "no refusal reached a client still sending");
    std::thread::sleep(Duration::from_secs(3));
    assert!(s.fds() <= base + 4, "{} descriptors after the attack (from {base})", s.fds());
}

/// `count` GETs of `path` from 127.0.0.1 that read nothing (a 4 KiB receive buffer), held for
/// `hold`; the ones the server closed at once are counted.
fn unread_downloads(addr: std::net::SocketAddr, path: &str, count: usize, hold: Duration) {
    use tokio::io::AsyncWriteExt;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut open = Vec::new();
        for _ in 0..count {
            let socket = socket_from(ip(1)).unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let Ok(mut stream) = socket.connect(addr).await else { continue };
            let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            if stream.write_all(request.as_bytes()).await.is_ok() {
                open.push(stream);
            }
        }
        tokio::time::sleep(hold).await;
    });
}

#[test]
fn downloads_nobody_reads_are_capped_cut_and_hold_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--write-timeout", "3s"]);
    let big = TestFile::new(16 * MIB, 140);
    honest_upload(&s, &big, ip(1));
    let v = s.call("GET", &big.init_uri(MIB), b"");
    let path = v["url"].as_str().unwrap().strip_prefix(&s.url).unwrap().to_string();
    // One download nobody reads is cut after the write timeout.
    let one = socket_from(ip(3)).unwrap();
    one.set_recv_buffer_size(4096).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut one = rt.block_on(one.connect(s.addr)).unwrap().into_std().unwrap();
    one.set_nonblocking(false).unwrap();
    write!(one, "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr).unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let mut got = Vec::new();
    one.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ended = one.read_to_end(&mut got).map(|_| ()).or_else(|e| if e.kind() == std::io::ErrorKind::ConnectionReset { Ok(()) } else { Err(e) });
    assert!(ended.is_ok() && got.len() < big.bytes.len(), "a stalled download was not cut ({} bytes, {ended:?})", got.len());
    // Two waves of 300 unread downloads from one address; another address downloads and uploads.
    let (base, rss_base) = (s.fds(), s.rss_kib());
    let done = std::sync::atomic::AtomicBool::new(false);
    let small = TestFile::new(4 * MIB, 141);
    let (fds, rss, fetched, honest_took) = std::thread::scope(|scope| {
        let (addr, p) = (s.addr, path.clone());
        let attack = scope.spawn(move || {
            unread_downloads(addr, &p, 300, Duration::from_secs(5));
            unread_downloads(addr, &p, 300, Duration::from_secs(5));
        });
        let sampler = scope.spawn(|| sample_until(&s, &done));
        std::thread::sleep(Duration::from_secs(2));
        let r = http_on(connect_from(ip(2), s.addr).unwrap(), s.addr, "GET", &path, &[], b"").unwrap();
        let honest_took = honest_upload(&s, &small, ip(2));
        attack.join().unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let (fds, rss) = sampler.join().unwrap();
        (fds, rss, r.body, honest_took)
    });
    assert!(fetched == big.bytes, "the honest download is not the file ({} bytes)", fetched.len());
    std::thread::sleep(Duration::from_secs(2));
    let (fds_after, rss_after) = (s.fds(), s.rss_kib());
    eprintln!(
        "unread downloads of a 16 MiB file, 2 x 300 from one address: descriptors {base} -> at most {fds} -> {fds_after} after; \
         RSS {} -> at most {} -> {} MiB after; an honest 4 MiB upload took {honest_took:?}",
        rss_base / 1024,
        rss / 1024,
        rss_after / 1024
    );
    // 64 downloads under way, each with its socket and the file open, and at most 64 closing.
    assert!(fds <= base + 3 * 64 + 16, "{fds} descriptors (from {base})");
    assert!(rss <= rss_base + 48 * 1024, "RSS {} KiB under the attack (from {rss_base})", rss);
    assert!(fds_after <= base + 4, "{fds_after} descriptors after (from {base})");
}

/// A MultipartUploadVodFile part of `f` (`len` bytes at `offset`), signed with the key for `s`.
fn multipart_uri(s: &Server, f: &TestFile, offset: usize, len: usize) -> String {
    static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let nonce = NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + u64::from(std::process::id()) * 1_000_000;
    let url = format!(
        "http://{}/v2/index.php?Action=MultipartUploadVodFile&fileName={}&fileSha={}&fileSize={}&dataSize={len}&offset={offset}&fileType=mp4",
        s.addr,
        enc(&f.name),
        f.sha,
        f.bytes.len()
    );
    let now = vod_server::sign::now_unix() as u64;
    let signed = vod_server::common::sign_url(&url, "POST", SECRET_ID, SECRET_KEY, now, nonce).unwrap();
    signed[signed.find("/v2/").unwrap()..].to_string()
}

#[test]
fn no_multipart_upload_is_wedged_by_a_kill_between_its_last_part_and_its_finish() {
    let dir = tempfile::tempdir().unwrap();
    let rounds = 24;
    let mut finished_at_start = 0;
    for round in 0..rounds {
        let f = TestFile::new(HALF + 300_000, 150 + round);
        let s = Server::start(dir.path(), &[]);
        let first = s.call("POST", &multipart_uri(&s, &f, 0, HALF), &f.bytes[..HALF]);
        assert_eq!((first["code"].as_i64(), first["offset"].as_str()), (Some(0), Some(HALF.to_string().as_str())), "{first}");
        // The last part, and a SIGKILL at a moment that moves across the request's span.
        let (addr, uri, last) = (s.addr, multipart_uri(&s, &f, HALF, 300_000), f.bytes[HALF..].to_vec());
        let sender = std::thread::spawn(move || http(addr, "POST", &uri, &[], &last));
        std::thread::sleep(Duration::from_micros(500 * round));
        s.kill();
        let _ = sender.join();
        // Restarted: the upload is finished (at start, or by its next part), or goes on from where
        // its bytes end; never "every byte held, nothing finished".
        let s = Server::start(dir.path(), &[]);
        if s.log().matches("finished 1 MultipartUploadVodFile uploads").count() > finished_at_start {
            finished_at_start += 1;
        }
        let again = s.call("POST", &multipart_uri(&s, &f, 0, HALF), &f.bytes[..HALF]);
        assert_eq!(again["code"], 0, "{again}");
        if again["flag"] == 0 {
            let next: usize = again["offset"].as_str().unwrap().parse().unwrap();
            assert!(next < f.bytes.len(), "round {round}: wedged, every byte held and not finished: {again}");
            let rest = s.call("POST", &multipart_uri(&s, &f, next, f.bytes.len() - next), &f.bytes[next..]);
            assert_eq!(rest["flag"], 1, "{rest}");
        }
        let done = s.call("POST", &multipart_uri(&s, &f, 0, HALF), &f.bytes[..HALF]);
        assert_eq!(done["flag"], 1, "{done}");
        let (status, bytes) = fetch(&s, &done);
        assert!(status == 200 && bytes == f.bytes, "round {round}: the file is not byte-identical");
        s.kill();
    }
    eprintln!("{rounds} SIGKILLs around a MultipartUploadVodFile upload's last part: {finished_at_start} left every byte held and unfinished, each finished at start; none wedged");
}

#[test]
fn one_user_cannot_lock_everyone_out_of_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--max-sessions", "12", "--max-sessions-per-user", "4"]);
    let file = |seed: u64, uid: &str| TestFile::new(HALF + 10, seed).signed_for(uid);
    // Mallory: four sessions, a part acknowledged in each: her cap; a fifth waits (-10004, retry).
    let mallory: Vec<TestFile> = (0..4).map(|i| file(160 + i, "mallory")).collect();
    for f in &mallory {
        assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
        put_parts(&s, f, &[0]);
    }
    assert_code(&s.call("GET", &file(165, "mallory").init_uri(HALF), b""), -10004, 1, "holds 4 upload sessions");
    // Eve opens ten with nothing in them: at her cap, her own empty ones give way, one each time.
    for i in 0..10 {
        assert_eq!(s.call("GET", &file(170 + i, "eve").init_uri(HALF), b"")["code"], 0, "eve's {i}");
    }
    assert_eq!(s.log().matches("gave way").count(), 6, "{}", s.log());
    // Four more users fill the server's 12; then Alice is served all the same: an empty session
    // gives way, never one holding an acknowledged part.
    for (i, uid) in ["u1", "u2", "u3", "u4"].iter().enumerate() {
        assert_eq!(s.call("GET", &file(180 + i as u64, uid).init_uri(HALF), b"")["code"], 0);
    }
    let alice = file(190, "alice");
    assert_eq!(s.call("GET", &alice.init_uri(HALF), b"")["code"], 0, "alice is locked out");
    assert_eq!(s.log().matches("gave way").count(), 7);
    for f in &mallory {
        assert_eq!(listed(&s.call("GET", &f.init_uri(HALF), b"")), vec![0], "an acknowledged part gave way");
    }
    // Alice's upload finishes.
    put_parts(&s, &alice, &[0, 1]);
    assert_eq!(s.call("GET", &alice.finish_uri(), b"")["code"], 0);
}

/// Sends the head of part `index` (parts of `size`) of `f` on a new connection from `from`.
fn part_head(s: &Server, f: &TestFile, index: usize, size: usize, from: std::net::IpAddr) -> (std::net::TcpStream, Vec<u8>) {
    let (uri, body) = f.part(index, size);
    let mut stream = connect_from(from, s.addr).unwrap();
    write!(stream, "POST {uri} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n", s.addr, body.len()).unwrap();
    (stream, body)
}

/// What the server answers on `stream` within `within` (empty if nothing came).
fn answer_within(stream: &mut std::net::TcpStream, within: Duration) -> String {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).to_string()
}

/// Writes `body` on `stream` at about `bytes_per_sec`, 100 ms at a time; stops at the first error.
fn send_at(mut stream: std::net::TcpStream, body: Vec<u8>, bytes_per_sec: usize) -> std::net::TcpStream {
    let step = (bytes_per_sec / 10).max(1);
    for piece in body.chunks(step) {
        if stream.write_all(piece).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stream
}

#[test]
fn a_session_receives_few_bodies_at_once_and_a_trickle_is_cut_but_a_slow_body_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let floor = ["--max-bodies-per-session", "2", "--min-body-rate", "1024", "--min-body-rate-window", "2s"];
    let s = Server::start(dir.path(), &floor);
    let f = TestFile::new(HALF * 4, 200);
    assert_eq!(s.call("GET", &f.init_uri(HALF), b"")["code"], 0);
    // Two bodies trickling at 200 bytes a second hold the session's two places.
    let trickles: Vec<_> = (0..2)
        .map(|i| {
            let (stream, body) = part_head(&s, &f, i, HALF, ip(3));
            std::thread::spawn(move || send_at(stream, body[..4000].to_vec(), 200))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // 30 more bodies for the same session from three addresses, and part 0 again: each answered at
    // once, before its body is read (-10004, retry later).
    for i in 0..30 {
        let (mut stream, _) = part_head(&s, &f, 2 + i % 2, HALF, ip(4 + (i % 3) as u8));
        let answer = answer_within(&mut stream, Duration::from_secs(3));
        assert!(answer.contains("\"code\":-10004") && answer.contains("being received already"), "{answer}");
    }
    let (mut again, _) = part_head(&s, &f, 0, HALF, ip(3));
    let answer = answer_within(&mut again, Duration::from_secs(3));
    assert!(answer.contains("\"code\":-10004") && answer.contains("on another connection"), "{answer}");
    // An honest upload of another file goes through meanwhile.
    honest_upload(&s, &TestFile::new(3 * MIB, 201), ip(9));
    // The trickles are cut once a window shows them under the floor; their parts are not stored.
    for t in trickles {
        let mut stream = t.join().unwrap();
        let answer = answer_within(&mut stream, Duration::from_secs(5));
        assert!(answer.contains("\"code\":-10004") && answer.contains("slower than 1024 bytes a second"), "{answer}");
    }
    // A body at 100 KB/s takes longer than a window, and more than one: stored all the same.
    let started = Instant::now();
    let (stream, body) = part_head(&s, &f, 2, HALF, ip(3));
    let mut stream = send_at(stream, body, 100_000);
    let answer = answer_within(&mut stream, Duration::from_secs(5));
    assert!(answer.contains("\"code\":0"), "{answer}");
    eprintln!("a 512 KiB body at 100 KB/s, under a floor of 1 KB/s over 2 s windows, stored in {:?}", started.elapsed());
    assert_eq!(listed(&s.call("GET", &f.init_uri(HALF), b"")), vec![2 * HALF as u64]);
}
