//! The flavours of the upload API the machine can drive. They share every protocol rule (planning,
//! resume, retries, answers); a flavour decides only how a request is authenticated and which Action
//! it names, and MultipartUploadVodFile also how parts follow each other ([`crate::contiguous`]).
//!
//! - [`Flavour::Ugc`]: InitUploadEx / UploadPartEx / FinishUploadEx with the app backend's UGC
//!   signature in every call (the browser's flavour).
//! - `Server` (feature `keyed`): InitUpload / UploadPart / FinishUpload, authenticated by the common
//!   parameters (SecretId, Timestamp, Nonce, Signature) that the sender adds to every attempt afresh
//!   ([`crate::keyed::sign_common`]).
//! - `Multipart` (feature `keyed`): MultipartUploadVodFile, the older one-call flow in which the server
//!   names the next offset; common parameters as `Server`.
//!
//! Only a backend holds the secret key, so the key flavours exist only with cargo feature `keyed`:
//! the browser build carries none of them.

use crate::error::Step;

/// The metadata a key flavour sends with the file (a UGC signature carries its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub class_id: Option<u64>,
    /// At most 10.
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Flavour {
    #[default]
    Ugc,
    #[cfg(feature = "keyed")]
    Server(Meta),
    #[cfg(feature = "keyed")]
    Multipart(Meta),
}

impl Flavour {
    /// The app backend's UGC signature goes in every call (asked for once, refreshed once).
    pub fn needs_signature(&self) -> bool {
        matches!(self, Flavour::Ugc)
    }

    /// The server names the next offset; parts go one at a time, contiguously.
    pub fn is_contiguous(&self) -> bool {
        #[cfg(feature = "keyed")]
        if let Flavour::Multipart(_) = self {
            return true;
        }
        false
    }

    /// The API action a step calls.
    pub fn action(&self, step: Step) -> Option<&'static str> {
        match self {
            Flavour::Ugc => step.action(),
            #[cfg(feature = "keyed")]
            Flavour::Server(_) => match step {
                Step::Init => Some("InitUpload"),
                Step::Part => Some("UploadPart"),
                Step::Finish => Some("FinishUpload"),
                Step::Hash | Step::Signature => None,
            },
            #[cfg(feature = "keyed")]
            Flavour::Multipart(_) => (step == Step::Part).then_some("MultipartUploadVodFile"),
        }
    }

    /// The metadata sent with the file: a key flavour's own, none for UGC (its signature has it).
    pub fn meta(&self) -> Option<&Meta> {
        match self {
            Flavour::Ugc => None,
            #[cfg(feature = "keyed")]
            Flavour::Server(meta) | Flavour::Multipart(meta) => Some(meta),
        }
    }
}
