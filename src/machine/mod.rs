//! The upload after hashing as a state machine without I/O: signature → InitUploadEx →
//! UploadPartEx × N (several at once) → FinishUploadEx, with retries, one signature refresh and
//! progress. The same machine drives the server API's flavours ([`Flavour`]): InitUpload / UploadPart
//! / FinishUpload with no signature step, and MultipartUploadVodFile, whose parts go one at a time
//! where the server says ([`crate::contiguous`]).
//!
//! The machine is handed what happened ([`Event`]) and says what to do next ([`Command`]): ask the
//! app's backend for a signature, send a request, read a part and take its MD5, wait before a retry,
//! report progress. It never waits itself, so a test steps it in microseconds, and each platform
//! drives it with its own I/O (on native platforms, [`crate::driver::upload`] over an `Env`).
//!
//! Every operation the machine starts carries an id, and its event carries the same id back; events
//! for operations the machine no longer waits on are ignored.
//!
//! This module holds the state and dispatches events; each job has a file of its own: the
//! signature's lifecycle (`signing`), what becomes of a failed call (`failure`), the lanes of parts
//! and their read-ahead (`lanes`), and MultipartUploadVodFile's contiguous parts (`multipart`).

use std::collections::VecDeque;

use crate::answer::{self, Answer, HttpReply};
use crate::error::{EnvError, ErrorKind, Step, UploadError};
use crate::file::FileInfo;
use crate::flavour::Flavour;
use crate::options::Options;
use crate::outcome::UploadResult;
use crate::plan::Part;
use crate::progress::{Meter, Phase, Progress};
use crate::request::{self, Request};
use crate::retry;
use crate::text::cat;

mod failure;
mod lanes;
#[cfg(feature = "keyed")]
mod multipart;
mod signing;
#[cfg(test)]
mod tests;

pub use signing::{MAX_SIGNATURE_LEN, RENEW_BEFORE_MS};

/// Which operation an event answers.
pub type Id = u32;

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Ask the app's backend for this file's signature; answer with [`Event::Signature`]. At most one
    /// is asked at a time.
    AskSignature,
    /// Send `request` (for UploadPartEx, `request.part` is set and the body is that range of the
    /// file); answer with [`Event::Reply`].
    Send(Id, Request),
    /// Read this part of the file and take its MD5; answer with [`Event::Read`]. Parts are asked for
    /// ahead of sending them, so their bytes are there when a lane frees up; a part the server found
    /// damaged is read again before it is sent again.
    Read(Id, Part),
    /// Wait this many milliseconds before a retry; answer with [`Event::Woke`].
    Sleep(Id, u32),
    Progress(Progress),
}

/// What happened to an operation the machine asked for. `Err(Aborted)` means the upload was
/// aborted; `Err(Failed)` says why the operation could not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Signature(Result<String, EnvError>),
    /// A request's HTTP answer; `Failed` means no answer came (network error, timeout), `Unreadable`
    /// that the part's body could not be read from the file.
    Reply(Id, Result<HttpReply, EnvError>),
    /// A part's MD5, lowercase hex ([`crate::hash::md5_hex`]); a part shorter than asked (the file
    /// changed) is `Failed`.
    Read(Id, Result<String, EnvError>),
    Woke(Id, Result<(), EnvError>),
    /// This many bytes of request `id`'s body have left so far (where the platform can tell, as they
    /// go): progress within a part, and the link's speed (`Options::adapt_lanes`).
    Sending(Id, u64),
}

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Init,
    Part(Part, String),
    Finish,
    /// A MultipartUploadVodFile part.
    #[cfg(feature = "keyed")]
    Segment(Part),
}

impl Call {
    /// The length of the call's body, for a call that sends part of the file.
    fn body_len(&self) -> Option<u64> {
        match self {
            Call::Part(part, _) => Some(part.len),
            #[cfg(feature = "keyed")]
            Call::Segment(part) => Some(part.len),
            Call::Init | Call::Finish => None,
        }
    }

    fn step(&self) -> Step {
        match self {
            Call::Init => Step::Init,
            Call::Part(..) => Step::Part,
            Call::Finish => Step::Finish,
            #[cfg(feature = "keyed")]
            Call::Segment(_) => Step::Part,
        }
    }
}

