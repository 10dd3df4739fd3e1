//! UGC upload signatures and `verify_content`, as `docs/protocol.md` defines them.
//!
//! `signature = Base64( HMAC-SHA1(secretKey, original) ++ original )`, `original` a query string.
//! Written apart from the client's `src/keyed.rs` and `src/signature.rs` on purpose: an independent check that trusts none of their code.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

type HmacSha1 = Hmac<Sha1>;

/// Longest allowed `e - t`: 90 days.
pub const MAX_VALIDITY_SECS: i64 = 7_776_000;
/// How far in the future a signature's `t` may be (clock skew; the server API's 7200 s).
pub const MAX_CLOCK_SKEW_SECS: i64 = 7200;
/// Longest file name, in characters (Unicode scalar values, as seeds 000 and 002 say: 40个字符).
pub const MAX_FILE_NAME_CHARS: usize = 40;
const FORBIDDEN_NAME_CHARS: &[char] = &['\\', '/', ':', '*', '?', '"', '<', '>', '|'];

/// The fields an app backend puts in a signature.
#[derive(Debug, Clone, PartialEq)]
pub struct SignParams {
    pub secret_id: String,
    pub file_name: String,
    /// SHA-1 of the whole file, hex.
    pub file_sha: String,
    /// Extension without the dot; `None`: taken from `file_name`.
    pub file_type: Option<String>,
    pub uid: String,
    /// Signed at, Unix seconds.
    pub t: i64,
    /// Expires at, Unix seconds.
    pub e: i64,
    /// Random number.
    pub r: u32,
    /// `tc`, `ss`, `wm`: none leaves the field out.
    pub transcode: Option<bool>,
    pub screenshot: Option<bool>,
    pub watermark: Option<bool>,
    /// `cid`.
    pub class_id: Option<u64>,
    /// `tag.0` … `tag.9`.
    pub tags: Vec<String>,
}

impl SignParams {
    /// What an app backend signs for one file: signed now (`t`), valid for `ttl_secs` (`e = t +
    /// ttl_secs`; negative: already expired), a random `r`, the type taken from the file name's
    /// extension, no optional fields. Adjust fields afterwards for anything else.
    pub fn new(secret_id: &str, file_sha: &str, file_name: &str, uid: &str, ttl_secs: i64) -> SignParams {
        let t = now_unix();
        SignParams {
            secret_id: secret_id.to_string(),
            file_name: file_name.to_string(),
            file_sha: file_sha.to_ascii_lowercase(),
            file_type: None,
            uid: uid.to_string(),
            t,
            e: t + ttl_secs,
            r: random_u32(),
            transcode: None,
            screenshot: None,
            watermark: None,
            class_id: None,
            tags: Vec::new(),
        }
    }
}

/// Current Unix time in seconds.
pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The extension of `name` (after the last dot), or `""`.
pub fn extension_of(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext,
        _ => "",
    }
}

/// The `original` query string of `params`.
pub fn original_string(params: &SignParams) -> String {
    let file_type = params
        .file_type
        .clone()
        .unwrap_or_else(|| extension_of(&params.file_name).to_ascii_lowercase());
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("s", &params.secret_id)
        .append_pair("t", &params.t.to_string())
        .append_pair("e", &params.e.to_string())
        .append_pair("r", &params.r.to_string())
        .append_pair("f", &params.file_name)
        .append_pair("fs", &params.file_sha.to_ascii_lowercase())
        .append_pair("ft", &file_type)
        .append_pair("uid", &params.uid);
    for (name, flag) in [("tc", params.transcode), ("ss", params.screenshot), ("wm", params.watermark)] {
        if let Some(on) = flag {
            q.append_pair(name, if on { "1" } else { "0" });
        }
    }
    if let Some(cid) = params.class_id {
        q.append_pair("cid", &cid.to_string());
    }
    for (i, tag) in params.tags.iter().enumerate() {
        q.append_pair(&format!("tag.{i}"), tag);
    }
    q.finish()
}

