//! Signature checks through the router: every refusal is `-10002`, `canRetry 0`, with a message
//! saying why; the same signature serves all three calls. Keys: a signature may name any configured
//! SecretId; the binary takes keys from flags, the environment or a keys file, and refuses to start
//! without one; `vod-server sign --url` prints a signed server-API URL.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use vod_server::common::{authenticate, check_clock};
use vod_server::sign::{self, now_unix, SignParams};
use vod_server::Config;

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
    // Fractional, signed or exponent times and random numbers.
    let (t, e) = (p.t, p.t + 60);
    for (tt, ee, rr, needle) in [
        (format!("{t}.5"), e.to_string(), "1".to_string(), "Unix time"),
        (t.to_string(), format!("{e}.0"), "1".to_string(), "Unix time"),
        (format!("+{t}"), e.to_string(), "1".to_string(), "Unix time"),
        (format!("{t}e0"), e.to_string(), "1".to_string(), "Unix time"),
        (t.to_string(), e.to_string(), "1.5".to_string(), "\"r\""),
        (t.to_string(), e.to_string(), "-1".to_string(), "\"r\""),
        (t.to_string(), e.to_string(), "12345678901".to_string(), "\"r\""),
    ] {
        let original = format!("s={SECRET_ID}&t={tt}&e={ee}&r={rr}&f=a.mp4&fs={sha}&ft=mp4&uid=u");
        refused(&r, &sha, &sign::sign_original(&original, SECRET_KEY), needle).await;
    }
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
        ("a".repeat(37) + ".mp4", None, "41 characters"),
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
    // 40 characters (Unicode scalar values), not 40 bytes, as seeds 000 and 002 say: a 14-character
    // Chinese title with ".mp4" (46 bytes) is accepted, 40 characters of three bytes each too.
    let mut p = params(&sha);
    p.file_name = "我们的夏天旅行记录第一集海边".to_string() + ".mp4";
    assert_eq!((p.file_name.chars().count(), p.file_name.len()), (18, 46));
    assert_eq!(get(&r, &init_uri(&sha, 1, HALF as u64, &sign::sign(&p, SECRET_KEY))).await["code"], 0);
    p.file_name = "字".repeat(36) + ".mp4";
    assert_eq!(get(&r, &init_uri(&sha, 1, HALF as u64, &sign::sign(&p, SECRET_KEY))).await["code"], 1);
    p.file_name = "字".repeat(37) + ".mp4";
    refused(&r, &sha, &sign::sign(&p, SECRET_KEY), "41 characters").await;
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

#[tokio::test]
async fn any_configured_key_signs_for_its_secret_id() {
    let (r, _dir) = router_with(|c| c.keys = vec![("AKIDsecond".into(), "second-key".into())]).await;
    let sha = sha1_hex(b"k");
    let by = |id: &str, key: &str| sign::sign_now(id, key, &sha, "k.mp4", 600);
    assert_eq!(get(&r, &init_uri(&sha, 1, HALF as u64, &by("AKIDsecond", "second-key"))).await["code"], 0);
    assert_eq!(get(&r, &init_uri(&sha, 1, HALF as u64, &by(SECRET_ID, SECRET_KEY))).await["code"], 1);
    refused(&r, &sha, &by("AKIDsecond", SECRET_KEY), "MAC").await;
    refused(&r, &sha, &by(SECRET_ID, "second-key"), "MAC").await;
    refused(&r, &sha, &by("AKIDthird", "second-key"), "unknown SecretId").await;
}

#[tokio::test]
async fn conflicting_keys_are_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path(), SECRET_ID, SECRET_KEY);
    config.keys = vec![(SECRET_ID.into(), "another-key".into())];
    let err = vod_server::AppState::open(config.clone()).await.err().expect("refused").to_string();
    assert!(err.contains("given twice") && !err.contains("another-key") && !err.contains(SECRET_KEY), "{err}");
    // The same pair twice is harmless; an empty one is not.
    config.keys = vec![(SECRET_ID.into(), SECRET_KEY.into())];
    assert!(vod_server::AppState::open(config.clone()).await.is_ok());
    config.keys = vec![("AKIDx".into(), String::new())];
    assert!(vod_server::AppState::open(config).await.is_err());
}

// ---------------------------------------------------------------- the binary's keys

