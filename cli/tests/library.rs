//! The library in process: vod-server's router served on a real port by this test's runtime, and
//! `Uploader::upload_with_progress` spawned as a task on it (its future is `Send`), in every flow.

use std::sync::{Arc, Mutex};

use vod_upload::{Auth, Flavour, Key, Phase, Progress, Uploader};

#[path = "../../tests/common/bytes.rs"]
mod random;

const SECRET_ID: &str = "AKIDlibrary";
const SECRET_KEY: &str = "library-secret-key";

/// vod-server's router on a real port of this test's runtime, its data under `dir`.
async fn serve(dir: &std::path::Path) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = vod_server::Config::new(dir.join("data"), SECRET_ID, SECRET_KEY);
    config.public_url = format!("http://{addr}");
    let app = vod_server::app(vod_server::AppState::open(config).await.unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_upload_in_each_flow_reports_progress_and_the_server_holds_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let addr = serve(dir.path()).await;

    let key = Key { secret_id: SECRET_ID.into(), secret_key: SECRET_KEY.into() };
    let endpoint = format!("http://{addr}/v2/index.php");
    assert_eq!(Uploader::new(&endpoint, Auth::Key(key.clone())).flow, Flavour::Server, "the server flow is the default with a key");
    for (seed, flow) in [(31, Flavour::Server), (32, Flavour::Multipart), (33, Flavour::Ugc)] {
        let bytes = random::bytes(2 * 1_048_576 + 99, seed);
        let path = dir.path().join(format!("library clip {seed}.mp4"));
        std::fs::write(&path, &bytes).unwrap();
        let mut uploader = Uploader::new(&endpoint, Auth::Key(key.clone()));
        uploader.flow = flow;
        let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let record = seen.clone();
        let task = tokio::spawn(async move { uploader.upload_with_progress(path, move |p| record.lock().unwrap().push(p)).await });
        let result = task.await.unwrap().unwrap_or_else(|e| panic!("{flow:?}: {e}"));

        assert_eq!(result.file_sha, vod_ugc_uploader::hash::sha1_hex(&bytes));
        assert_eq!((result.instant, result.resumed_bytes, result.uploaded_bytes), (false, 0, bytes.len() as u64), "{flow:?}");
        let stored = reqwest::get(&result.url).await.unwrap().bytes().await.unwrap();
        assert_eq!(&stored[..], &bytes[..], "{flow:?}: the url serves the file's bytes");
        let seen = seen.lock().unwrap();
        let phases: Vec<Phase> = seen.iter().map(|p| p.phase).collect();
        assert_eq!(phases.first(), Some(&Phase::Hashing), "{flow:?}");
        assert!(phases.contains(&Phase::Uploading), "{flow:?}");
        let last = seen.last().unwrap();
        assert_eq!((last.loaded, last.total), (bytes.len() as u64, bytes.len() as u64), "{flow:?}");
    }
}

// ------------------------------------------------------------------ hostile or broken endpoints

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A listener that hands every connection to `serve`; counts connections.
async fn endpoint<F, Fut>(serve: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    endpoint_buffered(None, serve).await
}

/// [`endpoint`], its connections' receive buffers of `receive_buffer` bytes (a link holds about its
/// bandwidth-delay product, not the megabytes loopback lets a socket queue).
async fn endpoint_buffered<F, Fut>(receive_buffer: Option<u32>, serve: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1024).unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(stream));
        }
    });
    (format!("http://{addr}/v2/index.php"), count)
}

/// Reads a request's head (up to the blank line).
async fn read_head(stream: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).to_string()
}

fn key() -> Key {
    Key { secret_id: SECRET_ID.into(), secret_key: SECRET_KEY.into() }
}

