//! Signature checks through the router: every refusal is `-10002`, `canRetry 0`, with a message
//! saying why; the same signature serves all three calls.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use vod_server::sign::{self, now_unix, SignParams};

const DOC_KEY: &str = "bLcPnl88WU30VY57ipRhSePfPdOfSruK";
const DOC_ID: &str = "AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv";
const DOC_SIG: &str = "IEmbRAPy5IgIAFnt7XPAToaY3RRzPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZmPXRlbmNlbnRfdGVzdC5tcDQmdD0xNDM3OTk1NjQ0JmU9MTQzNzk5NTcwNCZyPTIwODE2NjA0MjE=";
const DOC_SHA: &str = "b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9";

fn params(sha: &str) -> SignParams {
    SignParams { r: 12345, ..SignParams::new(SECRET_ID, sha, "movie.mp4", "u1", 600) }
}

/// Init with `signature`: must be refused with a message containing `needle`.
async fn refused(r: &axum::Router, sha: &str, signature: &str, needle: &str) {
    let v = get(r, &init_uri(sha, 1000, HALF as u64, signature)).await;
    assert_code(&v, -10002, 0, needle);
}

#[tokio::test]
async fn document_vector_decodes_and_is_refused_as_expired() {
    let (r, _dir) = router_with(|c| {
        c.secret_id = DOC_ID.into();
        c.secret_key = DOC_KEY.into();
    })
    .await;
    let raw = STANDARD.decode(DOC_SIG).unwrap();
    assert_eq!(
        &raw[20..],
        b"s=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&f=tencent_test.mp4&t=1437995644&e=1437995704&r=2081660421"
    );
    refused(&r, DOC_SHA, DOC_SIG, "expired").await;
    // With another key the MAC fails first.
    let (r2, _dir2) = router_with(|c| c.secret_id = DOC_ID.into()).await;
    refused(&r2, DOC_SHA, DOC_SIG, "MAC").await;
}

#[tokio::test]
async fn tampering_and_garbage() {
    let (r, _dir) = router().await;
    let sha = sha1_hex(b"x");
    let good = sign::sign(&params(&sha), SECRET_KEY);
    // A flipped MAC bit.
    let mut raw = STANDARD.decode(&good).unwrap();
    raw[3] ^= 1;
    refused(&r, &sha, &STANDARD.encode(&raw), "MAC").await;
    // An edited original (a longer expiry) under the old MAC.
    let mut raw = STANDARD.decode(&good).unwrap();
    let original = String::from_utf8(raw.split_off(20)).unwrap();
    let e = params(&sha).e;
    let edited = original.replace(&format!("e={e}"), &format!("e={}", e + 1000));
    raw.extend_from_slice(edited.as_bytes());
    refused(&r, &sha, &STANDARD.encode(&raw), "MAC").await;
    // Garbage, too short, the URL-safe alphabet's stray characters.
    refused(&r, &sha, "%%%not-base64%%%", "Base64").await;
    refused(&r, &sha, &STANDARD.encode([1u8; 20]), "too short").await;
    refused(&r, &sha, &STANDARD.encode(b"s=x"), "too short").await;
    // Signed with another key, or naming another SecretId.
    refused(&r, &sha, &sign::sign(&params(&sha), "other-key"), "MAC").await;
    let mut p = params(&sha);
    p.secret_id = "AKIDsomeoneelse".into();
    refused(&r, &sha, &sign::sign(&p, SECRET_KEY), "SecretId").await;
    // The good one works for all three calls.
    assert_eq!(get(&r, &init_uri(&sha, 1, HALF as u64, &good)).await["code"], 0);
    assert_eq!(post(&r, &part_uri(&sha, 0, 1, &md5_hex(b"x"), &good), b"x".to_vec()).await["code"], 0);
    assert_eq!(get(&r, &finish_uri(&sha, &good)).await["code"], 0);
}

#[tokio::test]
async fn times() {
    let (r, _dir) = router().await;
    let sha = sha1_hex(b"y");
    refused(&r, &sha, &sign::sign_now(SECRET_ID, SECRET_KEY, &sha, "a.mp4", -1), "expired").await;
    let mut p = params(&sha);
    p.e = p.t + sign::MAX_VALIDITY_SECS + 1;
    refused(&r, &sha, &sign::sign(&p, SECRET_KEY), "90 days").await;
    p.e = p.t + sign::MAX_VALIDITY_SECS;
    assert_eq!(get(&r, &init_uri(&sha, 1, HALF as u64, &sign::sign(&p, SECRET_KEY))).await["code"], 0);
    // Non-numeric times.
    let original = format!("s={SECRET_ID}&t=soon&e=later&r=1&f=a.mp4&fs={sha}&ft=mp4&uid=u");
    refused(&r, &sha, &sign::sign_original(&original, SECRET_KEY), "Unix time").await;
}

