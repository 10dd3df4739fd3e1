//! The hash cache in IndexedDB: `{name, size, lastModified}` → the file's SHA-1, so that uploading the
//! same file again (after a page reload, say) skips the hash pass. An entry also keeps the SHA-1 of
//! the file's first and last MiB, read again before the entry is trusted; a file whose size, date or
//! edges changed is hashed anew. (And a stale hash can never store a wrong file: the server checks the
//! SHA-1 of what it assembled.) Any IndexedDB failure counts as a miss: the cache only saves time.
//! The IndexedDB calls themselves are in io.js.

use js_sys::Reflect;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

use crate::hash::FileHasher;
use crate::upload::EnvError;
use crate::web::file;
use crate::web::io::{cache_delete, cache_get, cache_put};

/// Bytes at each end of the file that are hashed again to check an entry.
const EDGE: u64 = 1 << 20;

/// SHA-1 of the first and last `EDGE` bytes.
pub async fn edge_digest(file: &File, size: u64) -> Result<String, EnvError> {
    let n = EDGE.min(size);
    let head = file::read(file, 0, n);
    let tail = file::read(file, size - n, n);
    let mut hasher = FileHasher::new();
    hasher.update(&head.await?);
    hasher.update(&tail.await?);
    Ok(hasher.finish_hex())
}

/// The cached SHA-1 of `file`, if there is one and its edges still match.
pub async fn lookup(file: &File, size: u64) -> Option<String> {
    let entry = JsFuture::from(cache_get(file)).await.ok()?;
    let field = |name: &str| Reflect::get(&entry, &name.into()).ok().and_then(|v| v.as_string());
    let (sha, edge) = (field("sha")?, field("edge")?);
    (edge_digest(file, size).await.ok()? == edge).then_some(sha)
}

/// Remembers `sha` for `file`.
pub async fn store(file: &File, size: u64, sha: &str) {
    if let Ok(edge) = edge_digest(file, size).await {
        let _ = JsFuture::from(cache_put(file, sha, &edge)).await;
    }
}

/// Forgets `file`'s entry (after the server found its hash wrong).
pub async fn forget(file: &File) {
    let _ = JsFuture::from(cache_delete(file)).await;
}
