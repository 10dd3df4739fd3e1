//! What becomes of a failed call: the retry decision ([`crate::retry::decide`]) carried out.

use super::{Call, Command, Machine};
use crate::error::{ErrorKind, Step, UploadError};
use crate::retry::{self, Decision, Failure};

/// The code of a part or finish call that found no upload session (never opened, or finished).
const NO_SESSION: i64 = -10005;

/// The code of a part whose body's MD5 is not its `dataMd5`.
const PART_DAMAGED: i64 = -10006;

impl Machine {
    /// The call at `index` failed with `error`.
    pub(super) fn failed(&mut self, index: usize, error: UploadError, random: f64) {
        // A key the server refuses is refused for good: there is no signature to refresh.
        if !self.flavour.needs_signature() && error.code() == Some(retry::SIGNATURE_REFUSED) {
            return self.fail(error);
        }
        if self.no_session(&error) {
            return self.ask_init_again();
        }
        // A damaged part is read again before the retry decision (see `reread`).
        if let (Call::Part(part, _), Some(PART_DAMAGED)) = (&self.calls[index].call, error.code()) {
            let part = *part;
            let read = self.id();
            self.calls[index].rereading = Some((read, error));
            return self.commands.push_back(Command::Read(read, part));
        }
        self.retry(index, error, random);
    }

    /// The retry decision for the call at `index`, which failed with `error`, carried out.
    pub(super) fn retry(&mut self, index: usize, error: UploadError, random: f64) {
        let super::Pending { id, retries, generation: sent_with, .. } = self.calls[index];
        let failure = Failure {
            error: &error,
            retries,
            sent_with,
            current: self.signature.as_ref().map_or(0, |s| s.1),
            refreshing: self.refreshing,
        };
        match retry::decide(&failure, self.options.retries, &self.options.backoff, random) {
            Decision::Resend => self.send(id),
            Decision::Wait(ms) => {
                self.calls[index].retries += 1;
                self.commands.push_back(Command::Sleep(id, ms));
            }
            Decision::Refresh { ask } => {
                self.calls[index].parked = true;
                if ask {
                    self.ask_signature();
                }
            }
            Decision::Fail => self.fail(error),
        }
    }

    /// A part or finish call found no session (−10005, canRetry 0): another upload of the same file
    /// may have finished it (InitUploadEx then answers code 2), or it was dropped (code 0 or 1: the
    /// parts the server lacks are sent again). InitUploadEx is asked once more per upload; a second
    /// such answer fails the upload.
    fn no_session(&self, error: &UploadError) -> bool {
        let no_session = matches!(error.kind, ErrorKind::Server { code: NO_SESSION, can_retry: false, .. });
        no_session && matches!(error.step, Step::Part | Step::Finish) && !self.asked_again
    }

    /// Drops every call and read under way (their answers are ignored) and asks InitUploadEx again.
    fn ask_init_again(&mut self) {
        self.asked_again = true;
        self.calls.clear();
        self.reads.clear();
        self.unread.clear();
        self.instant = None;
        self.step = Step::Init;
        self.start(Call::Init);
    }

    /// A part the server found damaged, read again. Another MD5 than the one it was sent with means
    /// the file changed on disk under the upload (some browsers read the new bytes rather than
    /// refuse): a read error, at once. The same MD5 means the bytes were damaged on the way: the part
    /// is sent again as any transient failure is.
    pub(super) fn reread(&mut self, index: usize, md5: String, random: f64) {
        let (_, error) = self.calls[index].rereading.take().expect("the call was being read again");
        match &self.calls[index].call {
            Call::Part(part, sent) if *sent != md5 => {
                let why = format!("it changed on disk while it was uploaded (the part at offset {} no longer has the MD5 it was sent with)", part.offset as i64);
                self.fail(UploadError::new(Step::Part, ErrorKind::Read(why)));
            }
            _ => self.retry(index, error, random),
        }
    }
}
