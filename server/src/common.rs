//! TEMPORARY stand-in for the auth helper's common.rs (branch auth11): the interface only, enough to
//! build the actions against. Replaced at merge.

use crate::error::ApiError;
use crate::Config;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::collections::HashMap;

pub const MAX_SKEW_SECS: i64 = 7200;

pub struct Caller {
    pub secret_id: String,
    pub timestamp: u64,
    pub nonce: u64,
}

pub fn plain(method: &str, host: &str, path: &str, params: &HashMap<String, String>) -> String {
    let mut pairs: Vec<(&String, &String)> = params.iter().filter(|(k, _)| *k != "Signature").collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{method}{host}{path}?{}", q.join("&"))
}

pub fn signature(secret_key: &str, plain: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()).unwrap();
    mac.update(plain.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

pub fn sign_url(url: &str, method: &str, secret_id: &str, secret_key: &str, timestamp: u64, nonce: u64) -> Result<String, String> {
    let (_, rest) = url.split_once("://").ok_or("not absolute")?;
    let (loc, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = loc.split_at(loc.find('/').unwrap_or(loc.len()));
    let mut params: HashMap<String, String> =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    for (k, v) in [("Region", "gz".to_string()), ("Timestamp", timestamp.to_string()), ("Nonce", nonce.to_string()), ("SecretId", secret_id.to_string())] {
        params.insert(k.into(), v);
    }
    let sig = signature(secret_key, &plain(method, host, path, &params));
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &params {
        s.append_pair(k, v);
    }
    s.append_pair("Signature", &sig);
    Ok(format!("{}?{}", url.split('?').next().unwrap(), s.finish()))
}

pub fn authenticate(params: &HashMap<String, String>, method: &str, host_header: Option<&str>, config: &Config) -> Result<Caller, ApiError> {
    let get = |n: &str| params.get(n).filter(|v| !v.is_empty()).ok_or_else(|| ApiError::MissingCommon(format!("{n} missing")));
    for n in ["Action", "Region", "Timestamp", "Nonce", "SecretId", "Signature"] {
        get(n)?;
    }
    let num = |n: &str| get(n)?.parse::<u64>().ok().filter(|v| *v > 0).ok_or_else(|| ApiError::MissingCommon(format!("{n} ill-formed")));
    let (timestamp, nonce) = (num("Timestamp")?, num("Nonce")?);
    let id = get("SecretId")?;
    if *id != config.secret_id {
        return Err(ApiError::Signature("unknown SecretId".into()));
    }
    let given = get("Signature")?;
    let ok = [host_header.unwrap_or(""), "vod2.qcloud.com"]
        .iter()
        .any(|h| signature(&config.secret_key, &plain(method, h, "/v2/index.php", params)) == *given);
    if !ok {
        return Err(ApiError::Signature("MAC".into()));
    }
    Ok(Caller { secret_id: id.clone(), timestamp, nonce })
}

pub fn check_clock(caller: &Caller, now: i64) -> Result<(), ApiError> {
    if (caller.timestamp as i128 - now as i128).abs() > MAX_SKEW_SECS as i128 {
        return Err(ApiError::Replay("skew".into()));
    }
    Ok(())
}
