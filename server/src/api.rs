//! The `/v2/index.php` endpoint: InitUploadEx, UploadPartEx, FinishUploadEx.

use crate::config::FaultKind;
use crate::error::ApiError;
use crate::sign::{self, Verified};
use crate::store::{InitOutcome, PutOutcome, Session};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use axum::Json;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest body UploadPartEx accepts.
pub const MAX_PART_BYTES: usize = 1_048_576;
/// The part sizes InitUploadEx accepts.
pub const DATA_SIZES: [u64; 2] = [524_288, 1_048_576];
/// How long a `verify_content` stays valid.
pub const VERIFY_CONTENT_TTL_SECS: i64 = 86_400;

/// One of the three calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Init,
    UploadPart,
    Finish,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Init => "InitUploadEx",
            Action::UploadPart => "UploadPartEx",
            Action::Finish => "FinishUploadEx",
        }
    }

    fn method(self) -> Method {
        match self {
            Action::UploadPart => Method::POST,
            _ => Method::GET,
        }
    }

    /// `-10003` unless the call came with the action's one method.
    fn check_method(self, method: &Method) -> Result<(), ApiError> {
        if *method != self.method() {
            return Err(ApiError::Param(format!("{} takes {} only, not {method}", self.name(), self.method())));
        }
        Ok(())
    }
}

impl std::str::FromStr for Action {
    type Err = ApiError;
    fn from_str(s: &str) -> Result<Action, ApiError> {
        [Action::Init, Action::UploadPart, Action::Finish].into_iter().find(|a| a.name() == s).ok_or_else(|| {
            ApiError::Param(format!("unknown Action {s:?} (expected InitUploadEx, UploadPartEx or FinishUploadEx)"))
        })
    }
}

/// The query parameters of a call.
struct Params(HashMap<String, String>);

impl Params {
    fn parse(query: &str) -> Result<Params, ApiError> {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if map.insert(k.to_string(), v.to_string()).is_some() {
                return Err(ApiError::Param(format!("parameter {k:?} is given more than once")));
            }
        }
        Ok(Params(map))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn common(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::MissingCommon(format!("the common parameter {name:?} is missing")))
    }

    fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::Param(format!("the parameter {name:?} is missing")))
    }

    fn number(&self, name: &str) -> Result<u64, ApiError> {
        let v = self.required(name)?;
        if v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::Param(format!("the parameter {name:?} must be a non-negative integer, got {v:?}")));
        }
        v.parse().map_err(|_| ApiError::Param(format!("the parameter {name:?} is out of range")))
    }

    fn hex(&self, name: &str, len: usize) -> Result<String, ApiError> {
        let v = self.required(name)?;
        if v.len() != len || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::Param(format!("the parameter {name:?} must be {len} hex digits, got {v:?}")));
        }
        Ok(v.to_ascii_lowercase())
    }
}

fn ok(extra: Value) -> Value {
    let mut v = json!({"code": 0, "message": "", "codeDesc": "Success", "canRetry": 0});
    if let (Value::Object(map), Value::Object(more)) = (&mut v, extra) {
        map.extend(more);
    }
    v
}

/// The code a `/v2` answer carries, for the log (a response extension).
#[derive(Debug, Clone, Copy)]
pub struct AnsweredCode(pub i64);

/// A successful answer: a JSON value, or a body built as it is sent (a long listParts).
enum Answer {
    Json(Value),
    Streamed { code: i64, body: Body },
}

impl From<Value> for Answer {
    fn from(v: Value) -> Answer {
        Answer::Json(v)
    }
}

