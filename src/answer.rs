//! Reading the server's answers: HTTP status and JSON body into a typed answer or a typed failure, and
//! the init answer into what to do next.

use crate::error::{snippet, ErrorKind, Step, UploadError};
use crate::plan;
use crate::text::{cat, int};
// The platform's JSON reader, and what answers read of a JSON value (see crate::platform).
pub use crate::platform::{Json as PlatformJson, JsonValue};

/// An HTTP reply as the transport saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpReply {
    pub status: u16,
    pub body: String,
    /// The `Retry-After` header, as sent (read by [`crate::retry::retry_after_ms`]).
    pub retry_after: Option<String>,
}

impl HttpReply {
    /// A reply without a `Retry-After`.
    pub fn new(status: u16, body: impl Into<String>) -> HttpReply {
        HttpReply { status, body: body.into(), retry_after: None }
    }
}

/// The fields any of the three calls may answer with. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub code: i64,
    pub message: String,
    pub code_desc: String,
    pub can_retry: bool,
    pub data_size: Option<u64>,
    pub list_parts: Option<Vec<ListedPart>>,
    pub file_id: Option<String>,
    pub url: Option<String>,
    pub verify_content: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListedPart {
    pub offset: u64,
    pub data_size: u64,
    // Its `dataMd5` (the published example has `dataSha` instead) is informative only: not read.
}

/// A non-negative whole number that a double represents exactly.
fn whole(v: f64) -> Option<u64> {
    (v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_991.0).then_some(v as u64)
}

impl Answer {
    pub fn from_json<J: JsonValue>(text: &str) -> Result<Answer, String> {
        let value = J::parse(text).map_err(|e| cat(&["not JSON: ", &e]))?;
        if !value.is_object() {
            return Err("not a JSON object".into());
        }
        let text = |name: &str| value.field(name).and_then(|v| v.as_string());
        let code = value
            .field("code")
            .and_then(|c| c.as_f64().or_else(|| c.as_string().and_then(|s| s.trim().parse::<i64>().ok()).map(|n| n as f64)))
            .filter(|c| c.fract() == 0.0 && c.abs() < 1e15)
            .ok_or("no integer `code`")? as i64;
        // `canRetry` is 0/1 in the documents; a boolean is accepted too.
        let can_retry = value.field("canRetry").is_some_and(|v| v.as_bool().unwrap_or(v.as_f64() == Some(1.0)));
        let list_parts = match value.field("listParts") {
            None => None,
            Some(list) => {
                let parts = list.items().ok_or("`listParts` is not an array")?;
                let part = |p: &J| -> Option<ListedPart> {
                    Some(ListedPart {
                        offset: whole(p.field("offset")?.as_f64()?)?,
                        data_size: whole(p.field("dataSize")?.as_f64()?)?,
                    })
                };
                // A loop, not a collect into a Result: the iterator adapters weighed on the wasm.
                let mut listed = Vec::with_capacity(parts.len());
                for p in &parts {
                    listed.push(part(p).ok_or("a `listParts` entry without offset and dataSize")?);
                }
                Some(listed)
            }
        };
        Ok(Answer {
            code,
            message: text("message").unwrap_or_default(),
            code_desc: text("codeDesc").unwrap_or_default(),
            can_retry,
            data_size: value.field("dataSize").and_then(|v| v.as_f64()).and_then(whole),
            list_parts,
            // `fileId` is a decimal string; a bare number is accepted too.
            file_id: value.field("fileId").and_then(|v| v.as_string().or_else(|| v.as_f64().and_then(whole).map(|n| int(n as i64)))),
            url: text("url"),
            verify_content: text("verify_content"),
        })
    }
}

const BODY_SNIPPET: usize = 200;
/// Characters of a server's `message` (or `codeDesc`) that go into an error, and of a reason that
/// quotes the platform's JSON reader: a few hundred, whatever the server sent.
pub const MESSAGE_CHARS: usize = 300;

