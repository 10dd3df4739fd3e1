//! # vod-ugc-uploader
//!
//! Uploads a file to a VOD service through the v2 UGC upload API (InitUploadEx → UploadPartEx →
//! FinishUploadEx), signed by the app's own backend; on native platforms also through the server API
//! (InitUpload → UploadPart → FinishUpload) and MultipartUploadVodFile, signed with the key
//! ([`flavour`], [`keyed`]).
//!
//! The protocol core (every module but `web`) is plain Rust without I/O: it plans parts, builds
//! requests, reads answers and decides retries. [`machine::Machine`] is the upload as a state machine
//! that is handed what happened and says what to do next. The layers call one way only: the core
//! names nothing outside it, its one platform dependency is [`platform`] (chosen by cargo feature),
//! and its drivers sit on top: [`driver::upload`] drives the machine over the [`driver::Env`] trait on
//! native platforms, and the `web` module (cargo feature `web`) exports the JavaScript API, whose
//! JavaScript drives the machine with `fetch`, `Blob` streams and a hash worker.

pub mod adapt;
pub mod answer;
#[cfg(feature = "keyed")]
pub mod contiguous;
pub mod driver;
pub mod error;
pub mod file;
pub mod flavour;
pub mod hash;
#[cfg(feature = "keyed")]
pub mod keyed;
pub mod machine;
pub mod options;
pub mod outcome;
pub mod plan;
pub mod platform;
pub mod progress;
pub mod request;
pub mod retry;
pub mod signature;
pub mod text;

#[cfg(feature = "web")]
pub mod web;

pub use driver::{upload, upload_flavour, Env};
pub use error::{EnvError, ErrorKind, Step, UploadError};
pub use file::FileInfo;
pub use flavour::{Flavour, Meta};
pub use machine::{Command, Event, Machine};
pub use options::Options;
pub use outcome::UploadResult;
