//! The library in process: vod-server's router served on a real port by this test's runtime, and
//! `Uploader::upload_with_progress` spawned as a task on it (its future is `Send`), in every flow.

use std::sync::{Arc, Mutex};

use vod_upload::{Auth, Flavour, Key, Phase, Progress, Uploader};

#[path = "../../tests/common/bytes.rs"]
mod random;

const SECRET_ID: &str = "AKIDlibrary";
const SECRET_KEY: &str = "library-secret-key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_upload_in_each_flow_reports_progress_and_the_server_holds_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = vod_server::Config::new(dir.path().join("data"), SECRET_ID, SECRET_KEY);
    config.public_url = format!("http://{addr}");
    let app = vod_server::app(vod_server::AppState::open(config).await.unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

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
