//! The `/v2/index.php` endpoint: every Action the contract names.
//!
//! - [`indexed`]: InitUploadEx / UploadPartEx / FinishUploadEx (a UGC signature in each call) and their
//!   server-API twins InitUpload / UploadPart / FinishUpload (common parameters);
//! - [`multipart`]: MultipartUploadVodFile, the older one-call flow;
//! - [`describe`]: DescribeVodInfo, what is known of a file (common parameters);
//! - [`meta`]: the metadata a key holder's call gives of the file.
//!
//! A call is parsed, then (server API) its common parameters are checked in the contract's order,
//! then its method, then its own parameters.

mod describe;
mod indexed;
mod meta;
mod multipart;

use crate::common::{self, Caller};
use crate::config::{BodyFloor, FaultKind};
use crate::error::ApiError;
use crate::store::Session;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest body UploadPartEx and UploadPart accept.
pub const MAX_PART_BYTES: usize = 1_048_576;
/// The largest body MultipartUploadVodFile accepts (and the most any refused body is read for).
pub const MAX_SEGMENT_BYTES: usize = 5_242_880;
/// How long a `verify_content` stays valid.
pub const VERIFY_CONTENT_TTL_SECS: i64 = 86_400;

/// One of the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    InitEx,
    UploadPartEx,
    FinishEx,
    Init,
    UploadPart,
    Finish,
    Multipart,
    Describe,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::InitEx,
        Action::UploadPartEx,
        Action::FinishEx,
        Action::Init,
        Action::UploadPart,
        Action::Finish,
        Action::Multipart,
        Action::Describe,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::InitEx => "InitUploadEx",
            Action::UploadPartEx => "UploadPartEx",
            Action::FinishEx => "FinishUploadEx",
            Action::Init => "InitUpload",
            Action::UploadPart => "UploadPart",
            Action::Finish => "FinishUpload",
            Action::Multipart => "MultipartUploadVodFile",
            Action::Describe => "DescribeVodInfo",
        }
    }

    /// Authenticated by the common parameters (the caller holds a key), not a UGC signature.
    pub fn keyed(self) -> bool {
        !matches!(self, Action::InitEx | Action::UploadPartEx | Action::FinishEx)
    }

    /// Whether it carries a part in its body.
    pub fn sends_part(self) -> bool {
        matches!(self, Action::UploadPartEx | Action::UploadPart | Action::Multipart)
    }

    /// `-10003` unless the call came with a method the action takes: POST for a part; GET for the
    /// Ex calls; GET or POST for the others (their MAC covers the method used).
    fn check_method(self, method: &Method) -> Result<(), ApiError> {
        let allowed: &[Method] = match self {
            _ if self.sends_part() => &[Method::POST],
            Action::InitEx | Action::FinishEx => &[Method::GET],
            _ => &[Method::GET, Method::POST],
        };
        if !allowed.contains(method) {
            let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
            return Err(ApiError::Param(format!("{} takes {} only, not {method}", self.name(), names.join(" or "))));
        }
        Ok(())
    }
}

impl std::str::FromStr for Action {
    type Err = ApiError;
    fn from_str(s: &str) -> Result<Action, ApiError> {
        Action::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
            ApiError::Param(format!("unknown Action {s:?} (expected one of {})", names.join(", ")))
        })
    }
}

/// The query parameters of a call.
struct Params(HashMap<String, String>);

