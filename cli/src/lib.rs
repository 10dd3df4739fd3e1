//! # vod-upload
//!
//! Uploads a file to a VOD service from an app backend, with the protocol core the browser uploader
//! runs (the same state machine plans the parts, resumes, retries and reads every answer). Three
//! flows, the core's [`Flavour`]s:
//!
//! - [`Flavour::Server`]: InitUpload / UploadPart / FinishUpload, authenticated with the key by the
//!   common parameters, each attempt signed afresh (new Nonce and Timestamp, so a retry is never a
//!   replay); parts in parallel, resume, instant upload.
//! - [`Flavour::Multipart`]: MultipartUploadVodFile, the older one-call flow: one part at a time, at the
//!   offset the server names.
//! - [`Flavour::Ugc`]: the browser's calls (InitUploadEx / UploadPartEx / FinishUploadEx), with a UGC
//!   signature given or made from the key.
//!
//! The file is read once for its SHA-1, then once more, part by part, as the parts go; where a core
//! is free, the first parts' MD5s are taken beside the SHA-1 pass (see `ahead`).
//!
//! ```no_run
//! use vod_upload::{Auth, Key, Uploader};
//!
//! # async fn run() -> Result<(), vod_upload::Error> {
//! let key = Key { secret_id: std::env::var("VOD_SECRET_ID").unwrap(), secret_key: std::env::var("VOD_SECRET_KEY").unwrap() };
//! let mut uploader = Uploader::new("https://vod2.qcloud.com/v2/index.php", Auth::Key(key));
//! uploader.meta.tags.push("lecture".into());
//! uploader.meta.transcode = true; // every optional field of the seeds is in `meta`
//! let result = uploader.upload("talk.mp4").await?;
//! println!("{} at {} ({} bytes sent, {} resumed)", result.file_id, result.url, result.uploaded_bytes, result.resumed_bytes);
//! # Ok(())
//! # }
//! ```
//!
//! Many files: [`Uploader::upload_many`] (a few at once, `concurrency` parts in flight across them all)
//! with [`walk`] for directories.
//!
//! [`Uploader::upload`] is `Send`: the upload runs on a thread of its own (a blocking-pool thread of
//! the caller's tokio runtime, with a single-threaded runtime inside), so a backend can spawn it.

mod ahead;
mod batch;
mod env;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

pub use batch::{walk, DEFAULT_FILES_AT_ONCE};
pub use vod_ugc_uploader::keyed::Key;
pub use vod_ugc_uploader::progress::{Phase, Progress};
pub use vod_ugc_uploader::{ErrorKind, Flavour, Meta, Step, UploadError, UploadResult};
use vod_ugc_uploader::hash::FileHasher;
use vod_ugc_uploader::progress::Meter;
use vod_ugc_uploader::retry::Backoff;
use vod_ugc_uploader::{upload_flavour, FileInfo, Options};

/// How the uploads are authenticated.
#[derive(Debug, Clone)]
pub enum Auth {
    /// The key: it signs every call of the server flows, or makes the UGC signature.
    Key(Key),
    /// A UGC signature for the file, issued elsewhere (the UGC flow only).
    Signature(String),
}

/// An upload's settings. Build one with [`Uploader::new`] and adjust the fields.
#[derive(Debug, Clone)]
pub struct Uploader {
    /// The API URL, e.g. `http://127.0.0.1:8080/v2/index.php`.
    pub endpoint: String,
    /// Which calls upload the file.
    pub flow: Flavour,
    pub auth: Auth,
    /// `None`: for the server and UGC flows, the size that fits the link as the uploads before in
    /// this process measured it (`vod_ugc_uploader::adapt::part_size`: 524288 while nothing is
    /// known); for the multipart flow, its default ([`Flavour::part_sizes`]).
    pub part_size: Option<u64>,
    /// Parts in flight at once (the multipart flow sends one at a time).
    pub concurrency: usize,
    /// Retries per call for transient failures, with exponential backoff and jitter.
    pub retries: u32,
    /// A call fails when no byte of its body moved, or no byte of its answer came once the body
    /// was sent, for this long (never for its length: a slow link takes as long as it needs).
    pub stall_timeout: std::time::Duration,
    /// What the key flavours send with the file (class, tags, the processing flags, multipart's
    /// `notifyUrl`); a UGC signature made from the key carries the same.
    pub meta: Meta,
    /// The `uid` of a UGC signature made from the key.
    pub uid: String,
    /// The lanes a batch shares ([`Uploader::upload_many`]): a part's call takes one while it runs.
    lanes: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

/// Why an upload did not happen.
#[derive(Debug)]
pub enum Error {
    /// The settings do not go together (e.g. the server flow without a key).
    Settings(String),
    /// The file could not be read for its SHA-1.
    File(String),
    /// The file's name cannot be sent as it is (not UTF-8, or a bidirectional control in it).
    Name(String),
    /// The upload failed: the step, and what came back (the server's code where it answered one).
    Upload(UploadError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Settings(why) => write!(f, "{why}"),
            Error::File(why) => write!(f, "hash step: {why}"),
            Error::Name(why) => write!(f, "{why}"),
            Error::Upload(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The step it failed at (`hash` for a file that could not be read or named).
    pub fn step(&self) -> &'static str {
        match self {
            Error::Settings(_) => "settings",
            Error::File(_) | Error::Name(_) => Step::Hash.as_str(),
            Error::Upload(error) => error.step.as_str(),
        }
    }

    /// The server's code, where it answered one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Upload(error) => error.code(),
            _ => None,
        }
    }
}

