//! Development endpoints, only with `--dev-signing`: a signing endpoint standing in for an app
//! backend, and counters the end-to-end tests read.

use crate::sign;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
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
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// 404: the dev endpoints are off, or the method is not theirs.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "not found (dev endpoints need --dev-signing)" }))).into_response()
}

/// `POST /dev/signature` `{"fileSha", "fileName", "ttl"?, "uid"?}` → `{"signature"}`.
pub async fn signature(State(state): State<AppState>, body: Bytes) -> Response {
    if !state.config().dev_signing {
        return not_found().await;
    }
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
    let c = state.config();
    let uid = req.uid.filter(|u| !u.is_empty()).unwrap_or_else(|| "dev".into());
    let params = sign::SignParams::new(&c.secret_id, &req.file_sha, &req.file_name, &uid, ttl);
    Json(json!({ "signature": sign::sign(&params, &c.secret_key) })).into_response()
}

/// `GET /dev/stats[?fileSha=]`: global counters, or one file's.
pub async fn stats(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !state.config().dev_signing {
        return not_found().await;
    }
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