/// `vod-server` with `args` and no key from anywhere else (the environment's are removed).
fn bare(data_dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vod-server"));
    c.args(["--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir).args(args).stdin(Stdio::null());
    for var in ["VOD_SECRET_ID", "VOD_SECRET_KEY", "VOD_VERIFY_KEY"] {
        c.env_remove(var);
    }
    c
}

/// A start that must fail: its stderr.
fn refuses(data_dir: &Path, args: &[&str]) -> String {
    let out = bare(data_dir, args).output().unwrap();
    assert!(!out.status.success(), "started with {args:?}: {}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A server started with `args`, killed when dropped.
struct Running(Child, SocketAddr);

impl Running {
    fn start(data_dir: &Path, args: &[&str]) -> Running {
        let mut child = bare(data_dir, args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line:?}"));
        Running(child, addr.parse().unwrap())
    }

    /// The code of an InitUploadEx signed by (`id`, `key`).
    fn init_code(&self, id: &str, key: &str, seed: &[u8]) -> i64 {
        let sha = sha1_hex(seed);
        let uri = init_uri(&sha, 1, HALF as u64, &sign::sign_now(id, key, &sha, "a.mp4", 600));
        let r = http(self.1, "GET", &uri, &[], b"").unwrap();
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["code"].as_i64().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn keys_file(dir: &Path, text: &str) -> String {
    let path = dir.join("keys");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn binary_refuses_to_start_without_a_usable_key_and_never_prints_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(refuses(d, &[]).contains("no key"));
    assert!(refuses(d, &["--secret-id", "AKIDa"]).contains("--secret-key"));
    assert!(refuses(d, &["--secret-key", "lonely-key-value"]).contains("--secret-id"));
    let err = refuses(d, &["--key", "AKIDa:first-key-value", "--key", "no-colon-key-value"]);
    assert!(err.contains("--key number 2") && !err.contains("no-colon-key-value"), "{err}");
    let err = refuses(d, &["--key", "AKIDa:first-key-value", "--key", "AKIDa:second-key-value"]);
    assert!(err.contains("given twice") && !err.contains("key-value"), "{err}");
    let err = refuses(d, &["--secret-id", "AKIDa", "--secret-key", "first-key-value", "--key", "AKIDa:other-key-value"]);
    assert!(err.contains("given twice") && !err.contains("key-value"), "{err}");
    // An empty keys file gives no key.
    assert!(refuses(d, &["--keys-file", &keys_file(d, "# nothing yet\n\n")]).contains("no key"));
    let missing = d.join("absent").to_str().unwrap().to_string();
    assert!(refuses(d, &["--keys-file", &missing]).contains("reading the keys file"));
}

#[test]
fn a_malformed_keys_file_names_the_line_not_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (text, line) in [
        ("# ours\n\nAKIDa:file-key-value\nAKIDb file-key-value-two\n", 4),
        ("AKIDa:file-key-value\n  \nAKIDb:\n", 3),
        (":file-key-value\n", 1),
        ("AKIDa:file-key-value\r\nAKIDa:file-key-value-two\r\n", 0),
    ] {
        let err = refuses(d, &["--keys-file", &keys_file(d, text)]);
        if line > 0 {
            assert!(err.contains(&format!("line {line} is not ID:KEY")), "{text:?}: {err}");
        } else {
            assert!(err.contains("given twice"), "{text:?}: {err}");
        }
        assert!(!err.contains("file-key-value"), "{text:?}: {err}");
    }
}

#[test]
fn binary_starts_with_only_key_flags_or_only_a_keys_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Running::start(&d.join("a"), &["--key", "AKIDflag:flag:key", "--key", "AKIDflag2:flag-key-2"]);
    // Split at the first ':': the key may hold one.
    assert_eq!(s.init_code("AKIDflag", "flag:key", b"1"), 0);
    assert_eq!(s.init_code("AKIDflag2", "flag-key-2", b"2"), 0);
    assert_eq!(s.init_code("AKIDflag2", "flag:key", b"3"), -10002);
    drop(s);

    let file = keys_file(d, "# the app's keys\nAKIDfile1:file-key-1\n\n  AKIDfile2 : file-key-2  \r\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let s = Running::start(&d.join("b"), &["--keys-file", &file]);
    assert_eq!(s.init_code("AKIDfile1", "file-key-1", b"4"), 0);
    assert_eq!(s.init_code("AKIDfile2", "file-key-2", b"5"), 0);
    assert_eq!(s.init_code("AKIDfile2", "file-key-1", b"6"), -10002);
    assert_eq!(s.init_code("AKIDnobody", "file-key-1", b"7"), -10002);
    drop(s);

    // Every source at once; the first key is the primary: the dev endpoint signs with it.
    let s = Running::start(
        &d.join("c"),
        &["--secret-id", "AKIDmain", "--secret-key", "main-key", "--key", "AKIDflag:flag-key", "--keys-file", &file, "--dev-signing"],
    );
    for (id, key) in [("AKIDmain", "main-key"), ("AKIDflag", "flag-key"), ("AKIDfile2", "file-key-2")] {
        assert_eq!(s.init_code(id, key, id.as_bytes()), 0, "{id}");
    }
    let body = format!(r#"{{"fileSha":"{}","fileName":"a.mp4"}}"#, sha1_hex(b"dev"));
    let r = http(s.1, "POST", "/dev/signature", &[("Content-Type", "application/json")], body.as_bytes()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let raw = STANDARD.decode(v["signature"].as_str().unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&raw[20..]).starts_with("s=AKIDmain&"), "{v}");
}

// ---------------------------------------------------------------- vod-server sign --url

fn sign_url_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vod-server"))
        .args(["sign", "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
        .args(args)
        .env_remove("VOD_SECRET_ID")
        .env_remove("VOD_SECRET_KEY")
        .output()
        .unwrap()
}

/// The printed URL's query, decoded (each name once).
fn printed_query(out: &std::process::Output) -> (String, HashMap<String, String>) {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8(out.stdout.clone()).unwrap().trim().to_string();
    let mut q = HashMap::new();
    for (k, v) in form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes()) {
        assert!(q.insert(k.to_string(), v.to_string()).is_none(), "{k} twice in {url}");
    }
    (url, q)
}

#[test]
fn sign_url_prints_a_server_api_url_the_server_authenticates() {
    let sha = sha1_hex(b"server api");
    let base = format!("http://127.0.0.1:8080/v2/index.php?Action=InitUpload&fileName=my%20clip.mp4&fileSha={sha}");
    let config = Config::new("/nonexistent", SECRET_ID, SECRET_KEY);
    let (url, q) = printed_query(&sign_url_cli(&["--url", &base, "--method", "POST"]));
    assert!(url.starts_with(&format!("{base}&Region=gz&Timestamp=")), "{url}");
    for name in ["Region", "Timestamp", "Nonce", "SecretId", "Signature"] {
        assert!(q.get(name).is_some_and(|v| !v.is_empty()), "{name} in {url}");
    }
    assert_eq!((q["SecretId"].as_str(), q["fileName"].as_str()), (SECRET_ID, "my clip.mp4"));
    let caller = authenticate(&q, "POST", Some("127.0.0.1:8080"), &config).unwrap();
    assert!(caller.nonce > 0 && caller.timestamp.abs_diff(now_unix() as u64) <= 5, "{caller:?}");
    check_clock(&caller, now_unix()).unwrap();
    // Over another method or host, or with another key, it does not check out.
    assert_eq!(authenticate(&q, "GET", Some("127.0.0.1:8080"), &config).unwrap_err().code(), -10002);
    assert_eq!(authenticate(&q, "POST", Some("127.0.0.1:9090"), &config).unwrap_err().code(), -10002);
    let other = Config::new("/nonexistent", SECRET_ID, "another-key");
    assert_eq!(authenticate(&q, "POST", Some("127.0.0.1:8080"), &other).unwrap_err().code(), -10002);

    // GET by default, and every call a new Nonce.
    let (_, again) = printed_query(&sign_url_cli(&["--url", &base]));
    assert!(authenticate(&again, "GET", Some("127.0.0.1:8080"), &config).is_ok());
    assert_ne!(again["Nonce"], q["Nonce"]);

    for (args, needle) in [
        (vec!["--url", "http://127.0.0.1:8080/v2/index.php?fileSha=x"], "Action"),
        (vec!["--url", "127.0.0.1:8080/v2/index.php?Action=X"], "http://"),
        (vec!["--url", &base, "--method", "PUT"], "PUT"),
        (vec!["--url", &base, "--file-sha", &sha], "cannot be used"),
        (vec!["--method", "POST", "--file-sha", &sha, "--file-name", "a.mp4"], "--method goes with --url"),
    ] {
        let out = sign_url_cli(&args);
        assert!(!out.status.success() && out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains(SECRET_KEY), "{err}");
    }
}
