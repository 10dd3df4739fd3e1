//! The signature's lifecycle: asked for once, checked before its first use, renewed ahead of its
//! expiry, refreshed once when the server refuses it; calls wait ("parked") while a new one comes.

use super::{Id, Machine};
use crate::error::{EnvError, ErrorKind, Step, UploadError};
use crate::signature;

/// A call is not sent with a signature that has less than this left: a new one is asked for first.
pub const RENEW_BEFORE_MS: f64 = 60_000.0;

/// The longest signature taken, in bytes. An upload signature is a few hundred (a 20-byte MAC and about
/// ten short fields, in Base64); this leaves room for long names, uids and ten tags, and keeps each
/// request's URL within the 8 KiB a server commonly accepts. A longer one is refused before any request.
pub const MAX_SIGNATURE_LEN: usize = 4096;

fn signature_error(kind: ErrorKind) -> UploadError {
    UploadError::new(Step::Signature, kind)
}

impl Machine {
    pub(super) fn ask_signature(&mut self) {
        self.refreshing = true;
        self.commands.push_back(super::Command::AskSignature);
    }

    pub(super) fn signed(&mut self, signature: Result<String, EnvError>) {
        let signature = match signature {
            Ok(s) if s.trim().len() > MAX_SIGNATURE_LEN => {
                let why = format!("it returned {} bytes, and a signature is at most {}", s.trim().len() as i64, MAX_SIGNATURE_LEN as i64);
                return self.fail(signature_error(ErrorKind::Signature(why)));
            }
            Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
            Ok(_) => return self.fail(signature_error(ErrorKind::Signature("it returned an empty signature".into()))),
            Err(EnvError::Aborted) => return self.fail(signature_error(ErrorKind::Aborted)),
            Err(EnvError::Failed(why) | EnvError::Unreadable(why)) => return self.fail(signature_error(ErrorKind::Signature(why))),
        };
        // Checked before its first use: no request carries a signature the server would refuse for
        // what it says in the clear.
        let signed = match signature::check(&signature, &self.file.sha, self.now_ms) {
            Ok(signed) => signed,
            Err(problem) => return self.fail(signature_error(ErrorKind::BadSignature(problem))),
        };
        self.renewable = !(self.renewing && signed.left_ms(self.now_ms) < RENEW_BEFORE_MS);
        self.renewing = false;
        self.signed = Some(signed);
        self.refreshing = false;
        match self.signature.take() {
            None => {
                self.signature = Some((signature, 0));
                self.begin();
            }
            Some((_, generation)) => {
                self.signature = Some((signature, generation + 1));
                let parked: Vec<Id> = self.calls.iter_mut().filter(|c| c.parked).map(|c| c.id).collect();
                for id in parked {
                    self.send(id);
                }
            }
        }
    }

    /// Holds call `id` (true) when the current signature has less than a minute left, and asks for a
    /// new one unless one is being asked for already.
    pub(super) fn hold_for_renewal(&mut self, id: Id) -> bool {
        let due = self.renewable && self.signed.as_ref().is_some_and(|s| s.left_ms(self.now_ms) < RENEW_BEFORE_MS);
        if !due {
            return false;
        }
        let Some(pending) = self.calls.iter_mut().find(|c| c.id == id) else { return true };
        pending.parked = true;
        if !self.refreshing {
            self.renewing = true;
            self.ask_signature();
        }
        true
    }
}
