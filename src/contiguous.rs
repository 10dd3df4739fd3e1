//! MultipartUploadVodFile's parts: contiguous bytes, one part at a time, each where the server says
//! the next one starts. The first part (offset 0) is exactly 524288 bytes, or the whole file if it is
//! smaller; later parts are the chosen size (512 KiB–5 MiB), the last one shorter. A client resumes by
//! sending the first part again: a server that holds more answers with the offset it expects, and the
//! upload goes on from there.

use crate::answer::{Answer, HttpReply, JsonValue, PlatformJson};
use crate::error::{snippet, ErrorKind, Step, UploadError};
use crate::plan::Part;

/// The first part's size, fixed by the protocol.
pub const FIRST_PART: u64 = 524_288;
/// The sizes later parts may have (the last one may be shorter).
pub const PART_SIZES: std::ops::RangeInclusive<u64> = 524_288..=5_242_880;
pub const DEFAULT_PART_SIZE: u64 = 1_048_576;

/// The part that starts at `offset` of a file of `file_size` bytes cut into `part_size` pieces after
/// the first.
pub fn part_at(offset: u64, file_size: u64, part_size: u64) -> Part {
    let size = if offset == 0 { FIRST_PART } else { part_size };
    Part { offset, len: size.min(file_size - offset) }
}

/// What the server said to a part.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `flag 0`: the next part starts at this offset.
    Next(u64),
    /// `flag 1`: the file is complete (or was there already).
    Done { file_id: String, url: String },
}

/// Reads a MultipartUploadVodFile answer that had a code of success (`answer`, read from `reply`).
/// The offset is a string in the protocol; a number is accepted too.
pub fn read_answer(answer: &Answer, reply: &HttpReply) -> Result<Segment, UploadError> {
    let malformed = |reason: &str| {
        UploadError::new(Step::Part, ErrorKind::Malformed { reason: reason.to_string(), body: snippet(&reply.body, 200) })
    };
    let json = PlatformJson::parse(&reply.body).map_err(|e| malformed(&e))?;
    let number = |name: &str| {
        let value = json.field(name)?;
        value.as_string().and_then(|s| s.trim().parse::<u64>().ok()).or_else(|| value.as_f64().filter(|n| *n >= 0.0 && n.fract() == 0.0).map(|n| n as u64))
    };
    match number("flag") {
        Some(0) => number("offset").map(Segment::Next).ok_or_else(|| malformed("flag 0 without a usable offset")),
        Some(1) => match (&answer.file_id, &answer.url) {
            (Some(file_id), Some(url)) if !file_id.is_empty() => Ok(Segment::Done { file_id: file_id.clone(), url: url.clone() }),
            _ => Err(malformed("flag 1 without fileId and url")),
        },
        _ => Err(malformed("no flag 0 or 1")),
    }
}

/// Where the upload goes after the server named `next` for the part `sent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// The part was stored: this is the next one.
    Stored(Part),
    /// The server expects another offset (it holds more, or less): send this part instead.
    Moved(Part),
}

/// The next part, or why the answer cannot be followed. A server may move the upload once in a row
/// (`moved_before` says it just did): a second move means it took neither part, and the upload
/// would go round in circles.
pub fn follow(sent: Part, next: u64, file_size: u64, part_size: u64, moved_before: bool) -> Result<Follow, String> {
    if next >= file_size {
        return Err(format!("flag 0 names offset {next}, not inside the file of {file_size} bytes"));
    }
    let part = part_at(next, file_size, part_size);
    if next == sent.end() {
        Ok(Follow::Stored(part))
    } else if moved_before {
        Err(format!("the server named offset {next} for the part at {} it had just asked for", sent.offset))
    } else {
        Ok(Follow::Moved(part))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1_048_576;

    #[test]
    fn the_first_part_is_half_a_mebibyte_the_rest_the_chosen_size() {
        assert_eq!(part_at(0, 10 * MIB, 5 * MIB), Part { offset: 0, len: FIRST_PART });
        assert_eq!(part_at(0, 1000, MIB), Part { offset: 0, len: 1000 });
        assert_eq!(part_at(FIRST_PART, 10 * MIB, 5 * MIB), Part { offset: FIRST_PART, len: 5 * MIB });
        assert_eq!(part_at(9 * MIB, 10 * MIB, 5 * MIB), Part { offset: 9 * MIB, len: MIB });
    }

    fn ok(body: &str) -> HttpReply {
        HttpReply::new(200, body)
    }

    fn read(body: &str) -> Result<Segment, UploadError> {
        let reply = ok(body);
        read_answer(&crate::answer::read(Step::Part, &reply)?, &reply)
    }

    #[test]
    fn answers_name_the_next_offset_as_a_string_or_the_finished_file() {
        assert_eq!(read(r#"{"code":0,"message":"","flag":0,"offset":"524288"}"#).unwrap(), Segment::Next(524_288));
        assert_eq!(read(r#"{"code":0,"flag":"0","offset":1048576}"#).unwrap(), Segment::Next(MIB));
        assert_eq!(
            read(r#"{"code":0,"message":"","flag":1,"fileId":"5285890781763144364","url":"http://v/f0.mp4"}"#).unwrap(),
            Segment::Done { file_id: "5285890781763144364".into(), url: "http://v/f0.mp4".into() }
        );
        for bad in [r#"{"code":0,"flag":0}"#, r#"{"code":0,"flag":1,"url":"u"}"#, r#"{"code":0,"offset":"5"}"#, r#"{"code":0,"flag":0,"offset":"-1"}"#] {
            let e = read(bad).unwrap_err();
            assert!(matches!(e.kind, ErrorKind::Malformed { .. }), "{bad}: {e}");
        }
        let e = read(r#"{"code":-29200,"message":"sha1 mismatch"}"#).unwrap_err();
        assert_eq!((e.step, e.code()), (Step::Part, Some(-29200)));
    }

    #[test]
    fn parts_follow_the_server_and_a_second_move_in_a_row_fails() {
        let size = 3 * MIB;
        let first = part_at(0, size, MIB);
        assert_eq!(follow(first, FIRST_PART, size, MIB, false), Ok(Follow::Stored(Part { offset: FIRST_PART, len: MIB })));
        // Resuming: the server holds 2 MiB and says so to the first part sent again.
        let moved = follow(first, 2 * MIB, size, MIB, false).unwrap();
        assert_eq!(moved, Follow::Moved(Part { offset: 2 * MIB, len: MIB }));
        assert_eq!(follow(Part { offset: 2 * MIB, len: MIB }, 0, size, MIB, true).unwrap_err(), "the server named offset 0 for the part at 2097152 it had just asked for");
        assert!(follow(first, size, size, MIB, false).unwrap_err().contains("not inside the file"));
    }
}