/// `GET|POST /v2/index.php?Action=...`: parse, check the method, dispatch the action. Faults,
/// counters and the log are [`around`]'s.
pub async fn v2(
    State(state): State<AppState>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut body = Some(body);
    let answer = async {
        let params = Params::parse(query.as_deref().unwrap_or(""))?;
        let action: Action = params.common("Action")?.parse()?;
        action.check_method(&method)?;
        match action {
            Action::Init => init(&state, &params).await,
            Action::UploadPart => upload_part(&state, &params, &headers, &mut body).await.map(Answer::from),
            Action::Finish => finish(&state, &params).await.map(Answer::from),
        }
    };
    let answer = answer.await;
    if let Some(unread) = body.filter(|b| !axum::body::HttpBody::is_end_stream(b)) {
        // Refused before its body was needed: the answer goes now, and the body is read and
        // discarded beside it (one frame at a time, within the body timeout), so that the answer
        // reaches a client still sending.
        tokio::spawn(drain(unread));
    }
    let (code, mut response) = match answer {
        Ok(Answer::Json(v)) => (v["code"].as_i64().unwrap_or_default(), Json(v).into_response()),
        Ok(Answer::Streamed { code, body }) => {
            (code, ([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
        Err(e) => (e.code(), e.into_response()),
    };
    response.extensions_mut().insert(AnsweredCode(code));
    response
}

/// The middleware around [`v2`]: counts the call, injects the fault it is due (before any work),
/// and logs one line per call: action, the SHA-1's first 8 characters, code, duration.
pub async fn around(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let params = Params::parse(request.uri().query().unwrap_or("")).ok();
    let action = params.as_ref().and_then(|p| p.get("Action")?.parse::<Action>().ok());
    // Only hex reaches the log: a fileSha cannot forge a line.
    let sha_prefix: String = match params.as_ref().and_then(|p| p.get("fileSha")) {
        Some(sha) if sha.bytes().all(|b| b.is_ascii_hexdigit()) => sha.chars().take(8).collect(),
        Some(_) => "?".into(),
        None => "-".into(),
    };
    let log = |outcome: &str| {
        let name = action.map(Action::name).unwrap_or("-");
        eprintln!("{name} sha={sha_prefix} {outcome} {}ms", started.elapsed().as_millis());
    };
    let fault = action.and_then(|a| {
        state.stats().count_call(a);
        state.faults().decide()
    });
    let slow = match fault {
        None => "",
        Some(FaultKind::Slow) => {
            tokio::time::sleep(Duration::from_millis(state.faults().slow_ms())).await;
            " fault=slow"
        }
        Some(kind) => {
            // Read what the client sends first, so that the answer reaches a client still sending.
            drain(request.into_body()).await;
            log(&format!("fault={}", kind.name()));
            return crate::faults::fault_response(kind);
        }
    };
    let response = next.run(request).await;
    match response.extensions().get::<AnsweredCode>() {
        Some(AnsweredCode(code)) => log(&format!("code={code}{slow}")),
        None => log(&format!("http={}{slow}", response.status().as_u16())),
    }
    response
}

/// Reads and discards at most [`MAX_PART_BYTES`] of a body, holding one frame at a time.
async fn drain(body: Body) {
    let mut body = http_body_util::Limited::new(body, MAX_PART_BYTES);
    while let Some(Ok(_)) = body.frame().await {}
}

/// Refuses a body declared larger than [`MAX_PART_BYTES`], before reading any of it.
fn check_declared_length(headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(len) = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok()) {
        if len > MAX_PART_BYTES as u64 {
            return Err(ApiError::Param(format!("the body is larger than {MAX_PART_BYTES} bytes, the largest part")));
        }
    }
    Ok(())
}

/// Reads at most [`MAX_PART_BYTES`] of the body; never buffers more.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let too_big = || ApiError::Param(format!("the body is larger than {MAX_PART_BYTES} bytes, the largest part"));
    if let Some(len) = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok()) {
        if len > MAX_PART_BYTES as u64 {
            return Err(too_big());
        }
    }
    axum::body::to_bytes(body, MAX_PART_BYTES).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return too_big();
            }
            if s.is::<tower_http::timeout::TimeoutError>() {
                // The client went quiet mid-body (see `serve`): nothing is stored; send it again.
                return ApiError::StorageWrite(format!("the body stopped arriving: {e}; send the part again"));
            }
            source = s.source();
        }
        ApiError::Param(format!("the body could not be read: {e}"))
    })
}