/// A call in progress, with what the retry decision ([`crate::retry::decide`]) needs to know of it.
#[derive(Debug)]
struct Pending {
    id: Id,
    call: Call,
    sends: u32,
    retries: u32,
    /// Rate limits waited out (they spend no retry).
    paces: u32,
    /// The signature generation it was last sent with.
    generation: u32,
    /// Waiting for the refreshed signature.
    parked: bool,
    /// A part the server found damaged (−10006) is being read again, before it is sent again: the
    /// read's id, and the server's error.
    rereading: Option<(Id, UploadError)>,
    /// Bytes of its body that have left in this send ([`Event::Sending`]).
    sent: u64,
    /// How many of them its connection's buffers still hold, as far as the link's speed tells
    /// (below 0: the link would have carried that many more by now).
    queued: f64,
}

#[derive(Debug)]
pub struct Machine {
    file: FileInfo,
    options: Options,
    flavour: Flavour,
    /// The server just named another offset than the end of the part sent (contiguous flavour).
    #[cfg(feature = "keyed")]
    moved: bool,
    /// The signature and its generation (0 first, 1 after the one refresh).
    signature: Option<(String, u32)>,
    /// What the current signature says (checked when it came).
    signed: Option<crate::signature::Signed>,
    /// Whether the current signature is renewed when it has less than [`RENEW_BEFORE_MS`] left (not
    /// one that came as a renewal with less than that already: it is used as it is).
    renewable: bool,
    /// The signature asked for is a renewal before expiry.
    renewing: bool,
    refreshing: bool,
    /// The time of the event being handled, Unix milliseconds: taken once per event.
    now_ms: f64,
    step: Step,
    next_id: Id,
    calls: Vec<Pending>,
    /// Parts not yet asked for, in file order.
    unread: VecDeque<Part>,
    /// Parts asked for and not yet sent, in file order.
    reads: VecDeque<lanes::Read>,
    meter: Option<Meter>,
    resumed_bytes: u64,
    uploaded_bytes: u64,
    /// InitUploadEx found the file already stored: its `fileId` and `url`.
    instant: Option<(String, String)>,
    /// InitUploadEx was asked once more after a call found no session.
    asked_again: bool,
    commands: VecDeque<Command>,
    outcome: Option<Result<UploadResult, UploadError>>,
    /// The bytes of parts that moved, over time: the link's speed.
    link: crate::adapt::Link,
    /// The part size of the session (the server's, when it resumed one).
    session_part: u64,
    /// A part's connection failed without an answer (cut, stalled): fewer lanes from then on.
    cut: bool,
}

impl Machine {
    /// A machine for uploading a hashed file through the UGC calls; its first command asks for the
    /// signature.
    pub fn new(file: FileInfo, options: Options) -> Machine {
        Machine::with_flavour(file, options, Flavour::Ugc)
    }

    /// A machine for uploading a hashed file in `flavour`: the UGC flavour asks for the signature
    /// first, the key flavours start with their first call.
    pub fn with_flavour(file: FileInfo, options: Options, flavour: Flavour) -> Machine {
        let mut machine = Machine {
            file,
            options,
            flavour,
            #[cfg(feature = "keyed")]
            moved: false,
            signature: None,
            signed: None,
            renewable: true,
            renewing: false,
            refreshing: false,
            now_ms: 0.0,
            step: Step::Signature,
            next_id: 0,
            calls: Vec::new(),
            unread: VecDeque::new(),
            reads: VecDeque::new(),
            meter: None,
            resumed_bytes: 0,
            uploaded_bytes: 0,
            instant: None,
            asked_again: false,
            commands: VecDeque::new(),
            outcome: None,
            link: crate::adapt::Link::new(),
            session_part: 0,
            cut: false,
        };
        if machine.file.size == 0 {
            machine.fail(UploadError::new(Step::Hash, ErrorKind::EmptyFile));
        } else if machine.flavour.needs_signature() {
            machine.ask_signature();
        } else {
            // The sender signs each request with the key: no signature to ask for.
            machine.signature = Some((String::new(), 0));
            machine.begin();
        }
        machine
    }

    /// The next thing to do, in order; none once the outcome is known.
    pub fn next_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// The result, once there is one (then the machine asks for nothing more).
    pub fn take_outcome(&mut self) -> Option<Result<UploadResult, UploadError>> {
        self.outcome.take()
    }

    pub fn file(&self) -> &FileInfo {
        &self.file
    }

