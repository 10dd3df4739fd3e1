//! Every rule of `docs/protocol.md`'s three calls, in process (`oneshot` on the router).

mod common;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn fresh_upload_finish_instant_and_refinish() {
    let (r, _dir) = router().await;
    let f = TestFile::new(HALF * 2 + HALF / 2, 1);
    let done = upload_all(&r, &f, HALF).await;
    let file_id = done["fileId"].as_str().unwrap().to_string();
    assert!((19..=20).contains(&file_id.len()) && file_id.bytes().all(|b| b.is_ascii_digit()), "{file_id}");
    let url = format!("http://127.0.0.1:8080/vod/{file_id}/f0.mp4");
    assert_eq!(done["url"], url);
    let vc = done["verify_content"].as_str().unwrap();
    assert_eq!(vod_server::sign::check_verify_content(SECRET_KEY, vc, vod_server::sign::now_unix()).unwrap(), file_id);

    // Instant upload: code 2 with the same fileId and url.
    let v = get(&r, &f.init_uri(MIB)).await;
    assert_eq!(v["code"], 2, "{v}");
    assert_eq!(v["fileId"], file_id.as_str());
    assert_eq!(v["url"], url);
    // Finishing again, also right after the instant answer: the same fileId.
    for _ in 0..2 {
        let v = get(&r, &f.finish_uri()).await;
        assert_eq!(v["code"], 0, "{v}");
        assert_eq!(v["fileId"], file_id.as_str());
        assert_eq!(v["url"], url);
        assert!(v["verify_content"].is_string());
    }
    // The finished file is served whole.
    let (status, bytes) = send(&r, "GET", &format!("/vod/{file_id}/f0.mp4"), vec![]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, f.bytes);
    // A part for a finished file: no session.
    let (uri, body) = f.part(0, HALF);
    assert_code(&post(&r, &uri, body).await, -10005, 0, "no upload session");
}