/// Signs an already-built `original` string.
pub fn sign_original(original: &str, secret_key: &str) -> String {
    let mut mac = HmacSha1::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(original.as_bytes());
    let mut raw = mac.finalize().into_bytes().to_vec();
    raw.extend_from_slice(original.as_bytes());
    STANDARD.encode(raw)
}

/// Signs `params` with `secret_key`.
pub fn sign(params: &SignParams, secret_key: &str) -> String {
    sign_original(&original_string(params), secret_key)
}

/// A signature made now, valid for `ttl_secs` (a negative ttl gives one that has already expired,
/// with `e < t`), uid `"user"`, a random `r`.
pub fn sign_now(secret_id: &str, secret_key: &str, file_sha: &str, file_name: &str, ttl_secs: i64) -> String {
    sign(&SignParams::new(secret_id, file_sha, file_name, "user", ttl_secs), secret_key)
}

/// A non-cryptographic random number (the `r` field only needs to vary).
pub fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() as u32
}

/// What a verified signature says.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub file_name: String,
    pub file_type: String,
    pub file_sha: String,
    pub uid: String,
    pub expires: i64,
    pub transcode: bool,
    pub screenshot: bool,
    pub watermark: bool,
    pub class_id: Option<u64>,
    /// `tag.0` to `tag.9`, in order.
    pub tags: Vec<String>,
    /// The SecretId that signed it.
    pub secret_id: String,
}

/// Checks `signature` for a call about `file_sha`, at time `now`, against the key `key_of` gives
/// for the SecretId its `s` names (`|id| config.key_of(id)`; one pair: [`single_key`]). The error
/// says what was wrong.
pub fn verify<'k>(
    signature: &str,
    file_sha: &str,
    key_of: impl Fn(&str) -> Option<&'k str>,
    now: i64,
) -> Result<Verified, String> {
    // A '+' that reached us unencoded in a query string arrives as a space.
    let sig = signature.trim().replace(' ', "+");
    let raw = STANDARD.decode(sig.as_bytes()).map_err(|_| "signature is not valid Base64".to_string())?;
    if raw.len() <= 20 {
        return Err("signature is too short".into());
    }
    let (mac_bytes, original_bytes) = raw.split_at(20);
    let original =
        std::str::from_utf8(original_bytes).map_err(|_| "signature's original string is not UTF-8".to_string())?;
    let mut fields: HashMap<String, String> = HashMap::new();
    for (k, v) in query_pairs(original).map_err(|m| format!("signature: {m}"))? {
        if fields.insert(k.clone(), v).is_some() {
            return Err(format!("signature field {k:?} appears twice"));
        }
    }
    let field = |name: &str| -> Result<&str, String> {
        fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("signature lacks the field {name:?}"))
    };
    let secret_key = key_of(field("s")?).ok_or("signature names an unknown SecretId")?;
    let mut mac = HmacSha1::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(original_bytes);
    mac.verify_slice(mac_bytes).map_err(|_| "signature MAC does not match".to_string())?;

    let int = |name: &str| -> Result<i64, String> {
        let v = field(name)?;
        if v.is_empty() || v.len() > 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("signature field {name:?} is not a Unix time"));
        }
        v.parse::<i64>().map_err(|_| format!("signature field {name:?} is not a Unix time"))
    };
    let t = int("t")?;
    let e = int("e")?;
    if now >= e {
        return Err(format!("signature expired at {e} (now {now})"));
    }
    if e - t > MAX_VALIDITY_SECS {
        return Err(format!("signature validity e - t = {} s exceeds 90 days", e - t));
    }
    if e < t {
        return Err(format!("signature expires (e = {e}) before it was signed (t = {t})"));
    }
    // The 90 days hold only if t is not in the future: the clock skew the server API allows.
    if t > now + MAX_CLOCK_SKEW_SECS {
        return Err(format!("signature was signed in the future (t = {t}, now {now})"));
    }
    let r = field("r")?;
    if r.len() > 10 || !r.bytes().all(|b| b.is_ascii_digit()) {
        return Err("signature field \"r\" is not an unsigned number of at most 10 digits".into());
    }
    let fs = field("fs")?;
    if !fs.eq_ignore_ascii_case(file_sha) {
        return Err("signature was issued for another file (fs does not match fileSha)".into());
    }
    let file_name = field("f")?;
    check_file_name(file_name).map_err(|m| format!("signature field \"f\": {m}"))?;
    let file_type = field("ft")?;
    check_file_type(file_type).map_err(|m| format!("signature field \"ft\": {m}"))?;
    let uid = field("uid")?;
    let flag = |name: &str| -> Result<bool, String> {
        match fields.get(name).map(String::as_str) {
            None | Some("0") => Ok(false),
            Some("1") => Ok(true),
            Some(_) => Err(format!("signature field {name:?} must be 0 or 1")),
        }
    };
    let transcode = flag("tc")?;
    let screenshot = flag("ss")?;
    let watermark = flag("wm")?;
    let tags = (0..10).filter_map(|i| fields.get(&format!("tag.{i}")).filter(|t| !t.is_empty()).cloned()).collect();
    let class_id = match fields.get("cid") {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| "signature field \"cid\" is not a number".to_string())?),
    };
    Ok(Verified {
        file_name: file_name.to_string(),
        file_type: file_type.to_ascii_lowercase(),
        file_sha: fs.to_ascii_lowercase(),
        uid: uid.to_string(),
        expires: e,
        transcode,
        screenshot,
        watermark,
        class_id,
        tags,
        secret_id: field("s")?.to_string(),
    })
}

