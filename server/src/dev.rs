//! Development endpoints, only with `--dev-signing`: a signing endpoint standing in for an app
//! backend, and counters the end-to-end tests read.
//!
//! A signing endpoint is an oracle, so [`guard`] lets through only the server's own pages: a
//! request whose `Host` is a name other than `localhost` or the public URL's host (DNS rebinding)
//! is refused, so is one whose `Origin` is another origin than the server's own (or one given with
//! `--dev-origin`), and `POST /dev/signature` takes `application/json` only, which a page of
//! another origin cannot send without a preflight these routes do not grant.

use crate::sign;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignatureRequest {
    file_sha: String,
    file_name: String,
    ttl: Option<i64>,
    uid: Option<String>,
    /// The signature's optional fields (`cid`, `tag.N`, `tc`, `ss`, `wm`), as an app backend may add them.
    class_id: Option<u64>,
    #[serde(default)]
    tags: Vec<String>,
    transcode: Option<bool>,
    screenshot: Option<bool>,
    watermark: Option<bool>,
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// The host name of a `Host` value or of a URL's authority (`[::1]:8080` → `[::1]`).
fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.rsplit_once(':').map_or(authority, |(host, _)| host)
}

/// Why the request may not reach a dev endpoint, if it may not.
fn check_caller(state: &AppState, method: &Method, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let c = state.config();
    let public_authority = c.public_url.split_once("://").map_or("", |(_, rest)| rest);
    let header_str = |name| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if let Some(host) = header_str(header::HOST) {
        let name = host_name(host);
        let literal = name.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok();
        if !(literal || name.eq_ignore_ascii_case("localhost") || name.eq_ignore_ascii_case(host_name(public_authority))) {
            return Err((StatusCode::FORBIDDEN, format!("Host {host:?} is not this server's")));
        }
    }
    if let Some(origin) = header_str(header::ORIGIN) {
        let own = header_str(header::HOST).map(|h| format!("http://{h}"));
        let allowed = own.as_deref() == Some(origin) || origin == c.public_url || c.dev_origins.iter().any(|o| o == origin);
        if !allowed {
            return Err((StatusCode::FORBIDDEN, format!("the dev endpoints answer this server's own pages, not {origin:?}")));
        }
    }
    if method == Method::POST {
        let json = header_str(header::CONTENT_TYPE)
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "POST a JSON body (Content-Type: application/json)".into()));
        }
    }
    Ok(())
}

/// The middleware of the dev routes: 404 without `--dev-signing`, then [`check_caller`].
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.config().dev_signing {
        return not_found().await;
    }
    if let Err((status, message)) = check_caller(&state, request.method(), request.headers()) {
        return (status, Json(json!({ "error": message }))).into_response();
    }
    next.run(request).await
}

/// 404: the dev endpoints are off, or the method is not theirs.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "not found (dev endpoints need --dev-signing)" }))).into_response()
}

/// `POST /dev/signature` `{"fileSha", "fileName", "ttl"?, "uid"?, "classId"?, "tags"?, "transcode"?,
/// "screenshot"?, "watermark"?}` → `{"signature"}`.
pub async fn signature(State(state): State<AppState>, body: Bytes) -> Response {
    let req: SignatureRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("expected JSON {{\"fileSha\", \"fileName\", \"ttl\"?, \"uid\"?}}: {e}")),
    };
    if req.file_sha.len() != 40 || !req.file_sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return bad_request("fileSha must be 40 hex digits".into());
    }
    if let Err(m) = sign::check_file_name(&req.file_name) {
        return bad_request(m);
    }
    if let Err(m) = sign::check_file_type(sign::extension_of(&req.file_name)) {
        return bad_request(format!("fileName needs an extension: {m}"));
    }
    let ttl = req.ttl.unwrap_or(3600);
    if ttl.abs() > sign::MAX_VALIDITY_SECS {
        return bad_request(format!("ttl must be within ±{} seconds", sign::MAX_VALIDITY_SECS));
    }
    if req.tags.len() > 10 || req.tags.iter().any(|t| t.is_empty() || t.len() > 128 || t.chars().any(char::is_control)) {
        return bad_request("tags: at most 10, each 1 to 128 bytes without control characters".into());
    }
    let c = state.config();
    let uid = req.uid.filter(|u| !u.is_empty()).unwrap_or_else(|| "dev".into());
    let params = sign::SignParams {
        class_id: req.class_id,
        tags: req.tags,
        transcode: req.transcode,
        screenshot: req.screenshot,
        watermark: req.watermark,
        ..sign::SignParams::new(&c.secret_id, &req.file_sha, &req.file_name, &uid, ttl)
    };
    Json(json!({ "signature": sign::sign(&params, &c.secret_key) })).into_response()
}

/// `GET /dev/stats[?fileSha=]`: global counters, or one file's.
pub async fn stats(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(sha) = q.get("fileSha") else {
        let (init, part, finish, parts, bytes) = state.stats().totals();
        return Json(json!({
            "calls": {"InitUploadEx": init, "UploadPartEx": part, "FinishUploadEx": finish},
            "faultsInjected": state.faults().injected(),
            "partsReceived": parts,
            "bytesReceived": bytes,
        }))
        .into_response();
    };
    let sha = sha.to_ascii_lowercase();
    let (parts, bytes) = state.stats().for_sha(&sha);
    let held = state.store().sessions_of(&sha).iter().map(|s| s.held_count()).max().unwrap_or(0);
    let finished = match state.store().finished(&sha).await {
        Ok(f) => f,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": e.message()}))).into_response(),
    };
    Json(json!({
        "fileSha": sha,
        "partsReceived": parts,
        "bytesReceived": bytes,
        "partsHeld": held,
        "finished": finished.is_some(),
        "fileId": finished.map(|f| f.file_id),
    }))
    .into_response()
}
