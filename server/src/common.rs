//! The server API's common parameters and their signature (`docs/protocol.md`, "Server API" →
//! "Common parameters and their signature"): `Action`, `Region`, `Timestamp`, `Nonce`, `SecretId`,
//! `Signature`, with
//!
//! ```text
//! plain     = METHOD + HOST + "/v2/index.php" + "?" + name=value pairs (all but Signature),
//!             sorted by name in byte order, values raw
//! Signature = Base64(HMAC-SHA1(SecretKey, plain))
//! ```
//!
//! [`authenticate`] runs rows 1–2 of the contract's check table, [`check_clock`] row 3; the
//! (SecretId, Nonce) memory of row 4 is the store's.
//! Written apart from the client's `src/keyed.rs` on purpose: an independent check that trusts none of its code.

use crate::config::Config;
use crate::error::ApiError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::collections::HashMap;

type HmacSha1 = Hmac<Sha1>;

/// How far a `Timestamp` may be from the server's clock, seconds.
pub const MAX_SKEW_SECS: i64 = 7200;
/// The one path of the API; a server-API MAC is over it.
pub const API_PATH: &str = "/v2/index.php";
/// The common parameters, in the order [`authenticate`] checks them.
const COMMON: [&str; 6] = ["Action", "Region", "Timestamp", "Nonce", "SecretId", "Signature"];

/// METHOD + HOST + path + "?" + name=value pairs (all but Signature) sorted by name in byte order,
/// values raw.
pub fn plain(method: &str, host: &str, path: &str, params: &HashMap<String, String>) -> String {
    let mut names: Vec<&String> = params.keys().filter(|k| *k != "Signature").collect();
    names.sort();
    let pairs: Vec<String> = names.into_iter().map(|k| format!("{k}={}", params[k])).collect();
    format!("{method}{host}{path}?{}", pairs.join("&"))
}

/// Base64(HMAC-SHA1(key, plain)).
pub fn signature(secret_key: &str, plain: &str) -> String {
    STANDARD.encode(mac_of(secret_key, plain).finalize().into_bytes())
}

fn mac_of(secret_key: &str, plain: &str) -> HmacSha1 {
    let mut mac = HmacSha1::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(plain.as_bytes());
    mac
}

/// A random positive Nonce below 2^63, from two [`crate::sign::random_u32`].
pub fn random_nonce() -> u64 {
    let n = (u64::from(crate::sign::random_u32()) << 31) ^ u64::from(crate::sign::random_u32());
    (n & (u64::MAX >> 1)).max(1)
}

/// URL + the common parameters, signed (what `vod-server sign --url` prints; tests use it too).
///
/// `url` is `http://` or `https://`, host, an optional path (none: `/v2/index.php`) and a query
/// that names the `Action` and the action's own parameters. Appended: `Region=gz` (unless the URL
/// has a Region), `Timestamp`, `Nonce`, `SecretId`, `Signature`. The MAC is over the host as a client
/// sends it in `Host`: lowercased, the port kept unless it is the scheme's default.
pub fn sign_url(
    url: &str,
    method: &str,
    secret_id: &str,
    secret_key: &str,
    timestamp: u64,
    nonce: u64,
) -> Result<String, String> {
    if method != "GET" && method != "POST" {
        return Err(format!("the method must be GET or POST, not {method:?}"));
    }
    if timestamp == 0 || nonce == 0 {
        return Err("Timestamp and Nonce must be positive".into());
    }
    if secret_id.is_empty() || secret_key.is_empty() {
        return Err("the SecretId and the key must not be empty".into());
    }
    if url.contains('#') {
        return Err("the URL must not carry a fragment".into());
    }
    let (scheme, rest) = url.split_once("://").ok_or("the URL must start with http:// or https://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(format!("the URL's scheme must be http or https, not {scheme:?}")),
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let host = host_as_sent(authority, default_port)?;
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let path = if path.is_empty() { API_PATH } else { path };

    let mut params = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if COMMON[2..].contains(&&*k) {
            return Err(format!("the URL already carries {k:?}: give it without the common parameters"));
        }
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("the URL gives {k:?} more than once"));
        }
    }
    for name in ["Action", "Region"] {
        if params.get(name).is_some_and(String::is_empty) {
            return Err(format!("the URL's {name} is empty"));
        }
    }
    if !params.contains_key("Action") {
        return Err("the URL has no Action (e.g. ?Action=InitUpload&...)".into());
    }
    let mut appended = form_urlencoded::Serializer::new(String::new());
    if !params.contains_key("Region") {
        params.insert("Region".into(), "gz".into());
        appended.append_pair("Region", "gz");
    }
    for (name, value) in [("Timestamp", timestamp.to_string()), ("Nonce", nonce.to_string()), ("SecretId", secret_id.into())] {
        appended.append_pair(name, &value);
        params.insert(name.into(), value);
    }
    let mac = signature(secret_key, &plain(method, &host, path, &params));
    appended.append_pair("Signature", &mac);
    let separator = if query.is_empty() || query.ends_with('&') { "" } else { "&" };
    Ok(format!("{scheme}://{authority}{path}?{query}{separator}{}", appended.finish()))
}

