//! The calls of fixed-size parts: InitUploadEx / UploadPartEx / FinishUploadEx (a UGC signature in
//! each call; its uid names the caller's sessions) and their server-API twins InitUpload / UploadPart
//! / FinishUpload (the caller holds a key and sees the session of any uid). Same storage, same rules;
//! they differ in how the caller is known, where the metadata comes from, InitUpload's wider range
//! of part sizes, and FinishUpload's answer without `verify_content`.

use super::meta::read_meta;
use super::call::{check_declared_length, Call, Params};
use super::{ok, url_of, Answer, MAX_PART_BYTES, VERIFY_CONTENT_TTL_SECS};
use crate::store::Session;
use axum::body::{Body, Bytes};
use std::sync::Arc;
use crate::error::ApiError;
use crate::ratelimit::Limit;
use crate::sign::{self, Verified};
use crate::store::{Flavour, InitOutcome, Meta, PutOutcome, Who};
use crate::AppState;
use md5::{Digest, Md5};
use serde_json::{json, Value};

/// The part sizes InitUploadEx accepts.
pub const DATA_SIZES: [u64; 2] = [524_288, 1_048_576];
/// The part sizes InitUpload accepts.
pub const SERVER_DATA_SIZES: std::ops::RangeInclusive<u64> = 524_288..=1_048_576;

/// Checks a UGC call's signature (`-10002` when it is refused; its presence was checked first, in
/// `v2`), then counts the call against its uid's `limit` (`4400`).
fn check_signature(state: &AppState, p: &Params, sha: &str, limit: Limit) -> Result<Verified, ApiError> {
    let signature = p.common("signature")?;
    let c = state.config();
    let verified = sign::verify(signature, sha, |id| c.key_of(id), sign::now_unix()).map_err(ApiError::Signature)?;
    state.limiter().admit(limit, &verified.uid)?;
    Ok(verified)
}

/// What a UGC signature says of the file.
fn ugc_meta(v: &Verified) -> Meta {
    Meta {
        file_name: v.file_name.clone(),
        file_type: v.file_type.clone(),
        class_id: v.class_id,
        tags: v.tags.clone(),
        is_transcode: v.transcode.into(),
        is_screenshot: v.screenshot.into(),
        is_watermark: v.watermark.into(),
        uid: Some(v.uid.clone()),
        secret_id: v.secret_id.clone(),
        flavour: Flavour::Ugc,
        notify_url: None,
    }
}

/// InitUploadEx (`caller` none: a UGC signature) or InitUpload (a key holder).
pub(super) async fn init(call: &mut Call<'_>) -> Result<Answer, ApiError> {
    let (state, p, caller) = (call.state, &call.params, call.caller.as_ref());
    let sha = p.hex("fileSha", 40)?;
    let file_size = p.number("fileSize")?;
    let max = state.config().max_file_size;
    if file_size == 0 || file_size > max {
        return Err(ApiError::Param(format!("fileSize must be 1 to {max} bytes, got {file_size}")));
    }
    let data_size = p.number("dataSize")?;
    let (uid, meta) = match caller {
        None => {
            if !DATA_SIZES.contains(&data_size) {
                return Err(ApiError::Param(format!("dataSize must be 524288 or 1048576, got {data_size}")));
            }
            let verified = check_signature(state, p, &sha, Limit::InitPerUid)?;
            (Some(verified.uid.clone()), ugc_meta(&verified))
        }
        Some(caller) => {
            if !SERVER_DATA_SIZES.contains(&data_size) {
                return Err(ApiError::Param(format!("dataSize must be 524288 to 1048576, got {data_size}")));
            }
            (None, read_meta(p, Flavour::Server, &caller.secret_id, |_, m| ApiError::Param(m))?)
        }
    };
    let who = uid.as_deref().map_or(Who::KeyHolder, Who::Uid);
    Ok(match state.store().init(&sha, who, file_size, data_size, meta).await? {
        InitOutcome::Fresh => ok(json!({})).into(),
        InitOutcome::Resume { data_size, session } => Answer::Streamed { code: 1, body: list_parts(data_size, session) },
        InitOutcome::Finished(f) => json!({
            "code": 2, "message": "", "codeDesc": "Exists", "canRetry": 0,
            "fileId": f.file_id, "url": url_of(state, &f.file_id, &f.file_type),
        })
        .into(),
    })
}

/// UploadPartEx or UploadPart. Everything that does not need the body is checked before it is
/// read: the parameters, the signature, the session, the part's place and size.
pub(super) async fn upload_part(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let (state, p, caller) = (call.state, &call.params, call.caller.as_ref());
    let sha = p.hex("fileSha", 40)?;
    let offset = p.number("offset")?;
    let data_size = p.number("dataSize")?;
    let md5 = p.hex("dataMd5", 32)?;
    check_declared_length(call.headers, MAX_PART_BYTES)?;
    let verified = match caller {
        None => Some(check_signature(state, p, &sha, Limit::PartPerUid)?),
        Some(_) => None,
    };
    let who = verified.as_ref().map_or(Who::KeyHolder, |v| Who::Uid(&v.uid));
    let session = state.store().find_indexed(&sha, who)?;
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
    let receiving = state.store().receive(&session, offset)?;
    let body = call.read_body(MAX_PART_BYTES).await?;
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
        // Reserved until written: a session is never empty between its body and its write.
        let outcome = task_state.store().put_part(session, offset, body, md5).await;
        drop(receiving);
        let outcome = outcome?;
        match outcome {
            PutOutcome::Stored | PutOutcome::AlreadyHeld => task_state.stats().part_received(&sha, len),
        }
        Ok::<_, ApiError>(())
    });
    stored.await.map_err(|e| ApiError::StorageWrite(format!("storing the part failed: {e}")))??;
    Ok(ok(json!({})))
}

/// FinishUploadEx (with `verify_content`, name and type from the signature) or FinishUpload (name
/// and type as InitUpload gave them; the caller is the trusted backend: no `verify_content`).
pub(super) async fn finish(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let (state, p) = (call.state, &call.params);
    if call.caller.is_some() {
        let sha = p.hex("fileSha", 40)?;
        let f = state.store().finish(&sha, Who::KeyHolder, None).await?;
        return Ok(ok(json!({ "fileId": f.file_id, "url": url_of(state, &f.file_id, &f.file_type) })));
    }
    let sha = p.hex("fileSha", 40)?;
    let v = check_signature(state, p, &sha, Limit::FinishPerUid)?;
    let f = state.store().finish(&sha, Who::Uid(&v.uid), Some((&v.file_name, &v.file_type))).await?;
    let exp = sign::now_unix() + VERIFY_CONTENT_TTL_SECS;
    Ok(ok(json!({
        "fileId": f.file_id,
        "url": url_of(state, &f.file_id, &f.file_type),
        "verify_content": sign::verify_content(&state.config().verify_key, &f.file_id, exp),
    })))
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
