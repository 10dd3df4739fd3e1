//! The hash cache in IndexedDB: `{name, size, lastModified}` → the file's SHA-1, so that uploading the
//! same file again (after a page reload, say) skips the hash pass. An entry also keeps the SHA-1 of
//! the file's first and last MiB, read again before the entry is trusted; a file whose size, date or
//! edges changed is hashed anew. (And a stale hash can never store a wrong file: the server checks the
//! SHA-1 of what it assembled.) Any IndexedDB failure counts as a miss: the cache only saves time.

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

use crate::hash::FileHasher;
use crate::upload::EnvError;
use crate::web::file;

const DATABASE: &str = "vod-ugc-uploader";
const STORE: &str = "file-hashes";
/// Bytes at each end of the file that are hashed again to check an entry.
const EDGE: u64 = 1 << 20;

fn key(file: &File) -> String {
    format!("{}\u{0}{}\u{0}{}", file.name(), file.size() as u64, file.last_modified() as i64)
}

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

/// Settles when `request` succeeds (with its result) or fails.
async fn done(request: &IdbRequest) -> Result<JsValue, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await?;
    request.result()
}

async fn open() -> Result<IdbDatabase, JsValue> {
    let factory: IdbFactory = Reflect::get(&js_sys::global(), &"indexedDB".into())?.dyn_into()?;
    let request: IdbOpenDbRequest = factory.open_with_u32(DATABASE, 1)?;
    let upgrading = request.clone();
    let on_upgrade = Closure::once_into_js(move || {
        if let Ok(db) = upgrading.result().and_then(|db| db.dyn_into::<IdbDatabase>()) {
            let _ = db.create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    done(&request).await?.dyn_into()
}

async fn get(file: &File) -> Result<Option<(String, String)>, JsValue> {
    let db = open().await?;
    let store = db.transaction_with_str(STORE)?.object_store(STORE)?;
    let entry = done(&store.get(&key(file).into())?).await?;
    db.close();
    let field = |name: &str| Reflect::get(&entry, &name.into()).ok().and_then(|v| v.as_string());
    Ok(match (entry.is_object(), field("sha"), field("edge")) {
        (true, Some(sha), Some(edge)) => Some((sha, edge)),
        _ => None,
    })
}

/// The cached SHA-1 of `file`, if there is one and its edges still match.
pub async fn lookup(file: &File, size: u64) -> Option<String> {
    let (sha, edge) = get(file).await.ok()??;
    (edge_digest(file, size).await.ok()? == edge).then_some(sha)
}

async fn put(file: &File, sha: &str, edge: &str) -> Result<(), JsValue> {
    let db = open().await?;
    let store = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)?.object_store(STORE)?;
    let entry = Object::new();
    Reflect::set(&entry, &"sha".into(), &sha.into())?;
    Reflect::set(&entry, &"edge".into(), &edge.into())?;
    done(&store.put_with_key(&entry, &key(file).into())?).await?;
    db.close();
    Ok(())
}

/// Remembers `sha` for `file`.
pub async fn store(file: &File, size: u64, sha: &str) {
    if let Ok(edge) = edge_digest(file, size).await {
        let _ = put(file, sha, &edge).await;
    }
}

/// Forgets `file`'s entry (after the server found its hash wrong).
pub async fn forget(file: &File) {
    if let Ok(db) = open().await {
        if let Ok(store) = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).and_then(|t| t.object_store(STORE)) {
            if let Ok(request) = store.delete(&key(file).into()) {
                let _ = done(&request).await;
            }
        }
        db.close();
    }
}
