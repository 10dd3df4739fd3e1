//! vod-server: a local VOD server speaking the v2 UGC upload API (`docs/protocol.md`) durably.
//!
//! [`app`] builds the whole HTTP server as an axum [`Router`]; tests call it in-process with
//! `tower::ServiceExt::oneshot`, and `main` binds it to a socket.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let config = vod_server::Config::new("/tmp/vod-data", "my-secret-id", "my-secret-key");
//! let state = vod_server::AppState::open(config).await?;
//! let router = vod_server::app(state);
//! # let _ = router; Ok(()) }
//! ```

pub mod api;
pub mod common;
pub mod config;
mod dev;
pub mod error;
pub mod events;
pub mod faults;
pub mod ratelimit;
pub mod serve;
pub mod sign;
mod stats;
pub mod store;

pub use config::{Config, FaultConfig, FaultKind};
pub use error::ApiError;

use axum::http::{header, HeaderValue, Method};
use axum::middleware;
use axum::routing::{any, get, post};
use axum::Router;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::services::ServeDir;

struct Inner {
    config: Config,
    store: Arc<store::Store>,
    faults: faults::Faults,
    stats: stats::Stats,
    limiter: ratelimit::Limiter,
}

/// The server's shared state: configuration, storage, fault injector and counters.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    /// Opens the data folder (creating it, recovering from a crash) and checks the configuration.
    /// Async because opening the database and scanning the folder run on the blocking pool.
    pub async fn open(config: Config) -> anyhow::Result<AppState> {
        check_config(&config)?;
        let dir = config.data_dir.clone();
        let limits = config.limits;
        let store = Arc::new(tokio::task::spawn_blocking(move || store::Store::open_with(&dir, limits)).await??);
        let (finished, failed) = store.finish_complete().await;
        if finished > 0 {
            eprintln!("vod-server: finished {finished} MultipartUploadVodFile uploads that held every byte");
        }
        for e in failed {
            eprintln!("vod-server: a MultipartUploadVodFile upload that holds every byte could not be finished (its next part retries): {e}");
        }
        store.set_public_url(&config.public_url);
        expire_sessions(Arc::downgrade(&store), limits.session_ttl_secs);
        events::spawn_delivery(Arc::downgrade(&store), config.notify_url.clone(), config.event_key.clone());
        let faults = faults::Faults::new(config.faults.clone());
        Ok(AppState { inner: Arc::new(Inner { limiter: ratelimit::Limiter::new(config.rates), config, store, faults, stats: stats::Stats::default() }) })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &Arc<store::Store> {
        &self.inner.store
    }

    pub(crate) fn faults(&self) -> &faults::Faults {
        &self.inner.faults
    }

    pub(crate) fn stats(&self) -> &stats::Stats {
        &self.inner.stats
    }

    pub(crate) fn limiter(&self) -> &ratelimit::Limiter {
        &self.inner.limiter
    }
}

/// Drops the sessions that got no part for `ttl_secs`, now and then every `ttl_secs / 4` (at
/// least every second, at most every minute), for as long as the store lives.
fn expire_sessions(store: std::sync::Weak<store::Store>, ttl_secs: i64) {
    let every = std::time::Duration::from_millis((ttl_secs.max(0) as u64 * 250).clamp(1000, 60_000));
    tokio::spawn(async move {
        loop {
            let Some(store) = store.upgrade() else { return };
            let dropped = store.expire(sign::now_unix()).await;
            if dropped > 0 {
                eprintln!("vod-server: dropped {dropped} upload sessions that got no part for {ttl_secs} s");
            }
            drop(store);
            tokio::time::sleep(every).await;
        }
    });
}

const RESERVED_PREFIXES: [&str; 3] = ["/v2", "/vod", "/dev"];

fn check_config(c: &Config) -> anyhow::Result<()> {
    anyhow::ensure!(!c.secret_id.is_empty(), "the secret id is empty");
    anyhow::ensure!(!c.secret_key.is_empty(), "the secret key is empty");
    anyhow::ensure!(!c.verify_key.is_empty(), "the verify key is empty");
    anyhow::ensure!(!c.event_key.is_empty(), "the event key is empty");
    if let Some(url) = &c.notify_url {
        events::check_url(url).map_err(|m| anyhow::anyhow!("the notify URL: {m}"))?;
    }
    for (i, (id, key)) in c.keys.iter().enumerate() {
        anyhow::ensure!(!id.is_empty() && !key.is_empty(), "key pair {} has an empty SecretId or key", i + 1);
        anyhow::ensure!(
            c.key_of(id) == Some(key.as_str()),
            "the SecretId {id:?} is given twice with different keys"
        );
    }
    anyhow::ensure!(
        !c.api_host.is_empty() && !c.api_host.contains(|ch: char| ch == '/' || ch.is_whitespace()),
        "the API host {:?} must be a host[:port] without a scheme or path",
        c.api_host
    );
    anyhow::ensure!(!c.public_url.ends_with('/'), "the public URL must not end with '/'");
    anyhow::ensure!((0.0..=1.0).contains(&c.faults.rate), "the fault rate must be within 0..=1");
    anyhow::ensure!(c.max_file_size >= 1, "the largest file size must be at least 1 byte");
    anyhow::ensure!(c.limits.max_sessions >= 1, "at least one open session must be allowed");
    anyhow::ensure!(c.limits.session_ttl_secs >= 1, "the session TTL must be at least 1 second");
    for origin in &c.dev_origins {
        anyhow::ensure!(
            origin.parse::<HeaderValue>().is_ok() && origin.contains("://") && !origin.ends_with('/'),
            "dev origin {origin:?} must look like http://host:port"
        );
    }
    for (prefix, _) in &c.mounts {
        anyhow::ensure!(
            prefix.starts_with('/') && prefix.len() > 1 && !prefix.ends_with('/') && !prefix.contains("//"),
            "mount prefix {prefix:?} must look like /name"
        );
        let first = format!("/{}", prefix[1..].split('/').next().unwrap_or(""));
        anyhow::ensure!(!RESERVED_PREFIXES.contains(&first.as_str()), "mount prefix {prefix:?} is reserved");
    }
    Ok(())
}

/// The whole HTTP server: the `/v2` API, finished files under `/vod`, the mounts and the `www`
/// folder (CORS open to any origin), and the dev endpoints (with `dev_signing`; this server's own
/// pages only, and the `dev_origins`).
pub fn app(state: AppState) -> Router {
    let config = state.config().clone();
    let mut router = Router::new()
        .route("/v2/index.php", any(api::v2).layer(middleware::from_fn_with_state(state.clone(), api::count_inject_and_log)))
        .nest_service("/vod", ServeDir::new(state.store().vod_dir()));
    for (prefix, dir) in &config.mounts {
        router = router.nest_service(prefix, ServeDir::new(dir));
    }
    if let Some(www) = &config.www {
        router = router.fallback_service(ServeDir::new(www));
    }
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::RANGE]);
    // Always routed, so that without `dev_signing` they answer 404 whatever the method.
    let mut dev = Router::new()
        .route("/dev/signature", post(dev::signature).fallback(dev::not_found))
        .route("/dev/stats", get(dev::stats).fallback(dev::not_found))
        .layer(middleware::from_fn_with_state(state.clone(), dev::guard));
    if !config.dev_origins.is_empty() {
        let origins: Vec<HeaderValue> = config.dev_origins.iter().filter_map(|o| o.parse().ok()).collect();
        dev = dev.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::CONTENT_TYPE]),
        );
    }
    router.layer(cors).merge(dev).with_state(state)
}
