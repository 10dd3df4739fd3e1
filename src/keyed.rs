//! Signing with the secret key, for backends that hold it (cargo feature `keyed`; a browser never
//! holds the key): the server API's common parameters, added to every attempt afresh, and the UGC
//! signature an app backend issues.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha1::Sha1;

use crate::file::FileInfo;
use crate::flavour::Meta;
use crate::platform::encode_query_value;
use crate::request::Request;

/// A key pair: the SecretId that names the key, and the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    pub secret_id: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Key {
    /// The key itself is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("secret_id", &self.secret_id).finish_non_exhaustive()
    }
}

/// The `Region` common parameter: any non-empty string; the platform's examples use `gz`.
pub const REGION: &str = "gz";

fn hmac_sha1(key: &str, text: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(text.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The string the common-parameter signature covers: method, host, path, `?`, then every query
/// parameter but `Signature` as `name=value`, values raw (not URL-encoded), sorted by name in byte
/// order and joined with `&`.
pub fn common_plain(method: &str, host: &str, path: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(name, _)| name != "Signature").collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let query: Vec<String> = sorted.iter().map(|(name, value)| format!("{name}={value}")).collect();
    format!("{method}{host}{path}?{}", query.join("&"))
}

/// `Base64(HMAC-SHA1(key, plain))`.
pub fn common_signature(secret_key: &str, plain: &str) -> String {
    STANDARD.encode(hmac_sha1(secret_key, plain))
}

/// `request`'s URL with the common parameters added (Region, Timestamp, Nonce, SecretId) and signed:
/// the host is the URL's host as a client sends it in the Host header (the port only where it is not
/// the scheme's default). Each attempt must be signed with its own `timestamp` (Unix seconds) and
/// `nonce` (positive), so that a retry is never taken for a replay.
pub fn sign_common(request: &Request, key: &Key, timestamp: u64, nonce: u64) -> Result<String, String> {
    let (scheme, rest) = request.url.split_once("://").ok_or("the endpoint is not an absolute URL")?;
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = location.split_at(location.find('/').unwrap_or(location.len()));
    let path = if path.is_empty() { "/" } else { path };
    let host = match (scheme.to_ascii_lowercase().as_str(), authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host,
        _ => authority,
    };
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode_str(value).decode_utf8().map_err(|e| format!("a query value is not UTF-8: {e}"))?;
        params.push((name.to_string(), value.into_owned()));
    }
    for (name, value) in [("Region", REGION.to_string()), ("Timestamp", timestamp.to_string()), ("Nonce", nonce.to_string()), ("SecretId", key.secret_id.clone())] {
        params.push((name.to_string(), value));
    }
    let signature = common_signature(&key.secret_key, &common_plain(request.method.as_str(), host, path, &params));
    let mut url = format!("{scheme}://{location}?");
    for (name, value) in params.iter().chain([&("Signature".to_string(), signature)]) {
        url.push_str(name);
        url.push('=');
        encode_query_value(value, &mut url);
        url.push('&');
    }
    url.pop();
    Ok(url)
}

/// A UGC signature over `original`: `Base64(HMAC-SHA1(key, original) ++ original)`.
pub fn ugc_sign_original(secret_key: &str, original: &str) -> String {
    let mut raw = hmac_sha1(secret_key, original);
    raw.extend_from_slice(original.as_bytes());
    STANDARD.encode(raw)
}