    /// The upload was aborted: it fails at once, at the step it was in.
    pub fn abort(&mut self) {
        self.fail(UploadError::new(self.step, ErrorKind::Aborted));
    }

    /// An operation completed at `now_ms`; `random` in [0, 1) is the jitter for a retry's backoff.
    pub fn handle(&mut self, event: Event, now_ms: f64, random: f64) {
        if self.outcome.is_some() {
            return;
        }
        self.now_ms = now_ms;
        match event {
            Event::Signature(signature) => self.signed(signature),
            Event::Reply(id, reply) => self.replied(id, reply, random),
            Event::Read(id, md5) => self.read(id, md5, random),
            Event::Woke(id, woke) => match woke {
                Ok(()) => self.send(id),
                Err(_) => self.abort(),
            },
            Event::Sending(id, bytes) => self.sending(id, bytes),
        }
    }

    /// Queues a command. Not inlined: the queue's growth code would be copied into every caller.
    #[inline(never)]
    fn command(&mut self, command: Command) {
        self.commands.push_back(command);
    }

    /// What a key flavour says of the file (the UGC flavour's signature says it instead).
    fn meta(&self) -> &crate::flavour::Meta {
        #[cfg(feature = "keyed")]
        return &self.options.meta;
        #[cfg(not(feature = "keyed"))]
        {
            static NONE: crate::flavour::Meta = crate::flavour::Meta::NONE;
            &NONE
        }
    }

    /// Forgets every call and read under way: their answers will be ignored.
    #[inline(never)]
    fn drop_under_way(&mut self) {
        self.calls.clear();
        self.reads.clear();
    }

    fn id(&mut self) -> Id {
        self.next_id += 1;
        self.next_id
    }

    // Not inlined: a cold path called from every job's file, once each.
    #[inline(never)]
    fn fail(&mut self, error: UploadError) {
        if self.outcome.is_some() {
            return;
        }
        self.commands.clear();
        self.drop_under_way();
        #[cfg(feature = "keyed")]
        let error = UploadError { action: self.flavour.action(error.step).filter(|_| !self.flavour.needs_signature()), ..error };
        // After code 2, FinishUploadEx is asked only for `verify_content` (one it cannot reach leaves
        // the code 2 standing: `retry::Decision::Stored`). A refusal contradicts the code 2: the
        // upload fails, and says so.
        self.outcome = Some(Err(match &self.instant {
            Some((file_id, _)) if error.step == Step::Finish && !error.is_abort() => {
                let note = cat(&["after InitUploadEx had answered code 2: file ", file_id, " already stored"]);
                error.with_note(note)
            }
            _ => error,
        }));
    }

    fn result(&self, file_id: String, url: String, verify_content: Option<String>) -> UploadResult {
        UploadResult {
            file_id,
            url,
            file_sha: self.file.sha.clone(),
            // Found stored, with nothing sent by this upload (InitUploadEx asked again may find the
            // file another upload finished, after this one sent parts of it).
            instant: self.instant.is_some() && self.uploaded_bytes == 0,
            resumed_bytes: self.resumed_bytes,
            uploaded_bytes: self.uploaded_bytes,
            verify_content,
        }
    }

    /// The first call, once the requests can be authenticated.
    fn begin(&mut self) {
        #[cfg(feature = "keyed")]
        if self.flavour.is_contiguous() {
            return self.begin_segments();
        }
        self.step = Step::Init;
        self.start(Call::Init);
    }

    fn start(&mut self, call: Call) {
        let id = self.id();
        self.calls.push(Pending { id, call, sends: 0, retries: 0, paces: 0, generation: 0, parked: false, rereading: None, sent: 0, queued: 0.0 });
        self.send(id);
    }

    /// Sends call `id` (again) with the current signature; or, when that is due for renewal, holds
    /// the call until a new one comes.
    fn send(&mut self, id: Id) {
        // Calls start once signed.
        let Some((signature, generation)) = self.signature.clone() else { return };
        if self.hold_for_renewal(id) {
            return;
        }
        let Some(pending) = self.calls.iter_mut().find(|c| c.id == id) else { return };
        pending.sends += 1;
        pending.generation = generation;
        pending.parked = false;
        (pending.sent, pending.queued) = (0, 0.0);
        if pending.call.body_len().is_some() {
            self.link.moved(0, self.now_ms); // the link's time counts from a part's start
        }
        let (endpoint, flavour, sha) = (&self.options.endpoint, self.flavour, &self.file.sha);
        let request = match &pending.call {
            Call::Init => request::init(endpoint, flavour, &self.file, self.meta(), self.options.part_size, &signature),
            Call::Part(part, md5) => request::part(endpoint, flavour, sha, *part, md5, &signature),
            Call::Finish => request::finish(endpoint, flavour, sha, &signature),
            #[cfg(feature = "keyed")]
            Call::Segment(part) => request::segment(endpoint, flavour, &self.file, &self.options.meta, *part),
        };
        self.command(Command::Send(id, request));
    }