#[tokio::test]
async fn bound_to_the_file() {
    let (r, _dir) = router().await;
    let sha = sha1_hex(b"z");
    let other = sha1_hex(b"w");
    refused(&r, &other, &sign::sign(&params(&sha), SECRET_KEY), "fs does not match").await;
    // fs is compared case-insensitively.
    let mut p = params(&sha);
    p.file_sha = sha.to_uppercase();
    let original = sign::original_string(&p).replace(&sha, &sha.to_uppercase());
    assert_eq!(get(&r, &init_uri(&sha, 1, HALF as u64, &sign::sign_original(&original, SECRET_KEY))).await["code"], 0);
}

#[tokio::test]
async fn file_names_and_types() {
    let (r, _dir) = router().await;
    let sha = sha1_hex(b"n");
    for (name, ft, needle) in [
        ("a".repeat(37) + ".mp4", None, "41 bytes"),
        ("../../etc/passwd.mp4".to_string(), None, "forbidden"),
        ("a\\b.mp4".to_string(), None, "forbidden"),
        ("what?.mp4".to_string(), None, "forbidden"),
        ("x|y.mp4".to_string(), None, "forbidden"),
        ("c:.mp4".to_string(), None, "forbidden"),
        ("noextension".to_string(), None, "\"ft\""),
        ("ok.mp4".to_string(), Some("m/p4"), "\"ft\""),
        ("ok.mp4".to_string(), Some(".."), "\"ft\""),
    ] {
        let mut p = params(&sha);
        p.file_name = name.clone();
        p.file_type = ft.map(String::from);
        refused(&r, &sha, &sign::sign(&p, SECRET_KEY), needle).await;
    }
    // 40 bytes of UTF-8 is fine; a multi-byte name over 40 bytes is not.
    let mut p = params(&sha);
    p.file_name = "é".repeat(18) + ".mp4";
    assert_eq!(p.file_name.len(), 40);
    assert_eq!(get(&r, &init_uri(&sha, 1, HALF as u64, &sign::sign(&p, SECRET_KEY))).await["code"], 0);
    p.file_name = "é".repeat(19) + ".mp4";
    refused(&r, &sha, &sign::sign(&p, SECRET_KEY), "42 bytes").await;
}

#[tokio::test]
async fn missing_and_malformed_fields() {
    let (r, _dir) = router().await;
    let sha = sha1_hex(b"m");
    let t = now_unix();
    let fields = [
        ("s", SECRET_ID.to_string()),
        ("t", t.to_string()),
        ("e", (t + 60).to_string()),
        ("r", "77".to_string()),
        ("f", "a.mp4".to_string()),
        ("fs", sha.clone()),
        ("ft", "mp4".to_string()),
        ("uid", "u".to_string()),
    ];
    let build = |skip: &str, extra: &str| {
        let mut s: Vec<String> =
            fields.iter().filter(|(k, _)| *k != skip).map(|(k, v)| format!("{k}={v}")).collect();
        if !extra.is_empty() {
            s.push(extra.to_string());
        }
        sign::sign_original(&s.join("&"), SECRET_KEY)
    };
    for (k, _) in &fields {
        let needle = if *k == "s" { "\"s\"".to_string() } else { format!("{k:?}") };
        refused(&r, &sha, &build(k, ""), &needle).await;
    }
    refused(&r, &sha, &build("r", "r=12345678901"), "\"r\"").await;
    refused(&r, &sha, &build("r", "r=-5"), "\"r\"").await;
    refused(&r, &sha, &build("", "tc=2"), "\"tc\"").await;
    refused(&r, &sha, &build("", "cid=abc"), "\"cid\"").await;
    refused(&r, &sha, &build("", "uid=again"), "twice").await;
    // Optional fields and tags are accepted.
    let ok = build("", "tc=1&ss=0&wm=1&cid=9&tag.0=a&tag.9=b");
    assert_eq!(get(&r, &init_uri(&sha, 1, HALF as u64, &ok)).await["code"], 0);
}

#[tokio::test]
async fn verify_content_checks_out() {
    let (r, _dir) = router_with(|c| c.verify_key = "the-verify-key".into()).await;
    let f = TestFile::new(3000, 60);
    let v = upload_all(&r, &f, HALF).await;
    let vc = v["verify_content"].as_str().unwrap();
    let raw = STANDARD.decode(vc).unwrap();
    let plain = std::str::from_utf8(&raw[40..]).unwrap();
    let file_id = v["fileId"].as_str().unwrap();
    assert!(plain.starts_with("ExpTime=") && plain.ends_with(&format!("&FileId={file_id}")), "{plain}");
    let exp: i64 = plain["ExpTime=".len()..plain.find('&').unwrap()].parse().unwrap();
    assert!(exp > now_unix());
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"the-verify-key").unwrap();
    mac.update(plain.as_bytes());
    assert_eq!(std::str::from_utf8(&raw[..40]).unwrap(), hex::encode(mac.finalize().into_bytes()));
    assert_eq!(sign::check_verify_content("the-verify-key", vc, now_unix()).unwrap(), file_id);
    assert!(sign::check_verify_content(SECRET_KEY, vc, now_unix()).is_err());
}
