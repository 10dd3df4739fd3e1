//! Server configuration: what `main` builds from flags and what tests build in code.

use std::path::PathBuf;

/// The largest file accepted by default (1 TiB; `--max-file-size`).
pub const MAX_FILE_SIZE: u64 = 1 << 40;
/// The canonical host of the server API by default (`--api-host`).
pub const DEFAULT_API_HOST: &str = "vod2.qcloud.com";

/// Everything the server needs to run. Build one with [`Config::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder for the database, upload sessions and finished files. Created if missing.
    pub data_dir: PathBuf,
    /// The primary SecretId (the `s` field of a signature; dev signing uses it).
    pub secret_id: String,
    /// The primary SecretId's key.
    pub secret_key: String,
    /// More key pairs (SecretId, SecretKey) a signature may name; none by default.
    pub keys: Vec<(String, String)>,
    /// The canonical host a server-API MAC may also be computed over, besides the `Host` header as
    /// sent (default `vod2.qcloud.com`).
    pub api_host: String,
    /// The key for `verify_content` (defaults to `secret_key`).
    pub verify_key: String,
    /// Base of the `url` of finished files, no trailing slash, e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Static files served at `/` (index.html at `/`), if any.
    pub www: Option<PathBuf>,
    /// More static folders, each served under its prefix (`/dist` → folder).
    pub mounts: Vec<(String, PathBuf)>,
    /// Enables `POST /dev/signature` and `GET /dev/stats` (404 otherwise).
    pub dev_signing: bool,
    /// Origins besides the server's own whose pages may call the dev endpoints (`http://host:port`).
    pub dev_origins: Vec<String>,
    /// Fault injection on the three `/v2` calls (none by default).
    pub faults: FaultConfig,
    /// The largest `fileSize` InitUploadEx accepts (default 1 TiB).
    pub max_file_size: u64,
    /// Open sessions, data files kept open, and how long a session without a part lives.
    pub limits: crate::store::Limits,
    /// The slowest a part body may come.
    pub body_floor: BodyFloor,
    /// Calls a minute per SecretId (InitUpload, UploadPart) and per uid (the UGC calls).
    pub rates: crate::ratelimit::Rates,
    /// Where upload-complete events are POSTed (`--notify-url`); none: they wait for PullEvents.
    pub notify_url: Option<String>,
    /// The key of the events' MAC (`--event-key`; default: the verify key).
    pub event_key: String,
}

/// The slowest a part body may come: fewer than `bytes_per_sec`, averaged over `window`, and it is
/// cut. Far below any real uplink (a phone at 16 KB/s sends 16 times the default), so only a
/// client that holds a connection with a trickle is cut; there is no deadline on a whole body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyFloor {
    /// 0: no floor.
    pub bytes_per_sec: u64,
    pub window: std::time::Duration,
}

impl Default for BodyFloor {
    fn default() -> BodyFloor {
        BodyFloor { bytes_per_sec: 1024, window: std::time::Duration::from_secs(60) }
    }
}

impl Config {
    /// Defaults: no more keys, API host `vod2.qcloud.com`, public URL `http://127.0.0.1:8080`,
    /// verify key = secret key, no static files, no dev endpoints, no faults, files up to 1 TiB,
    /// the store's default [`crate::store::Limits`].
    pub fn new(data_dir: impl Into<PathBuf>, secret_id: &str, secret_key: &str) -> Config {
        Config {
            data_dir: data_dir.into(),
            secret_id: secret_id.to_string(),
            secret_key: secret_key.to_string(),
            keys: Vec::new(),
            api_host: DEFAULT_API_HOST.to_string(),
            verify_key: secret_key.to_string(),
            public_url: "http://127.0.0.1:8080".to_string(),
            www: None,
            mounts: Vec::new(),
            dev_signing: false,
            dev_origins: Vec::new(),
            faults: FaultConfig::default(),
            max_file_size: MAX_FILE_SIZE,
            limits: crate::store::Limits::default(),
            body_floor: BodyFloor::default(),
            rates: crate::ratelimit::Rates::default(),
            notify_url: None,
            event_key: secret_key.to_string(),
        }
    }

    /// The key of a SecretId: the primary's, else the first of `keys` that names it.
    pub fn key_of(&self, secret_id: &str) -> Option<&str> {
        if secret_id == self.secret_id {
            return Some(&self.secret_key);
        }
        self.keys.iter().find(|(id, _)| id == secret_id).map(|(_, key)| key.as_str())
    }
}

/// Makes a seeded share of the `/v2` API calls fail.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Share of API calls that fail, 0..=1 (0 = never).
    pub rate: f64,
    /// Seed of the decision sequence: the same seed and call order give the same faults.
    pub seed: u64,
    /// Which faults to pick from (uniformly); empty means all of them.
    pub kinds: Vec<FaultKind>,
    /// Delay of a [`FaultKind::Slow`] answer, milliseconds.
    pub slow_ms: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig { rate: 0.0, seed: 0, kinds: Vec::new(), slow_ms: 300 }
    }
}

/// One way a call can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// HTTP 200, JSON `code -10004`, `canRetry 1`.
    RetryCode,
    /// HTTP 500 with an HTML body.
    Http500,
    /// HTTP 503 with an HTML body.
    Http503,
    /// The connection is dropped without a response.
    Drop,
    /// The call is answered correctly after `slow_ms`.
    Slow,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] =
        [FaultKind::RetryCode, FaultKind::Http500, FaultKind::Http503, FaultKind::Drop, FaultKind::Slow];

    /// The flag spelling: `retry-code`, `http500`, `http503`, `drop`, `slow`.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::RetryCode => "retry-code",
            FaultKind::Http500 => "http500",
            FaultKind::Http503 => "http503",
            FaultKind::Drop => "drop",
            FaultKind::Slow => "slow",
        }
    }
}

impl std::str::FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown fault kind {s:?} (expected retry-code, http500, http503, drop, slow)"))
    }
}