/// Bytes one `listParts` entry may take: `{"offset":…,"dataSize":…,"dataMd5":"…"}` is under 100; the
/// rest is room for spacing and fields the client does not read.
const LISTED_PART_BYTES: u64 = 256;
/// Bytes any answer may take besides its `listParts`: the codes, a message, `fileId`, `url`,
/// `verify_content` and whatever else a server adds.
const ANSWER_BYTES: u64 = 64 << 10;

/// The most bytes an answer to `step`'s call can need for a file of `file_size` bytes: InitUploadEx's
/// code 1 lists at most one part per 512 KiB of the file (the smallest part a session may have);
/// the other calls answer a few fields. The edge takes no more of an answer than this (a longer one
/// is [`over_cap`]), so that no answer of a hostile server can fill the page's memory.
pub fn answer_cap(step: Step, file_size: u64) -> u64 {
    match step {
        Step::Init => ANSWER_BYTES + file_size.div_ceil(*SESSION_PART_SIZES.start()) * LISTED_PART_BYTES,
        _ => ANSWER_BYTES,
    }
}

/// Begins the stand-in body of an answer the edge did not take: no answer of a server begins with a
/// NUL (one that does is refused as this one is, as not JSON).
const OVER_CAP: &str = "\u{0}over cap\u{0}";

/// The stand-in for an answer with `status` that is longer than its request's cap: the edge did not
/// take it, only its first characters, `head`. Read, it is a malformed answer (an HTTP
/// failure where the status is not 200).
pub fn over_cap(status: u16, head: &str) -> HttpReply {
    HttpReply::new(status, cat(&[OVER_CAP, &snippet(head, BODY_SNIPPET)]))
}

/// The codes of success (the contract): 0, and 1 or 2 from an Init call. Every other code, negative,
/// from 4000 to 7000 or one no document names, is a failure that carries it.
fn is_success(step: Step, code: i64) -> bool {
    code == 0 || (step == Step::Init && (1..=2).contains(&code))
}

/// HTTP status and body to an answer with a code of success, or the failure it stands for.
pub fn read(step: Step, reply: &HttpReply) -> Result<Answer, UploadError> {
    if let Some(head) = reply.body.strip_prefix(OVER_CAP) {
        let reason = "longer than any answer of this call can need for this file; not read".to_string();
        return Err(UploadError::new(step, ErrorKind::Malformed { reason, body: head.to_string() }));
    }
    if reply.status != 200 {
        let body = snippet(&reply.body, BODY_SNIPPET);
        return Err(UploadError::new(step, ErrorKind::Http { status: reply.status, body }));
    }
    let answer = Answer::from_json::<PlatformJson>(&reply.body)
        .map_err(|reason| UploadError::new(step, ErrorKind::Malformed { reason: snippet(&reason, MESSAGE_CHARS), body: snippet(&reply.body, BODY_SNIPPET) }))?;
    if !is_success(step, answer.code) {
        // The server's words, cut to a few hundred characters (marked with …).
        let message = match (answer.message.is_empty(), answer.code_desc.is_empty()) {
            (false, _) => snippet(&answer.message, MESSAGE_CHARS),
            (true, false) => snippet(&answer.code_desc, MESSAGE_CHARS),
            (true, true) => String::new(),
        };
        return Err(UploadError::new(
            step,
            ErrorKind::Server { code: answer.code, message, can_retry: answer.can_retry },
        ));
    }
    Ok(answer)
}

fn malformed(step: Step, reason: &str, reply: &HttpReply) -> UploadError {
    UploadError::new(step, ErrorKind::Malformed { reason: reason.to_string(), body: snippet(&reply.body, BODY_SNIPPET) })
}

/// What InitUploadEx decided.
#[derive(Debug, Clone, PartialEq)]
pub enum InitDecision {
    /// code 0: upload every part at the asked part size.
    Fresh,
    /// code 1: use the session's part size from now on; these `(offset, size)` parts are held already.
    Resume { part_size: u64, held: Vec<(u64, u64)> },
    /// code 2: the file is there already.
    Instant { file_id: String, url: String },
}

/// The part sizes a resumed session may impose: InitUploadEx opens sessions at either end, InitUpload
/// at any size between (protocol.md, "InitUpload"), and a code-1 answer may name any of them. Nothing
/// else is taken: a tiny size would make a file take one call per few bytes, a huge one a part that
/// large in memory.
pub const SESSION_PART_SIZES: std::ops::RangeInclusive<u64> = plan::PART_SIZES[0]..=plan::PART_SIZES[1];

