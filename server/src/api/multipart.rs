//! MultipartUploadVodFile (seed 000), the older one-call flow: each part comes with everything the
//! server needs, and the answer names where the next part starts (`flag 0`, `offset` as a string)
//! until the file is complete (`flag 1`, `fileId`, `url`). A part anywhere but where the server
//! expects the next one is not stored; the answer names the expected offset. Its own codes:
//! -25977 to -25986 for parameters, -29200 for a file whose SHA-1 does not match.

use super::meta::{read_meta, Field};
use super::call::{declared_length, Call, Params};
use super::{ok, url_of, MAX_SEGMENT_BYTES};
use crate::error::ApiError;
use crate::store::{FinishedFile, Flavour, Segment, SegmentPlan, FIRST_PART};
use crate::AppState;
use serde_json::{json, Value};

/// The sizes of every later part but the last.
pub const PART_SIZES: std::ops::RangeInclusive<u64> = 524_288..=5_242_880;

/// The code a field's fault gets.
fn refuse(field: Field, message: String) -> ApiError {
    let code = match field {
        Field::FileName => return ApiError::Param(message),
        Field::FileType => -25986,
        Field::Transcode => -25978,
        Field::Watermark => -25979,
        Field::Screenshot => -25980,
        Field::ClassId => -25983,
        Field::Tag => -25984,
    };
    ApiError::Multipart(code, message)
}

/// A non-negative integer parameter, else MultipartUploadVodFile's `code`.
fn number(p: &Params, name: &str, code: i64) -> Result<u64, ApiError> {
    p.number(name).map_err(|e| ApiError::Multipart(code, e.message().to_string()))
}

fn next(offset: u64) -> Value {
    ok(json!({ "flag": 0, "offset": offset.to_string() }))
}

fn done(state: &AppState, f: &FinishedFile) -> Value {
    ok(json!({ "flag": 1, "fileId": f.file_id, "url": url_of(state, &f.file_id, &f.file_type) }))
}

/// MultipartUploadVodFile: the parameters, then the part's size, then where it goes (decided before
/// the body is read), then the body.
pub(super) async fn segment(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let (state, p) = (call.state, &call.params);
    let secret_id = call.caller.as_ref().map_or("", |c| c.secret_id.as_str());
    // The name first (-10003), as InitUpload checks it; the rest of the metadata below.
    let name = p.get("fileName").unwrap_or_default();
    crate::sign::check_file_name(name).map_err(|m| ApiError::Param(format!("fileName: {m}")))?;
    let sha = p.get("fileSha").unwrap_or_default().to_string();
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(ApiError::Multipart(-25985, format!("fileSha must be 40 lowercase hex digits, got {sha:?}")));
    }
    let file_size = number(p, "fileSize", -25981)?;
    let max = state.config().max_file_size;
    if file_size == 0 || file_size > max {
        return Err(ApiError::Multipart(-25981, format!("fileSize must be 1 to {max} bytes, got {file_size}")));
    }
    let offset = p.number("offset")?;
    let data_size = number(p, "dataSize", -25982)?;
    let mut meta = read_meta(p, Flavour::Multipart, secret_id, refuse)?;
    // Seed 000's notifyUrl: like the flags, it counts on the first part (the session keeps it).
    if let Some(url) = p.get("notifyUrl") {
        crate::events::check_url(url).map_err(|m| ApiError::Multipart(-25976, format!("notifyUrl: {m}")))?;
        meta.notify_url = Some(url.to_string());
    }
    if offset.checked_add(data_size).is_none_or(|end| end > file_size) {
        return Err(ApiError::Multipart(
            -25977,
            format!("offset {offset} + dataSize {data_size} is past the end of the file ({file_size} bytes)"),
        ));
    }
    let last = offset + data_size == file_size;
    let size_ok = match offset {
        0 => data_size == FIRST_PART.min(file_size),
        _ if last => (1..=*PART_SIZES.end()).contains(&data_size),
        _ => PART_SIZES.contains(&data_size),
    };
    if !size_ok {
        return Err(ApiError::Multipart(
            -25982,
            format!(
                "dataSize {data_size} is wrong at offset {offset}: the first part is {FIRST_PART} bytes (or the whole file), \
                 later ones {} to {} (the last one shorter)",
                PART_SIZES.start(),
                PART_SIZES.end()
            ),
        ));
    }
    if declared_length(call.headers).is_some_and(|len| len != data_size) {
        return Err(ApiError::Multipart(-25982, format!("Content-Length is not dataSize {data_size}")));
    }
    let planned = match state.store().plan_segment(&sha, file_size, offset).await? {
        SegmentPlan::Finished(f) => return Ok(done(state, &f)),
        SegmentPlan::Done(f) => {
            // Already there: its callback goes now, through the outbox.
            if let Some(url) = &meta.notify_url {
                state.store().record_callback(&f, url).await?;
            }
            return Ok(done(state, &f));
        }
        SegmentPlan::Next(expected) => return Ok(next(expected)),
        SegmentPlan::Store(session) => session,
    };
    let receiving = planned.as_ref().map(|s| state.store().receive(s, offset)).transpose()?;
    let bytes = call.read_body(MAX_SEGMENT_BYTES).await?;
    if bytes.len() as u64 != data_size {
        return Err(ApiError::Multipart(-25982, format!("the body is {} bytes but dataSize is {data_size}", bytes.len())));
    }
    let len = bytes.len() as u64;
    // Stored (and finished) in a task of its own: a client that goes away mid-write does not
    // interrupt it.
    let task_state = state.clone();
    let stored = tokio::spawn(async move {
        let segment = task_state.store().put_segment(&sha, file_size, offset, bytes, planned, meta).await;
        drop(receiving);
        let segment = segment?;
        task_state.stats().part_received(&sha, len);
        Ok::<_, ApiError>(segment)
    });
    match stored.await.map_err(|e| ApiError::StorageWrite(format!("storing the part failed: {e}")))?? {
        Segment::Next(expected) => Ok(next(expected)),
        Segment::Done(f) => Ok(done(state, &f)),
    }
}
