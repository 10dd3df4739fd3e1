//! Building the three calls' requests: method, URL with its query string, and whether a body goes.

use crate::plan::Part;
use crate::platform::encode_query_value;

pub const DEFAULT_ENDPOINT: &str = "https://vod2.qcloud.com/v2/index.php";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One request to send. For UploadPartEx, the body is the bytes of `part`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub part: Option<Part>,
}

/// The call's URL; each query value is percent-encoded, Base64's `+`, `/` and `=` included.
fn url(endpoint: &str, action: &str, params: &[(&str, &str)]) -> String {
    let mut url = String::with_capacity(endpoint.len() + 160);
    url.push_str(endpoint);
    url.push(if endpoint.contains('?') { '&' } else { '?' });
    url.push_str("Action=");
    url.push_str(action);
    for (name, value) in params {
        url.push('&');
        url.push_str(name);
        url.push('=');
        encode_query_value(value, &mut url);
    }
    url
}

pub fn init(endpoint: &str, file_sha: &str, file_size: u64, part_size: u64, signature: &str) -> Request {
    // As i64, the one integer formatting the wasm carries (the same digits: sizes are below 2^53).
    let (size, data) = ((file_size as i64).to_string(), (part_size as i64).to_string());
    let params = [("fileSha", file_sha), ("fileSize", &size), ("dataSize", &data), ("signature", signature)];
    Request { method: Method::Get, url: url(endpoint, "InitUploadEx", &params), part: None }
}

pub fn part(endpoint: &str, file_sha: &str, part: Part, data_md5: &str, signature: &str) -> Request {
    let (offset, size) = ((part.offset as i64).to_string(), (part.len as i64).to_string());
    let params = [
        ("fileSha", file_sha),
        ("offset", &offset),
        ("dataSize", &size),
        ("dataMd5", data_md5),
        ("signature", signature),
    ];
    Request { method: Method::Post, url: url(endpoint, "UploadPartEx", &params), part: Some(part) }
}

pub fn finish(endpoint: &str, file_sha: &str, signature: &str) -> Request {
    let params = [("fileSha", file_sha), ("signature", signature)];
    Request { method: Method::Get, url: url(endpoint, "FinishUploadEx", &params), part: None }
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

    const SHA: &str = "b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9";

    #[test]
    fn init_matches_the_documents_example_and_encodes_the_signature() {
        let r = init("https://vod2.qcloud.com/v2/index.php", SHA, 20_350_000, 1_048_576, "IEm+b/R=");
        assert_eq!(r.method, Method::Get);
        assert_eq!(
            r.url,
            "https://vod2.qcloud.com/v2/index.php?Action=InitUploadEx&fileSha=b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9\
             &fileSize=20350000&dataSize=1048576&signature=IEm%2Bb%2FR%3D"
        );
        assert_eq!(r.part, None);
    }

    #[test]
    fn part_carries_offset_size_md5_and_its_range() {
        let p = Part { offset: 5_242_880, len: 757_120 };
        let r = part("http://127.0.0.1:8080/v2/index.php", SHA, p, "0bee89b07a248e27c83fc3d5951213c1", "sig");
        assert_eq!(r.method, Method::Post);
        assert!(r.url.contains("Action=UploadPartEx&fileSha=b4a5"));
        assert!(r.url.contains("&offset=5242880&dataSize=757120&dataMd5=0bee89b07a248e27c83fc3d5951213c1&signature=sig"));
        assert_eq!(r.part, Some(p));
    }

    #[test]
    fn offsets_past_four_gib_are_plain_decimals() {
        let p = Part { offset: 5 << 30, len: 1 };
        assert!(part("e", SHA, p, "m", "s").url.contains("&offset=5368709120&"));
    }

    #[test]
    fn an_endpoint_with_its_own_query_gets_an_ampersand() {
        let r = finish("https://x.test/v2/index.php?region=gz", SHA, "s");
        assert_eq!(r.url, format!("https://x.test/v2/index.php?region=gz&Action=FinishUploadEx&fileSha={SHA}&signature=s"));
    }

    #[test]
    fn file_types_come_from_the_extension() {
        assert_eq!(file_type("Holiday.MP4"), "mp4");
        assert_eq!(file_type("a.b.webm"), "webm");
        assert_eq!(file_type("README"), "");
        assert_eq!(file_type(".hidden"), "");
        assert_eq!(file_type("trailing."), "");
    }
}
