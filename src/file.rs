//! The file being uploaded, as the upload knows it once it is hashed.

use crate::request;

/// What is known of the file once it is hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
    /// Lowercase hex SHA-1 of the whole file.
    pub sha: String,
    /// The extension, lowercase, without the dot.
    pub file_type: String,
}

impl FileInfo {
    pub fn new(name: &str, size: u64, sha: String) -> Self {
        FileInfo { name: name.to_string(), size, sha, file_type: request::file_type(name) }
    }
}
