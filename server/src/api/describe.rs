//! DescribeVodInfo: what the server knows of a file, for a key holder: by `fileId` or `fileSha`, the
//! finished file with its metadata, else the open uploads of that SHA-1 with theirs.

use super::call::Call;
use super::{ok, url_of};
use crate::error::ApiError;
use crate::store::Description;
use serde_json::{json, Value};

pub(super) async fn describe(call: &mut Call<'_>) -> Result<Value, ApiError> {
    let (state, p) = (call.state, &call.params);
    let store = state.store();
    let sha = match (p.get("fileId"), p.get("fileSha")) {
        (Some(id), None) => {
            if id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::Param(format!("fileId must be a decimal number, got {id:?}")));
            }
            store.sha_of_file(id).await?.ok_or_else(|| ApiError::Param(format!("no file has fileId {id}")))?
        }
        (None, Some(_)) => p.hex("fileSha", 40)?,
        _ => return Err(ApiError::Param("give one of fileId and fileSha".into())),
    };
    match store.describe(&sha).await? {
        Description::Finished(f) => Ok(ok(json!({
            "state": "finished",
            "fileId": f.file_id,
            "fileSha": f.sha,
            "size": f.size,
            "url": url_of(state, &f.file_id, &f.file_type),
            "meta": f.meta,
        }))),
        Description::Uploading(sessions) if !sessions.is_empty() => {
            let sessions: Vec<Value> = sessions
                .iter()
                .map(|s| {
                    json!({
                        "flavour": s.meta.flavour,
                        "fileSize": s.file_size,
                        "dataSize": (!s.contiguous).then_some(s.data_size),
                        "heldBytes": s.held_bytes(),
                        "meta": s.meta,
                    })
                })
                .collect();
            Ok(ok(json!({ "state": "uploading", "fileSha": sha, "sessions": sessions })))
        }
        Description::Uploading(_) => Err(ApiError::Param(format!("nothing is known of fileSha {sha}: no file, no upload"))),
    }
}
