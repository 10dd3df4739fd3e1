//! `vod-server`: serve the v2 UGC upload API, or `vod-server sign ...` to print a signature (or a
//! signed server-API URL).

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use vod_server::serve::{self, ServeLimits};
use vod_server::{app, common, sign, AppState, Config, FaultConfig, FaultKind};

#[derive(Parser)]
#[command(name = "vod-server", version, about = "A local VOD server speaking the v2 UGC upload API")]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Print an upload signature for one file, the way an app backend makes one; with --url, a
    /// signed server-API URL.
    Sign(SignArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Folder for the database, sessions and finished files.
    #[arg(long, required = true)]
    data_dir: Option<PathBuf>,
    /// The primary SecretId (dev signing uses it). Optional when --key or --keys-file give a key.
    #[arg(long, env = "VOD_SECRET_ID")]
    secret_id: Option<String>,
    /// The primary SecretId's key. A key on the command line is visible to other users of this
    /// machine (ps): prefer the environment (VOD_SECRET_KEY) or --keys-file.
    #[arg(long, env = "VOD_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// One more key pair a signature may name (repeatable). Visible to other users of this machine,
    /// like any argument: prefer --keys-file or the environment.
    #[arg(long = "key", value_name = "ID:KEY")]
    keys: Vec<String>,
    /// A file of key pairs, one ID:KEY a line (blank lines and lines starting with # skipped).
    /// The first key from any source (--secret-id, then --key, then this file) is the primary.
    #[arg(long, value_name = "PATH")]
    keys_file: Option<PathBuf>,
    /// The canonical host a server-API signature may be computed over, besides the Host header.
    #[arg(long, default_value = vod_server::config::DEFAULT_API_HOST)]
    api_host: String,
    /// The key of `verify_content` (default: the secret key).
    #[arg(long, env = "VOD_VERIFY_KEY", hide_env_values = true)]
    verify_key: Option<String>,
    /// Base of finished files' URLs (default: http://<bound address>).
    #[arg(long)]
    public_url: Option<String>,
    /// Static files served at / (the demo page).
    #[arg(long)]
    www: Option<PathBuf>,
    /// More static files: /prefix=DIR (repeatable).
    #[arg(long = "mount", value_parser = parse_mount)]
    mounts: Vec<(String, PathBuf)>,
    /// Enable POST /dev/signature and GET /dev/stats (for this server's own pages).
    #[arg(long)]
    dev_signing: bool,
    /// Another origin whose pages may call the dev endpoints, http://host:port (repeatable).
    #[arg(long = "dev-origin")]
    dev_origins: Vec<String>,
    /// Share of /v2 calls that fail, 0..=1.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the fault sequence.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
    /// Faults to choose from: retry-code,http500,http503,drop,slow (default: all).
    #[arg(long, value_delimiter = ',')]
    fault_kinds: Vec<FaultKind>,
    /// Delay of a slow answer, milliseconds.
    #[arg(long, default_value_t = 300)]
    slow_ms: u64,
    /// Drop a session that got no part for this long: seconds, or with a unit (90s, 30m, 12h, 7d).
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    session_ttl: i64,
    /// The most upload sessions open at once.
    #[arg(long, default_value_t = 1000)]
    max_sessions: usize,
    /// The most upload sessions one app user (a UGC signature's uid) holds open.
    #[arg(long, default_value_t = vod_server::store::Limits::default().per_uid)]
    max_sessions_per_user: usize,
    /// The most upload sessions one SecretId opens with the server API or MultipartUploadVodFile.
    #[arg(long, default_value_t = vod_server::store::Limits::default().per_key)]
    max_sessions_per_key: usize,
    /// The most part bodies one session receives at once.
    #[arg(long, default_value_t = vod_server::store::Limits::default().bodies_in_flight)]
    max_bodies_per_session: usize,
    /// A part body that brings fewer bytes a second than this, averaged over --min-body-rate-window,
    /// is cut (0: never). Far below any real uplink: a slow phone is never cut for being slow.
    #[arg(long, default_value_t = vod_server::config::BodyFloor::default().bytes_per_sec)]
    min_body_rate: u64,
    /// The window --min-body-rate is averaged over.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    min_body_rate_window: i64,
    /// The largest fileSize accepted, bytes.
    #[arg(long, default_value_t = vod_server::config::MAX_FILE_SIZE)]
    max_file_size: u64,
    /// How long a client may take for a request's head (or stay idle between requests), and
    /// between two pieces of a body.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    client_timeout: i64,
    /// Open connections from one client address at most (past it, one of its idle connections is
    /// closed to make room; with none idle, the new one is refused).
    #[arg(long, default_value_t = 64)]
    max_connections_per_client: usize,
    /// Open connections at most (past it, an idle connection of the client holding the most is
    /// closed to make room; with none idle, the new one is refused).
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// How long an answer (a download) may wait for the client to read any of it before it is cut.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    write_timeout: i64,
    /// How long a shutdown waits for requests in progress.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    shutdown_timeout: i64,
    /// InitUpload calls a minute per SecretId (seed 002: 100; 0: no limit). Over it: 4400.
    #[arg(long, default_value_t = vod_server::ratelimit::Rates::default().init_per_key)]
    rate_init_upload: u32,
    /// UploadPart calls a minute per SecretId (seed 001: 10000; 0: no limit).
    #[arg(long, default_value_t = vod_server::ratelimit::Rates::default().part_per_key)]
    rate_upload_part: u32,
    /// InitUploadEx calls a minute per uid (0: no limit).
    #[arg(long, default_value_t = vod_server::ratelimit::Rates::default().init_per_uid)]
    rate_init_upload_ex: u32,
    /// UploadPartEx calls a minute per uid (0: no limit).
    #[arg(long, default_value_t = vod_server::ratelimit::Rates::default().part_per_uid)]
    rate_upload_part_ex: u32,
    /// FinishUploadEx calls a minute per uid (0: no limit).
    #[arg(long, default_value_t = vod_server::ratelimit::Rates::default().finish_per_uid)]
    rate_finish_upload_ex: u32,
    /// POST an upload-complete event for every finished file to this http(s) URL (else they wait
    /// for PullEvents).
    #[arg(long, value_name = "URL")]
    notify_url: Option<String>,
    /// The key of the events' MAC (header X-Vod-Signature; default: the verify key).
    #[arg(long, env = "VOD_EVENT_KEY", hide_env_values = true)]
    event_key: Option<String>,
}

