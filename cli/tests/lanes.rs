//! The library's lanes in process: vod-server's router on a real port, behind a layer that holds
//! each part's call for a while and counts the calls in flight: a batch's files share one lane
//! budget (`concurrency` parts in flight across them all), every file arrives, and on a slow link
//! the defaults keep one part in flight (the lanes fit the speed measured as parts are answered).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use vod_upload::{Auth, Key, Uploader};

#[path = "../../tests/common/bytes.rs"]
mod random;

const SECRET_ID: &str = "AKIDlanes";
const SECRET_KEY: &str = "lanes-secret-key";

/// vod-server's router on a real port, each part's call held `hold` before it is answered: its
/// address, and the most part calls that were in flight at once.
async fn holding_server(dir: &std::path::Path, hold: Duration) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = vod_server::Config::new(dir.join("data"), SECRET_ID, SECRET_KEY);
    config.public_url = format!("http://{addr}");
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (counting, highest) = (now.clone(), most.clone());
    let app = vod_server::app(vod_server::AppState::open(config).await.unwrap()).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let (now, most) = (counting.clone(), highest.clone());
            async move {
                let part = request.uri().query().is_some_and(|q| q.starts_with("Action=UploadPart&"));
                if !part {
                    return next.run(request).await;
                }
                most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(hold).await;
                let answer = next.run(request).await;
                now.fetch_sub(1, Ordering::SeqCst);
                answer
            }
        },
    ));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, most)
}

fn key() -> Auth {
    Auth::Key(Key { secret_id: SECRET_ID.into(), secret_key: SECRET_KEY.into() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_keeps_its_parts_in_flight_within_one_budget() {
    let dir = tempfile::tempdir().unwrap();
    // Held long enough that every file's parts would overlap were they not budgeted.
    let (addr, most) = holding_server(dir.path(), Duration::from_millis(60)).await;

    let files: Vec<(std::path::PathBuf, Vec<u8>)> = (0..4)
        .map(|i| {
            let bytes = random::bytes(4 * 524_288 + 7 * i, 40 + i as u64);
            let path = dir.path().join(format!("lane {i}.mp4"));
            std::fs::write(&path, &bytes).unwrap();
            (path, bytes)
        })
        .collect();
    let mut uploader = Uploader::new(&format!("http://{addr}/v2/index.php"), key());
    (uploader.concurrency, uploader.part_size) = (2, Some(524_288));
    let paths: Vec<_> = files.iter().map(|(p, _)| p.clone()).collect();
    let mut done = Vec::new();
    let failed = uploader.upload_many(&paths, 3, |i, outcome| done.push((i, outcome.unwrap_or_else(|e| panic!("file {i}: {e}"))))).await;
    assert_eq!((failed, done.len()), (0, 4));
    for (i, result) in done {
        assert_eq!(result.file_sha, vod_ugc_uploader::hash::sha1_hex(&files[i].1));
        let stored = reqwest::get(&result.url).await.unwrap().bytes().await.unwrap();
        assert_eq!(&stored[..], &files[i].1[..], "file {i}");
    }
    // Three files at once with 2 parts each would be 6 in flight: the budget is 2, and it is used.
    assert_eq!(most.load(Ordering::SeqCst), 2, "the most part calls in flight at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_slow_link_the_defaults_keep_one_part_in_flight() {
    // Each 512 KiB part answered after 3 s: a link of ~175 KB/s, where four parts at once would
    // each take 12 s and a cut would lose four. The first part goes alone and tells the speed; the
    // others follow one at a time (fixed lanes would have sent all three at once).
    let dir = tempfile::tempdir().unwrap();
    let (addr, most) = holding_server(dir.path(), Duration::from_secs(3)).await;
    let bytes = random::bytes(3 * 524_288 - 1000, 50);
    let path = dir.path().join("slow.mp4");
    std::fs::write(&path, &bytes).unwrap();
    let mut uploader = Uploader::new(&format!("http://{addr}/v2/index.php"), key());
    // The part size set: the default follows the speed other tests of this process measured.
    uploader.part_size = Some(524_288);
    assert_eq!(uploader.concurrency, 4, "the default ceiling");
    let result = uploader.upload(&path).await.unwrap();
    assert_eq!(result.uploaded_bytes, bytes.len() as u64);
    let stored = reqwest::get(&result.url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&stored[..], &bytes[..]);
    assert_eq!(most.load(Ordering::SeqCst), 1, "the most part calls in flight at once");
}
