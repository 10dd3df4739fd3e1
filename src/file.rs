//! The file being uploaded, as the upload knows it once it is hashed.

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
        FileInfo { name: name.to_string(), size, sha, file_type: file_type(name) }
    }

    /// The name without its extension, as the server API's `fileName` takes it (seeds 000 and 002:
    /// `fileName=test&fileType=mp4`); the whole name where it has no extension.
    pub fn stem(&self) -> &str {
        match self.name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => stem,
            _ => &self.name,
        }
    }
}

/// The file type the protocol's `ft` means: the name's extension, lowercase, without the dot.
pub fn file_type(file_name: &str) -> String {
    match file_name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_types_come_from_the_extension() {
        assert_eq!(file_type("Holiday.MP4"), "mp4");
        assert_eq!(file_type("a.b.webm"), "webm");
        assert_eq!(file_type("README"), "");
        assert_eq!(file_type(".hidden"), "");
        assert_eq!(file_type("trailing."), "");
    }

    #[test]
    fn the_stem_is_the_name_without_the_type() {
        let stem = |name: &str| FileInfo::new(name, 1, String::new()).stem().to_string();
        assert_eq!((stem("test.mp4"), stem("a.b.webm"), stem("README"), stem(".hidden"), stem("盗梦空间.mp4")), ("test".into(), "a.b".into(), "README".into(), ".hidden".into(), "盗梦空间".into()));
    }
}
