//! The flavours of the upload API the machine can drive. They share every protocol rule (planning,
//! resume, retries, answers); a flavour decides only how a request is authenticated and which Action
//! it names, and MultipartUploadVodFile also how parts follow each other ([`crate::contiguous`]).
//!
//! - [`Flavour::Ugc`]: InitUploadEx / UploadPartEx / FinishUploadEx with the app backend's UGC
//!   signature in every call (the browser's flavour).
//! - `Server` (native builds): InitUpload / UploadPart / FinishUpload, authenticated by the common
//!   parameters (SecretId, Timestamp, Nonce, Signature) that the sender adds to every attempt afresh
//!   ([`crate::keyed::sign_common`]).
//! - `Multipart` (native builds): MultipartUploadVodFile, the older one-call flow in which the server
//!   names the next offset; common parameters as `Server`.
//!
//! Only a backend holds the secret key, so the key flavours exist only with cargo feature `native`:
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
    #[cfg(feature = "native")]
    Server(Meta),
    #[cfg(feature = "native")]
    Multipart(Meta),
}

impl Flavour {
    /// The app backend's UGC signature goes in every call (asked for once, refreshed once).
    pub fn needs_signature(&self) -> bool {
        matches!(self, Flavour::Ugc)
    }

    /// The server names the next offset; parts go one at a time, contiguously.
    pub fn is_contiguous(&self) -> bool {
        #[cfg(feature = "native")]
        if let Flavour::Multipart(_) = self {
            return true;
        }
        false
    }

    /// The API action a step calls.
    pub fn action(&self, step: Step) -> Option<&'static str> {
        match self {
            Flavour::Ugc => step.action(),
            #[cfg(feature = "native")]
            Flavour::Server(_) => match step {
                Step::Init => Some("InitUpload"),
                Step::Part => Some("UploadPart"),
                Step::Finish => Some("FinishUpload"),
                Step::Hash | Step::Signature => None,
            },
            #[cfg(feature = "native")]
            Flavour::Multipart(_) => (step == Step::Part).then_some("MultipartUploadVodFile"),
        }
    }

    /// The metadata sent with the file: a key flavour's own, none for UGC (its signature has it).
    pub fn meta(&self) -> Option<&Meta> {
        match self {
            Flavour::Ugc => None,
            #[cfg(feature = "native")]
            Flavour::Server(meta) | Flavour::Multipart(meta) => Some(meta),
        }
    }
}