#[derive(Args)]
struct SignArgs {
    /// The SecretId to sign as.
    #[arg(long, env = "VOD_SECRET_ID")]
    secret_id: String,
    /// Its key. A key on the command line is visible to other users of this machine (ps): prefer
    /// the environment (VOD_SECRET_KEY).
    #[arg(long, env = "VOD_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// Sign a server-API call instead: http://host:port/v2/index.php?Action=...&... is printed with
    /// Region, Timestamp (now), Nonce (random), SecretId and Signature appended.
    #[arg(long, conflicts_with_all = ["file_sha", "file_name", "ttl", "uid", "class_id", "tags", "transcode", "screenshot", "watermark", "file_type"])]
    url: Option<String>,
    /// The method the signed URL is to be called with: GET (default) or POST.
    #[arg(long, value_parser = ["GET", "POST"])]
    method: Option<String>,
    /// SHA-1 of the whole file, hex.
    #[arg(long, required_unless_present = "url")]
    file_sha: Option<String>,
    /// The file's name (its extension gives the type).
    #[arg(long, required_unless_present = "url")]
    file_name: Option<String>,
    /// The file's type (`ft`; default: the name's extension).
    #[arg(long)]
    file_type: Option<String>,
    /// Seconds the signature stays valid, `e - t` (at most 7776000, 90 days; negative: already
    /// expired).
    #[arg(long, visible_alias = "lifetime", default_value_t = 3600, allow_hyphen_values = true)]
    ttl: i64,
    /// The app's user id.
    #[arg(long, default_value = "user")]
    uid: String,
    /// The class id (`cid`).
    #[arg(long)]
    class_id: Option<u64>,
    /// A tag (`tag.0` … `tag.9`; repeatable, at most 10).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Transcode (`tc`): 0 or 1.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    transcode: Option<u8>,
    /// Screenshot (`ss`): 0 or 1.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    screenshot: Option<u8>,
    /// Watermark (`wm`): 0 or 1.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    watermark: Option<u8>,
}