/// The pairs of a query string (`application/x-www-form-urlencoded`), decoded. A name or value whose
/// bytes are not UTF-8 once decoded is refused, not turned into U+FFFD.
pub fn query_pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let k = percent_decode(k).ok_or_else(|| "a parameter's name is not valid UTF-8".to_string())?;
        let v = percent_decode(v).ok_or_else(|| format!("the parameter {k:?} is not valid UTF-8"))?;
        pairs.push((k, v));
    }
    Ok(pairs)
}

/// `+` as a space and `%XY` as its byte (a `%` not followed by two hex digits stays); `None` if the
/// bytes are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |at: usize| b.get(at).and_then(|c| (*c as char).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'+', ..) => out.push(b' '),
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            (c, ..) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The bidirectional controls (marks, embeddings, overrides, isolates): in a name they make it read
/// otherwise than it is (`clip\u{202E}4pm.exe` shows as `clipexe.mp4`).
const BIDI_CONTROLS: [char; 12] =
    ['\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'];

/// A file name is 1..=40 characters (Unicode scalar values, not bytes: a 14-character Chinese
/// title with `.mp4` is 18 characters and 46 bytes), without `\ / : * ? " < > |`, control characters (bidirectional ones
/// too), or `.`/`..`.
pub fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("file name is empty".into());
    }
    let chars = name.chars().count();
    if chars > MAX_FILE_NAME_CHARS {
        return Err(format!("file name is {chars} characters, more than {MAX_FILE_NAME_CHARS}"));
    }
    if let Some(c) = name.chars().find(|c| BIDI_CONTROLS.contains(c)) {
        return Err(format!("file name contains the bidirectional control U+{:04X}: it would read otherwise than it is", c as u32));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN_NAME_CHARS.contains(c) || c.is_control()) {
        return Err(format!("file name contains the forbidden character {c:?}"));
    }
    if name == "." || name == ".." {
        return Err("file name is a path component".into());
    }
    Ok(())
}

