//! What becomes of a failed call: [`crate::retry::decide`] says, this carries it out.

use super::{Call, Command, Machine};
use crate::error::{ErrorKind, Step, UploadError};
use crate::retry::{self, Decision, Failure};
use crate::text::{cat, int};

impl Machine {
    /// The call at `index` failed with `error`. `rereadable`: it is a part that may be read again
    /// (not one read again already for this failure); `retry_after_ms`: the answer's `Retry-After`.
    pub(super) fn failed(&mut self, index: usize, error: UploadError, rereadable: bool, retry_after_ms: Option<u32>, random: f64) {
        let pending = &self.calls[index];
        let failure = Failure {
            error: &error,
            retries: pending.retries,
            paces: pending.paces,
            sent_with: pending.generation,
            current: self.signature.as_ref().map_or(0, |s| s.1),
            refreshing: self.refreshing,
            keyed: !self.flavour.needs_signature(),
            rereadable: rereadable && matches!(pending.call, Call::Part(..)),
            asked_again: self.asked_again,
            instant: self.instant.is_some(),
            retry_after_ms,
        };
        let id = pending.id;
        match retry::decide(&failure, self.options.retries, &self.options.backoff, random) {
            Decision::Resend => self.send(id),
            Decision::Wait(ms) => {
                self.calls[index].retries += 1;
                self.command(Command::Sleep(id, ms));
            }
            Decision::Pace(ms) => {
                self.calls[index].paces += 1;
                self.command(Command::Sleep(id, ms));
            }
            Decision::Refresh { ask } => {
                self.calls[index].parked = true;
                if ask {
                    self.ask_signature();
                }
            }
            Decision::Reread => self.read_again(index, error),
            Decision::AskInitAgain => self.ask_init_again(),
            Decision::Stored => self.stored(),
            Decision::Fail { .. } => self.fail(error),
        }
    }

    /// Reads the part of the call at `index` again, before it is sent again (see `reread`).
    fn read_again(&mut self, index: usize, error: UploadError) {
        let Call::Part(part, _) = self.calls[index].call else { return self.fail(error) };
        let read = self.id();
        self.calls[index].rereading = Some((read, error));
        self.command(Command::Read(read, part));
    }

    /// Drops every call and read under way (their answers are ignored) and asks InitUploadEx again.
    fn ask_init_again(&mut self) {
        self.asked_again = true;
        self.drop_under_way();
        self.unread.clear();
        self.instant = None;
        self.step = Step::Init;
        self.start(Call::Init);
    }

    /// The upload succeeds on InitUploadEx's code 2, without FinishUploadEx's proof.
    fn stored(&mut self) {
        let Some((file_id, url)) = self.instant.clone() else { return };
        self.commands.clear();
        self.drop_under_way();
        self.outcome = Some(Ok(self.result(file_id, url, None)));
    }

    /// A part the server found damaged, read again. Another MD5 than the one it was sent with means
    /// the file changed on disk under the upload (some browsers read the new bytes rather than
    /// refuse): a read error, at once. The same MD5 means the bytes were damaged on the way: the
    /// failure is decided again, as one that reading cannot mend.
    pub(super) fn reread(&mut self, index: usize, md5: String, random: f64) {
        let Some((_, error)) = self.calls[index].rereading.take() else { return };
        match &self.calls[index].call {
            Call::Part(part, sent) if *sent != md5 => {
                let offset = int(part.offset as i64);
                let why = cat(&["it changed on disk while it was uploaded (the part at offset ", &offset, " no longer has the MD5 it was sent with)"]);
                self.fail(UploadError::new(Step::Part, ErrorKind::Read(why)));
            }
            _ => self.failed(index, error, false, None, random),
        }
    }
}
