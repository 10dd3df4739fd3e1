//! `vod-upload FILE|DIR... --endpoint URL ...`: uploads files from an app backend (see `--help`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use clap::builder::PossibleValue;
use clap::{CommandFactory, Parser, ValueEnum};
use vod_upload::{Auth, Error, Flavour, Key, Phase, Progress, UploadResult, Uploader};

/// `--flow`: the core's [`Flavour`], named as the core names it (clap's trait on this side only).
#[derive(Clone, Copy)]
struct FlowArg(Flavour);

impl ValueEnum for FlowArg {
    fn value_variants<'a>() -> &'a [Self] {
        &[FlowArg(Flavour::ALL[0]), FlowArg(Flavour::ALL[1]), FlowArg(Flavour::ALL[2])]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self.0 {
            Flavour::Server => "InitUpload / UploadPart / FinishUpload, signed with the key (the default with a key)",
            Flavour::Multipart => "MultipartUploadVodFile, the older one-call flow, signed with the key",
            Flavour::Ugc => "InitUploadEx / UploadPartEx / FinishUploadEx, with --signature or a signature made from the key",
        };
        Some(PossibleValue::new(self.0.name()).help(help))
    }
}

/// `--part-size`'s help: each flow's sizes and default, as the core gives them.
fn part_size_help() -> String {
    let sizes: Vec<String> = Flavour::ALL.iter().map(|f| format!("{} {}", f.name(), f.part_sizes().0)).collect();
    let [small, large] = vod_ugc_uploader::plan::PART_SIZES;
    let fast = vod_ugc_uploader::adapt::LARGE_PARTS_FROM;
    let multipart = Flavour::Multipart.part_sizes().1;
    format!("Part size in bytes: {} [default: server and ugc fit the link: {small}, or {large} once an earlier file of the run went at {fast} B/s or more; multipart {multipart}]", sizes.join(", "))
}

#[derive(Parser)]
#[command(name = "vod-upload", version, about = "Upload files to a VOD service from an app backend")]
#[command(after_help = "The key can also come from VOD_SECRET_ID and VOD_SECRET_KEY. A key given in argv is \
visible to every user of this machine (ps, /proc): prefer the environment.\n\n\
Several files, or a directory (walked for its files; hidden ones skipped), are a batch: a few files at once \
(--files-at-once), --concurrency parts in flight across them all. A rerun after a crash sends only what is \
missing (the sessions are on the server). Quota answers (code 4400) are waited out, not failures.\n\n\
With --json, stdout has one JSON line per file as it ends: {\"path\",\"fileId\",\"url\",\"fileSha\",\"instant\",\
\"resumedBytes\",\"uploadedBytes\"}, or {\"path\",\"error\",\"step\",\"code\"} for a file that failed (the others go on). \
Exit status: 0 all uploaded, 1 any failed (a line `error: ...` on stderr for each, naming the file in a batch), \
2 bad arguments.")]
struct Cli {
    /// The files to upload, or directories to upload the files of.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The API URL, e.g. http://127.0.0.1:8080/v2/index.php.
    #[arg(long, required_unless_present = "sha1")]
    endpoint: Option<String>,
    /// Which calls upload the file [default: server with a key, ugc with --signature].
    #[arg(long, value_enum)]
    flow: Option<FlowArg>,
    /// The SecretId of the key (or VOD_SECRET_ID).
    #[arg(long, env = "VOD_SECRET_ID")]
    secret_id: Option<String>,
    /// The key (or VOD_SECRET_KEY). In argv it is visible to every user of the machine.
    #[arg(long, env = "VOD_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// A UGC signature for this file, issued by the app backend (--flow ugc).
    #[arg(long)]
    signature: Option<String>,
    #[arg(long, help = part_size_help())]
    part_size: Option<u64>,
    /// Parts in flight at once, across all the files of a batch (multipart sends one at a time per file).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    concurrency: u32,
    /// Retries per call for transient failures (network, HTTP 5xx, retryable codes).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=20))]
    retries: u32,
    /// Seconds a call may go without progress (no byte of the body moved, or no answer byte after
    /// it) before it fails and is retried; never a limit on a call's length.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    stall_timeout: u64,
    /// The class id the file is filed under.
    #[arg(long)]
    class_id: Option<u64>,
    /// A tag (repeatable, at most 10).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Ask the service to transcode the file (isTranscode; tc in a UGC signature).
    #[arg(long)]
    transcode: bool,
    /// Ask the service for screenshots of the file (isScreenshot; ss).
    #[arg(long)]
    screenshot: bool,
    /// Ask the service to watermark the file (isWatermark; wm).
    #[arg(long)]
    watermark: bool,
    /// Where the server POSTs seed 000's callback when the file is finished (--flow multipart).
    #[arg(long)]
    notify_url: Option<String>,
    /// The uid of a UGC signature made from the key.
    #[arg(long, default_value = "backend")]
    uid: String,
    /// Files uploaded at once in a batch.
    #[arg(long, default_value_t = vod_upload::DEFAULT_FILES_AT_ONCE as u32, value_parser = clap::value_parser!(u32).range(1..=16))]
    files_at_once: u32,
    /// Print each file's SHA-1 (as the signature's fs needs it) and its path, and upload nothing.
    #[arg(long)]
    sha1: bool,
    /// Print one JSON line per file on stdout.
    #[arg(long)]
    json: bool,
}

