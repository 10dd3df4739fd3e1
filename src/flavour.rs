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

/// The metadata a key flavour sends with the file (`Options::meta`; a UGC signature carries its own,
/// and a backend that makes one from the key puts these in it: `cid`, `tag.N`, `tc`, `ss`, `wm`).
/// Every optional field of the seeds' InitUpload and MultipartUploadVodFile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// `classId` (`cid`).
    pub class_id: Option<u64>,
    /// `tags.N` (`tag.N`), at most 10.
    pub tags: Vec<String>,
    /// `isTranscode` (`tc`): transcode the file once it is uploaded.
    pub transcode: bool,
    /// `isScreenshot` (`ss`): take screenshots of it.
    pub screenshot: bool,
    /// `isWatermark` (`wm`): watermark it.
    pub watermark: bool,
    /// `notifyUrl` (MultipartUploadVodFile only, seed 000): where the server POSTs its callback
    /// when the file is finished.
    pub notify_url: Option<String>,
}

impl Meta {
    /// No metadata (a `const`, for a static).
    pub const NONE: Meta = Meta { class_id: None, tags: Vec::new(), transcode: false, screenshot: false, watermark: false, notify_url: None };

    /// The three processing flags as the seeds name them, with their UGC signature names, set ones only.
    pub fn flags(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        [("isTranscode", "tc", self.transcode), ("isScreenshot", "ss", self.screenshot), ("isWatermark", "wm", self.watermark)]
            .into_iter()
            .filter(|(.., set)| *set)
            .map(|(api, ugc, _)| (api, ugc))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Flavour {
    #[default]
    Ugc,
    #[cfg(feature = "keyed")]
    Server,
    #[cfg(feature = "keyed")]
    Multipart,
}

impl Flavour {
    /// Every flavour this build has.
    #[cfg(feature = "keyed")]
    pub const ALL: [Flavour; 3] = [Flavour::Server, Flavour::Multipart, Flavour::Ugc];

    /// Its name where people choose one (the command line's `--flow`).
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Ugc => "ugc",
            #[cfg(feature = "keyed")]
            Flavour::Server => "server",
            #[cfg(feature = "keyed")]
            Flavour::Multipart => "multipart",
        }
    }

    /// The app backend's UGC signature goes in every call (asked for once, refreshed once).
    pub fn needs_signature(self) -> bool {
        matches!(self, Flavour::Ugc)
    }

    /// The server names the next offset; parts go one at a time, contiguously.
    pub fn is_contiguous(self) -> bool {
        #[cfg(feature = "keyed")]
        if let Flavour::Multipart = self {
            return true;
        }
        false
    }

    /// The API action a step calls.
    pub fn action(self, step: Step) -> Option<&'static str> {
        match self {
            Flavour::Ugc => step.action(),
            #[cfg(feature = "keyed")]
            Flavour::Server => match step {
                Step::Init => Some("InitUpload"),
                Step::Part => Some("UploadPart"),
                Step::Finish => Some("FinishUpload"),
                Step::Hash | Step::Signature => None,
            },
            #[cfg(feature = "keyed")]
            Flavour::Multipart => (step == Step::Part).then_some("MultipartUploadVodFile"),
        }
    }

    /// The part sizes the flavour allows, in words, and its default part size for a new session: for
    /// the UGC and server calls, the size that fits the link as the uploads before in this process
    /// measured it ([`crate::adapt::part_size`]); for the multipart call, its own.
    #[cfg(feature = "keyed")]
    pub fn part_sizes(self) -> (String, u64) {
        let [small, large] = crate::plan::PART_SIZES;
        let fitted = || crate::adapt::part_size(crate::adapt::last_rate());
        match self {
            Flavour::Ugc => (format!("{small} or {large}"), fitted()),
            // InitUpload takes any size between InitUploadEx's two.
            Flavour::Server => (format!("{small}..={large}"), fitted()),
            Flavour::Multipart => {
                let sizes = crate::contiguous::PART_SIZES;
                (format!("{}..={}", sizes.start(), sizes.end()), crate::contiguous::DEFAULT_PART_SIZE)
            }
        }
    }

    /// Whether `size` is a part size the flavour allows.
    #[cfg(feature = "keyed")]
    pub fn allows_part_size(self, size: u64) -> bool {
        match self {
            Flavour::Ugc => crate::plan::PART_SIZES.contains(&size),
            Flavour::Server => (crate::plan::PART_SIZES[0]..=crate::plan::PART_SIZES[1]).contains(&size),
            Flavour::Multipart => crate::contiguous::PART_SIZES.contains(&size),
        }
    }
}