pub fn init_decision(reply: &HttpReply) -> Result<InitDecision, UploadError> {
    decide_init(read(Step::Init, reply)?, reply)
}

/// InitUploadEx's answer (already read from `reply`) to what to do next.
pub fn decide_init(answer: Answer, reply: &HttpReply) -> Result<InitDecision, UploadError> {
    match answer.code {
        0 => Ok(InitDecision::Fresh),
        1 => {
            let part_size = match answer.data_size {
                Some(size) if SESSION_PART_SIZES.contains(&size) => size,
                Some(size) => {
                    let (min, max) = SESSION_PART_SIZES.into_inner();
                    let (size, min, max) = (int(size as i64), int(min as i64), int(max as i64));
                    let reason = cat(&["code 1 with dataSize ", &size, ", outside the ", &min, "–", &max, " bytes a session's parts may have"]);
                    return Err(malformed(Step::Init, &reason, reply));
                }
                None => return Err(malformed(Step::Init, "code 1 without a dataSize", reply)),
            };
            let held = answer.list_parts.unwrap_or_default().iter().map(|p| (p.offset, p.data_size)).collect();
            Ok(InitDecision::Resume { part_size, held })
        }
        // 2, the one other code `read` lets through for an Init call.
        _ => match result_strings(&answer) {
            Ok(()) => Ok(InitDecision::Instant { file_id: answer.file_id.unwrap_or_default(), url: answer.url.unwrap_or_default() }),
            Err(why) => Err(malformed(Step::Init, why, reply)),
        },
    }
}

/// Checks the strings of a result that an app is likely to put into its page (a link, a `<video>`,
/// text): `fileId` decimal digits (the contract: 19 or 20 of them; fewer where a server wrote it as a
/// number), `url` an `http:` or `https:` URL (a `javascript:` one would run in the page when
/// followed). (`verify_content` goes to the app's backend, which checks it.) What is missing or wrong,
/// in words.
#[inline(never)]
fn result_strings(answer: &Answer) -> Result<(), &'static str> {
    let (Some(file_id), Some(url)) = (&answer.file_id, &answer.url) else { return Err("no fileId and url") };
    if file_id.is_empty() || file_id.len() > 20 || !all_bytes(file_id, u8::is_ascii_digit) {
        return Err("a fileId that is not a decimal id");
    }
    if !is_web_url(url) {
        return Err("a url that is not an http: or https: URL");
    }
    Ok(())
}

/// `http://` or `https://`, something after it, and printable ASCII only (a URL's characters: others are
/// percent-encoded), so that a browser reads it as that scheme (it drops spaces and controls before
/// reading the scheme: `java\tscript:` is `javascript:`) and shows it as it is.
pub fn is_web_url(url: &str) -> bool {
    let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    all_bytes(url, |b| (0x21..0x7f).contains(b)) && host.is_some_and(|h| !h.is_empty())
}

/// Whether every byte of `text` passes `ok`: one loop for every check, which keeps the wasm small.
#[inline(never)]
fn all_bytes(text: &str, ok: fn(&u8) -> bool) -> bool {
    text.as_bytes().iter().all(ok)
}

/// UploadPartEx's answer: code 0 (all `read` lets through for a part) or a failure.
pub fn part_ack(reply: &HttpReply) -> Result<(), UploadError> {
    read(Step::Part, reply).map(drop)
}

/// What FinishUploadEx verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub file_id: String,
    pub url: String,
    pub verify_content: Option<String>,
}

pub fn finished(reply: &HttpReply) -> Result<Finished, UploadError> {
    decide_finished(read(Step::Finish, reply)?, reply)
}