/// A UGC signature for `file`, as an app backend issues one: signed at `now` (Unix seconds), valid for
/// `ttl` seconds (at most 90 days), random `r` (at most 10 digits), the app's user `uid`, and the
/// class and tags of `meta`.
pub fn ugc_signature(key: &Key, file: &FileInfo, meta: &Meta, uid: &str, now: u64, ttl: u64, r: u32) -> String {
    let mut fields = vec![
        ("s", key.secret_id.clone()),
        ("t", now.to_string()),
        ("e", (now + ttl).to_string()),
        ("r", r.to_string()),
        ("f", file.name.clone()),
        ("fs", file.sha.clone()),
        ("ft", file.file_type.clone()),
        ("uid", uid.to_string()),
    ];
    if let Some(class_id) = meta.class_id {
        fields.push(("cid", class_id.to_string()));
    }
    let tags: Vec<(String, String)> = meta.tags.iter().take(10).enumerate().map(|(i, tag)| (format!("tag.{i}"), tag.clone())).collect();
    let mut original = String::new();
    for (name, value) in fields.iter().map(|(n, v)| (*n, v)).chain(tags.iter().map(|(n, v)| (n.as_str(), v))) {
        if !original.is_empty() {
            original.push('&');
        }
        original.push_str(name);
        original.push('=');
        encode_query_value(value, &mut original);
    }
    ugc_sign_original(&key.secret_key, &original)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Method;

    const PLATFORM_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";

    #[test]
    fn the_platforms_common_parameter_vectors() {
        let plain = "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&Nonce=11886&Region=gz&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185768&instanceIds.0=ins-09dx96dg&limit=20&offset=0";
        assert_eq!(common_signature(PLATFORM_KEY, plain), "NSI3UqqD99b/UJb4tbG/xZpRW64=");
        let plain = "GETvod2.qcloud.com/v2/index.php?Action=FinishUpload&Nonce=11888&Region=gz&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185770&fileSha=b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9";
        assert_eq!(common_signature(PLATFORM_KEY, plain), "2BJTo+uJaspJ7xOsLpi0Grj7U0c=");
    }

    #[test]
    fn the_plain_string_sorts_by_name_in_byte_order_with_raw_values_and_leaves_out_signature() {
        let params: Vec<(String, String)> =
            [("limit", "20"), ("Action", "X"), ("tags.0", "a b/c"), ("Signature", "old"), ("Nonce", "1")].iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        assert_eq!(common_plain("POST", "h:8080", "/v2/index.php", &params), "POSTh:8080/v2/index.php?Action=X&Nonce=1&limit=20&tags.0=a b/c");
    }

    #[test]
    fn a_request_signed_with_the_vector_gives_the_vectors_signature() {
        let key = Key { secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA".into(), secret_key: PLATFORM_KEY.into() };
        let url = "https://vod2.qcloud.com:443/v2/index.php?Action=FinishUpload&fileSha=b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9";
        let request = Request { method: Method::Get, url: url.into(), part: None, common: true };
        let signed = sign_common(&request, &key, 1_465_185_770, 11_888).unwrap();
        assert_eq!(
            signed,
            "https://vod2.qcloud.com:443/v2/index.php?Action=FinishUpload&fileSha=b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9\
             &Region=gz&Timestamp=1465185770&Nonce=11888&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Signature=2BJTo%2BuJaspJ7xOsLpi0Grj7U0c%3D"
        );
        // Another port is part of the host; encoded values are signed raw.
        let request = Request { method: Method::Post, url: "http://127.0.0.1:8080/v2/index.php?Action=UploadPart&tags.0=a%20b".into(), part: None, common: true };
        let signed = sign_common(&request, &key, 5, 6).unwrap();
        let plain = format!("POST127.0.0.1:8080/v2/index.php?Action=UploadPart&Nonce=6&Region=gz&SecretId={}&Timestamp=5&tags.0=a b", key.secret_id);
        let mut expected = String::new();
        encode_query_value(&common_signature(PLATFORM_KEY, &plain), &mut expected);
        assert!(signed.ends_with(&format!("&Signature={expected}")), "{signed}");
    }

    #[test]
    fn the_documents_ugc_signature_vector() {
        let original = "s=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&f=tencent_test.mp4&t=1437995644&e=1437995704&r=2081660421";
        assert_eq!(
            ugc_sign_original("bLcPnl88WU30VY57ipRhSePfPdOfSruK", original),
            "IEmbRAPy5IgIAFnt7XPAToaY3RRzPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZmPXRlbmNlbnRfdGVzdC5tcDQmdD0xNDM3OTk1NjQ0JmU9MTQzNzk5NTcwNCZyPTIwODE2NjA0MjE="
        );
    }

    #[test]
    fn a_ugc_signature_carries_the_file_the_user_the_class_and_the_tags() {
        let key = Key { secret_id: "AKID".into(), secret_key: "k".into() };
        let file = FileInfo::new("my clip.mp4", 10, "ab".repeat(20));
        let meta = Meta { class_id: Some(3), tags: vec!["x&y".into()] };
        let signature = ugc_signature(&key, &file, &meta, "u1", 1000, 3600, 42);
        let raw = STANDARD.decode(signature).unwrap();
        let original = std::str::from_utf8(&raw[20..]).unwrap();
        assert_eq!(original, format!("s=AKID&t=1000&e=4600&r=42&f=my%20clip.mp4&fs={}&ft=mp4&uid=u1&cid=3&tag.0=x%26y", "ab".repeat(20)));
        assert_eq!(raw[..20], hmac_sha1("k", original)[..]);
        assert!(!format!("{key:?}").contains("\"k\""), "Debug hides the key");
    }
}
