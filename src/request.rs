//! Building the calls' requests: method, URL with its query string, and whether a body goes. The
//! flavour ([`Flavour`]) names the Action and says how the call is authenticated: with the UGC
//! signature in the query, or with the common parameters the sender adds ([`Request::common`]).

use crate::error::Step;
use crate::file::FileInfo;
use crate::flavour::Flavour;
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

/// One request to send. For a part, the body is the bytes of `part`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub part: Option<Part>,
    /// The sender must add the common parameters, signed with the key at each attempt (native:
    /// `keyed::sign_common`); false where the UGC signature is in the URL already.
    pub common: bool,
}

/// Appends `&name=value` to `url`, the value percent-encoded (Base64's `+`, `/` and `=` included).
fn append(url: &mut String, name: &str, value: &str) {
    url.push('&');
    url.push_str(name);
    url.push('=');
    encode_query_value(value, url);
}

/// The request for `step` in `flavour`: the Action the flavour names, `params`, what a key flavour
/// says of the file where it opens a session (`file`), and the UGC signature last where the flavour
/// wants one.
fn call(endpoint: &str, flavour: &Flavour, step: Step, params: &[(&str, &str)], file: Option<&FileInfo>, signature: &str, part: Option<Part>) -> Request {
    let mut url = String::with_capacity(endpoint.len() + 160);
    url.push_str(endpoint);
    url.push(if endpoint.contains('?') { '&' } else { '?' });
    url.push_str("Action=");
    url.push_str(flavour.action(step).unwrap_or_default());
    for (name, value) in params {
        append(&mut url, name, value);
    }
    #[cfg(feature = "keyed")]
    if let (Some(file), Some(meta)) = (file, flavour.meta()) {
        describe(&mut url, file, meta);
    }
    #[cfg(not(feature = "keyed"))]
    let _ = file;
    if flavour.needs_signature() {
        append(&mut url, "signature", signature);
    }
    let method = if part.is_some() { Method::Post } else { Method::Get };
    Request { method, url, part, common: !flavour.needs_signature() }
}

/// What a key flavour says of the file where it opens a session (a UGC signature says it instead):
/// name, type, class and tags.
#[cfg(feature = "keyed")]
fn describe(url: &mut String, file: &FileInfo, meta: &crate::flavour::Meta) {
    append(url, "fileName", &file.name);
    append(url, "fileType", &file.file_type);
    if let Some(class_id) = meta.class_id {
        append(url, "classId", &class_id.to_string());
    }
    for (i, tag) in meta.tags.iter().take(10).enumerate() {
        append(url, &format!("tags.{i}"), tag);
    }
}

/// InitUploadEx / InitUpload.
pub fn init(endpoint: &str, flavour: &Flavour, file: &FileInfo, part_size: u64, signature: &str) -> Request {
    // As i64, the one integer formatting the wasm carries (the same digits: sizes are below 2^53).
    let (size, data) = ((file.size as i64).to_string(), (part_size as i64).to_string());
    let params = [("fileSha", file.sha.as_str()), ("fileSize", &size), ("dataSize", &data)];
    call(endpoint, flavour, Step::Init, &params, Some(file), signature, None)
}

/// UploadPartEx / UploadPart.
pub fn part(endpoint: &str, flavour: &Flavour, file_sha: &str, part: Part, data_md5: &str, signature: &str) -> Request {
    let (offset, size) = ((part.offset as i64).to_string(), (part.len as i64).to_string());
    let params = [("fileSha", file_sha), ("offset", &offset), ("dataSize", &size), ("dataMd5", data_md5)];
    call(endpoint, flavour, Step::Part, &params, None, signature, Some(part))
}

/// FinishUploadEx / FinishUpload.
pub fn finish(endpoint: &str, flavour: &Flavour, file_sha: &str, signature: &str) -> Request {
    call(endpoint, flavour, Step::Finish, &[("fileSha", file_sha)], None, signature, None)
}

