//! The API's error answers: each variant is one documented code.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Everything a `/v2` call can be refused with. Every variant answers HTTP 200 with
/// `{code, message, codeDesc, canRetry}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// -10001: `Action` or `signature` missing; a server-API call's common parameter missing or
    /// ill-formed.
    MissingCommon(String),
    /// -10002: the signature is refused.
    Signature(String),
    /// -10003: wrong method, unknown action, a missing or malformed parameter, a rule broken.
    Param(String),
    /// -10004, canRetry 1: a transient write fault.
    StorageWrite(String),
    /// -10005, canRetry 0: no upload session for this SHA-1.
    NoSession(String),
    /// -10005, canRetry 1: a transient read fault.
    StorageRead(String),
    /// -10006, canRetry 1: a part's bytes do not match its MD5.
    PartDamaged(String),
    /// -10006, canRetry 0: the assembled file does not match its SHA-1; the session is dropped.
    ShaMismatch(String),
    /// 4500, canRetry 0 (server API): the Timestamp is more than 7200 s from the server's clock, or
    /// the (SecretId, Nonce) was seen within the last 7200 s (a replay).
    Replay(String),
    /// 4400, canRetry 1: over a rate limit (`docs/protocol.md`, "Rate limits"); nothing of the call
    /// was stored. The seconds until a call would be admitted again go in `Retry-After`.
    RateLimited(String, u64),
    /// MultipartUploadVodFile's own codes, canRetry 0: -25977 to -25986 (a parameter), -29200 (the
    /// assembled file's SHA-1 does not match; the session is dropped).
    Multipart(i64, String),
}

impl ApiError {
    pub fn code(&self) -> i64 {
        match self {
            ApiError::MissingCommon(_) => -10001,
            ApiError::Signature(_) => -10002,
            ApiError::Param(_) => -10003,
            ApiError::StorageWrite(_) => -10004,
            ApiError::NoSession(_) | ApiError::StorageRead(_) => -10005,
            ApiError::PartDamaged(_) | ApiError::ShaMismatch(_) => -10006,
            ApiError::Replay(_) => 4500,
            ApiError::RateLimited(..) => 4400,
            ApiError::Multipart(code, _) => *code,
        }
    }

    pub fn can_retry(&self) -> bool {
        matches!(
            self,
            ApiError::StorageWrite(_) | ApiError::StorageRead(_) | ApiError::PartDamaged(_) | ApiError::RateLimited(..)
        )
    }

    pub fn code_desc(&self) -> &'static str {
        match self {
            ApiError::MissingCommon(_) => "MissingCommonParameter",
            ApiError::Signature(_) => "SignatureRefused",
            ApiError::Param(_) => "InvalidParameter",
            ApiError::StorageWrite(_) => "WriteCacheFailed",
            ApiError::NoSession(_) => "NoUploadSession",
            ApiError::StorageRead(_) => "ReadCacheFailed",
            ApiError::PartDamaged(_) => "PartMd5Mismatch",
            ApiError::ShaMismatch(_) => "FileShaMismatch",
            ApiError::Replay(_) => "RequestExpiredOrReplayed",
            ApiError::RateLimited(..) => "RequestLimitExceeded",
            ApiError::Multipart(-29200, _) => "FileShaMismatch",
            ApiError::Multipart(..) => "InvalidParameter",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::MissingCommon(m)
            | ApiError::Signature(m)
            | ApiError::Param(m)
            | ApiError::StorageWrite(m)
            | ApiError::NoSession(m)
            | ApiError::StorageRead(m)
            | ApiError::PartDamaged(m)
            | ApiError::ShaMismatch(m)
            | ApiError::Replay(m)
            | ApiError::RateLimited(m, _)
            | ApiError::Multipart(_, m) => m,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "code": self.code(),
            "message": self.message(),
            "codeDesc": self.code_desc(),
            "canRetry": i32::from(self.can_retry()),
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message(), self.code())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = Json(self.to_json()).into_response();
        if let ApiError::RateLimited(_, secs) = self {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}
