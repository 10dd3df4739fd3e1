//! The parts of the UGC and server API flavours: planned from InitUploadEx's answer, read ahead
//! (their MD5 taken) and sent in file order over `concurrency` lanes, or as many as fit the link
//! ([`crate::adapt`]), their bytes counted as they leave.

use super::{Call, Command, Id, Machine};
use crate::answer::InitDecision;
use crate::error::{EnvError, ErrorKind, Step, UploadError};
use crate::adapt;
use crate::plan::{self, Part};
use crate::progress::{larger, smaller, Meter, Phase};

/// A part whose read was asked for, and its MD5 once read.
#[derive(Debug)]
pub(super) struct Read {
    id: Id,
    part: Part,
    md5: Option<String>,
}

impl Machine {
    pub(super) fn initialized(&mut self, decision: InitDecision) {
        let size = self.file.size;
        let (parts, held) = match decision {
            InitDecision::Fresh => {
                self.session_part = self.options.part_size;
                (plan::parts(size, self.options.part_size).collect(), 0)
            }
            InitDecision::Resume { part_size, held } => {
                self.session_part = part_size;
                plan::missing_parts(size, part_size, &held)
            }
            InitDecision::Instant { file_id, url } => {
                self.instant = Some((file_id, url));
                return self.finish();
            }
        };
        self.step = Step::Part;
        self.unread = parts.into();
        // Asked again, the meter goes on from where it was (progress never goes back), and the bytes
        // held from before this upload stay what the first answer said.
        if self.meter.is_none() {
            self.resumed_bytes = held;
            self.meter = Some(Meter::new(Phase::Uploading, size, held, self.now_ms));
        }
        self.report(Phase::Uploading, 0);
        self.schedule();
    }

    pub(super) fn read(&mut self, id: Id, md5: Result<String, EnvError>, random: f64) {
        let md5 = match md5 {
            Ok(md5) => md5,
            Err(EnvError::Aborted) => return self.abort(),
            Err(EnvError::Failed(why) | EnvError::Unreadable(why)) => return self.fail(UploadError::new(Step::Part, ErrorKind::Read(why))),
        };
        if let Some(index) = self.calls.iter().position(|c| c.rereading.as_ref().is_some_and(|(read, _)| *read == id)) {
            return self.reread(index, md5, random);
        }
        if let Some(read) = self.reads.iter_mut().find(|r| r.id == id) {
            read.md5 = Some(md5);
        }
        self.schedule();
    }

    /// The bytes the link carried since the last call leave the buffers of the connections with
    /// bytes on their way, in equal shares (a connection still waiting for its answer keeps its
    /// share, and so goes below 0: [`super::Pending::queued`]).
    fn drain(&mut self) {
        let carried = self.link.carried(self.now_ms);
        let connections = self.calls.iter().filter(|c| c.sent > 0).count() as f64;
        for call in self.calls.iter_mut().filter(|c| c.sent > 0) {
            call.queued -= carried / connections;
        }
    }

    /// `bytes` of call `id`'s body have left: progress (reported a few times a second at most), the
    /// link's speed, and maybe more lanes. The same bytes again (or 0) is time passing: progress
    /// moves on at the link's pace towards what the link can have carried
    /// ([`crate::progress::Meter::sending`]).
    pub(super) fn sending(&mut self, id: Id, bytes: u64) {
        let now_ms = self.now_ms;
        self.drain();
        let Some(pending) = self.calls.iter_mut().find(|c| c.id == id) else { return };
        let (Some(len), false) = (pending.call.body_len(), pending.parked) else { return };
        let bytes = bytes.min(len);
        // No more bytes (a tick, as time passes): progress may still move at the link's pace.
        let more = bytes > pending.sent;
        if more {
            self.link.moved(bytes - pending.sent, now_ms);
            // The browser hands bytes over as its connection's buffers have room: then they are
            // full, unless the body has all gone.
            let room = self.link.buffered();
            pending.queued = if bytes < len { room } else { smaller(larger(pending.queued, 0.0) + (bytes - pending.sent) as f64, room) };
            pending.sent = bytes;
        }
        let part = matches!(pending.call, Call::Part(..));
        let (in_flight, queued) = self.calls.iter().fold((0, 0.0), |(sent, queued), c| (sent + c.sent, queued + larger(c.queued, 0.0)));
        let (pace, room) = (self.link.pace(), self.link.buffered());
        if let Some(progress) = self.meter.as_mut().and_then(|meter| meter.sending(in_flight, pace, queued, room, now_ms)) {
            self.command(Command::Progress(progress));
        }
        if part && more {
            self.schedule();
        }
    }

    /// The parts to keep in flight: `concurrency`, or as many as fit the link's speed.
    fn lanes(&self) -> usize {
        let ceiling = self.options.concurrency.max(1);
        if self.options.adapt_lanes {
            adapt::lanes(self.link.rate(), self.session_part, ceiling, self.cut)
        } else {
            ceiling
        }
    }

    /// Fills free lanes with the parts that are read, in file order; keeps as many more reads asked
    /// for ahead; finishes when every part is acknowledged.
    pub(super) fn schedule(&mut self) {
        let (lanes, ceiling) = (self.lanes(), self.options.concurrency.max(1));
        // A part whose body has all left waits only for its answer: the next one may start (within
        // `concurrency` calls in all), so the link does not stand idle for a round trip between parts.
        let sending = |calls: &[super::Pending]| calls.iter().filter(|c| c.sent < c.call.body_len().unwrap_or(0)).count();
        while sending(&self.calls) < lanes && self.calls.len() < ceiling && self.reads.front().is_some_and(|r| r.md5.is_some()) {
            // The front read has its MD5 (no panic path: the wasm carries none).
            let Some(Read { part, md5: Some(md5), .. }) = self.reads.pop_front() else { break };
            self.start(Call::Part(part, md5));
        }
        while self.reads.len() < lanes {
            let Some(part) = self.unread.pop_front() else { break };
            let id = self.id();
            self.reads.push_back(Read { id, part, md5: None });
            self.command(Command::Read(id, part));
        }
        if self.calls.is_empty() && self.reads.is_empty() {
            self.finish();
        }
    }
}