/// MultipartUploadVodFile: one part, with everything the server needs to open the session at the
/// first one (the flags take effect there only).
#[cfg(feature = "keyed")]
pub fn segment(endpoint: &str, flavour: &Flavour, file: &FileInfo, part: Part) -> Request {
    let (size, data, offset) = (file.size.to_string(), part.len.to_string(), part.offset.to_string());
    let params = [("fileSha", file.sha.as_str()), ("fileSize", &size), ("dataSize", &data), ("offset", &offset)];
    call(endpoint, flavour, Step::Part, &params, Some(file), "", Some(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9";

    #[test]
    fn init_matches_the_documents_example_and_encodes_the_signature() {
        let file = FileInfo { name: "a.mp4".into(), size: 20_350_000, sha: SHA.into(), file_type: "mp4".into() };
        let r = init("https://vod2.qcloud.com/v2/index.php", &Flavour::Ugc, &file, 1_048_576, "IEm+b/R=");
        assert_eq!(r.method, Method::Get);
        assert_eq!(
            r.url,
            "https://vod2.qcloud.com/v2/index.php?Action=InitUploadEx&fileSha=b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9\
             &fileSize=20350000&dataSize=1048576&signature=IEm%2Bb%2FR%3D"
        );
        assert_eq!(r.part, None);
        assert!(!r.common);
    }

    #[test]
    fn part_carries_offset_size_md5_and_its_range() {
        let p = Part { offset: 5_242_880, len: 757_120 };
        let r = part("http://127.0.0.1:8080/v2/index.php", &Flavour::Ugc, SHA, p, "0bee89b07a248e27c83fc3d5951213c1", "sig");
        assert_eq!(r.method, Method::Post);
        assert!(r.url.contains("Action=UploadPartEx&fileSha=b4a5"));
        assert!(r.url.contains("&offset=5242880&dataSize=757120&dataMd5=0bee89b07a248e27c83fc3d5951213c1&signature=sig"));
        assert_eq!(r.part, Some(p));
    }

    #[test]
    fn offsets_past_four_gib_are_plain_decimals() {
        let p = Part { offset: 5 << 30, len: 1 };
        assert!(part("e", &Flavour::Ugc, SHA, p, "m", "s").url.contains("&offset=5368709120&"));
    }

    #[test]
    fn an_endpoint_with_its_own_query_gets_an_ampersand() {
        let r = finish("https://x.test/v2/index.php?region=gz", &Flavour::Ugc, SHA, "s");
        assert_eq!(r.url, format!("https://x.test/v2/index.php?region=gz&Action=FinishUploadEx&fileSha={SHA}&signature=s"));
    }

    #[cfg(feature = "keyed")]
    #[test]
    fn key_flavours_name_their_actions_describe_the_file_and_leave_authentication_to_the_sender() {
        let meta = crate::flavour::Meta { class_id: Some(7), tags: vec!["a b".into(), "c".into()] };
        let file = FileInfo::new("Clip.MP4", 3_000_000, SHA.into());
        let server = Flavour::Server(meta.clone());
        let r = init("http://h/v2/index.php", &server, &file, 600_000, "ignored");
        assert_eq!(
            r.url,
            format!("http://h/v2/index.php?Action=InitUpload&fileSha={SHA}&fileSize=3000000&dataSize=600000&fileName=Clip.MP4&fileType=mp4&classId=7&tags.0=a%20b&tags.1=c")
        );
        assert!(r.common && r.method == Method::Get);
        let p = Part { offset: 0, len: 5 };
        let r = part("http://h/v2/index.php", &server, SHA, p, "m", "ignored");
        assert_eq!(r.url, format!("http://h/v2/index.php?Action=UploadPart&fileSha={SHA}&offset=0&dataSize=5&dataMd5=m"));
        assert_eq!(finish("http://h/", &server, SHA, "x").url, format!("http://h/?Action=FinishUpload&fileSha={SHA}"));
        let r = segment("http://h/", &Flavour::Multipart(meta), &file, Part { offset: 524_288, len: 1_048_576 });
        assert_eq!(
            r.url,
            format!("http://h/?Action=MultipartUploadVodFile&fileSha={SHA}&fileSize=3000000&dataSize=1048576&offset=524288&fileName=Clip.MP4&fileType=mp4&classId=7&tags.0=a%20b&tags.1=c")
        );
        assert!(r.common && r.method == Method::Post && r.part == Some(Part { offset: 524_288, len: 1_048_576 }));
    }
}