/// A file of `len` bytes in `dir`.
fn file(dir: &std::path::Path, name: &str, len: usize) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, random::bytes(len, 7)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_refused_and_followed_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let (elsewhere, reached) = endpoint(|_| async {}).await;
    let (redirecting, _) = endpoint(move |mut stream| {
        let to = elsewhere.clone();
        async move {
            let head = read_head(&mut stream).await.to_ascii_lowercase();
            let length = head.lines().find_map(|l| l.strip_prefix("content-length:")?.trim().parse::<u64>().ok()).unwrap_or(0);
            let _ = tokio::io::copy(&mut (&mut stream).take(length), &mut tokio::io::sink()).await;
            let answer = format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    })
    .await;
    for flow in [Flavour::Server, Flavour::Multipart, Flavour::Ugc] {
        let mut uploader = Uploader::new(&redirecting, Auth::Key(key()));
        (uploader.flow, uploader.retries) = (flow, 1);
        let error = uploader.upload(file(dir.path(), "clip.mp4", 600_000)).await.unwrap_err().to_string();
        assert!(error.contains("redirect (HTTP 307), which is not followed"), "{flow:?}: {error}");
    }
    assert_eq!(reached.load(Ordering::SeqCst), 0, "a request went where the redirect pointed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_fails_for_a_stall_not_for_its_length() {
    let dir = tempfile::tempdir().unwrap();
    // Opens a session, then stops reading a part after its head: the body stops moving (on loopback
    // a 1 MiB body fits in the sockets' buffers, so the stall is seen as no answer after it).
    let (deaf, _) = endpoint_buffered(Some(16 * 1024), |mut stream| async move {
        if read_head(&mut stream).await.starts_with("GET") {
            let json = r#"{"code":0,"message":"","codeDesc":"Success","canRetry":0}"#;
            let answer = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}", json.len());
            let _ = stream.write_all(answer.as_bytes()).await;
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    // Reads the request, then drip-feeds an answer a byte every 200 ms: it never stalls.
    let (dripping, _) = endpoint(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n").await;
        for _ in 0..1000 {
            if stream.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    for (url, needle) in [(deaf, "stalled: no"), (dripping, "the answer did not come within 2 s")] {
        let mut uploader = Uploader::new(&url, Auth::Key(key()));
        (uploader.retries, uploader.stall_timeout) = (0, Duration::from_secs(2));
        let started = Instant::now();
        let error = uploader.upload(file(dir.path(), "clip.mp4", 2_000_000)).await.unwrap_err().to_string();
        assert!(error.contains(needle), "{error}");
        assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    }
    // A body that moves slowly but steadily is not cut, however long it takes beyond the stall
    // timeout: through a proxy that lets about 1 MB/s through, a 5 MiB MultipartUploadVodFile part
    // takes some 5 s, more than twice the stall timeout.
    let server_dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = vod_server::Config::new(server_dir.path().join("data"), SECRET_ID, SECRET_KEY);
    config.public_url = format!("http://{addr}");
    let app = vod_server::app(vod_server::AppState::open(config).await.unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (slow, _) = endpoint_buffered(Some(32 * 1024), move |mut client| async move {
        let Ok(mut server) = tokio::net::TcpStream::connect(addr).await else { return };
        let (mut from_client, mut to_client) = client.split();
        let (mut from_server, mut to_server) = server.split();
        let up = async {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                if to_server.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(8)).await;
            }
        };
        let down = tokio::io::copy(&mut from_server, &mut to_client);
        let _ = tokio::join!(up, down);
    })
    .await;
    let mut uploader = Uploader::new(&slow, Auth::Key(key()));
    (uploader.flow, uploader.part_size, uploader.stall_timeout) = (Flavour::Multipart, Some(5 * 1_048_576), Duration::from_secs(2));
    let len = 524_288 + 5 * 1_048_576;
    let started = Instant::now();
    let result = uploader.upload(file(dir.path(), "slow.mp4", len)).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{len} bytes through a ~1 MB/s link with a 2 s stall timeout: {:?}, {} bytes sent", started.elapsed(), result.uploaded_bytes);
    assert_eq!(result.uploaded_bytes, len as u64, "a part was sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_name_with_a_bidi_control_or_not_utf8_is_refused_before_any_call() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let (url, reached) = endpoint(|_| async {}).await;
    let bidi = file(dir.path(), "clip\u{202E}4pm.exe", 1000);
    let not_utf8 = dir.path().join(std::ffi::OsStr::from_bytes(b"clip\xff.mp4"));
    std::fs::write(&not_utf8, b"bytes").unwrap();
    for (path, needle) in [(bidi, "bidirectional control U+202E"), (not_utf8, "not valid UTF-8")] {
        let error = Uploader::new(&url, Auth::Key(key())).upload(path).await.unwrap_err();
        assert!(matches!(error, vod_upload::Error::Name(_)) && error.to_string().contains(needle), "{error}");
    }
    assert_eq!(reached.load(Ordering::SeqCst), 0);
}

/// The first parts' MD5s are taken beside the SHA-1 pass (on a second core): a file rewritten
/// after that pass (same length, other bytes) must still fail, never be reported as uploaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_rewritten_after_its_sha1_pass_fails_and_is_not_reported_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let addr = serve(dir.path()).await;

    // 16 MiB: long enough a pass for the MD5s beside it to reach the first parts.
    let len = 16 * 1_048_576 + 5;
    let path = dir.path().join("rewritten.mp4");
    std::fs::write(&path, random::bytes(len, 41)).unwrap();
    let mut uploader = Uploader::new(&format!("http://{addr}/v2/index.php"), Auth::Key(key()));
    uploader.flow = Flavour::Ugc;
    let (target, rewritten) = (path.clone(), Arc::new(AtomicUsize::new(0)));
    let once = rewritten.clone();
    let on_progress = move |p: Progress| {
        if p.phase != Phase::Hashing && once.fetch_add(1, Ordering::SeqCst) == 0 {
            std::fs::write(&target, random::bytes(len, 42)).unwrap();
        }
    };
    let outcome = tokio::spawn(async move { uploader.upload_with_progress(path, on_progress).await }).await.unwrap();
    assert!(rewritten.load(Ordering::SeqCst) > 0, "the file was rewritten once its SHA-1 pass was over");
    let error = outcome.expect_err("a file rewritten mid-upload is not reported as uploaded");
    println!("rewritten after the pass: {error}");
}