/// Seconds from `90`, `90s`, `30m`, `12h` or `7d`.
fn parse_duration(s: &str) -> Result<i64, String> {
    let trimmed = s.trim();
    let (digits, unit) = trimmed.split_at(trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len()));
    let n: i64 = digits.parse().map_err(|_| format!("expected a number of seconds or 90s/30m/12h/7d, got {s:?}"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?} (s, m, h or d)")),
    };
    n.checked_mul(scale).filter(|&v| v >= 1).ok_or_else(|| format!("{s:?} is out of range"))
}

fn parse_mount(s: &str) -> Result<(String, PathBuf), String> {
    let (prefix, dir) = s.split_once('=').ok_or("expected /prefix=DIR")?;
    Ok((prefix.trim_end_matches('/').to_string(), PathBuf::from(dir)))
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Sign(args)) => run_sign(args),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime")
            .and_then(|rt| {
                let served = rt.block_on(run_server(cli.serve));
                // Storage work still running gets a moment; the process does not wait for more.
                rt.shutdown_timeout(Duration::from_secs(2));
                served
            }),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vod-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_sign(a: SignArgs) -> anyhow::Result<()> {
    if let Some(url) = &a.url {
        let now = u64::try_from(sign::now_unix()).context("the clock is before 1970")?;
        let method = a.method.as_deref().unwrap_or("GET");
        let signed = common::sign_url(url, method, &a.secret_id, &a.secret_key, now, common::random_nonce())
            .map_err(|m| anyhow::anyhow!("--url: {m}"))?;
        println!("{signed}");
        return Ok(());
    }
    anyhow::ensure!(a.method.is_none(), "--method goes with --url");
    let (Some(file_sha), Some(file_name)) = (&a.file_sha, &a.file_name) else {
        anyhow::bail!("--file-sha and --file-name are required (or --url)");
    };
    anyhow::ensure!(
        file_sha.len() == 40 && file_sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "--file-sha must be 40 hex digits"
    );
    sign::check_file_name(file_name).map_err(anyhow::Error::msg)?;
    match &a.file_type {
        Some(ft) => sign::check_file_type(ft).map_err(|m| anyhow::anyhow!("--file-type: {m}"))?,
        None => sign::check_file_type(sign::extension_of(file_name))
            .map_err(|m| anyhow::anyhow!("--file-name needs an extension (or give --file-type): {m}"))?,
    }
    anyhow::ensure!(a.ttl <= sign::MAX_VALIDITY_SECS, "--ttl is at most {} s (90 days)", sign::MAX_VALIDITY_SECS);
    anyhow::ensure!(!a.uid.is_empty(), "--uid must not be empty");
    anyhow::ensure!(a.tags.len() <= 10, "at most 10 --tag");
    anyhow::ensure!(a.tags.iter().all(|t| !t.is_empty()), "a --tag must not be empty");
    let params = sign::SignParams {
        file_type: a.file_type.as_ref().map(|t| t.to_ascii_lowercase()),
        transcode: a.transcode.map(|v| v == 1),
        screenshot: a.screenshot.map(|v| v == 1),
        watermark: a.watermark.map(|v| v == 1),
        class_id: a.class_id,
        tags: a.tags.clone(),
        ..sign::SignParams::new(&a.secret_id, file_sha, file_name, &a.uid, a.ttl)
    };
    println!("{}", sign::sign(&params, &a.secret_key));
    Ok(())
}

/// Every key pair, the primary first: `--secret-id`/`--secret-key`, the `--key`s, the keys file.
/// Errors name the flag or the file's line, never a key.
fn collect_keys(a: &ServeArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut keys = Vec::new();
    match (&a.secret_id, &a.secret_key) {
        (Some(id), Some(key)) => keys.push((id.clone(), key.clone())),
        (None, None) => {}
        (Some(_), None) => anyhow::bail!("--secret-id needs --secret-key (or VOD_SECRET_KEY)"),
        (None, Some(_)) => anyhow::bail!("--secret-key needs --secret-id (or VOD_SECRET_ID)"),
    }
    for (i, pair) in a.keys.iter().enumerate() {
        keys.push(key_pair(pair).with_context(|| format!("--key number {} is not ID:KEY", i + 1))?);
    }
    if let Some(path) = &a.keys_file {
        keys.extend(read_keys_file(path)?);
    }
    anyhow::ensure!(
        !keys.is_empty(),
        "no key: give --secret-id and --secret-key (or VOD_SECRET_ID and VOD_SECRET_KEY), --key ID:KEY, or --keys-file PATH"
    );
    Ok(keys)
}

