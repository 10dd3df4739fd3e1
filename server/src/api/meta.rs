//! What a key holder's call says of the file (InitUpload, MultipartUploadVodFile's first part),
//! read into the [`Meta`] kept with its session and then with the file.

use super::call::Params;
use crate::error::ApiError;
use crate::store::{Flavour, Meta};

/// A metadata field of a key holder's call, for the code its refusal gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    FileName,
    FileType,
    Transcode,
    Watermark,
    Screenshot,
    ClassId,
    Tag,
}

/// Tags a file may have.
const MAX_TAGS: usize = 10;
/// The longest tag, in bytes.
const MAX_TAG_BYTES: usize = 128;

/// What a key holder's call says of the file (InitUpload, MultipartUploadVodFile's first part):
/// `fileName`, `fileType`, the `is*` flags (0/1), `classId`, tags as `tags.N` (or `tag.N`), N 0–9.
/// `refuse` gives the error each field's fault is answered with.
pub(super) fn read_meta(p: &Params, flavour: Flavour, secret_id: &str, refuse: impl Fn(Field, String) -> ApiError) -> Result<Meta, ApiError> {
    let required = |field, name| p.get(name).ok_or_else(|| refuse(field, format!("the parameter {name:?} is missing")));
    let file_name = required(Field::FileName, "fileName")?;
    crate::sign::check_file_name(file_name).map_err(|m| refuse(Field::FileName, format!("fileName: {m}")))?;
    let file_type = required(Field::FileType, "fileType")?;
    crate::sign::check_file_type(file_type).map_err(|m| refuse(Field::FileType, format!("fileType: {m}")))?;
    let flag = |field, name| match p.map().get(name).map(String::as_str) {
        None | Some("0") => Ok(0),
        Some("1") => Ok(1),
        Some(v) => Err(refuse(field, format!("{name} must be 0 or 1, got {v:?}"))),
    };
    let (is_transcode, is_watermark, is_screenshot) =
        (flag(Field::Transcode, "isTranscode")?, flag(Field::Watermark, "isWatermark")?, flag(Field::Screenshot, "isScreenshot")?);
    let class_id = match p.get("classId") {
        None => None,
        Some(v) if v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit()) => v.parse().ok(),
        Some(v) => return Err(refuse(Field::ClassId, format!("classId must be a non-negative integer, got {v:?}"))),
    };
    let mut tags: Vec<(usize, &str)> = Vec::new();
    for (name, value) in p.map() {
        let Some(index) = name.strip_prefix("tags.").or_else(|| name.strip_prefix("tag.")) else { continue };
        let index = match index.parse::<usize>() {
            Ok(i) if i < MAX_TAGS && !index.starts_with('+') => i,
            _ => return Err(refuse(Field::Tag, format!("{name}: tags are tags.0 to tags.{}", MAX_TAGS - 1))),
        };
        if tags.iter().any(|(i, _)| *i == index) {
            return Err(refuse(Field::Tag, format!("tag {index} is given twice (as tags.{index} and tag.{index})")));
        }
        if value.is_empty() || value.len() > MAX_TAG_BYTES || value.chars().any(char::is_control) {
            return Err(refuse(Field::Tag, format!("{name} must be 1 to {MAX_TAG_BYTES} bytes without control characters")));
        }
        tags.push((index, value));
    }
    tags.sort_unstable();
    Ok(Meta {
        file_name: file_name.to_string(),
        file_type: file_type.to_ascii_lowercase(),
        class_id,
        tags: tags.into_iter().map(|(_, t)| t.to_string()).collect(),
        is_transcode,
        is_screenshot,
        is_watermark,
        uid: None,
        secret_id: secret_id.to_string(),
        flavour,
        notify_url: None,
    })
}