/// The settings the arguments give, or what is wrong with them.
fn uploader(cli: &Cli) -> Result<Uploader, String> {
    let key = match (&cli.secret_id, &cli.secret_key) {
        (Some(secret_id), Some(secret_key)) => Some(Key { secret_id: secret_id.clone(), secret_key: secret_key.clone() }),
        (None, None) => None,
        (Some(_), None) => return Err("--secret-id needs --secret-key (or VOD_SECRET_KEY)".into()),
        (None, Some(_)) => return Err("--secret-key needs --secret-id (or VOD_SECRET_ID)".into()),
    };
    let flow = match (cli.flow, &key, &cli.signature) {
        (Some(FlowArg(flow)), ..) => flow,
        // A signature given asks for the UGC flow, even where a key is in the environment.
        (None, _, Some(_)) => Flavour::Ugc,
        (None, Some(_), None) => Flavour::Server,
        (None, None, None) => return Err("give the key (--secret-id and --secret-key, or VOD_SECRET_ID and VOD_SECRET_KEY), or --signature".into()),
    };
    let auth = match (flow, &cli.signature, key) {
        (Flavour::Ugc, Some(signature), _) => Auth::Signature(signature.clone()),
        (_, _, Some(key)) => Auth::Key(key),
        (_, Some(signature), None) => Auth::Signature(signature.clone()),
        (Flavour::Ugc, None, None) => return Err("--flow ugc needs --signature or the key".into()),
        (flow, None, None) => return Err(format!("--flow {} needs the key (--secret-id and --secret-key, or VOD_SECRET_ID and VOD_SECRET_KEY)", flow.name())),
    };
    let mut uploader = Uploader::new(cli.endpoint.as_deref().unwrap_or_default(), auth);
    uploader.flow = flow;
    uploader.part_size = cli.part_size;
    uploader.concurrency = cli.concurrency as usize;
    uploader.retries = cli.retries;
    uploader.stall_timeout = std::time::Duration::from_secs(cli.stall_timeout);
    uploader.meta.class_id = cli.class_id;
    uploader.meta.tags = cli.tags.clone();
    (uploader.meta.transcode, uploader.meta.screenshot, uploader.meta.watermark) = (cli.transcode, cli.screenshot, cli.watermark);
    uploader.meta.notify_url = cli.notify_url.clone();
    uploader.uid = cli.uid.clone();
    uploader.check()?;
    Ok(uploader)
}