/// Checks a call's signature; its uid names the caller's sessions.
fn check_signature(state: &AppState, signature: &str, sha: &str) -> Result<Verified, ApiError> {
    let c = state.config();
    sign::verify(signature, sha, |id| c.key_of(id), sign::now_unix()).map_err(ApiError::Signature)
}

fn url_of(state: &AppState, file_id: &str, file_type: &str) -> String {
    format!("{}/vod/{file_id}/f0.{file_type}", state.config().public_url)
}

async fn init(state: &AppState, p: &Params) -> Result<Answer, ApiError> {
    let signature = p.common("signature")?;
    let sha = p.hex("fileSha", 40)?;
    let file_size = p.number("fileSize")?;
    let max = state.config().max_file_size;
    if file_size == 0 || file_size > max {
        return Err(ApiError::Param(format!("fileSize must be 1 to {max} bytes, got {file_size}")));
    }
    let data_size = p.number("dataSize")?;
    if !DATA_SIZES.contains(&data_size) {
        return Err(ApiError::Param(format!("dataSize must be 524288 or 1048576, got {data_size}")));
    }
    let verified = check_signature(state, signature, &sha)?;
    Ok(match state.store().init(&sha, &verified.uid, file_size, data_size).await? {
        InitOutcome::Fresh => ok(json!({})).into(),
        InitOutcome::Resume { data_size, session } => Answer::Streamed { code: 1, body: list_parts(data_size, session) },
        InitOutcome::Finished(f) => json!({
            "code": 2, "message": "", "codeDesc": "Exists", "canRetry": 0,
            "fileId": f.file_id, "url": url_of(state, &f.file_id, &f.file_type),
        })
        .into(),
    })
}

/// How many listParts entries are formatted at a time.
const LIST_CHUNK: usize = 4096;

/// The code-1 answer, written as it is sent, [`LIST_CHUNK`] parts at a time: a session of a
/// million parts costs a few hundred KiB to answer, not a JSON tree of the whole list.
fn list_parts(data_size: u64, session: Arc<Session>) -> Body {
    list_parts_in_chunks(data_size, session, LIST_CHUNK)
}

