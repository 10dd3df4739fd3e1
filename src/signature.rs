//! The upload signature as the client can check it before its first use. A signature is
//! `Base64(HMAC-SHA1(key, original) ++ original)`, `original` a query string with the upload's fields
//! (docs/protocol.md). The MAC needs the app's secret key, so only the server can check it; but the
//! fields are in the clear, so a signature for another file, an expired one, or one whose file name
//! the server will refuse is caught here, with a message that says which, before any request.
//!
//! The server reads and checks the same format with code of its own (`server/src/sign.rs`), on
//! purpose: the two are independent checks of the contract, so that neither side can agree with the
//! other by sharing its mistake, and the server trusts nothing of the client's code.

use std::fmt;

use crate::text::{cat, int};
use crate::platform::{base64_text_after, decode_query_value as percent_decode, Base64Problem};

/// The MAC's length in bytes (HMAC-SHA1).
const MAC_LEN: usize = 20;
/// Longest file name, in characters (Unicode scalar values: seeds 000 and 002 say 40个字符).
const MAX_NAME_CHARS: usize = 40;
/// Longest lifetime `e - t` the platform allows: 90 days, in seconds.
const MAX_LIFETIME_SECS: u64 = 7_776_000;
/// What a file name must not contain.
const FORBIDDEN_NAME_CHARS: &[char] = &['\\', '/', ':', '*', '?', '"', '<', '>', '|'];
/// Why fields are not what the protocol says they are.
const NOT_ENCODED: &str = "its fields are not URL-encoded text";
/// The fields every upload signature carries.
const REQUIRED: [&str; 8] = ["s", "t", "e", "r", "f", "fs", "ft", "uid"];

/// What the client reads from a signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    /// When it expires, Unix seconds (`e`).
    pub expires: u64,
    /// The SHA-1 it was signed for (`fs`), as given.
    pub file_sha: String,
    /// The file name (`f`).
    pub file_name: String,
}

