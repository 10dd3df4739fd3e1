//! The `/v2/index.php` endpoint: every Action the contract names.
//!
//! - [`indexed`]: InitUploadEx / UploadPartEx / FinishUploadEx (a UGC signature in each call) and their
//!   server-API twins InitUpload / UploadPart / FinishUpload (common parameters);
//! - [`multipart`]: MultipartUploadVodFile, the older one-call flow;
//! - [`describe`]: DescribeVodInfo, what is known of a file (common parameters);
//! - [`events`]: PullEvents / ConfirmEvents (ours), the upload-complete events for a backend that pulls;
//! - [`meta`]: the metadata a key holder's call gives of the file;
//! - [`call`]: a call's parts (the query parsed once, the [`call::Call`] an action takes, its body).
//!
//! A call is parsed (once, by [`count_inject_and_log`], which hands the parameters on), then (server API) its common parameters are checked in the contract's order,
//! then its method, then (InitUpload, UploadPart) its SecretId's rate limit, then its own parameters;
//! a UGC call counts against its uid's limit once its signature is verified.

mod call;
mod describe;
mod events;
mod indexed;
mod meta;
mod multipart;

use crate::common::{self, Caller};
use crate::config::FaultKind;
use crate::error::ApiError;
use crate::ratelimit::Limit;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use call::{declared_length, drain, Call, Params, Parsed};
use serde_json::{json, Value};
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
    PullEvents,
    ConfirmEvents,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::InitEx,
        Action::UploadPartEx,
        Action::FinishEx,
        Action::Init,
        Action::UploadPart,
        Action::Finish,
        Action::Multipart,
        Action::Describe,
        Action::PullEvents,
        Action::ConfirmEvents,
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
            Action::PullEvents => "PullEvents",
            Action::ConfirmEvents => "ConfirmEvents",
        }
    }

    /// Authenticated by the common parameters (the caller holds a key), not a UGC signature.
    pub fn keyed(self) -> bool {
        !matches!(self, Action::InitEx | Action::UploadPartEx | Action::FinishEx)
    }

    /// DescribeVodInfo and the event actions: neither counted nor given faults (they are no
    /// upload's calls).
    pub fn reads_only(self) -> bool {
        matches!(self, Action::Describe | Action::PullEvents | Action::ConfirmEvents)
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

/// `GET|POST /v2/index.php?Action=...`: check the common parameters (server API) and the method,
/// dispatch the action. The parameters come parsed from [`count_inject_and_log`], which also does
/// the faults, the counters and the log.
pub async fn v2(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let parsed = match parts.extensions.remove::<Parsed>() {
        Some(parsed) => parsed,
        None => Parsed::of(parts.uri.query()),
    };
    let (method, headers) = (parts.method, parts.headers);
    let mut body = Some(body);
    let answer = async {
        let params = parsed.0?;
        let action: Action = params.common("Action")?.parse()?;
        let caller = match action.keyed() {
            true => Some(authorize(&state, &params, &method, &headers).await?),
            false => None,
        };
        action.check_method(&method)?;
        if let Some(caller) = &caller {
            // Seeds 002 and 001: per SecretId, before anything of the call is stored.
            let limit = match action {
                Action::Init => Some(Limit::InitPerKey),
                Action::UploadPart => Some(Limit::PartPerKey),
                _ => None,
            };
            if let Some(limit) = limit {
                state.limiter().admit(limit, &caller.secret_id)?;
            }
        }
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
            Action::PullEvents => events::pull(&mut call).await.map(Answer::from),
            Action::ConfirmEvents => events::confirm(&mut call).await.map(Answer::from),
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

/// The middleware before [`v2`]: parses the query (once: [`v2`] gets it as a request extension),
/// counts the call, injects the fault it is due (before any work), and logs one line per call:
/// action, the SHA-1's first 8 characters, code, duration.
pub async fn count_inject_and_log(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let parsed = Parsed::of(request.uri().query());
    let params = parsed.0.as_ref().ok();
    let action = params.and_then(|p| p.get("Action")?.parse::<Action>().ok());
    // Only hex reaches the log: a fileSha cannot forge a line.
    let sha_prefix: String = match params.and_then(|p| p.get("fileSha")) {
        Some(sha) if sha.bytes().all(|b| b.is_ascii_hexdigit()) => sha.chars().take(8).collect(),
        Some(_) => "?".into(),
        None => "-".into(),
    };
    let log = |outcome: &str| {
        let name = action.map(Action::name).unwrap_or("-");
        eprintln!("{name} sha={sha_prefix} {outcome} {}ms", started.elapsed().as_millis());
    };
    let fault = action.filter(|a| !a.reads_only()).and_then(|a| {
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
    request.extensions_mut().insert(parsed);
    let response = next.run(request).await;
    match response.extensions().get::<AnsweredCode>() {
        Some(AnsweredCode(code)) => log(&format!("code={code}{slow}")),
        None => log(&format!("http={}{slow}", response.status().as_u16())),
    }
    response
}

pub(crate) fn url_of(state: &AppState, file_id: &str, file_type: &str) -> String {
    format!("{}/vod/{file_id}/f0.{file_type}", state.config().public_url)
}
