//! A call's parts, as every action reads them: the query parsed once (by the middleware, handed on
//! as a request extension), the [`Call`] an action takes, and the reading of its body (a limit on
//! its length, a floor on its speed, a refused body discarded for a moment only).

use crate::common::Caller;
use crate::config::BodyFloor;
use crate::error::ApiError;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::MAX_SEGMENT_BYTES;

/// The query of a call, parsed once by [`super::count_inject_and_log`] and handed on to
/// [`super::v2`] (a request extension).
#[derive(Debug, Clone)]
pub(super) struct Parsed(pub(super) Result<Params, ApiError>);

impl Parsed {
    pub(super) fn of(query: Option<&str>) -> Parsed {
        Parsed(Params::parse(query.unwrap_or("")))
    }
}

/// The query parameters of a call.
#[derive(Debug, Clone)]
pub(super) struct Params(HashMap<String, String>);

impl Params {
    pub(super) fn parse(query: &str) -> Result<Params, ApiError> {
        let mut map = HashMap::new();
        for (k, v) in crate::sign::query_pairs(query).map_err(ApiError::Param)? {
            if let Some(k) = map.insert(k.clone(), v).map(|_| k) {
                return Err(ApiError::Param(format!("parameter {k:?} is given more than once")));
            }
        }
        Ok(Params(map))
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub(super) fn common(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::MissingCommon(format!("the common parameter {name:?} is missing")))
    }

    pub(super) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::Param(format!("the parameter {name:?} is missing")))
    }

    pub(super) fn number(&self, name: &str) -> Result<u64, ApiError> {
        let v = self.required(name)?;
        if v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::Param(format!("the parameter {name:?} must be a non-negative integer, got {v:?}")));
        }
        v.parse().map_err(|_| ApiError::Param(format!("the parameter {name:?} is out of range")))
    }

    /// Every parameter, decoded.
    pub(super) fn map(&self) -> &HashMap<String, String> {
        &self.0
    }

    pub(super) fn hex(&self, name: &str, len: usize) -> Result<String, ApiError> {
        let v = self.required(name)?;
        if v.len() != len || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::Param(format!("the parameter {name:?} must be {len} hex digits, got {v:?}")));
        }
        Ok(v.to_ascii_lowercase())
    }
}

/// One call, parsed, authenticated (server API) and its method checked: what an action reads.
pub(super) struct Call<'a> {
    pub(super) state: &'a AppState,
    pub(super) params: Params,
    /// Who signed it with a key (the server API); none for an Ex call, whose signature the action
    /// checks.
    pub(super) caller: Option<Caller>,
    pub(super) headers: &'a HeaderMap,
    /// The body, until the action takes it.
    pub(super) body: &'a mut Option<Body>,
}

impl Call<'_> {
    /// Reads the body (at most `limit` bytes, at least as fast as the floor; see [`read_body`]).
    pub(super) async fn read_body(&mut self, limit: usize) -> Result<Bytes, ApiError> {
        let body = Floor::new(self.body.take().unwrap_or_default(), self.state.config().body_floor);
        read_body(self.headers, Body::new(body), limit).await
    }
}

/// How long a refused body is read and discarded before its connection is closed.
const LINGER: Duration = Duration::from_secs(2);

/// Reads and discards at most [`MAX_SEGMENT_BYTES`] of a body for at most [`LINGER`], holding one
/// frame at a time.
pub(super) async fn drain(body: Body) {
    let mut body = http_body_util::Limited::new(body, MAX_SEGMENT_BYTES);
    let _ = tokio::time::timeout(LINGER, async { while let Some(Ok(_)) = body.frame().await {} }).await;
}

/// The body's length as its Content-Length declares it, if it does.
pub(super) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
}

/// Refuses a body declared larger than `limit`, before reading any of it.
pub(super) fn check_declared_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
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
