//! The server API's Nonce memory: every accepted (SecretId, Nonce) is committed before the call goes
//! on, refused again for [`NONCE_WINDOW_SECS`], then forgotten.

use super::{blocking, write_err, Store};
use crate::error::ApiError;
use std::sync::Arc;

/// How long a (SecretId, Nonce) is remembered: the server API's clock skew.
pub const NONCE_WINDOW_SECS: i64 = 7200;

impl Store {
    /// Records that `secret_id` used `nonce` now; `false` if it did within [`NONCE_WINDOW_SECS`]
    /// (a replay). Durable before it returns: a restart lets no replay through.
    pub async fn remember_nonce(self: &Arc<Self>, secret_id: &str, nonce: u64, now: i64) -> Result<bool, ApiError> {
        let this = Arc::clone(self);
        let secret_id = secret_id.to_string();
        blocking(move || {
            this.db.remember_nonce(&secret_id, nonce, now, NONCE_WINDOW_SECS).map_err(|e| write_err("recording the Nonce", e))
        })
        .await
    }

    /// Forgets the Nonces seen longer ago than [`NONCE_WINDOW_SECS`] before `now`.
    pub(super) async fn forget_old_nonces(self: &Arc<Self>, now: i64) -> Result<(), ApiError> {
        let this = Arc::clone(self);
        blocking(move || this.db.forget_nonces(now - NONCE_WINDOW_SECS).map(|_| ()).map_err(|e| write_err("forgetting old Nonces", e))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_nonce_is_refused_within_two_hours_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let now = 1_800_000_000;
        {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            assert!(store.remember_nonce("AKID", u64::MAX, now).await.unwrap());
            assert!(!store.remember_nonce("AKID", u64::MAX, now + 10).await.unwrap());
            // Another key's Nonce is its own.
            assert!(store.remember_nonce("AKID2", u64::MAX, now + 10).await.unwrap());
        }
        let store = Arc::new(Store::open(dir.path()).unwrap());
        assert!(!store.remember_nonce("AKID", u64::MAX, now + NONCE_WINDOW_SECS).await.unwrap());
        // Pruned once it is older than the window, and then accepted again.
        store.expire(now + NONCE_WINDOW_SECS + 1).await;
        assert_eq!(store.db.execute("DELETE FROM nonces WHERE secret_id = 'AKID2'", []).unwrap(), 1);
        assert!(store.remember_nonce("AKID", u64::MAX, now + NONCE_WINDOW_SECS + 1).await.unwrap());
    }
}