/// The `Host` header a client sends for a URL's authority: lowercased, without the default port.
fn host_as_sent(authority: &str, default_port: u16) -> Result<String, String> {
    if authority.is_empty() || authority.contains('@') {
        return Err("the URL needs a host (and no user:password@)".into());
    }
    let host = authority.to_ascii_lowercase();
    let port_at = host.rfind(':').filter(|&i| !host[..i].contains('[') || host[..i].ends_with(']'));
    let Some(i) = port_at else { return Ok(host) };
    let port = &host[i + 1..];
    if port.is_empty() {
        return Ok(host[..i].to_string());
    }
    match port.parse::<u16>() {
        Ok(p) if p == default_port => Ok(host[..i].to_string()),
        Ok(_) => Ok(host),
        Err(_) => Err(format!("the URL's port {port:?} is not a port number")),
    }
}

/// Who signed a server-API call that passed [`authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub secret_id: String,
    pub timestamp: u64,
    pub nonce: u64,
}

/// Rows 1–2 of the contract's check table, in order: a common parameter (Action, Region,
/// Timestamp, Nonce, SecretId, Signature) missing, empty or ill-formed (Timestamp and Nonce must be
/// positive integers that fit in 64 bits) → [`ApiError::MissingCommon`] (-10001); an unknown
/// SecretId, a Signature that is not Base64, or a MAC that matches neither the Host header as sent
/// nor `config.api_host` → [`ApiError::Signature`] (-10002). The MAC is compared in constant time.
/// `params` is every decoded query parameter (the path is [`API_PATH`]); a Signature whose `+`
/// arrived unencoded (decoded to a space) is read with the `+` back.
pub fn authenticate(
    params: &HashMap<String, String>,
    method: &str,
    host_header: Option<&str>,
    config: &Config,
) -> Result<Caller, ApiError> {
    let common = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::MissingCommon(format!("the common parameter {name:?} is missing")))
    };
    let positive = |name: &str| {
        let v = common(name)?;
        v.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| v.parse::<u64>().ok())
            .flatten()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                ApiError::MissingCommon(format!("the common parameter {name:?} must be a positive integer below 2^64"))
            })
    };
    common("Action")?;
    common("Region")?;
    let timestamp = positive("Timestamp")?;
    let nonce = positive("Nonce")?;
    let secret_id = common("SecretId")?;
    let given = common("Signature")?;

    let key = config
        .key_of(secret_id)
        .ok_or_else(|| ApiError::Signature("the SecretId names no key this server knows".into()))?;
    let given = STANDARD
        .decode(given.replace(' ', "+"))
        .map_err(|_| ApiError::Signature("the Signature is not valid Base64".into()))?;
    let hosts = host_header.filter(|h| !h.is_empty()).into_iter().chain([config.api_host.as_str()]);
    for host in hosts {
        if mac_of(key, &plain(method, host, API_PATH, params)).verify_slice(&given).is_ok() {
            return Ok(Caller { secret_id: secret_id.to_string(), timestamp, nonce });
        }
    }
    Err(ApiError::Signature(format!(
        "the Signature does not match: HMAC-SHA1 of {method} + the Host header (or {}) + {API_PATH}?<the \
         parameters but Signature, sorted by name, values raw> with the key of the SecretId",
        config.api_host
    )))
}