/// A one-line bar on stderr, redrawn in place.
fn draw(progress: &Progress) {
    const WIDTH: usize = 30;
    let share = if progress.total == 0 { 1.0 } else { progress.loaded as f64 / progress.total as f64 };
    let filled = ((share * WIDTH as f64) as usize).min(WIDTH);
    let speed = match progress.bytes_per_second {
        s if s > 0.0 => format!(" {:.1} MB/s", s / 1e6),
        _ => String::new(),
    };
    let eta = progress.eta_seconds.map(|s| format!(" {:.0}s left", s.ceil())).unwrap_or_default();
    let line = format!("\r{:<9} [{}{}] {:>3.0}%{speed}{eta}\x1b[K", progress.phase.as_str(), "#".repeat(filled), ".".repeat(WIDTH - filled), share * 100.0);
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// What a file's upload printed on stdout (and, failed, on stderr).
/// A batch's error lines name the file; a single file's say only what went wrong.
fn report(path: &std::path::Path, outcome: Result<UploadResult, Error>, json: bool, batch: bool) -> bool {
    match outcome {
        Ok(result) if json => {
            let line = serde_json::json!({
                "path": path.to_string_lossy(),
                "fileId": result.file_id,
                "url": result.url,
                "fileSha": result.file_sha,
                "instant": result.instant,
                "resumedBytes": result.resumed_bytes,
                "uploadedBytes": result.uploaded_bytes,
            });
            println!("{line}");
            true
        }
        Ok(result) => {
            let how = if result.instant { " (instant: the server had it)".to_string() } else { format!(" ({} bytes sent, {} resumed)", result.uploaded_bytes, result.resumed_bytes) };
            println!("{}: fileId {} url {}{how}", path.display(), result.file_id, result.url);
            true
        }
        Err(error) => {
            if json {
                let line = serde_json::json!({ "path": path.to_string_lossy(), "error": error.to_string(), "step": error.step(), "code": error.code() });
                println!("{line}");
            }
            match batch {
                true => eprintln!("error: {}: {error}", path.display()),
                false => eprintln!("error: {error}"),
            }
            false
        }
    }
}

/// `--sha1`: each file's SHA-1, as `sha1sum` prints it.
fn print_sha1(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for path in files {
        match vod_upload::hash_file(path, &|_| {}) {
            Ok(info) => println!("{}  {}", info.sha, path.display()),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                ok = false;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let usage = |why: String| -> ! { Cli::command().error(clap::error::ErrorKind::ArgumentConflict, why).exit() };
    let files = vod_upload::walk(&cli.files).unwrap_or_else(|why| usage(why));
    if files.is_empty() {
        usage("no file to upload (the directories given hold none)".into());
    }
    if cli.sha1 {
        return print_sha1(&files);
    }
    let uploader = uploader(&cli).unwrap_or_else(|why| usage(why));
    if files.len() > 1 && matches!(uploader.auth, Auth::Signature(_)) {
        usage(format!("a signature is for one file, and {} are given: a batch needs the key", files.len()));
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if files.len() > 1 {
        let failed = runtime.block_on(uploader.upload_many(&files, cli.files_at_once as usize, |i, outcome| {
            report(&files[i], outcome, cli.json, true);
        }));
        return if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let bar = std::io::stderr().is_terminal();
    // At most ten redraws a second, and always the last of a phase.
    let last = Mutex::new((Instant::now(), Phase::Hashing));
    let on_progress = move |progress: Progress| {
        if !bar {
            return;
        }
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if progress.phase != last.1 || progress.loaded == progress.total || last.0.elapsed().as_millis() >= 100 {
            *last = (Instant::now(), progress.phase);
            draw(&progress);
        }
    };
    let outcome = runtime.block_on(uploader.upload_with_progress(&files[0], on_progress));
    if bar {
        eprint!("\r\x1b[K");
    }
    if report(&files[0], outcome, cli.json, false) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