/// Why a signature cannot serve this upload.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Not Base64 of a 20-byte MAC and a query with the upload fields; says what is wrong.
    NotUpload(&'static str),
    /// It lacks this upload field.
    Missing(&'static str),
    /// Its `fs` is not the file's SHA-1.
    OtherFile { signed: String, file: String },
    /// Its `e` has passed (Unix seconds).
    Expired(u64),
    /// Its `f` breaks the name rule, and how.
    BadName { name: String, why: &'static str },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl Problem {
    /// The message (what `to_string` gives), concatenated, not formatted (crate::text).
    pub fn message(&self) -> String {
        match self {
            Problem::NotUpload(why) => cat(&["signature: not an upload signature (", why, ")"]),
            Problem::Missing(field) => cat(&["signature: not an upload signature (no ", field, " field)"]),
            Problem::OtherFile { signed, file } => {
                cat(&["signature: signed for another file (fs=", signed, ", but this file's SHA-1 is ", file, ")"])
            }
            // As i64 (a calendar date would weigh on the wasm).
            Problem::Expired(at) => cat(&["signature: expired at ", &int(*at as i64), " (Unix time, its e)"]),
            Problem::BadName { name, why } => cat(&["signature: bad file name (\"", name, "\" ", why, ")"]),
        }
    }
}

/// Reads the upload fields of `signature` (surrounding whitespace ignored). Written to stay small in
/// the wasm: no map of the fields, no general number parser.
pub fn decode(signature: &str) -> Result<Signed, Problem> {
    let original = base64_text_after(signature.trim(), MAC_LEN).map_err(|problem| {
        Problem::NotUpload(match problem {
            Base64Problem::NotBase64 => "not Base64",
            Base64Problem::TooShort => "too short",
            // The protocol's fields are URL-encoded: ASCII.
            Base64Problem::NotAscii => NOT_ENCODED,
        })
    })?;
    if let Some(missing) = REQUIRED.iter().find(|key| field(&original, key).is_none()) {
        return Err(Problem::Missing(missing));
    }
    let (e, fs, name) = (field(&original, "e"), field(&original, "fs"), field(&original, "f"));
    let (e, fs, name) = (e.unwrap_or_default(), fs.unwrap_or_default(), name.unwrap_or_default());
    let not_text = || Problem::NotUpload(NOT_ENCODED);
    let expires = unix_time(e).ok_or(Problem::NotUpload("its e is not a Unix time"))?;
    let signed_at = field(&original, "t").and_then(unix_time).ok_or(Problem::NotUpload("its t is not a Unix time"))?;
    let r = field(&original, "r").unwrap_or_default();
    if r.len() > 10 || unix_time(r).is_none() {
        return Err(Problem::NotUpload("its r is not 1 to 10 digits"));
    }
    if expires.saturating_sub(signed_at) > MAX_LIFETIME_SECS {
        return Err(Problem::NotUpload("its e - t is over 90 days"));
    }
    Ok(Signed { expires, file_sha: percent_decode(fs).ok_or_else(not_text)?, file_name: percent_decode(name).ok_or_else(not_text)? })
}

/// The value of the first field named `key` in `original` (ASCII), if there is one. Split by byte
/// position with `get`, not with a str pattern or `[..]`, whose code and panic paths weigh on the wasm;
/// not inlined, for the same reason.
#[inline(never)]
fn field<'a>(original: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = original;
    while !rest.is_empty() {
        let end = rest.bytes().position(|b| b == b'&').unwrap_or(rest.len());
        let pair = rest.get(..end).unwrap_or("");
        rest = rest.get(end + 1..).unwrap_or("");
        let eq = pair.bytes().position(|b| b == b'=').unwrap_or(pair.len());
        if pair.get(..eq) == Some(key) {
            return pair.get(eq + 1..).or(Some(""));
        }
    }
    None
}

/// Checks that `signature` can serve the upload of the file whose SHA-1 is `file_sha` at `now_ms`
/// (Unix milliseconds): in this order, that it is an upload signature, for this file, not expired,
/// and with a valid file name.
pub fn check(signature: &str, file_sha: &str, now_ms: f64) -> Result<Signed, Problem> {
    let signed = decode(signature)?;
    if !signed.file_sha.eq_ignore_ascii_case(file_sha) {
        return Err(Problem::OtherFile { signed: signed.file_sha, file: file_sha.to_string() });
    }
    if signed.expired(now_ms) {
        return Err(Problem::Expired(signed.expires));
    }
    if let Err(why) = check_name(&signed.file_name) {
        return Err(Problem::BadName { name: signed.file_name, why });
    }
    Ok(signed)
}

impl Signed {
    /// Milliseconds left before it expires at `now_ms` (negative once it has).
    pub fn left_ms(&self, now_ms: f64) -> f64 {
        self.expires as f64 * 1000.0 - now_ms
    }

    /// The protocol's `now < e`, failed.
    pub fn expired(&self, now_ms: f64) -> bool {
        self.left_ms(now_ms) <= 0.0
    }
}

/// The name rule (the contract's `f`): 1 to 40 characters (not bytes: 14 of Chinese and `.mp4` pass), none of `\ / : * ? " < > |`, no control
/// character (U+0000–U+001F, U+007F–U+009F) nor bidirectional control (which would show
/// `movie\u{202e}4pm.exe` as "movieexe.mp4"), not `.` or `..`.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name == "." || name == ".." {
        return Err("is not a file name");
    }
    // Characters counted as the bytes that start one (not `chars().count()`, whose fast path is
    // half a KiB of wasm).
    if name.bytes().filter(|b| b & 0xC0 != 0x80).count() > MAX_NAME_CHARS {
        return Err("is over 40 characters");
    }
    let bad = |c: char| FORBIDDEN_NAME_CHARS.contains(&c) || is_control(c);
    if name.chars().any(bad) {
        return Err("contains one of \\ / : * ? \" < > | or a control character");
    }
    if name.chars().any(is_bidi_control) {
        return Err("contains a bidirectional control character");
    }
    Ok(())
}

/// A C0 or C1 control character, or DEL.
fn is_control(c: char) -> bool {
    matches!(c as u32, 0..=0x1f | 0x7f..=0x9f)
}

