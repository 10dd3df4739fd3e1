//! How an upload is run: where it goes, the part size it asks for, how many parts are in flight, and
//! how failed calls are retried.

use crate::plan;
use crate::request;
use crate::retry::Backoff;

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub endpoint: String,
    /// The part size asked of InitUploadEx: one of [`plan::PART_SIZES`].
    pub part_size: u64,
    /// Parts in flight at once (0 counts as 1). The browser API allows 1 to 16.
    pub concurrency: usize,
    /// The parts in flight fit the link's measured speed, `concurrency` the most ([`crate::adapt`]);
    /// else always `concurrency`.
    pub adapt_lanes: bool,
    /// Retries per call for transient failures (so at most `retries + 1` sends of one call).
    pub retries: u32,
    pub backoff: Backoff,
    /// The class and tags a key flavour sends with the file (a UGC signature carries its own).
    #[cfg(feature = "keyed")]
    pub meta: crate::flavour::Meta,
}

pub const DEFAULT_CONCURRENCY: usize = 4;
pub const DEFAULT_RETRIES: u32 = 5;

impl Default for Options {
    fn default() -> Self {
        Options {
            endpoint: request::DEFAULT_ENDPOINT.to_string(),
            part_size: plan::DEFAULT_PART_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            adapt_lanes: true,
            retries: DEFAULT_RETRIES,
            backoff: Backoff::default(),
            #[cfg(feature = "keyed")]
            meta: crate::flavour::Meta::default(),
        }
    }
}