/// `ID:KEY` (split at the first ':', both sides trimmed and non-empty).
fn key_pair(s: &str) -> Option<(String, String)> {
    let (id, key) = s.split_once(':')?;
    let (id, key) = (id.trim(), key.trim());
    (!id.is_empty() && !key.is_empty()).then(|| (id.to_string(), key.to_string()))
}

fn read_keys_file(path: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the keys file {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
            eprintln!("vod-server: warning: other users may read the keys file {} (chmod 600 it)", path.display());
        }
    }
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let pair = key_pair(line);
        keys.push(pair.with_context(|| format!("the keys file {}: line {} is not ID:KEY", path.display(), n + 1))?);
    }
    Ok(keys)
}

async fn run_server(a: ServeArgs) -> anyhow::Result<()> {
    let mut keys = collect_keys(&a)?.into_iter();
    let (secret_id, secret_key) = keys.next().expect("collect_keys gives at least one key");
    let mut config = Config::new(a.data_dir.context("--data-dir is required")?, &secret_id, &secret_key);
    config.keys = keys.collect();
    config.api_host = a.api_host;
    config.verify_key = a.verify_key.unwrap_or(secret_key);
    config.event_key = a.event_key.unwrap_or_else(|| config.verify_key.clone());
    if let Some(url) = &a.notify_url {
        vod_server::events::check_url(url).map_err(|m| anyhow::anyhow!("--notify-url: {m}"))?;
    }
    config.notify_url = a.notify_url;
    config.rates = vod_server::ratelimit::Rates {
        init_per_key: a.rate_init_upload,
        part_per_key: a.rate_upload_part,
        init_per_uid: a.rate_init_upload_ex,
        part_per_uid: a.rate_upload_part_ex,
        finish_per_uid: a.rate_finish_upload_ex,
    };
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("binding {}", a.listen))?;
    let bound = listener.local_addr()?;
    // An unspecified bind address (0.0.0.0) is no URL a browser can fetch: use loopback there.
    let mut reachable = bound;
    if reachable.ip().is_unspecified() {
        reachable.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    config.public_url = a.public_url.unwrap_or_else(|| format!("http://{reachable}")).trim_end_matches('/').to_string();
    config.www = a.www;
    config.mounts = a.mounts;
    config.dev_signing = a.dev_signing;
    config.dev_origins = a.dev_origins.into_iter().map(|o| o.trim_end_matches('/').to_string()).collect();
    config.faults = FaultConfig { rate: a.fault_rate, seed: a.fault_seed, kinds: a.fault_kinds, slow_ms: a.slow_ms };
    config.max_file_size = a.max_file_size;
    config.limits.session_ttl_secs = a.session_ttl;
    config.limits.max_sessions = a.max_sessions;
    config.limits.per_uid = a.max_sessions_per_user.max(1);
    config.limits.per_key = a.max_sessions_per_key.max(1);
    config.limits.bodies_in_flight = a.max_bodies_per_session.max(1);
    config.body_floor = vod_server::config::BodyFloor {
        bytes_per_sec: a.min_body_rate,
        window: Duration::from_secs(a.min_body_rate_window as u64),
    };
    let limits = ServeLimits {
        client_timeout: Duration::from_secs(a.client_timeout as u64),
        per_client: a.max_connections_per_client.max(1),
        total: a.max_connections.max(1),
        write_timeout: Duration::from_secs(a.write_timeout as u64),
        shutdown: Duration::from_secs(a.shutdown_timeout as u64),
    };
    let state = AppState::open(config).await?;
    println!("listening on http://{bound}");
    std::io::stdout().flush()?;
    let cut = serve::serve(listener, app(state), limits, shutdown_signal()).await;
    if cut > 0 {
        eprintln!("vod-server: the shutdown deadline closed {cut} connections");
    }
    eprintln!("vod-server: shut down");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
