//! What is known of a file besides its bytes, kept with its session and then with the finished file
//! (shown by DescribeVodInfo).

use serde::{Deserialize, Serialize};

/// Which calls uploaded a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// InitUploadEx / UploadPartEx / FinishUploadEx, with an app backend's UGC signature.
    #[default]
    Ugc,
    /// InitUpload / UploadPart / FinishUpload, with the common parameters.
    Server,
    /// MultipartUploadVodFile.
    Multipart,
}

/// A file's metadata: for a UGC upload from its signature (`f`, `ft`, `cid`, `tag.N`, `tc`, `ss`,
/// `wm`, `uid`, `s`); for the server API from InitUpload's query and the caller's SecretId; for
/// MultipartUploadVodFile from the first part's query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    pub file_name: String,
    pub file_type: String,
    pub class_id: Option<u64>,
    pub tags: Vec<String>,
    pub is_transcode: u8,
    pub is_screenshot: u8,
    pub is_watermark: u8,
    /// The UGC signature's user; none for a key holder's upload.
    pub uid: Option<String>,
    pub secret_id: String,
    pub flavour: Flavour,
    /// Seed 000's `notifyUrl` (MultipartUploadVodFile's first part): where its callback goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

impl Meta {
    /// As the database keeps it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// From the database; a row written before metadata was kept reads as empty.
    pub fn from_json(s: &str) -> Meta {
        serde_json::from_str(s).unwrap_or_default()
    }
}