fn list_parts_in_chunks(data_size: u64, session: Arc<Session>, chunk_len: usize) -> Body {
    let head = format!(r#"{{"code":1,"message":"","codeDesc":"Resume","canRetry":0,"dataSize":{data_size},"listParts":["#);
    let state = (Some(head), Some(0u64), session);
    let stream = futures_util::stream::unfold(state, move |(head, next, session)| async move {
        if let Some(head) = head {
            return Some((Ok::<_, std::convert::Infallible>(Bytes::from(head)), (None, next, session)));
        }
        let from = next?;
        let parts = session.held_parts_from(from, chunk_len);
        let mut chunk = String::with_capacity(parts.len() * 96 + 2);
        for (i, part) in parts.iter().enumerate() {
            if from > 0 || i > 0 {
                chunk.push(',');
            }
            chunk.push_str(&json!({"offset": part.offset, "dataSize": part.size, "dataMd5": part.md5}).to_string());
        }
        let next = if parts.len() < chunk_len {
            chunk.push_str("]}");
            None
        } else {
            parts.last().map(|p| p.offset + 1)
        };
        Some((Ok(Bytes::from(chunk)), (None, next, session)))
    });
    Body::from_stream(stream)
}

/// UploadPartEx. Everything that does not need the body is checked before it is read: the
/// parameters, the signature, the session, the part's place and size.
async fn upload_part(state: &AppState, p: &Params, headers: &HeaderMap, body: &mut Option<Body>) -> Result<Value, ApiError> {
    let signature = p.common("signature")?;
    let sha = p.hex("fileSha", 40)?;
    let offset = p.number("offset")?;
    let data_size = p.number("dataSize")?;
    let md5 = p.hex("dataMd5", 32)?;
    check_declared_length(headers)?;
    let verified = check_signature(state, signature, &sha)?;
    let session = state.store().session(&sha, &verified.uid).ok_or_else(|| {
        ApiError::NoSession(format!("no upload session for fileSha {sha} (never opened, expired, or already finished)"))
    })?;
    if offset % session.data_size != 0 {
        return Err(ApiError::Param(format!("offset {offset} is not a multiple of the session's dataSize {}", session.data_size)));
    }
    if offset >= session.file_size {
        return Err(ApiError::Param(format!("offset {offset} is at or past the end of the file ({} bytes)", session.file_size)));
    }
    let expected = session.data_size.min(session.file_size - offset);
    if data_size != expected {
        return Err(ApiError::Param(format!(
            "dataSize {data_size} is wrong for the part at offset {offset}: it must be {expected}"
        )));
    }
    let body = read_body(headers, body.take().unwrap_or_default()).await?;
    if body.len() as u64 != data_size {
        return Err(ApiError::Param(format!("the body is {} bytes but dataSize is {data_size}", body.len())));
    }
    let actual = hex::encode(Md5::digest(&body));
    if actual != md5 {
        return Err(ApiError::PartDamaged(format!("the body's MD5 is {actual}, not dataMd5 {md5}: damaged on the way, send it again")));
    }
    let len = body.len() as u64;
    // Stored and counted in a task of its own: a client that goes away mid-write (an abort) drops
    // this handler, but not the write, the session gate it holds, or the count.
    let task_state = state.clone();
    let stored = tokio::spawn(async move {
        let outcome = task_state.store().put_part(session, offset, body, md5).await?;
        match outcome {
            PutOutcome::Stored | PutOutcome::AlreadyHeld => task_state.stats().part_received(&sha, len),
        }
        Ok::<_, ApiError>(())
    });
    stored.await.map_err(|e| ApiError::StorageWrite(format!("storing the part failed: {e}")))??;
    Ok(ok(json!({})))
}

async fn finish(state: &AppState, p: &Params) -> Result<Value, ApiError> {
    let signature = p.common("signature")?;
    let sha = p.hex("fileSha", 40)?;
    let verified = check_signature(state, signature, &sha)?;
    let f = state.store().finish(&sha, &verified.uid, &verified.file_name, &verified.file_type).await?;
    let exp = sign::now_unix() + VERIFY_CONTENT_TTL_SECS;
    Ok(ok(json!({
        "fileId": f.file_id,
        "url": url_of(state, &f.file_id, &f.file_type),
        "verify_content": sign::verify_content(&state.config().verify_key, &f.file_id, exp),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn list_parts_is_the_same_json_whatever_the_chunk_length() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let half = DATA_SIZES[0];
        let data: Vec<u8> = (0..half * 4 + 9).map(|i| (i % 251) as u8).collect();
        let sha = hex::encode(<sha1::Sha1 as sha1::Digest>::digest(&data));
        store.init(&sha, "u", data.len() as u64, half).await.unwrap();
        let session = store.session(&sha, "u").unwrap();
        for i in [0u64, 1, 3, 4] {
            let part = &data[(i * half) as usize..((i + 1) * half).min(data.len() as u64) as usize];
            let md5 = hex::encode(Md5::digest(part));
            store.put_part(Arc::clone(&session), i * half, Bytes::copy_from_slice(part), md5).await.unwrap();
        }
        let mut answers = Vec::new();
        for chunk in [1, 2, 4, 5, LIST_CHUNK] {
            let body = list_parts_in_chunks(half, Arc::clone(&session), chunk);
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            answers.push(serde_json::from_slice::<Value>(&bytes).expect("valid JSON"));
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
        let offsets: Vec<u64> = answers[0]["listParts"].as_array().unwrap().iter().map(|p| p["offset"].as_u64().unwrap()).collect();
        assert_eq!(offsets, vec![0, half, 3 * half, 4 * half]);
        assert_eq!(answers[0]["listParts"][3]["dataSize"], 9);
        assert_eq!((answers[0]["code"].clone(), answers[0]["dataSize"].clone()), (1.into(), half.into()));
    }
}