/// Unicode's bidirectional controls (Bidi_Control): marks, embeddings, overrides and isolates, which
/// reorder the text around them as it is shown. The name rule's; the native edge checks a path's name
/// with it too.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Decimal digits as a number of seconds (at most 12 digits, as the server takes them).
fn unix_time(digits: &str) -> Option<u64> {
    if digits.is_empty() || digits.len() > 12 {
        return None;
    }
    digits.bytes().try_fold(0u64, |n, b| b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0')))
}

/// Signatures for the core's own tests: the upload fields, a made-up MAC.
#[cfg(test)]
pub(crate) mod testing {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    /// A signature for `fs` and file name `f` that expires at `e` (Unix seconds), with a made-up MAC.
    pub fn signature(fs: &str, f: &str, e: u64) -> String {
        raw(&format!("s=AKIDtest&t={}&e={e}&r=42&f={f}&fs={fs}&ft=mp4&uid=u1", e.saturating_sub(3600)))
    }

    /// Base64 of a made-up MAC and `original`.
    pub fn raw(original: &str) -> String {
        let mut bytes = vec![7u8; super::MAC_LEN];
        bytes.extend_from_slice(original.as_bytes());
        STANDARD.encode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    /// The protocol's test vector.
    const VECTOR: &str = "IEmbRAPy5IgIAFnt7XPAToaY3RRzPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZmPXRlbmNlbnRfdGVzdC5tcDQmdD0xNDM3OTk1NjQ0JmU9MTQzNzk5NTcwNCZyPTIwODE2NjA0MjE=";
    const SHA: &str = "b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9";
    /// 2026-01-01 00:00:00 UTC, in milliseconds.
    const NOW_MS: f64 = 1_767_225_600_000.0;

    use super::testing::raw as signature;

    fn upload_fields(fs: &str, f: &str, e: u64) -> String {
        format!("s=AKIDtest&t=1767225000&e={e}&r=42&f={f}&fs={fs}&ft=mp4&uid=u1")
    }

    #[test]
    fn the_protocols_vector_decodes_and_lacks_the_upload_fields() {
        let original = base64_text_after(VECTOR, MAC_LEN).unwrap();
        assert_eq!(original, "s=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&f=tencent_test.mp4&t=1437995644&e=1437995704&r=2081660421");
        // The documented example predates fs, ft and uid: it is no upload signature of this protocol.
        assert_eq!(check(VECTOR, SHA, NOW_MS), Err(Problem::Missing("fs")));
        // With the fields added, its e (long past) is what the client sees.
        let dated = signature("s=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&f=tencent_test.mp4&t=1437995644&e=1437995704&r=2081660421&fs=b4a5c70c76e79e01ab3a5c306de3d9eedeadeca9&ft=mp4&uid=1");
        let problem = check(&dated, SHA, NOW_MS).unwrap_err();
        assert_eq!(problem, Problem::Expired(1_437_995_704));
        assert_eq!(problem.to_string(), "signature: expired at 1437995704 (Unix time, its e)");
    }

    #[test]
    fn base64_is_strict_and_the_fields_ascii() {
        for bad in ["abc", "ab=c", "a===", "ab-_", "ab c", "QUJD\n"] {
            assert_eq!(base64_text_after(bad, 0), Err(Base64Problem::NotBase64), "{bad:?}");
        }
        assert_eq!(base64_text_after("QUJD", 1).as_deref(), Ok("BC"));
        assert_eq!(base64_text_after("QUJD", 3), Err(Base64Problem::TooShort));
        assert_eq!(base64_text_after("QcOp", 1), Err(Base64Problem::NotAscii), "A then é in UTF-8");
    }

    #[test]
    fn a_good_signature_passes_with_its_fields() {
        let sig = signature(&upload_fields(&SHA.to_uppercase(), "my+clip+%26+co.mp4", 1_767_229_200));
        let signed = check(&format!(" {sig}\n"), SHA, NOW_MS).unwrap();
        assert_eq!(signed.file_name, "my clip & co.mp4");
        assert_eq!(signed.expires, 1_767_229_200);
        assert_eq!(signed.left_ms(NOW_MS), 3_600_000.0);
    }

    #[test]
    fn each_problem_has_its_own_message() {
        let e = 1_767_229_200;
        let other = "0".repeat(40);
        let message = |sig: &str| check(sig, SHA, NOW_MS).unwrap_err().to_string();
        assert_eq!(message("sig-1"), "signature: not an upload signature (not Base64)");
        assert_eq!(message(&STANDARD.encode([1u8; 20])), "signature: not an upload signature (too short)");
        assert_eq!(message(&signature("s=a&t=1&e=2&r=3")), "signature: not an upload signature (no f field)");
        assert_eq!(message(&signature(&upload_fields(SHA, "a.mp4", e).replace("e=1767229200", "e=soon"))), "signature: not an upload signature (its e is not a Unix time)");
        assert_eq!(
            message(&signature(&upload_fields(&other, "a.mp4", e))),
            format!("signature: signed for another file (fs={other}, but this file's SHA-1 is {SHA})")
        );
        assert_eq!(message(&signature(&upload_fields(SHA, "a.mp4", 1_767_225_600))), "signature: expired at 1767225600 (Unix time, its e)");
        assert_eq!(message(&signature(&upload_fields(SHA, "a%2Fb.mp4", e))), "signature: bad file name (\"a/b.mp4\" contains one of \\ / : * ? \" < > | or a control character)");
        assert!(message(&signature(&upload_fields(SHA, &"x".repeat(41), e))).starts_with("signature: bad file name (\"xxx"));
        assert!(message(&signature(&upload_fields(SHA, "%FF.mp4", e))).starts_with("signature: not an upload signature"));
        assert_eq!(
            message(&signature(&upload_fields(SHA, "movie%E2%80%AE4pm.exe", e))),
            "signature: bad file name (\"movie\u{202e}4pm.exe\" contains a bidirectional control character)"
        );
        for bidi in ['\u{61c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}'] {
            assert_eq!(check_name(&format!("a{bidi}.mp4")), Err("contains a bidirectional control character"), "{bidi:?}");
        }
        assert_eq!(check_name("clip\u{2070}.mp4"), Ok(()));
    }

    #[test]
    fn names_are_counted_in_characters_and_t_r_and_the_lifetime_are_checked() {
        let e = 1_767_229_200;
        // 14 characters of Chinese and `.mp4`: 18 characters, 46 bytes.
        let chinese = "%E7%9B%97%E6%A2%A6%E7%A9%BA%E9%97%B4".repeat(3) + "%E7%9B%97%E6%A2%A6.mp4";
        assert_eq!(check(&signature(&upload_fields(SHA, &chinese, e)), SHA, NOW_MS).unwrap().file_name.len(), 46);
        assert_eq!(check_name(&"字".repeat(40)), Ok(()));
        assert_eq!(check_name(&"字".repeat(41)), Err("is over 40 characters"));
        let message = |original: String| check(&signature(&original), SHA, NOW_MS).unwrap_err().to_string();
        let good = upload_fields(SHA, "a.mp4", e);
        for t in ["t=1767225000.5", "t=soon", "t=", "t=-1"] {
            assert_eq!(message(good.replace("t=1767225000", t)), "signature: not an upload signature (its t is not a Unix time)", "{t}");
        }
        for r in ["r=4.2", "r=x", "r=", "r=12345678901", "r=-4"] {
            assert_eq!(message(good.replace("r=42", r)), "signature: not an upload signature (its r is not 1 to 10 digits)", "{r}");
        }
        assert!(check(&signature(&good.replace("r=42", "r=4294967295")), SHA, NOW_MS).is_ok());
        // 90 days to the second pass; a second more does not.
        let ninety = good.replace("t=1767225000", &format!("t={}", e - 7_776_000));
        assert!(check(&signature(&ninety), SHA, NOW_MS).is_ok());
        let over = good.replace("t=1767225000", &format!("t={}", e - 7_776_001));
        assert_eq!(message(over), "signature: not an upload signature (its e - t is over 90 days)");
    }
}