    fn replied(&mut self, id: Id, reply: Result<HttpReply, EnvError>, random: f64) {
        let Some(index) = self.calls.iter().position(|c| c.id == id) else { return };
        let (step, sends) = (self.calls[index].call.step(), self.calls[index].sends);
        let retry_after_ms = reply.as_ref().ok().and_then(|r| r.retry_after.as_deref()).and_then(retry::retry_after_ms);
        let outcome = match reply {
            Ok(reply) => answer::read(step, &reply).map(|answer| (answer, reply)),
            Err(EnvError::Aborted) => return self.fail(UploadError::new(step, ErrorKind::Aborted)),
            Err(EnvError::Failed(why)) => Err(UploadError::new(step, ErrorKind::Network(why))),
            Err(EnvError::Unreadable(why)) => Err(UploadError::new(step, ErrorKind::Read(why))),
        };
        match outcome {
            Ok((answer, reply)) => {
                let pending = self.calls.swap_remove(index);
                // Bytes the platform did not report leaving count as they are acknowledged.
                if let Some(len) = pending.call.body_len() {
                    self.link.moved(len.saturating_sub(pending.sent), self.now_ms);
                    // Its last bytes filled its buffers (the part is longer than they are): what
                    // they still held by then tells what they hold.
                    if pending.sent == len && len as f64 > self.link.buffered() {
                        self.link.answered(pending.queued);
                    }
                }
                self.completed(pending.call, answer, &reply);
            }
            Err(error) => {
                // What left of the body is lost: progress holds until the bytes sent again pass it.
                self.cut |= self.calls[index].call.body_len().is_some() && matches!(error.kind, ErrorKind::Network(_));
                (self.calls[index].sent, self.calls[index].queued) = (0, 0.0);
                self.failed(index, error.with_attempts(sends), true, retry_after_ms, random);
            }
        }
    }

    /// A call's answer had a code of success; the step's own checks decide what it means.
    fn completed(&mut self, call: Call, answer: Answer, reply: &HttpReply) {
        let checked = match call {
            Call::Init => answer::decide_init(answer, reply).map(|decision| self.initialized(decision)),
            // Code 0 is all `answer::read` lets through for a part: it is stored.
            Call::Part(part, _) => {
                self.uploaded_bytes += part.len;
                self.report(Phase::Uploading, part.len);
                self.schedule();
                Ok(())
            }
            Call::Finish => answer::decide_finished(answer, reply).map(|done| {
                self.outcome = Some(Ok(self.result(done.file_id, done.url, done.verify_content)));
            }),
            #[cfg(feature = "keyed")]
            Call::Segment(part) => crate::contiguous::read_answer(&answer, reply).and_then(|segment| self.segment_answered(part, segment, reply)),
        };
        if let Err(error) = checked {
            self.fail(error);
        }
    }

    fn finish(&mut self) {
        self.step = Step::Finish;
        self.report(Phase::Finishing, self.file.size);
        self.start(Call::Finish);
    }

    /// The bytes of the calls in flight that have left.
    fn in_flight(&self) -> u64 {
        self.calls.iter().map(|c| c.sent).sum()
    }

    /// Moves the meter on by `bytes` and reports; `Finishing` reports the whole file done.
    #[inline(never)] // many callers: once in the wasm
    fn report(&mut self, phase: Phase, bytes: u64) {
        let (now_ms, in_flight) = (self.now_ms, self.in_flight());
        let progress = match (phase, self.meter.as_mut()) {
            (Phase::Uploading, Some(meter)) => {
                meter.set_in_flight(in_flight);
                meter.advance(bytes, now_ms)
            }
            _ => Meter::new(phase, self.file.size, bytes, now_ms).progress(),
        };
        self.command(Command::Progress(progress));
    }
}