impl Uploader {
    /// Settings for `endpoint`: the server flow with a key, the UGC flow with a signature; four
    /// parts at once, five retries.
    pub fn new(endpoint: &str, auth: Auth) -> Uploader {
        let flow = match auth {
            Auth::Key(_) => Flavour::Server,
            Auth::Signature(_) => Flavour::Ugc,
        };
        Uploader {
            endpoint: endpoint.to_string(),
            flow,
            auth,
            part_size: None,
            concurrency: vod_ugc_uploader::options::DEFAULT_CONCURRENCY,
            retries: vod_ugc_uploader::options::DEFAULT_RETRIES,
            stall_timeout: env::DEFAULT_STALL_TIMEOUT,
            meta: Meta::default(),
            uid: "backend".to_string(),
            lanes: None,
        }
    }

    /// Whether the settings go together; the message says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.flow != Flavour::Ugc && matches!(self.auth, Auth::Signature(_)) {
            return Err(format!("--flow {} signs every call with the key: give --secret-id and --secret-key, not --signature", self.flow.name()));
        }
        if let Some(size) = self.part_size.filter(|&s| !self.flow.allows_part_size(s)) {
            let (allowed, _) = self.flow.part_sizes();
            return Err(format!("--part-size {size} is not allowed in the {} flow ({allowed})", self.flow.name()));
        }
        if self.meta.tags.len() > 10 {
            return Err(format!("at most 10 tags, not {}", self.meta.tags.len()));
        }
        if let Some(url) = &self.meta.notify_url {
            if !self.flow.is_contiguous() {
                return Err("--notify-url is MultipartUploadVodFile's (seed 000): use it with --flow multipart".into());
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("--notify-url {url:?} is not an http(s) URL"));
            }
        }
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(format!("--endpoint {:?} is not an http(s) URL", self.endpoint));
        }
        Ok(())
    }

    /// Uploads the file at `path`.
    pub async fn upload(&self, path: impl AsRef<Path>) -> Result<UploadResult, Error> {
        self.upload_with_progress(path, |_| {}).await
    }

    /// Uploads the file at `path`, reporting progress (hashing, uploading, finishing) as it goes.
    pub async fn upload_with_progress(
        &self,
        path: impl AsRef<Path>,
        on_progress: impl Fn(Progress) + Send + 'static,
    ) -> Result<UploadResult, Error> {
        self.check().map_err(Error::Settings)?;
        let (uploader, path) = (self.clone(), path.as_ref().to_path_buf());
        let run = move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Error::Settings(format!("no runtime: {e}")))?;
            runtime.block_on(uploader.run(&path, &on_progress))
        };
        tokio::task::spawn_blocking(run).await.map_err(|e| Error::Settings(format!("the upload thread failed: {e}")))?
    }

    async fn run(&self, path: &Path, on_progress: &dyn Fn(Progress)) -> Result<UploadResult, Error> {
        env::file_name(path).map_err(Error::Name)?;
        // InitUploadEx and InitUpload's parts fit the link as the files before this one in the process
        // measured it (512 KiB while nothing is known); the multipart flow's default is its own.
        let part_size = self.part_size.unwrap_or_else(|| self.flow.part_sizes().1);
        let ahead = ahead::Ahead::start(path, part_size);
        let file = hash_file(path, on_progress).map_err(|e| Error::File(format!("could not read {}: {e}", path.display())))?;
        let env = env::NetEnv::new(self, path, ahead.finish(), on_progress).map_err(Error::Settings)?;
        let options = Options {
            endpoint: self.endpoint.clone(),
            part_size,
            concurrency: self.concurrency.max(1),
            // As many parts in flight as fit the link (measured as parts are acknowledged), at most
            // `concurrency`.
            adapt_lanes: true,
            retries: self.retries,
            backoff: Backoff::default(),
            meta: self.meta.clone(),
        };
        upload_flavour(&env, &file, &options, self.flow).await.map_err(Error::Upload)
    }
}

/// The file's name, size and SHA-1, in one read pass.
pub fn hash_file(path: &Path, on_progress: &dyn Fn(Progress)) -> std::io::Result<FileInfo> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let started = Instant::now();
    let mut meter = Meter::new(Phase::Hashing, size, 0, 0.0);
    let mut hasher = FileHasher::new();
    let mut buffer = vec![0; 4 << 20];
    let mut read = 0;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        read += n as u64;
        on_progress(meter.advance(n as u64, started.elapsed().as_secs_f64() * 1000.0));
    }
    if read != size {
        return Err(std::io::Error::other(format!("it changed while it was read ({size} bytes, then {read})")));
    }
    let name = env::file_name(path).map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidData, why))?;
    Ok(FileInfo::new(&name, size, hasher.finish_hex()))
}