/// FinishUploadEx's answer, already read from `reply` (so its code is 0).
pub fn decide_finished(answer: Answer, reply: &HttpReply) -> Result<Finished, UploadError> {
    match result_strings(&answer) {
        Ok(()) => Ok(Finished { file_id: answer.file_id.unwrap_or_default(), url: answer.url.unwrap_or_default(), verify_content: answer.verify_content }),
        Err(why) => Err(malformed(Step::Finish, why, reply)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> HttpReply {
        HttpReply::new(200, body)
    }

    #[test]
    fn fresh_resume_and_instant_from_the_documents_examples() {
        assert_eq!(init_decision(&ok(r#"{"code":0,"message":"","codeDesc":"","canRetry":0}"#)).unwrap(), InitDecision::Fresh);
        let resume = r#"{"code":1,"message":"","codeDesc":"","canRetry":0,"dataSize":1048576,"listParts":[
            {"offset":0,"dataSize":1048576,"dataMd5":"0bee89b07a248e27c83fc3d5951213c1"},
            {"offset":1048576,"dataSize":1048576,"dataSha":"f5ac8127b3b6b85cdc13f237c6005d80"}]}"#;
        assert_eq!(
            init_decision(&ok(resume)).unwrap(),
            InitDecision::Resume { part_size: 1_048_576, held: vec![(0, 1_048_576), (1_048_576, 1_048_576)] }
        );
        let instant = r#"{"code":2,"message":"","fileId":"16092504232103571364","url":"http://10013.vod2.myqcloud.com/vod10013/16092504232103571364/f0.mp4"}"#;
        assert_eq!(
            init_decision(&ok(instant)).unwrap(),
            InitDecision::Instant {
                file_id: "16092504232103571364".into(),
                url: "http://10013.vod2.myqcloud.com/vod10013/16092504232103571364/f0.mp4".into()
            }
        );
    }

    #[test]
    fn resume_with_a_smaller_session_part_size_and_no_parts() {
        let d = init_decision(&ok(r#"{"code":1,"dataSize":524288,"canRetry":0}"#)).unwrap();
        assert_eq!(d, InitDecision::Resume { part_size: 524_288, held: vec![] });
    }

    #[test]
    fn a_resumed_part_size_is_taken_only_within_what_a_session_may_have() {
        for size in [524_288, 786_432, 1_048_576] {
            let d = init_decision(&ok(&format!(r#"{{"code":1,"dataSize":{size}}}"#))).unwrap();
            assert_eq!(d, InitDecision::Resume { part_size: size, held: vec![] });
        }
        for size in [1, 4096, 524_287, 1_048_577, 64 << 20] {
            let body = format!(r#"{{"code":1,"dataSize":{size},"listParts":[]}}"#);
            let e = init_decision(&ok(&body)).unwrap_err();
            assert_eq!(e.step, Step::Init);
            assert!(matches!(&e.kind, ErrorKind::Malformed { body: got, .. } if *got == body), "{e:?}");
            let message = e.to_string();
            assert!(message.contains(&format!("dataSize {size}, outside the 524288–1048576 bytes")), "{message}");
            assert!(message.contains(&body), "the server's answer is in the message: {message}");
        }
    }

    #[test]
    fn error_codes_become_typed_server_errors() {
        let e = init_decision(&ok(r#"{"code":-10001,"message":"invalid arg","canRetry":0}"#)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server { code: -10001, message: "invalid arg".into(), can_retry: false });
        assert_eq!(e.step, Step::Init);
        let e = part_ack(&ok(r#"{"code":-10006,"message":"","codeDesc":"md5 mismatch","canRetry":1}"#)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server { code: -10006, message: "md5 mismatch".into(), can_retry: true });
        assert!(e.is_transient());
        let e = finished(&ok(r#"{"code":4200,"message":"expired","canRetry":false}"#)).unwrap_err();
        assert_eq!(e.code(), Some(4200));
    }

    #[test]
    fn html_error_pages_and_bad_json_say_what_came_back() {
        let e = part_ack(&HttpReply::new(502, "<html><h1>Bad Gateway</h1></html>")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Http { status: 502, body: "<html><h1>Bad Gateway</h1></html>".into() });
        assert!(e.is_transient());
        let e = part_ack(&ok("<html>captive portal</html>")).unwrap_err();
        assert!(matches!(&e.kind, ErrorKind::Malformed { reason, body } if reason.starts_with("not JSON") && body == "<html>captive portal</html>"));
        assert!(!e.is_transient());
        let e = part_ack(&ok(r#"{"message":"no code"}"#)).unwrap_err();
        assert!(matches!(&e.kind, ErrorKind::Malformed { reason, .. } if reason.contains("code")), "{e}");
        let e = part_ack(&ok(r#"{"code":"zero"}"#)).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Malformed { .. }));
        let e = part_ack(&ok(r#"[1,2]"#)).unwrap_err();
        assert!(matches!(&e.kind, ErrorKind::Malformed { reason, .. } if reason == "not a JSON object"));
        let e = init_decision(&ok(r#"{"code":1,"dataSize":524288,"listParts":[{"offset":-1}]}"#)).unwrap_err();
        assert!(matches!(&e.kind, ErrorKind::Malformed { reason, .. } if reason.contains("listParts")));
    }

    #[test]
    fn a_code_no_document_names_for_the_call_is_a_failure_that_carries_it() {
        let e = init_decision(&ok(r#"{"code":7,"message":"odd","canRetry":1}"#)).unwrap_err();
        assert_eq!((e.step, e.code(), e.is_transient()), (Step::Init, Some(7), false));
        assert!(matches!(&e.kind, ErrorKind::Server { message, .. } if message == "odd"));
        for body in [r#"{"code":1,"dataSize":524288}"#, r#"{"code":2,"fileId":"1","url":"u"}"#, r#"{"code":3999}"#] {
            let e = part_ack(&ok(body)).unwrap_err();
            assert_eq!((e.step, e.code().is_some()), (Step::Part, true), "{body}: {e}");
        }
        let e = finished(&ok(r#"{"code":4500,"message":"replayed"}"#)).unwrap_err();
        assert_eq!((e.step, e.code(), e.is_transient()), (Step::Finish, Some(4500), false));
    }

    #[test]
    fn lenient_where_the_documents_are_inconsistent() {
        let a = Answer::from_json::<PlatformJson>(r#"{"code":"-10004","canRetry":true,"message":null}"#).unwrap();
        assert_eq!((a.code, a.can_retry, a.message.as_str()), (-10004, true, ""));
        let a = Answer::from_json::<PlatformJson>(r#"{"code":0,"canRetry":0}"#).unwrap();
        assert!(!a.can_retry);
    }

    #[test]
    fn answers_missing_required_fields_are_malformed() {
        for body in [r#"{"code":1}"#, r#"{"code":1,"dataSize":0}"#, r#"{"code":2,"url":"u"}"#] {
            let e = init_decision(&ok(body)).unwrap_err();
            assert!(matches!(e.kind, ErrorKind::Malformed { .. }), "{body}: {e}");
        }
        let e = finished(&ok(r#"{"code":0}"#)).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Malformed { .. }));
    }

    #[test]
    fn finish_reads_file_id_url_and_verify_content_and_accepts_numeric_ids() {
        let f = finished(&ok(r#"{"code":0,"message":"","codeDesc":"","canRetry":0,"fileId":"16092504232103571364","url":"https://v.test/f0.mp4","verify_content":"dmM="}"#)).unwrap();
        assert_eq!(f, Finished { file_id: "16092504232103571364".into(), url: "https://v.test/f0.mp4".into(), verify_content: Some("dmM=".into()) });
        // A number is taken where a double holds it exactly (JSON.parse cannot do more).
        let f = finished(&ok(r#"{"code":0,"fileId":1609250423210357,"url":"http://v.test/f0.mp4"}"#)).unwrap();
        assert_eq!(f.file_id, "1609250423210357");
    }
    #[test]
    fn a_url_fileid_or_verify_content_an_app_could_not_safely_show_is_a_malformed_answer() {
        let finish = |file_id: &str, url: &str, verify: &str| {
            let body = format!(r#"{{"code":0,"fileId":"{file_id}","url":"{url}","verify_content":"{verify}"}}"#);
            finished(&ok(&body))
        };
        let id = "16092504232103571364";
        assert!(finish(id, "https://v.test/vod/1/f0.mp4", "dmM=").is_ok());
        assert!(finish(id, "http://127.0.0.1:8080/vod/1/f0.mp4", "dmM=").is_ok());
        for (file_id, url, verify, why) in [
            (id, "javascript:alert(1)", "dmM=", "url"),
            (id, "JavaScript://%0aalert(1)", "dmM=", "url"),
            (id, "HTTPS://v.test/f0.mp4", "dmM=", "url"),
            (id, "java\\tscript:alert(1)", "dmM=", "url"),
            (id, "data:text/html,<b>x</b>", "dmM=", "url"),
            (id, "https://v.test/a b", "dmM=", "url"),
            (id, " https://v.test/", "dmM=", "url"),
            (id, "https://", "dmM=", "url"),
            (id, "//v.test/f0.mp4", "dmM=", "url"),
            (id, "https://v.test/\\u202egnp.exe", "dmM=", "url"),
            ("<img src=x>", "https://v.test/", "dmM=", "fileId"),
            ("123456789012345678901", "https://v.test/", "dmM=", "fileId"),
            ("", "https://v.test/", "dmM=", "fileId"),
        ] {
            let e = finish(file_id, url, verify).unwrap_err();
            assert_eq!(e.step, Step::Finish);
            assert!(matches!(&e.kind, ErrorKind::Malformed { reason, .. } if reason.contains(why)), "{url} {file_id}: {e}");
        }
        let e = init_decision(&ok(r#"{"code":2,"fileId":"16092504232103571364","url":"javascript:alert(1)"}"#)).unwrap_err();
        assert_eq!(e.step, Step::Init);
        assert!(e.to_string().contains("(a url that is not an http: or https: URL)"), "{e}");
    }

    #[test]
    fn a_server_message_goes_into_an_error_cut_to_a_few_hundred_characters() {
        let long = "x".repeat(1 << 20);
        let e = part_ack(&ok(&format!(r#"{{"code":-10003,"message":"{long}","canRetry":0}}"#))).unwrap_err();
        let ErrorKind::Server { message, .. } = &e.kind else { panic!("{e:?}") };
        assert_eq!(message.chars().count(), MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
        assert!(e.to_string().len() < 400, "{}", e.to_string().len());
        let e = part_ack(&ok(&format!(r#"{{"code":-10003,"codeDesc":"{long}"}}"#))).unwrap_err();
        assert!(e.to_string().len() < 400);
    }

    #[test]
    fn the_cap_fits_every_part_of_the_file_and_an_answer_over_it_is_not_read() {
        assert_eq!(answer_cap(Step::Part, 10 << 30), ANSWER_BYTES);
        assert_eq!(answer_cap(Step::Finish, 1), ANSWER_BYTES);
        assert_eq!(answer_cap(Step::Init, 1), ANSWER_BYTES + LISTED_PART_BYTES);
        // A code-1 answer that lists every part of a 3 GiB file at 512 KiB, as a server writes it, fits.
        let size = 3u64 << 30;
        let parts: Vec<String> = (0..size / 524_288)
            .map(|i| format!(r#"{{"offset":{},"dataSize":524288,"dataMd5":"0bee89b07a248e27c83fc3d5951213c1"}}"#, i * 524_288))
            .collect();
        let body = format!(r#"{{"code":1,"message":"","codeDesc":"","canRetry":0,"dataSize":524288,"listParts":[{}]}}"#, parts.join(","));
        assert!((body.len() as u64) < answer_cap(Step::Init, size), "{} bytes", body.len());

        let e = init_decision(&over_cap(200, r#"{"code":1,"listParts":[{"offset":0,"#)).unwrap_err();
        assert_eq!(e.step, Step::Init);
        assert!(matches!(&e.kind, ErrorKind::Malformed { body, .. } if body == r#"{"code":1,"listParts":[{"offset":0,"#), "{e:?}");
        assert!(e.to_string().contains("(longer than any answer of this call can need for this file; not read)"), "{e}");
        assert!(!e.is_transient());
        let e = part_ack(&over_cap(502, "<html>")).unwrap_err();
        assert!(matches!(&e.kind, ErrorKind::Malformed { body, .. } if body == "<html>"), "{e:?}");
        assert!(!e.is_transient());
    }
}