/// A file type is 1..=16 ASCII letters or digits (it becomes part of a URL path).
pub fn check_file_type(ft: &str) -> Result<(), String> {
    if ft.is_empty() || ft.len() > 16 || !ft.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("file type {ft:?} must be 1 to 16 ASCII letters or digits"));
    }
    Ok(())
}

/// The `key_of` of [`verify`] for a server that knows one key pair.
pub fn single_key<'k>(secret_id: &'k str, secret_key: &'k str) -> impl Fn(&str) -> Option<&'k str> {
    move |id| (id == secret_id).then_some(secret_key)
}

/// `verify_content = Base64( hex(HMAC-SHA1(verifyKey, plain)) ++ plain )`,
/// `plain = ExpTime=<unix>&FileId=<id>`.
pub fn verify_content(verify_key: &str, file_id: &str, exp_time: i64) -> String {
    let plain = format!("ExpTime={exp_time}&FileId={file_id}");
    let mut mac = HmacSha1::new_from_slice(verify_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(plain.as_bytes());
    let hex_mac = hex::encode(mac.finalize().into_bytes());
    STANDARD.encode(format!("{hex_mac}{plain}"))
}

/// What an app backend does with a `verify_content` a browser reports: checks the MAC (constant time)
/// and the expiry, and gives back the fileId.
pub fn check_verify_content(verify_key: &str, content: &str, now: i64) -> Result<String, String> {
    let raw = STANDARD.decode(content.trim()).map_err(|_| "verify_content is not valid Base64".to_string())?;
    if raw.len() <= 40 {
        return Err("verify_content is too short".into());
    }
    let (hex_mac, plain) = raw.split_at(40);
    let mac_bytes = hex::decode(hex_mac).map_err(|_| "verify_content MAC is not hex".to_string())?;
    let mut mac = HmacSha1::new_from_slice(verify_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(plain);
    mac.verify_slice(&mac_bytes).map_err(|_| "verify_content MAC does not match".to_string())?;
    let plain = std::str::from_utf8(plain).map_err(|_| "verify_content is not UTF-8".to_string())?;
    let mut exp = None;
    let mut file_id = None;
    for (k, v) in form_urlencoded::parse(plain.as_bytes()) {
        match &*k {
            "ExpTime" => exp = v.parse::<i64>().ok(),
            "FileId" => file_id = Some(v.to_string()),
            _ => {}
        }
    }
    let exp = exp.ok_or("verify_content lacks ExpTime")?;
    if now >= exp {
        return Err("verify_content has expired".into());
    }
    file_id.ok_or_else(|| "verify_content lacks FileId".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_KEY: &str = "bLcPnl88WU30VY57ipRhSePfPdOfSruK";
    const VECTOR_ID: &str = "AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv";
    const VECTOR_ORIGINAL: &str =
        "s=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&f=tencent_test.mp4&t=1437995644&e=1437995704&r=2081660421";
    const VECTOR_SIG: &str = "IEmbRAPy5IgIAFnt7XPAToaY3RRzPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZmPXRlbmNlbnRfdGVzdC5tcDQmdD0xNDM3OTk1NjQ0JmU9MTQzNzk5NTcwNCZyPTIwODE2NjA0MjE=";
    const SHA: &str = "b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9";

    #[test]
    fn document_vector_signs_identically() {
        assert_eq!(sign_original(VECTOR_ORIGINAL, VECTOR_KEY), VECTOR_SIG);
    }

    #[test]
    fn document_vector_is_refused_as_expired() {
        let err = verify(VECTOR_SIG, SHA, single_key(VECTOR_ID, VECTOR_KEY), now_unix()).unwrap_err();
        assert!(err.contains("expired"), "{err}");
        // Before its expiry it gets past the MAC and time checks and fails on the missing `fs`.
        let err = verify(VECTOR_SIG, SHA, single_key(VECTOR_ID, VECTOR_KEY), 1437995650).unwrap_err();
        assert!(err.contains("\"fs\""), "{err}");
    }

    #[test]
    fn round_trip_and_fields() {
        let p = SignParams {
            file_sha: SHA.to_uppercase(),
            t: 1000,
            e: 2000,
            r: 42,
            transcode: Some(true),
            class_id: Some(7),
            ..SignParams::new("id", SHA, "my clip & co.MP4", "u1", 0)
        };
        let s = sign(&p, "key");
        let v = verify(&s, SHA, single_key("id", "key"), 1500).unwrap();
        assert_eq!(v.file_name, "my clip & co.MP4");
        assert_eq!(v.file_type, "mp4");
        assert_eq!(v.file_sha, SHA);
        assert!(v.transcode);
        assert_eq!(v.class_id, Some(7));
        assert!(verify(&s, SHA, single_key("id", "other"), 1500).unwrap_err().contains("MAC"));
        assert!(verify(&s, SHA, single_key("other", "key"), 1500).unwrap_err().contains("SecretId"));
        assert!(verify(&s, SHA, single_key("id", "key"), 2000).unwrap_err().contains("expired"));
        assert!(verify(&s, &"0".repeat(40), single_key("id", "key"), 1500).unwrap_err().contains("fs"));
    }

    #[test]
    fn any_configured_key_by_the_secret_id_it_names() {
        let mut config = crate::Config::new("/nonexistent", "first", "key-1");
        config.keys = vec![("second".into(), "key-2".into())];
        let key_of = |id: &str| config.key_of(id);
        let by = |id: &str, key: &str| sign(&SignParams { t: 1000, e: 2000, ..SignParams::new(id, SHA, "a.mp4", "u", 0) }, key);
        assert_eq!(verify(&by("first", "key-1"), SHA, key_of, 1500).unwrap().uid, "u");
        assert_eq!(verify(&by("second", "key-2"), SHA, key_of, 1500).unwrap().uid, "u");
        // Each SecretId with its own key only.
        assert!(verify(&by("second", "key-1"), SHA, key_of, 1500).unwrap_err().contains("MAC"));
        assert!(verify(&by("first", "key-2"), SHA, key_of, 1500).unwrap_err().contains("MAC"));
        assert!(verify(&by("third", "key-1"), SHA, key_of, 1500).unwrap_err().contains("unknown SecretId"));
    }

    #[test]
    fn negative_ttl_is_expired_with_e_before_t() {
        let s = sign_now("id", "key", SHA, "a.mp4", -60);
        let err = verify(&s, SHA, single_key("id", "key"), now_unix()).unwrap_err();
        assert!(err.contains("expired"), "{err}");
        let ok = sign_now("id", "key", SHA, "a.mp4", 60);
        assert!(verify(&ok, SHA, single_key("id", "key"), now_unix()).is_ok());
    }

    #[test]
    fn verify_content_round_trip() {
        let vc = verify_content("vk", "1234567890123456789", 5000);
        assert_eq!(check_verify_content("vk", &vc, 4000).unwrap(), "1234567890123456789");
        assert!(check_verify_content("other", &vc, 4000).is_err());
        assert!(check_verify_content("vk", &vc, 6000).unwrap_err().contains("expired"));
        let raw = STANDARD.decode(vc).unwrap();
        assert!(raw[..40].iter().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(&raw[40..], b"ExpTime=5000&FileId=1234567890123456789");
    }

    #[test]
    fn file_names() {
        assert!(check_file_name("ok name.mp4").is_ok());
        assert!(check_file_name(&"a".repeat(41)).is_err());
        assert!(check_file_name(&"a".repeat(40)).is_ok());
        for bad in ["a/b", "a\\b", "c:x", "*", "?", "\"", "<", ">", "|", "..", "", "a\nb"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_file_type("mp4").is_ok());
        assert!(check_file_type("../x").is_err());
        assert!(check_file_type("").is_err());
    }
}
