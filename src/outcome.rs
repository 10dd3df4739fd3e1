//! What a successful upload reports.

#[derive(Debug, Clone, PartialEq)]
pub struct UploadResult {
    pub file_id: String,
    pub url: String,
    pub file_sha: String,
    /// The server had the file already: nothing was uploaded.
    pub instant: bool,
    /// Bytes the server held from an earlier attempt and that were not sent again.
    pub resumed_bytes: u64,
    /// Bytes sent and acknowledged in this upload.
    pub uploaded_bytes: u64,
    pub verify_content: Option<String>,
}