/// Row 3: |Timestamp − now| > [`MAX_SKEW_SECS`] → [`ApiError::Replay`] (4500). A millisecond
/// Timestamp gets 4500 too.
pub fn check_clock(caller: &Caller, now: i64) -> Result<(), ApiError> {
    let skew = i128::from(caller.timestamp) - i128::from(now);
    if skew.abs() <= i128::from(MAX_SKEW_SECS) {
        return Ok(());
    }
    let hint = if caller.timestamp >= 100_000_000_000 { " (milliseconds? it is Unix seconds)" } else { "" };
    Err(ApiError::Replay(format!(
        "the Timestamp {} is {skew} s off the server's clock ({now}), more than {MAX_SKEW_SECS} s{hint}",
        caller.timestamp
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";
    const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA";
    const SHA: &str = "b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9";
    const HOST: &str = "127.0.0.1:8080";

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn config() -> Config {
        let mut c = Config::new("/nonexistent", "AKIDprimary", "primary-key");
        c.keys = vec![(ID.into(), KEY.into())];
        c
    }

    /// A FinishUpload call signed over `host`, its Signature set.
    fn signed(host: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut p = map(&[
            ("Action", "FinishUpload"),
            ("Region", "gz"),
            ("Timestamp", "1465185770"),
            ("Nonce", "11888"),
            ("SecretId", ID),
            ("fileSha", SHA),
        ]);
        p.extend(map(extra));
        let mac = signature(KEY, &plain("GET", host, API_PATH, &p));
        p.insert("Signature".into(), mac);
        p
    }

    fn code(r: Result<Caller, ApiError>) -> i64 {
        r.map(|_| 0).unwrap_or_else(|e| e.code())
    }

    #[test]
    fn platform_vectors() {
        let p = map(&[
            ("Action", "DescribeInstances"),
            ("Nonce", "11886"),
            ("Region", "gz"),
            ("SecretId", ID),
            ("Timestamp", "1465185768"),
            ("instanceIds.0", "ins-09dx96dg"),
            ("limit", "20"),
            ("offset", "0"),
        ]);
        let text = plain("GET", "cvm.api.qcloud.com", API_PATH, &p);
        assert_eq!(
            text,
            "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&Nonce=11886&Region=gz&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185768&instanceIds.0=ins-09dx96dg&limit=20&offset=0"
        );
        assert_eq!(signature(KEY, &text), "NSI3UqqD99b/UJb4tbG/xZpRW64=");
        let p = signed("vod2.qcloud.com", &[]);
        assert_eq!(
            plain("GET", "vod2.qcloud.com", API_PATH, &p),
            "GETvod2.qcloud.com/v2/index.php?Action=FinishUpload&Nonce=11888&Region=gz&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185770&fileSha=b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9"
        );
        assert_eq!(p["Signature"], "2BJTo+uJaspJ7xOsLpi0Grj7U0c=");
        // The second vector is accepted as is: vod2.qcloud.com is the default canonical host.
        assert_eq!(authenticate(&p, "GET", Some(HOST), &config()).unwrap().nonce, 11888);
    }

    #[test]
    fn plain_sorts_by_bytes_keeps_values_raw_and_leaves_out_the_signature() {
        let p = map(&[("fileSha", "x"), ("Nonce", "1"), ("Action", "A"), ("Signature", "s"), ("tags.0", "a b&c=d/é")]);
        assert_eq!(plain("POST", "h", "/p", &p), "POSTh/p?Action=A&Nonce=1&fileSha=x&tags.0=a b&c=d/é");
    }

    #[test]
    fn accepted_over_the_host_header_or_the_api_host_only() {
        let c = config();
        let caller = authenticate(&signed(HOST, &[]), "GET", Some(HOST), &c).unwrap();
        assert_eq!(caller, Caller { secret_id: ID.into(), timestamp: 1465185770, nonce: 11888 });
        let canonical = signed("vod2.qcloud.com", &[]);
        assert_eq!(code(authenticate(&canonical, "GET", Some(HOST), &c)), 0);
        assert_eq!(code(authenticate(&canonical, "GET", None, &c)), 0);
        let mut moved = config();
        moved.api_host = "vod.example.com".into();
        assert_eq!(code(authenticate(&canonical, "GET", Some(HOST), &moved)), -10002);
        assert_eq!(code(authenticate(&signed("vod.example.com", &[]), "GET", Some(HOST), &moved)), 0);
        // A third host, the wrong method, and no Host header for a MAC over the Host.
        let err = authenticate(&signed("evil.example:8080", &[]), "GET", Some(HOST), &c).unwrap_err();
        assert_eq!((err.code(), err.can_retry()), (-10002, false));
        assert!(err.message().contains("does not match"), "{err}");
        assert_eq!(code(authenticate(&signed(HOST, &[]), "POST", Some(HOST), &c)), -10002);
        assert_eq!(code(authenticate(&signed(HOST, &[]), "GET", None, &c)), -10002);
        assert_eq!(code(authenticate(&signed(HOST, &[]), "GET", Some("127.0.0.1:8081"), &c)), -10002);
    }

    #[test]
    fn unknown_extra_parameters_are_signed() {
        let c = config();
        let p = signed(HOST, &[("RequestClient", "SDK 1.0"), ("contentLen", "5")]);
        assert_eq!(code(authenticate(&p, "GET", Some(HOST), &c)), 0);
        let mut edited = p.clone();
        edited.insert("contentLen".into(), "6".into());
        assert_eq!(code(authenticate(&edited, "GET", Some(HOST), &c)), -10002);
        let mut added = p;
        added.insert("classId".into(), "3".into());
        assert_eq!(code(authenticate(&added, "GET", Some(HOST), &c)), -10002);
    }

    #[test]
    fn unknown_secret_id_and_wrong_mac() {
        let c = config();
        let mut p = signed(HOST, &[]);
        p.insert("SecretId".into(), "AKIDnobody".into());
        let err = authenticate(&p, "GET", Some(HOST), &c).unwrap_err();
        assert_eq!(err.code(), -10002);
        assert!(err.message().contains("SecretId"), "{err}");
        // Signed with the primary key but naming the other SecretId.
        let mut p = signed(HOST, &[]);
        p.insert("Signature".into(), signature("primary-key", &plain("GET", HOST, API_PATH, &p)));
        assert_eq!(code(authenticate(&p, "GET", Some(HOST), &c)), -10002);
        for bad in ["%%%", "AAAA", "NSI3UqqD99b/UJb4tbG/xZpRW64="] {
            p.insert("Signature".into(), bad.into());
            assert_eq!(code(authenticate(&p, "GET", Some(HOST), &c)), -10002, "{bad}");
        }
        // The primary key works for its own SecretId.
        let mut p = signed(HOST, &[]);
        p.insert("SecretId".into(), "AKIDprimary".into());
        p.insert("Signature".into(), signature("primary-key", &plain("GET", HOST, API_PATH, &p)));
        assert_eq!(authenticate(&p, "GET", Some(HOST), &c).unwrap().secret_id, "AKIDprimary");
    }

    #[test]
    fn a_plus_that_arrived_as_a_space_is_read_back() {
        let c = config();
        let mut p = signed("vod2.qcloud.com", &[]);
        assert!(p["Signature"].contains('+'));
        let spaced = p["Signature"].replace('+', " ");
        p.insert("Signature".into(), spaced);
        assert_eq!(code(authenticate(&p, "GET", None, &c)), 0);
    }

    #[test]
    fn every_missing_or_ill_formed_common_parameter_is_10001() {
        let c = config();
        for name in COMMON {
            for value in [None, Some("")] {
                let mut p = signed(HOST, &[]);
                match value {
                    None => p.remove(name),
                    Some(v) => p.insert(name.into(), v.into()),
                };
                let err = authenticate(&p, "GET", Some(HOST), &c).unwrap_err();
                assert_eq!((err.code(), err.can_retry()), (-10001, false), "{name} = {value:?}");
                assert!(err.message().contains(name), "{err}");
            }
        }
        for name in ["Timestamp", "Nonce"] {
            for bad in ["0", "-1", "1.5", "abc", "+5", " 5", "18446744073709551616", "1e3"] {
                let p = signed(HOST, &[(name, bad)]);
                let err = authenticate(&p, "GET", Some(HOST), &c).unwrap_err();
                assert_eq!(err.code(), -10001, "{name} = {bad:?}");
                assert!(err.message().contains("positive integer"), "{err}");
            }
            // The largest u64 is well-formed (and then checked by the MAC and the clock).
            let p = signed(HOST, &[(name, "18446744073709551615")]);
            assert_eq!(code(authenticate(&p, "GET", Some(HOST), &c)), 0, "{name}");
        }
        // Ill-formed beats an unknown SecretId: row 1 runs first.
        let mut p = signed(HOST, &[("Nonce", "0")]);
        p.insert("SecretId".into(), "AKIDnobody".into());
        assert_eq!(code(authenticate(&p, "GET", Some(HOST), &c)), -10001);
    }

    #[test]
    fn clock() {
        let at = |timestamp| Caller { secret_id: ID.into(), timestamp, nonce: 1 };
        let now = 1_700_000_000i64;
        let t = now as u64;
        for ok in [t, t - 7200, t + 7200] {
            assert!(check_clock(&at(ok), now).is_ok(), "{ok}");
        }
        for late in [t - 7201, t + 7201, 1, u64::MAX] {
            let err = check_clock(&at(late), now).unwrap_err();
            assert_eq!((err.code(), err.can_retry()), (4500, false), "{late}");
        }
        let err = check_clock(&at(t * 1000), now).unwrap_err();
        assert_eq!(err.code(), 4500);
        assert!(err.message().contains("milliseconds"), "{err}");
    }

    fn query_of(url: &str) -> HashMap<String, String> {
        let query = url.split_once('?').unwrap().1;
        let mut m = HashMap::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            assert!(m.insert(k.to_string(), v.to_string()).is_none(), "{k} twice in {url}");
        }
        m
    }

    #[test]
    fn sign_url_round_trips_through_authenticate() {
        let c = config();
        let url = format!("http://{HOST}/v2/index.php?Action=InitUpload&fileName=a%20b%2Bc.mp4&tags.0=x&fileSha={SHA}");
        let signed = sign_url(&url, "POST", ID, KEY, 1_700_000_000, 42).unwrap();
        assert!(signed.starts_with(&format!("{url}&Region=gz&Timestamp=1700000000&Nonce=42&SecretId={ID}&Signature=")));
        let q = query_of(&signed);
        assert_eq!(q["fileName"], "a b+c.mp4");
        let caller = authenticate(&q, "POST", Some(HOST), &c).unwrap();
        assert_eq!(caller, Caller { secret_id: ID.into(), timestamp: 1_700_000_000, nonce: 42 });
        assert_eq!(code(authenticate(&q, "GET", Some(HOST), &c)), -10002);
        assert_eq!(code(authenticate(&q, "POST", Some("localhost:8080"), &c)), -10002);
        // The Signature is URL-encoded: '+', '/' and '=' do not reach the server changed.
        let raw_sig = signed.rsplit_once("Signature=").unwrap().1;
        assert!(!raw_sig.contains(['+', '/', '=']), "{raw_sig}");
    }

    #[test]
    fn sign_url_hosts_paths_and_refusals() {
        let c = config();
        let check = |url: &str, host: &str| {
            let signed = sign_url(url, "GET", ID, KEY, 5, 7).unwrap();
            assert_eq!(code(authenticate(&query_of(&signed), "GET", Some(host), &c)), 0, "{url} → {signed}");
            signed
        };
        // No path: the API's; the default port dropped, the host lowercased; a Region kept.
        let s = check("http://LocalHost:80?Action=FinishUpload&Region=bj", "localhost");
        assert!(s.starts_with("http://LocalHost:80/v2/index.php?Action=FinishUpload&Region=bj&Timestamp=5&"), "{s}");
        check("https://vod.example:443/v2/index.php?Action=X&", "vod.example");
        check("https://vod.example:8443/v2/index.php?Action=X", "vod.example:8443");
        check("http://[::1]:8080/v2/index.php?Action=X", "[::1]:8080");
        check("http://[::1]/v2/index.php?Action=X", "[::1]");
        for (url, needle) in [
            ("ftp://h/v2/index.php?Action=X", "scheme"),
            ("h/v2/index.php?Action=X", "http://"),
            ("http:///v2/index.php?Action=X", "host"),
            ("http://u:p@h/v2/index.php?Action=X", "host"),
            ("http://h:99999/v2/index.php?Action=X", "port"),
            ("http://h/v2/index.php?fileSha=x", "Action"),
            ("http://h/v2/index.php?Action=", "Action"),
            ("http://h/v2/index.php?Action=X&Region=", "Region"),
            ("http://h/v2/index.php?Action=X&Nonce=1", "Nonce"),
            ("http://h/v2/index.php?Action=X&Signature=1", "Signature"),
            ("http://h/v2/index.php?Action=X&a=1&a=2", "more than once"),
            ("http://h/v2/index.php?Action=X#frag", "fragment"),
        ] {
            let err = sign_url(url, "GET", ID, KEY, 5, 7).unwrap_err();
            assert!(err.contains(needle), "{url}: {err}");
        }
        assert!(sign_url("http://h/?Action=X", "PUT", ID, KEY, 5, 7).unwrap_err().contains("GET or POST"));
        assert!(sign_url("http://h/?Action=X", "GET", ID, KEY, 5, 0).is_err());
        assert!(sign_url("http://h/?Action=X", "GET", ID, KEY, 0, 7).is_err());
        assert!(sign_url("http://h/?Action=X", "GET", "", KEY, 5, 7).is_err());
    }

    #[test]
    fn nonces_are_positive_63_bit_and_vary() {
        let nonces: std::collections::HashSet<u64> = (0..64).map(|_| random_nonce()).collect();
        assert!(nonces.len() > 60, "{nonces:?}");
        assert!(nonces.iter().all(|&n| n > 0 && n < 1 << 63));
    }
}
