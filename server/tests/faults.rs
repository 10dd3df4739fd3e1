//! Fault injection: each mode through the router, a faulted part is not stored, the seeded share,
//! and over a real socket a dropped connection really is dropped.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use http_body_util::BodyExt;
use serde_json::Value;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use vod_server::{FaultConfig, FaultKind};

fn always(kind: FaultKind) -> FaultConfig {
    FaultConfig { rate: 1.0, seed: 3, kinds: vec![kind], slow_ms: 150 }
}

#[tokio::test]
async fn retry_code() {
    let (r, _dir) = router_with(|c| c.faults = always(FaultKind::RetryCode)).await;
    let f = TestFile::new(100, 1);
    assert_code(&get(&r, &f.init_uri(HALF)).await, -10004, 1, "injected");
}

#[tokio::test]
async fn http_500_and_503_with_html() {
    for (kind, status) in [(FaultKind::Http500, 500), (FaultKind::Http503, 503)] {
        let (r, _dir) = router_with(|c| c.faults = always(kind)).await;
        let f = TestFile::new(100, 2);
        let req = Request::builder().uri(f.init_uri(HALF)).body(Body::empty()).unwrap();
        let resp = r.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), status);
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("<html>"));
    }
}

#[tokio::test]
async fn drop_gives_a_failing_body() {
    let (r, _dir) = router_with(|c| c.faults = always(FaultKind::Drop)).await;
    let f = TestFile::new(100, 3);
    let req = Request::builder().uri(f.init_uri(HALF)).body(Body::empty()).unwrap();
    let resp = r.oneshot(req).await.unwrap();
    assert!(resp.into_body().collect().await.is_err());
}

#[tokio::test]
async fn slow_answers_correctly_after_the_delay() {
    let (r, _dir) = router_with(|c| c.faults = always(FaultKind::Slow)).await;
    let f = TestFile::new(100, 4);
    let started = Instant::now();
    let v = upload_all(&r, &f, HALF).await;
    assert!(started.elapsed() >= Duration::from_millis(3 * 150));
    assert!(v["fileId"].is_string());
}

#[tokio::test]
async fn a_faulted_part_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let f = TestFile::new(HALF + 10, 5);
    {
        let r = router_on(dir.path(), |_| {}).await;
        assert_eq!(get(&r, &f.init_uri(HALF)).await["code"], 0);
    }
    for kind in [FaultKind::RetryCode, FaultKind::Http500, FaultKind::Http503, FaultKind::Drop] {
        let r = router_on(dir.path(), |c| {
            c.faults = always(kind);
            c.dev_signing = true;
        })
        .await;
        let (uri, body) = f.part(0, HALF);
        let _ = send_lenient(&r, &uri, body).await;
        let (_, stats) = send(&r, "GET", &format!("/dev/stats?fileSha={}", f.sha), vec![]).await;
        let stats: Value = serde_json::from_slice(&stats).unwrap();
        assert_eq!(stats["partsReceived"], 0, "{kind:?}: {stats}");
        assert_eq!(stats["partsHeld"], 0, "{kind:?}: {stats}");
        let (_, global) = send(&r, "GET", "/dev/stats", vec![]).await;
        let global: Value = serde_json::from_slice(&global).unwrap();
        assert_eq!(global["faultsInjected"], 1, "{global}");
        assert_eq!(global["calls"]["UploadPartEx"], 1, "{global}");
    }
    // A slow part is stored.
    let r = router_on(dir.path(), |c| c.faults = always(FaultKind::Slow)).await;
    let (uri, body) = f.part(0, HALF);
    assert_eq!(post(&r, &uri, body).await["code"], 0);
    let r = router_on(dir.path(), |_| {}).await;
    let v = get(&r, &f.init_uri(HALF)).await;
    assert_eq!(v["listParts"].as_array().unwrap().len(), 1, "{v}");
}

/// Sends a part, tolerating a failing body (the Drop fault).
async fn send_lenient(r: &axum::Router, uri: &str, body: Vec<u8>) -> Option<u16> {
    let req = Request::builder().method("POST").uri(uri).body(Body::from(body)).unwrap();
    let resp = r.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    resp.into_body().collect().await.ok().map(|_| status)
}

#[tokio::test]
async fn seeded_share_is_reproducible() {
    let outcomes = |seed: u64| async move {
        let (r, _dir) = router_with(|c| {
            c.faults = FaultConfig { rate: 0.3, seed, kinds: vec![FaultKind::RetryCode, FaultKind::Http503], slow_ms: 1 };
        })
        .await;
        let f = TestFile::new(100, 6);
        let mut out = Vec::new();
        for _ in 0..200 {
            let (status, body) = send(&r, "GET", &f.init_uri(HALF), vec![]).await;
            let code = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["code"].as_i64());
            out.push((status.as_u16(), code));
        }
        out
    };
    let a = outcomes(11).await;
    assert_eq!(a, outcomes(11).await);
    assert_ne!(a, outcomes(12).await);
    let faulted = a.iter().filter(|(s, c)| *s == 503 || *c == Some(-10004)).count();
    assert!((35..=85).contains(&faulted), "{faulted} of 200");
    assert!(a.iter().any(|(s, _)| *s == 503) && a.iter().any(|(_, c)| *c == Some(-10004)));
}

#[tokio::test]
async fn faults_only_touch_the_api() {
    let (r, _dir) = router_with(|c| {
        c.faults = always(FaultKind::Http500);
        c.dev_signing = true;
    })
    .await;
    assert_eq!(send(&r, "GET", "/dev/stats", vec![]).await.0, 200);
    assert_eq!(send(&r, "GET", "/vod/1/f0.mp4", vec![]).await.0, 404);
}

#[test]
fn dropped_connection_over_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--fault-rate", "1", "--fault-kinds", "drop"]);
    let f = TestFile::new(HALF + 10, 7);
    let e = s.http("GET", &f.init_uri(HALF), &[], b"").err().expect("no response");
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    // Also with a part's body in flight: no bytes of a response come back.
    let (uri, body) = f.part(0, HALF);
    let mut stream = std::net::TcpStream::connect(s.addr).unwrap();
    use std::io::{Read, Write};
    write!(stream, "POST {uri} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    stream.write_all(&body).unwrap();
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
}

#[test]
fn http_faults_over_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--fault-rate", "1", "--fault-kinds", "http503,http500"]);
    let f = TestFile::new(100, 8);
    for _ in 0..6 {
        let r = s.http("GET", &f.init_uri(HALF), &[], b"").unwrap();
        assert!(r.status == 500 || r.status == 503);
        assert!(String::from_utf8_lossy(&r.body).contains("<html>"));
    }
}
