//! # vod-ugc-uploader
//!
//! Uploads a file to a VOD service through the v2 UGC upload API (InitUploadEx → UploadPartEx →
//! FinishUploadEx), signed by the app's own backend.
//!
//! The protocol core (every module but `web`) is plain Rust without I/O: it plans parts, builds
//! requests, reads answers and decides retries. [`machine::Machine`] is the upload as a state machine
//! that is handed what happened and says what to do next; [`upload::upload`] drives it over the
//! [`upload::Env`] trait. The `web` module (wasm32 only) exports the JavaScript API, and its io.js
//! drives the machine with `fetch`, `Blob` streams and a hash worker.

pub mod answer;
pub mod error;
pub mod hash;
pub mod machine;
pub mod plan;
pub mod progress;
pub mod request;
pub mod retry;
pub mod upload;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{ErrorKind, Step, UploadError};
pub use machine::{Command, Event, Machine};
pub use upload::{upload, Env, EnvError, FileInfo, Options, UploadResult};
