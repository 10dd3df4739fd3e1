//! MultipartUploadVodFile's parts in the machine: one at a time, each where the server says the next
//! one starts ([`crate::contiguous`] reads the answers and decides where to go).

use super::{Call, Machine};
use crate::answer::HttpReply;
use crate::contiguous::{self, Follow, Segment};
use crate::error::{snippet, ErrorKind, Step, UploadError};
use crate::plan::Part;
use crate::progress::{Meter, Phase};

impl Machine {
    /// The first part, at offset 0: there is no session to open first.
    pub(super) fn begin_segments(&mut self) {
        self.step = Step::Part;
        self.meter = Some(Meter::new(Phase::Uploading, self.file.size, 0, self.now_ms));
        self.start(Call::Segment(contiguous::part_at(0, self.file.size, self.options.part_size)));
    }

    /// A MultipartUploadVodFile part was answered: the file is complete, or the server names where
    /// the next part starts (the end of the part sent, or where it expects one instead: that is how
    /// a session resumes).
    pub(super) fn segment_answered(&mut self, sent: Part, segment: Segment, reply: &HttpReply) -> Result<(), UploadError> {
        let size = self.file.size;
        let next = match segment {
            Segment::Done { file_id, url } => {
                // Done before the last byte was sent: the server had the file already.
                if sent.end() < size {
                    self.instant = Some((file_id.clone(), url.clone()));
                } else {
                    self.uploaded_bytes += sent.len;
                }
                self.report(Phase::Finishing, size);
                self.outcome = Some(Ok(self.result(file_id, url, None)));
                return Ok(());
            }
            Segment::Next(next) => next,
        };
        let malformed = |reason| UploadError::new(Step::Part, ErrorKind::Malformed { reason, body: snippet(&reply.body, 200) });
        match contiguous::follow(sent, next, size, self.options.part_size, self.moved).map_err(malformed)? {
            Follow::Stored(part) => {
                self.moved = false;
                self.uploaded_bytes += sent.len;
                self.report(Phase::Uploading, sent.len);
                self.start(Call::Segment(part));
            }
            Follow::Moved(part) => {
                self.moved = true;
                // The first part, sent again, tells how much the server holds from an earlier upload.
                if sent.offset == 0 && self.uploaded_bytes == 0 {
                    self.resumed_bytes = next;
                    self.meter = Some(Meter::new(Phase::Uploading, size, next, self.now_ms));
                    self.report(Phase::Uploading, 0);
                }
                self.start(Call::Segment(part));
            }
        }
        Ok(())
    }
}