impl Params {
    fn parse(query: &str) -> Result<Params, ApiError> {
        let mut map = HashMap::new();
        for (k, v) in crate::sign::query_pairs(query).map_err(ApiError::Param)? {
            if let Some(k) = map.insert(k.clone(), v).map(|_| k) {
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

    /// Every parameter, decoded.
    fn map(&self) -> &HashMap<String, String> {
        &self.0
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

/// One call, parsed, authenticated (server API) and its method checked: what an action reads.
struct Call<'a> {
    state: &'a AppState,
    params: Params,
    /// Who signed it with a key (the server API); none for an Ex call, whose signature the action
    /// checks.
    caller: Option<Caller>,
    headers: &'a HeaderMap,
    /// The body, until the action takes it.
    body: &'a mut Option<Body>,
}

impl Call<'_> {
    /// Reads the body (at most `limit` bytes, at least as fast as the floor; see [`read_body`]).
    async fn read_body(&mut self, limit: usize) -> Result<Bytes, ApiError> {
        let body = Floor::new(self.body.take().unwrap_or_default(), self.state.config().body_floor);
        read_body(self.headers, Body::new(body), limit).await
    }
}

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

/// `GET|POST /v2/index.php?Action=...`: parse, check the common parameters (server API) and the
/// method, dispatch the action. Faults, counters and the log are [`around`]'s.
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
        let caller = match action.keyed() {
            true => Some(authorize(&state, &params, &method, &headers).await?),
            false => None,
        };
        action.check_method(&method)?;
        if !action.keyed() {
            // An Ex call's signature is checked by the action, with its fileSha; that it is there
            // (-10001) comes before the action's own parameters.
            params.common("signature")?;
        }
        let mut call = Call { state: &state, params, caller, headers: &headers, body: &mut body };
        match action {
            Action::InitEx | Action::Init => indexed::init(&mut call).await,
            Action::UploadPartEx | Action::UploadPart => indexed::upload_part(&mut call).await.map(Answer::from),
            Action::FinishEx | Action::Finish => indexed::finish(&mut call).await.map(Answer::from),
            Action::Multipart => multipart::segment(&mut call).await.map(Answer::from),
            Action::Describe => describe::describe(&mut call).await.map(Answer::from),
        }
    };
    let answer = answer.await;
    let declared = declared_length(&headers).is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING);
    let unread = body.filter(|b| declared && !axum::body::HttpBody::is_end_stream(b));
    let lingering = unread.is_some();
    if let Some(unread) = unread {
        // Refused before its body was needed: the answer goes now, and the connection closes after
        // it. What arrives meanwhile is read and discarded for a moment, so that a client still
        // sending is not reset before it reads the answer; then the connection is closed, however
        // slowly the rest would come.
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
    if lingering {
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    response
}

/// The server API's common parameters, in the contract's order: present and well-formed (-10001),
/// a known SecretId and a MAC that matches (-10002); the Nonce then recorded, durably; the clock
/// (4500); a Nonce seen within the last 7200 s (4500).
async fn authorize(state: &AppState, params: &Params, method: &Method, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let caller = common::authenticate(params.map(), method.as_str(), host, state.config())?;
    let now = crate::sign::now_unix();
    let fresh = state.store().remember_nonce(&caller.secret_id, caller.nonce, now).await?;
    common::check_clock(&caller, now)?;
    if !fresh {
        return Err(ApiError::Replay(format!(
            "Nonce {} of SecretId {} was used within the last {} s: a replayed request (sign every request afresh)",
            caller.nonce,
            caller.secret_id,
            crate::store::NONCE_WINDOW_SECS
        )));
    }
    Ok(caller)
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
    let fault = action.filter(|a| *a != Action::Describe).and_then(|a| {
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

/// How long a refused body is read and discarded before its connection is closed.
const LINGER: Duration = Duration::from_secs(2);

/// Reads and discards at most [`MAX_SEGMENT_BYTES`] of a body for at most [`LINGER`], holding one
/// frame at a time.
async fn drain(body: Body) {
    let mut body = http_body_util::Limited::new(body, MAX_SEGMENT_BYTES);
    let _ = tokio::time::timeout(LINGER, async { while let Some(Ok(_)) = body.frame().await {} }).await;
}

/// The body's length as its Content-Length declares it, if it does.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
}

/// Refuses a body declared larger than `limit`, before reading any of it.
fn check_declared_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    match declared_length(headers) {
        Some(len) if len > limit as u64 => Err(too_big(limit)),
        _ => Ok(()),
    }
}

fn too_big(limit: usize) -> ApiError {
    ApiError::Param(format!("the body is larger than {limit} bytes, the largest part"))
}

/// Reads at most `limit` bytes of the body; never buffers more.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    check_declared_length(headers, limit)?;
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return too_big(limit);
            }
            if let Some(slow) = s.downcast_ref::<TooSlow>() {
                return ApiError::StorageWrite(format!("{slow}; send the part again"));
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

/// A body that brought fewer bytes than its floor over a window.
#[derive(Debug)]
struct TooSlow(BodyFloor);

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let window = self.0.window.as_secs_f64();
        write!(f, "the body came slower than {} bytes a second over {window} s: cut", self.0.bytes_per_sec)
    }
}

impl std::error::Error for TooSlow {}

/// A request body held to a [`BodyFloor`]: each window of `floor.window` must bring at least
/// `bytes_per_sec` a second on average, else the body fails with [`TooSlow`]. No deadline on the
/// whole: a slow uplink takes as long as it needs.
struct Floor {
    inner: Body,
    floor: BodyFloor,
    window_start: Instant,
    bytes: u64,
}

impl Floor {
    fn new(inner: Body, floor: BodyFloor) -> Floor {
        Floor { inner, floor, window_start: Instant::now(), bytes: 0 }
    }
}

impl hyper::body::Body for Floor {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, axum::BoxError>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(Some(Ok(frame))) = &polled {
            self.bytes += frame.data_ref().map_or(0, |d| d.len() as u64);
            let elapsed = self.window_start.elapsed();
            if self.floor.bytes_per_sec > 0 && elapsed >= self.floor.window {
                if (self.bytes as f64) < self.floor.bytes_per_sec as f64 * elapsed.as_secs_f64() {
                    return std::task::Poll::Ready(Some(Err(Box::new(TooSlow(self.floor)))));
                }
                (self.window_start, self.bytes) = (Instant::now(), 0);
            }
        }
        polled.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

pub(crate) fn url_of(state: &AppState, file_id: &str, file_type: &str) -> String {
    format!("{}/vod/{file_id}/f0.{file_type}", state.config().public_url)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use indexed::DATA_SIZES;
    use md5::{Digest, Md5};

    #[tokio::test]
    async fn list_parts_is_the_same_json_whatever_the_chunk_length() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let half = DATA_SIZES[0];
        let data: Vec<u8> = (0..half * 4 + 9).map(|i| (i % 251) as u8).collect();
        let sha = hex::encode(<sha1::Sha1 as sha1::Digest>::digest(&data));
        store.init(&sha, crate::store::Who::Uid("u"), data.len() as u64, half, crate::store::Meta::default()).await.unwrap();
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