#[tokio::test]
async fn resume_lists_held_parts_with_the_sessions_data_size() {
    let (r, _dir) = router().await;
    let f = TestFile::new(HALF * 3 + 10, 2);
    assert_eq!(get(&r, &f.init_uri(HALF)).await["code"], 0);
    for i in [2, 0] {
        let (uri, body) = f.part(i, HALF);
        assert_eq!(post(&r, &uri, body).await["code"], 0);
    }
    // Asking for 1 MiB parts now: the answer keeps the session's 512 KiB.
    let v = get(&r, &f.init_uri(MIB)).await;
    assert_eq!(v["code"], 1, "{v}");
    assert_eq!(v["dataSize"], HALF);
    let list = v["listParts"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    for (entry, i) in list.iter().zip([0usize, 2]) {
        assert_eq!(entry["offset"], i * HALF);
        assert_eq!(entry["dataSize"], HALF);
        assert_eq!(entry["dataMd5"], md5_hex(&f.bytes[i * HALF..(i + 1) * HALF]));
    }
    // A resume with another fileSize is refused.
    let v = get(&r, &init_uri(&f.sha, f.bytes.len() as u64 + 1, HALF as u64, &f.sig)).await;
    assert_code(&v, -10003, 0, "fileSize");
    // Finishing with parts missing says how many.
    assert_code(&get(&r, &f.finish_uri()).await, -10003, 0, "2 of 4 parts are missing");
    for i in [1, 3] {
        let (uri, body) = f.part(i, HALF);
        assert_eq!(post(&r, &uri, body).await["code"], 0);
    }
    assert_eq!(get(&r, &f.finish_uri()).await["code"], 0);
}

#[tokio::test]
async fn init_parameters() {
    let (r, _dir) = router().await;
    let f = TestFile::new(1000, 3);
    for ds in ["1000", "0", "2097152", "abc", "-1", ""] {
        let uri = format!("/v2/index.php?Action=InitUploadEx&fileSha={}&fileSize=1000&dataSize={ds}&signature={}", f.sha, enc(&f.sig));
        assert_code(&get(&r, &uri).await, -10003, 0, "dataSize");
    }
    for fs in ["0", "x", "1.5", "-4", "99999999999999999999"] {
        let uri = format!("/v2/index.php?Action=InitUploadEx&fileSha={}&fileSize={fs}&dataSize=524288&signature={}", f.sha, enc(&f.sig));
        assert_code(&get(&r, &uri).await, -10003, 0, "fileSize");
    }
    for sha in ["abc", &"g".repeat(40), &f.sha[..39]] {
        let uri = init_uri(sha, 1000, HALF as u64, &f.sig);
        assert_code(&get(&r, &uri).await, -10003, 0, "fileSha");
    }
    let uri = format!("/v2/index.php?Action=InitUploadEx&fileSize=1000&dataSize=524288&signature={}", enc(&f.sig));
    assert_code(&get(&r, &uri).await, -10003, 0, "fileSha");
    // Both part sizes open a session; an uppercase SHA-1 is the same file.
    assert_eq!(get(&r, &f.init_uri(MIB)).await["code"], 0);
    let g = TestFile::new(1000, 4);
    assert_eq!(get(&r, &init_uri(&g.sha.to_uppercase(), 1000, HALF as u64, &g.sig)).await["code"], 0);
    assert_eq!(get(&r, &g.init_uri(HALF)).await["code"], 1);
}

#[tokio::test]
async fn common_parameters_versus_protocol_parameters() {
    let (r, _dir) = router().await;
    let f = TestFile::new(1000, 5);
    // Action missing: -10001.
    assert_code(&get(&r, "/v2/index.php").await, -10001, 0, "Action");
    assert_code(&get(&r, &format!("/v2/index.php?fileSha={}", f.sha)).await, -10001, 0, "Action");
    assert_code(&get(&r, "/v2/index.php?Action=").await, -10001, 0, "Action");
    // signature missing or empty: -10001, whatever else is wrong.
    for action in ["InitUploadEx", "FinishUploadEx"] {
        assert_code(&get(&r, &format!("/v2/index.php?Action={action}&fileSha={}", f.sha)).await, -10001, 0, "signature");
        assert_code(&get(&r, &format!("/v2/index.php?Action={action}&signature=")).await, -10001, 0, "signature");
    }
    assert_code(&post(&r, &format!("/v2/index.php?Action=UploadPartEx&fileSha={}", f.sha), vec![1]).await, -10001, 0, "signature");
    // Unknown action, duplicated parameter: -10003.
    assert_code(&get(&r, "/v2/index.php?Action=DeleteFile").await, -10003, 0, "unknown Action");
    assert_code(&get(&r, "/v2/index.php?Action=initUploadEx").await, -10003, 0, "unknown Action");
    let dup = format!("{}&fileSize=1000", f.init_uri(HALF));
    assert_code(&get(&r, &dup).await, -10003, 0, "more than once");
    // Garbage signature: -10002.
    assert_code(&get(&r, &init_uri(&f.sha, 1000, HALF as u64, "garbage!")).await, -10002, 0, "base64");
}

#[tokio::test]
async fn wrong_methods() {
    let (r, _dir) = router().await;
    let f = TestFile::new(1000, 6);
    assert_code(&post(&r, &f.init_uri(HALF), vec![]).await, -10003, 0, "GET only");
    assert_code(&post(&r, &f.finish_uri(), vec![]).await, -10003, 0, "GET only");
    let (uri, _) = f.part(0, HALF);
    assert_code(&get(&r, &uri).await, -10003, 0, "POST only");
    assert_code(&call(&r, "PUT", &uri, vec![]).await, -10003, 0, "POST only");
    assert_code(&call(&r, "DELETE", &f.init_uri(HALF), vec![]).await, -10003, 0, "GET only");
}

#[tokio::test]
async fn part_offsets_and_sizes() {
    let (r, _dir) = router().await;
    let f = TestFile::new(HALF * 2 + 1000, 7);
    assert_eq!(get(&r, &f.init_uri(HALF)).await["code"], 0);
    let md5 = |a: usize, b: usize| md5_hex(&f.bytes[a..b]);
    let body = |a: usize, b: usize| f.bytes[a..b].to_vec();
    // Offset not a multiple of dataSize.
    let v = post(&r, &part_uri(&f.sha, 1000, HALF as u64, &md5(1000, 1000 + HALF), &f.sig), body(1000, 1000 + HALF)).await;
    assert_code(&v, -10003, 0, "multiple");
    // Offset past the end.
    let v = post(&r, &part_uri(&f.sha, 3 * HALF as u64, 10, &md5(0, 10), &f.sig), body(0, 10)).await;
    assert_code(&v, -10003, 0, "end of the file");
    // A middle part shorter than dataSize.
    let v = post(&r, &part_uri(&f.sha, 0, 1000, &md5(0, 1000), &f.sig), body(0, 1000)).await;
    assert_code(&v, -10003, 0, "must be 524288");
    // The last part claiming a full dataSize.
    let v = post(&r, &part_uri(&f.sha, 2 * HALF as u64, HALF as u64, &md5(0, HALF), &f.sig), body(0, HALF)).await;
    assert_code(&v, -10003, 0, "must be 1000");
    // Body length differing from dataSize (short and long).
    let v = post(&r, &part_uri(&f.sha, 2 * HALF as u64, 1000, &md5(2 * HALF, 2 * HALF + 999), &f.sig), body(2 * HALF, 2 * HALF + 999)).await;
    assert_code(&v, -10003, 0, "body is 999 bytes");
    let mut long = body(2 * HALF, 2 * HALF + 1000);
    long.push(0);
    let v = post(&r, &part_uri(&f.sha, 2 * HALF as u64, 1000, &md5_hex(&long), &f.sig), long).await;
    assert_code(&v, -10003, 0, "body is 1001 bytes");
    // Non-numeric and missing parameters.
    let uri = format!("/v2/index.php?Action=UploadPartEx&fileSha={}&offset=x&dataSize=1000&dataMd5={}&signature={}", f.sha, md5(0, 1000), enc(&f.sig));
    assert_code(&post(&r, &uri, body(0, 1000)).await, -10003, 0, "offset");
    let uri = format!("/v2/index.php?Action=UploadPartEx&fileSha={}&offset=0&dataSize=1000&signature={}", f.sha, enc(&f.sig));
    assert_code(&post(&r, &uri, body(0, 1000)).await, -10003, 0, "dataMd5");
    let uri = part_uri(&f.sha, 0, HALF as u64, "xyz", &f.sig);
    assert_code(&post(&r, &uri, body(0, HALF)).await, -10003, 0, "dataMd5");
    // The right last part.
    let v = post(&r, &part_uri(&f.sha, 2 * HALF as u64, 1000, &md5(2 * HALF, 2 * HALF + 1000), &f.sig), body(2 * HALF, 2 * HALF + 1000)).await;
    assert_eq!(v["code"], 0, "{v}");
    // Nothing wrong was stored.
    let v = get(&r, &f.init_uri(HALF)).await;
    assert_eq!(v["listParts"].as_array().unwrap().len(), 1, "{v}");
}

#[tokio::test]
async fn oversize_body_is_refused_unread() {
    let (r, _dir) = router().await;
    let f = TestFile::new(MIB * 2, 8);
    assert_eq!(get(&r, &f.init_uri(MIB)).await["code"], 0);
    let big = vec![7u8; MIB + 1];
    let v = post(&r, &part_uri(&f.sha, 0, MIB as u64, &md5_hex(&big), &f.sig), big).await;
    assert_code(&v, -10003, 0, "larger than 1048576");
}

#[tokio::test]
async fn md5_mismatch_is_retryable_and_stores_nothing() {
    let (r, _dir) = router().await;
    let f = TestFile::new(HALF + 100, 9);
    assert_eq!(get(&r, &f.init_uri(HALF)).await["code"], 0);
    let (uri, mut body) = f.part(0, HALF);
    body[5] ^= 0xff;
    assert_code(&post(&r, &uri, body).await, -10006, 1, "MD5");
    let v = get(&r, &f.init_uri(HALF)).await;
    assert_eq!(v["code"], 1);
    assert!(v["listParts"].as_array().unwrap().is_empty(), "{v}");
}

#[tokio::test]
async fn resending_a_held_part_is_idempotent() {
    let (r, _dir) = router_with(|c| c.dev_signing = true).await;
    let f = TestFile::new(HALF + 100, 10);
    assert_eq!(get(&r, &f.init_uri(HALF)).await["code"], 0);
    for _ in 0..3 {
        let (uri, body) = f.part(0, HALF);
        assert_eq!(post(&r, &uri, body).await["code"], 0);
    }
    // The same offset with other (self-consistent) bytes is refused.
    let other = data(HALF, 99);
    let v = post(&r, &part_uri(&f.sha, 0, HALF as u64, &md5_hex(&other), &f.sig), other).await;
    assert_code(&v, -10003, 0, "another MD5");
    let (_, stats) = send(&r, "GET", &format!("/dev/stats?fileSha={}", f.sha), vec![]).await;
    let stats: Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(stats["partsReceived"], 3, "{stats}");
    assert_eq!(stats["bytesReceived"], 3 * HALF, "{stats}");
    assert_eq!(stats["partsHeld"], 1, "{stats}");
    assert_eq!(stats["finished"], false);
    let (uri, body) = f.part(1, HALF);
    assert_eq!(post(&r, &uri, body).await["code"], 0);
    let done = get(&r, &f.finish_uri()).await;
    let (_, stats) = send(&r, "GET", &format!("/dev/stats?fileSha={}", f.sha), vec![]).await;
    let stats: Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(stats["finished"], true);
    assert_eq!(stats["fileId"], done["fileId"]);
    assert_eq!(stats["partsHeld"], 0);
}

#[tokio::test]
async fn sha_mismatch_drops_the_session() {
    let (r, _dir) = router().await;
    let f = TestFile::new(HALF + 100, 11);
    let wrong = data(HALF + 100, 12);
    assert_eq!(get(&r, &f.init_uri(HALF)).await["code"], 0);
    for (off, end) in [(0, HALF), (HALF, HALF + 100)] {
        let part = &wrong[off..end];
        let v = post(&r, &part_uri(&f.sha, off as u64, part.len() as u64, &md5_hex(part), &f.sig), part.to_vec()).await;
        assert_eq!(v["code"], 0);
    }
    assert_code(&get(&r, &f.finish_uri()).await, -10006, 0, "SHA-1");
    // The session is gone: parts and finish have no session, a new init starts fresh.
    let (uri, body) = f.part(0, HALF);
    assert_code(&post(&r, &uri, body).await, -10005, 0, "no upload session");
    assert_code(&get(&r, &f.finish_uri()).await, -10005, 0, "no upload session");
    assert_eq!(get(&r, &f.init_uri(HALF)).await["code"], 0);
}

#[tokio::test]
async fn calls_without_a_session() {
    let (r, _dir) = router().await;
    let f = TestFile::new(HALF + 100, 13);
    let (uri, body) = f.part(0, HALF);
    assert_code(&post(&r, &uri, body).await, -10005, 0, "no upload session");
    assert_code(&get(&r, &f.finish_uri()).await, -10005, 0, "no upload session");
}

#[tokio::test]
async fn out_of_order_concurrent_parts_and_several_uploads() {
    let (r, _dir) = router().await;
    let files: Vec<TestFile> = (20..23).map(|s| TestFile::new(HALF * 4 + 321, s)).collect();
    for f in &files {
        assert_eq!(get(&r, &f.init_uri(HALF)).await["code"], 0);
    }
    let mut tasks = Vec::new();
    for f in &files {
        for i in [4, 2, 0, 3, 1] {
            let (uri, body) = f.part(i, HALF);
            let r = r.clone();
            tasks.push(tokio::spawn(async move { post(&r, &uri, body).await }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap()["code"], 0);
    }
    let mut ids = std::collections::HashSet::new();
    for f in &files {
        let v = get(&r, &f.finish_uri()).await;
        assert_eq!(v["code"], 0, "{v}");
        assert!(ids.insert(v["fileId"].as_str().unwrap().to_string()));
        let (_, bytes) = send(&r, "GET", &format!("/vod/{}/f0.mp4", v["fileId"].as_str().unwrap()), vec![]).await;
        assert_eq!(sha1_hex(&bytes), f.sha);
    }
}

#[tokio::test]
async fn state_survives_reopening_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let f = TestFile::new(HALF * 2 + 5, 30);
    let g = TestFile::new(HALF + 5, 31);
    let g_id;
    {
        let r = router_on(dir.path(), |_| {}).await;
        g_id = upload_all(&r, &g, HALF).await["fileId"].clone();
        assert_eq!(get(&r, &f.init_uri(HALF)).await["code"], 0);
        let (uri, body) = f.part(1, HALF);
        assert_eq!(post(&r, &uri, body).await["code"], 0);
    }
    let r = router_on(dir.path(), |c| c.public_url = "http://vod.test".into()).await;
    let v = get(&r, &g.init_uri(HALF)).await;
    assert_eq!(v["code"], 2);
    assert_eq!(v["fileId"], g_id);
    assert_eq!(v["url"], format!("http://vod.test/vod/{}/f0.mp4", g_id.as_str().unwrap()));
    let v = get(&r, &f.init_uri(HALF)).await;
    assert_eq!(v["code"], 1);
    assert_eq!(v["listParts"][0]["offset"], HALF);
    // Finishing after a restart re-reads the data file for the SHA-1.
    for i in [0, 2] {
        let (uri, body) = f.part(i, HALF);
        assert_eq!(post(&r, &uri, body).await["code"], 0);
    }
    assert_eq!(get(&r, &f.finish_uri()).await["code"], 0);
}

#[tokio::test]
async fn name_and_type_come_from_the_signature() {
    let (r, _dir) = router().await;
    let bytes = data(1000, 40);
    let sha = sha1_hex(&bytes);
    let params = vod_server::sign::SignParams {
        file_type: Some("webm".into()),
        r: 1,
        transcode: Some(false),
        class_id: Some(3),
        ..vod_server::sign::SignParams::new(SECRET_ID, &sha, "Holiday.MOV", "u", 60)
    };
    let s = vod_server::sign::sign(&params, SECRET_KEY);
    assert_eq!(get(&r, &init_uri(&sha, 1000, HALF as u64, &s)).await["code"], 0);
    assert_eq!(post(&r, &part_uri(&sha, 0, 1000, &md5_hex(&bytes), &s), bytes.clone()).await["code"], 0);
    let v = get(&r, &format!("{}&fileName=x.exe&fileType=exe", finish_uri(&sha, &s))).await;
    assert!(v["url"].as_str().unwrap().ends_with("/f0.webm"), "{v}");
}

#[tokio::test]
async fn cors_on_the_api() {
    let (r, _dir) = router().await;
    let req = axum::http::Request::builder()
        .method("OPTIONS")
        .uri("/v2/index.php?Action=UploadPartEx")
        .header("origin", "http://other.test")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(axum::body::Body::empty())
        .unwrap();
    use tower::ServiceExt;
    let resp = r.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert!(h["access-control-allow-headers"].to_str().unwrap().to_lowercase().contains("content-type"));
    let req = axum::http::Request::builder()
        .uri("/v2/index.php")
        .header("origin", "http://other.test")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = r.oneshot(req).await.unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn static_folders_and_dev_endpoints() {
    let www = tempfile::tempdir().unwrap();
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(dist.path().join("pkg.js"), "export {}").unwrap();
    let (r, _dir) = router_with(|c| {
        c.www = Some(www.path().to_path_buf());
        c.mounts.push(("/dist".into(), dist.path().to_path_buf()));
    })
    .await;
    let (status, body) = send(&r, "GET", "/", vec![]).await;
    assert_eq!((status.as_u16(), body), (200, b"<h1>demo</h1>".to_vec()));
    let (status, body) = send(&r, "GET", "/dist/pkg.js", vec![]).await;
    assert_eq!((status.as_u16(), body), (200, b"export {}".to_vec()));
    assert_eq!(send(&r, "GET", "/dist/../index.html", vec![]).await.0, 404);
    // No dev endpoints without dev_signing.
    assert_eq!(send(&r, "POST", "/dev/signature", b"{}".to_vec()).await.0, 404);
    assert_eq!(send(&r, "GET", "/dev/stats", vec![]).await.0, 404);

    let (r, _dir) = router_with(|c| c.dev_signing = true).await;
    let f = TestFile::new(100, 50);
    let req = serde_json::json!({"fileSha": f.sha, "fileName": "a b.mp4", "uid": "alice"}).to_string();
    let (status, body) = send_json(&r, "/dev/signature", req.into_bytes()).await;
    assert_eq!(status, 200);
    let s: Value = serde_json::from_slice(&body).unwrap();
    let s = s["signature"].as_str().unwrap();
    let v = vod_server::sign::verify(s, &f.sha, vod_server::sign::single_key(SECRET_ID, SECRET_KEY), vod_server::sign::now_unix()).unwrap();
    assert_eq!((v.file_name.as_str(), v.file_type.as_str(), v.uid.as_str()), ("a b.mp4", "mp4", "alice"));
    assert_eq!(get(&r, &init_uri(&f.sha, 100, HALF as u64, s)).await["code"], 0);
    // The optional fields, as a backend adds them.
    let req = serde_json::json!({"fileSha": f.sha, "fileName": "a.mp4", "classId": 4, "tags": ["x", "y"],
        "transcode": true, "screenshot": false, "watermark": true}).to_string();
    let (_, body) = send_json(&r, "/dev/signature", req.into_bytes()).await;
    let s: Value = serde_json::from_slice(&body).unwrap();
    let v = vod_server::sign::verify(s["signature"].as_str().unwrap(), &f.sha, vod_server::sign::single_key(SECRET_ID, SECRET_KEY), vod_server::sign::now_unix()).unwrap();
    assert_eq!((v.class_id, v.tags.clone(), v.transcode, v.screenshot, v.watermark), (Some(4), vec!["x".to_string(), "y".to_string()], true, false, true));
    // A negative ttl gives an expired signature.
    let req = serde_json::json!({"fileSha": f.sha, "fileName": "a.mp4", "ttl": -5}).to_string();
    let (_, body) = send_json(&r, "/dev/signature", req.into_bytes()).await;
    let s: Value = serde_json::from_slice(&body).unwrap();
    assert_code(&get(&r, &init_uri(&f.sha, 100, HALF as u64, s["signature"].as_str().unwrap())).await, -10002, 0, "expired");
    for bad in [
        "not json".to_string(),
        serde_json::json!({"fileName": "a.mp4"}).to_string(),
        serde_json::json!({"fileSha": "abc", "fileName": "a.mp4"}).to_string(),
        serde_json::json!({"fileSha": f.sha, "fileName": "../a.mp4"}).to_string(),
        serde_json::json!({"fileSha": f.sha, "fileName": "noext"}).to_string(),
        serde_json::json!({"fileSha": f.sha, "fileName": "a.mp4", "ttl": "x"}).to_string(),
        serde_json::json!({"fileSha": f.sha, "fileName": "a.mp4", "tags": [""]}).to_string(),
        serde_json::json!({"fileSha": f.sha, "fileName": "a.mp4", "transcode": 1}).to_string(),
    ] {
        let (status, body) = send_json(&r, "/dev/signature", bad.clone().into_bytes()).await;
        assert_eq!(status, 400, "{bad}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(v["error"].is_string(), "{bad}: {v}");
    }
    let (_, body) = send(&r, "GET", "/dev/stats", vec![]).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["calls"]["InitUploadEx"], 2, "{v}");
    assert_eq!(v["faultsInjected"], 0);
}
