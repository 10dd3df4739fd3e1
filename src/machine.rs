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

use std::collections::VecDeque;

use crate::answer::{self, Answer, HttpReply, InitDecision};
#[cfg(feature = "native")]
use crate::contiguous::{self, Follow, Segment};
use crate::error::{EnvError, ErrorKind, Step, UploadError};
use crate::file::FileInfo;
use crate::flavour::Flavour;
use crate::options::Options;
use crate::outcome::UploadResult;
use crate::plan::{self, Part};
use crate::progress::{Meter, Phase, Progress};
use crate::request::{self, Request};
use crate::retry::{self, Decision, Failure};
use crate::signature::{self, Signed};

/// A call is not sent with a signature that has less than this left: a new one is asked for first.
pub const RENEW_BEFORE_MS: f64 = 60_000.0;

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
}

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Init,
    Part(Part, String),
    Finish,
    /// A MultipartUploadVodFile part.
    #[cfg(feature = "native")]
    Segment(Part),
}

impl Call {
    fn step(&self) -> Step {
        match self {
            Call::Init => Step::Init,
            Call::Part(..) => Step::Part,
            Call::Finish => Step::Finish,
            #[cfg(feature = "native")]
            Call::Segment(_) => Step::Part,
        }
    }
}

/// A call in progress, with what the retry decision ([`retry::decide`]) needs to know of it.
#[derive(Debug)]
struct Pending {
    id: Id,
    call: Call,
    sends: u32,
    retries: u32,
    /// The signature generation it was last sent with.
    generation: u32,
    /// Waiting for the refreshed signature.
    parked: bool,
    /// A part the server found damaged (−10006) is being read again, before it is sent again: the
    /// read's id, and the server's error.
    rereading: Option<(Id, UploadError)>,
}

/// A part whose read was asked for, and its MD5 once read.
#[derive(Debug)]
struct Read {
    id: Id,
    part: Part,
    md5: Option<String>,
}

#[derive(Debug)]
pub struct Machine {
    file: FileInfo,
    options: Options,
    flavour: Flavour,
    /// The server just named another offset than the end of the part sent (contiguous flavour).
    #[cfg(feature = "native")]
    moved: bool,
    /// The signature and its generation (0 first, 1 after the one refresh).
    signature: Option<(String, u32)>,
    /// What the current signature says (checked when it came).
    signed: Option<Signed>,
    /// Whether the current signature is renewed when it has less than [`RENEW_BEFORE_MS`] left (not
    /// one that came as a renewal with less than that already: it is used as it is).
    renewable: bool,
    /// The signature asked for is a renewal before expiry.
    renewing: bool,
    refreshing: bool,
    /// The time of the event being handled, Unix milliseconds.
    now_ms: f64,
    step: Step,
    next_id: Id,
    calls: Vec<Pending>,
    /// Parts not yet asked for, in file order.
    unread: VecDeque<Part>,
    /// Parts asked for and not yet sent, in file order.
    reads: VecDeque<Read>,
    meter: Option<Meter>,
    resumed_bytes: u64,
    uploaded_bytes: u64,
    /// InitUploadEx found the file already stored: its `fileId` and `url`.
    instant: Option<(String, String)>,
    /// InitUploadEx was asked once more after a call found no session (see [`Machine::no_session`]).
    asked_again: bool,
    commands: VecDeque<Command>,
    outcome: Option<Result<UploadResult, UploadError>>,
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
            #[cfg(feature = "native")]
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
            Event::Reply(id, reply) => self.replied(id, reply, now_ms, random),
            Event::Read(id, md5) => self.read(id, md5, now_ms, random),
            Event::Woke(id, woke) => match woke {
                Ok(()) => self.send(id),
                Err(_) => self.abort(),
            },
        }
    }

    fn id(&mut self) -> Id {
        self.next_id += 1;
        self.next_id
    }

    fn fail(&mut self, error: UploadError) {
        if self.outcome.is_some() {
            return;
        }
        self.commands.clear();
        self.calls.clear();
        self.reads.clear();
        // After code 2, FinishUploadEx is asked only for `verify_content`. If it could not be reached
        // (transient failures, every retry spent), the code-2 answer stands, without that proof. A
        // refusal contradicts the code 2: the upload fails, and says so.
        self.outcome = Some(match self.instant.clone() {
            Some((file_id, url)) if error.step == Step::Finish && error.is_transient() => Ok(self.result(file_id, url, None)),
            Some((file_id, _)) if error.step == Step::Finish && !error.is_abort() => {
                Err(error.with_note(format!("after InitUploadEx had answered code 2: file {file_id} already stored")))
            }
            _ => Err(error),
        });
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

    fn ask_signature(&mut self) {
        self.refreshing = true;
        self.commands.push_back(Command::AskSignature);
    }

    fn signed(&mut self, signature: Result<String, EnvError>) {
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

    /// The first call, once the requests can be authenticated.
    fn begin(&mut self) {
        #[cfg(feature = "native")]
        if self.flavour.is_contiguous() {
            self.step = Step::Part;
            self.meter = Some(Meter::new(Phase::Uploading, self.file.size, 0, 0.0));
            return self.start(Call::Segment(contiguous::part_at(0, self.file.size, self.options.part_size)));
        }
        self.step = Step::Init;
        self.start(Call::Init);
    }

    fn start(&mut self, call: Call) {
        let id = self.id();
        self.calls.push(Pending { id, call, sends: 0, retries: 0, generation: 0, parked: false, rereading: None });
        self.send(id);
    }

    /// Sends call `id` (again) with the current signature; or, when that has less than a minute left,
    /// holds the call until a new one comes.
    fn send(&mut self, id: Id) {
        let (signature, generation) = self.signature.clone().expect("calls start once signed");
        let Some(pending) = self.calls.iter_mut().find(|c| c.id == id) else { return };
        let due = self.renewable && self.signed.as_ref().is_some_and(|s| s.left_ms(self.now_ms) < RENEW_BEFORE_MS);
        if due {
            pending.parked = true;
            if !self.refreshing {
                self.renewing = true;
                self.ask_signature();
            }
            return;
        }
        pending.sends += 1;
        pending.generation = generation;
        pending.parked = false;
        let (endpoint, flavour, sha) = (&self.options.endpoint, &self.flavour, &self.file.sha);
        let request = match &pending.call {
            Call::Init => request::init(endpoint, flavour, &self.file, self.options.part_size, &signature),
            Call::Part(part, md5) => request::part(endpoint, flavour, sha, *part, md5, &signature),
            Call::Finish => request::finish(endpoint, flavour, sha, &signature),
            #[cfg(feature = "native")]
            Call::Segment(part) => request::segment(endpoint, flavour, &self.file, *part),
        };
        self.commands.push_back(Command::Send(id, request));
    }

    fn replied(&mut self, id: Id, reply: Result<HttpReply, EnvError>, now_ms: f64, random: f64) {
        let Some(index) = self.calls.iter().position(|c| c.id == id) else { return };
        let (step, sends) = (self.calls[index].call.step(), self.calls[index].sends);
        let outcome = match reply {
            Ok(reply) => answer::read(step, &reply).map(|answer| (answer, reply)),
            Err(EnvError::Aborted) => return self.fail(UploadError::new(step, ErrorKind::Aborted)),
            Err(EnvError::Failed(why)) => Err(UploadError::new(step, ErrorKind::Network(why))),
            Err(EnvError::Unreadable(why)) => Err(UploadError::new(step, ErrorKind::Read(why))),
        };
        let error = match outcome {
            Ok((answer, reply)) => {
                let pending = self.calls.swap_remove(index);
                return self.completed(pending.call, answer, &reply, now_ms);
            }
            Err(error) => error.with_attempts(sends),
        };
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
    fn retry(&mut self, index: usize, error: UploadError, random: f64) {
        let Pending { id, retries, generation: sent_with, .. } = self.calls[index];
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

    /// A call's answer had a code of success; the step's own checks decide what it means.
    fn completed(&mut self, call: Call, answer: Answer, reply: &HttpReply, now_ms: f64) {
        let checked = match call {
            Call::Init => answer::decide_init(answer, reply).map(|decision| self.initialized(decision, now_ms)),
            // Code 0 is all `answer::read` lets through for a part: it is stored.
            Call::Part(part, _) => {
                self.uploaded_bytes += part.len;
                self.report(Phase::Uploading, part.len, now_ms);
                self.schedule(now_ms);
                Ok(())
            }
            Call::Finish => answer::decide_finished(answer, reply).map(|done| {
                self.outcome = Some(Ok(self.result(done.file_id, done.url, done.verify_content)));
            }),
            #[cfg(feature = "native")]
            Call::Segment(part) => contiguous::read_answer(&answer, reply).and_then(|segment| self.segment_answered(part, segment, reply, now_ms)),
        };
        if let Err(error) = checked {
            self.fail(error);
        }
    }

    /// A MultipartUploadVodFile part was answered: the file is complete, or the server names where
    /// the next part starts (the end of the part sent, or where it expects one instead: that is how
    /// a session resumes).
    #[cfg(feature = "native")]
    fn segment_answered(&mut self, sent: Part, segment: Segment, reply: &HttpReply, now_ms: f64) -> Result<(), UploadError> {
        let size = self.file.size;
        let next = match segment {
            Segment::Done { file_id, url } => {
                // Done before the last byte was sent: the server had the file already.
                if sent.end() < size {
                    self.instant = Some((file_id.clone(), url.clone()));
                } else {
                    self.uploaded_bytes += sent.len;
                }
                self.report(Phase::Finishing, size, now_ms);
                self.outcome = Some(Ok(self.result(file_id, url, None)));
                return Ok(());
            }
            Segment::Next(next) => next,
        };
        let malformed = |reason| UploadError::new(Step::Part, ErrorKind::Malformed { reason, body: crate::error::snippet(&reply.body, 200) });
        match contiguous::follow(sent, next, size, self.options.part_size, self.moved).map_err(malformed)? {
            Follow::Stored(part) => {
                self.moved = false;
                self.uploaded_bytes += sent.len;
                self.report(Phase::Uploading, sent.len, now_ms);
                self.start(Call::Segment(part));
            }
            Follow::Moved(part) => {
                self.moved = true;
                // The first part, sent again, tells how much the server holds from an earlier upload.
                if sent.offset == 0 && self.uploaded_bytes == 0 {
                    self.resumed_bytes = next;
                    self.meter = Some(Meter::new(Phase::Uploading, size, next, now_ms));
                    self.report(Phase::Uploading, 0, now_ms);
                }
                self.start(Call::Segment(part));
            }
        }
        Ok(())
    }

    fn initialized(&mut self, decision: InitDecision, now_ms: f64) {
        let size = self.file.size;
        let (parts, held) = match decision {
            InitDecision::Fresh => (plan::parts(size, self.options.part_size).collect(), 0),
            InitDecision::Resume { part_size, held } => plan::missing_parts(size, part_size, &held),
            InitDecision::Instant { file_id, url } => {
                self.instant = Some((file_id, url));
                return self.finish(now_ms);
            }
        };
        self.step = Step::Part;
        self.unread = parts.into();
        // Asked again, the meter goes on from where it was (progress never goes back), and the bytes
        // held from before this upload stay what the first answer said.
        if self.meter.is_none() {
            self.resumed_bytes = held;
            self.meter = Some(Meter::new(Phase::Uploading, size, held, now_ms));
        }
        self.report(Phase::Uploading, 0, now_ms);
        self.schedule(now_ms);
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

    fn read(&mut self, id: Id, md5: Result<String, EnvError>, now_ms: f64, random: f64) {
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
        self.schedule(now_ms);
    }

    /// A part the server found damaged, read again. Another MD5 than the one it was sent with means
    /// the file changed on disk under the upload (some browsers read the new bytes rather than
    /// refuse): a read error, at once. The same MD5 means the bytes were damaged on the way: the part
    /// is sent again as any transient failure is.
    fn reread(&mut self, index: usize, md5: String, random: f64) {
        let (_, error) = self.calls[index].rereading.take().expect("the call was being read again");
        match &self.calls[index].call {
            Call::Part(part, sent) if *sent != md5 => {
                let why = format!("it changed on disk while it was uploaded (the part at offset {} no longer has the MD5 it was sent with)", part.offset as i64);
                self.fail(UploadError::new(Step::Part, ErrorKind::Read(why)));
            }
            _ => self.retry(index, error, random),
        }
    }

    /// Fills free lanes with the parts that are read, in file order; keeps `concurrency` more reads
    /// asked for ahead; finishes when every part is acknowledged.
    fn schedule(&mut self, now_ms: f64) {
        let lanes = self.options.concurrency.max(1);
        while self.calls.len() < lanes && self.reads.front().is_some_and(|r| r.md5.is_some()) {
            let read = self.reads.pop_front().expect("a read is at the front");
            self.start(Call::Part(read.part, read.md5.expect("the front read has its MD5")));
        }
        while self.reads.len() < lanes {
            let Some(part) = self.unread.pop_front() else { break };
            let id = self.id();
            self.reads.push_back(Read { id, part, md5: None });
            self.commands.push_back(Command::Read(id, part));
        }
        if self.calls.is_empty() && self.reads.is_empty() {
            self.finish(now_ms);
        }
    }

    fn finish(&mut self, now_ms: f64) {
        self.step = Step::Finish;
        self.report(Phase::Finishing, self.file.size, now_ms);
        self.start(Call::Finish);
    }

    /// Moves the meter on by `bytes` and reports; `Finishing` reports the whole file done.
    fn report(&mut self, phase: Phase, bytes: u64, now_ms: f64) {
        let progress = match (phase, self.meter.as_mut()) {
            (Phase::Uploading, Some(meter)) => meter.advance(bytes, now_ms),
            _ => Meter::new(phase, self.file.size, bytes, now_ms).progress(),
        };
        self.commands.push_back(Command::Progress(progress));
    }
}

/// The code of a part or finish call that found no upload session (never opened, or finished).
const NO_SESSION: i64 = -10005;

/// The code of a part whose body's MD5 is not its `dataMd5`.
const PART_DAMAGED: i64 = -10006;

/// The longest signature taken, in bytes. An upload signature is a few hundred (a 20-byte MAC and about
/// ten short fields, in Base64); this leaves room for long names, uids and ten tags, and keeps each
/// request's URL within the 8 KiB a server commonly accepts. A longer one is refused before any request.
pub const MAX_SIGNATURE_LEN: usize = 4096;

fn signature_error(kind: ErrorKind) -> UploadError {
    UploadError::new(Step::Signature, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::md5_hex;
    use crate::signature::testing::signature;

    /// A signature for the test file that expires at `e`, Unix seconds (the tests' clock starts at 0).
    fn sig(e: u64) -> String {
        signature(&"a".repeat(40), "a.mp4", e)
    }

    fn ok(body: &str) -> Result<HttpReply, EnvError> {
        Ok(HttpReply { status: 200, body: body.to_string() })
    }

    fn machine(size: u64, concurrency: usize) -> Machine {
        let options = Options { endpoint: "http://vod.test/v2".into(), concurrency, ..Options::default() };
        Machine::new(FileInfo::new("a.mp4", size, "a".repeat(40)), options)
    }

    /// Every command queued now, progress left out.
    fn drain(m: &mut Machine) -> Vec<Command> {
        std::iter::from_fn(|| m.next_command()).filter(|c| !matches!(c, Command::Progress(_))).collect()
    }

    fn sent(commands: &[Command]) -> Vec<(Id, String)> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Send(id, r) => Some((*id, r.url.split("Action=").nth(1).unwrap().split('&').next().unwrap().to_string())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn says_what_to_do_next_at_each_answer() {
        let mut m = machine(3 << 20, 2);
        assert_eq!(drain(&mut m), [Command::AskSignature]);
        m.handle(Event::Signature(Ok(format!(" {} \n", sig(3600)))), 0.0, 0.5);
        let init = drain(&mut m);
        assert_eq!(sent(&init).len(), 1);
        let Command::Send(init_id, request) = &init[0] else { panic!("{init:?}") };
        let mut encoded = String::new();
        crate::platform::encode_query_value(&sig(3600), &mut encoded);
        assert!(request.url.ends_with(&format!("&signature={encoded}")), "trimmed: {}", request.url);

        // Fresh: two reads ahead (the concurrency); a read done is a part sent.
        m.handle(Event::Reply(*init_id, ok(r#"{"code":0}"#)), 1.0, 0.5);
        let reads = drain(&mut m);
        let ids: Vec<Id> = reads.iter().map(|c| match c { Command::Read(id, _) => *id, other => panic!("{other:?}") }).collect();
        assert_eq!(ids.len(), 2);
        // The second part is read first: it waits for the first, so parts go in file order.
        m.handle(Event::Read(ids[1], Ok(md5_hex(b"1"))), 2.0, 0.5);
        assert_eq!(drain(&mut m), []);
        m.handle(Event::Read(ids[0], Ok(md5_hex(b"0"))), 3.0, 0.5);
        let next = drain(&mut m);
        let parts = sent(&next);
        assert_eq!(parts.len(), 2, "{next:?}");
        assert!(matches!(next.last(), Some(Command::Read(_, Part { offset, .. })) if *offset == 2 << 20), "{next:?}");
        assert!(m.take_outcome().is_none());
    }

    /// A machine for a 10-byte file, signed: its InitUploadEx sent, with the call's id.
    fn init_sent() -> (Machine, Id, Request) {
        let mut m = machine(10, 1);
        drain(&mut m);
        m.handle(Event::Signature(Ok(sig(3600))), 0.0, 0.5);
        let Command::Send(id, request) = drain(&mut m).remove(0) else { panic!("InitUploadEx is sent once signed") };
        (m, id, request)
    }

    #[test]
    fn a_transient_failure_sleeps_then_sends_the_same_call_again() {
        let (mut m, id, first) = init_sent();
        m.handle(Event::Reply(id, Err(EnvError::Failed("reset".into()))), 0.0, 0.0);
        assert_eq!(drain(&mut m), [Command::Sleep(id, 250)]);
        m.handle(Event::Woke(id, Ok(())), 0.0, 0.0);
        assert_eq!(drain(&mut m), [Command::Send(id, first)]);
    }

    /// A machine for a 10-byte file whose one part, read with MD5 `m0`, was sent and refused as
    /// damaged (−10006): the part's call, what it sent, and the second read it asked for.
    fn damaged_part() -> (Machine, Id, Command, Id) {
        let (mut m, init, _) = init_sent();
        m.handle(Event::Reply(init, ok(r#"{"code":0}"#)), 0.0, 0.5);
        let [Command::Read(read, part)] = drain(&mut m)[..] else { panic!("one part to read") };
        m.handle(Event::Read(read, Ok("m0".into())), 0.0, 0.5);
        let sent = drain(&mut m).remove(0);
        let Command::Send(call, _) = sent else { panic!("the part is sent once read: {sent:?}") };
        m.handle(Event::Reply(call, ok(r#"{"code":-10006,"message":"md5 mismatch","canRetry":1}"#)), 0.0, 0.0);
        let [Command::Read(again, reread)] = drain(&mut m)[..] else { panic!("the part is read again, and nothing else") };
        assert_eq!((reread, again > read), (part, true), "the same part, under a new id");
        (m, call, sent, again)
    }

    #[test]
    fn a_damaged_part_read_again_alike_is_sent_again_after_a_backoff() {
        let (mut m, call, sent, again) = damaged_part();
        m.handle(Event::Read(again, Ok("m0".into())), 0.0, 0.0);
        assert_eq!(drain(&mut m), [Command::Sleep(call, 250)]);
        m.handle(Event::Woke(call, Ok(())), 0.0, 0.0);
        assert_eq!(drain(&mut m), [sent]);
        m.handle(Event::Reply(call, ok(r#"{"code":0}"#)), 0.0, 0.0);
        assert!(matches!(drain(&mut m)[..], [Command::Send(_, ref finish)] if finish.url.contains("Action=FinishUploadEx")));
    }

    #[test]
    fn a_damaged_part_read_again_otherwise_fails_as_a_file_that_changed() {
        let (mut m, _, _, again) = damaged_part();
        m.handle(Event::Read(again, Ok("m1".into())), 0.0, 0.0);
        assert_eq!(drain(&mut m), [], "not sent again");
        let error = m.take_outcome().unwrap().unwrap_err();
        assert_eq!(error.step, Step::Part);
        assert!(matches!(error.kind, ErrorKind::Read(_)), "{error:?}");
        assert_eq!(
            error.to_string(),
            "could not read the file: it changed on disk while it was uploaded (the part at offset 0 no longer has the MD5 it was sent with)"
        );
    }

    #[test]
    fn an_abort_ends_it_and_later_answers_are_ignored() {
        let (mut m, id, _) = init_sent();
        m.abort();
        m.handle(Event::Reply(id, ok(r#"{"code":2,"fileId":"1","url":"u"}"#)), 0.0, 0.5);
        assert_eq!(drain(&mut m), []);
        let error = m.take_outcome().unwrap().unwrap_err();
        assert_eq!((error.step, error.kind), (Step::Init, ErrorKind::Aborted));
    }

    #[test]
    fn a_signature_that_cannot_serve_fails_before_any_request() {
        for (given, starts) in [
            ("sig-1".to_string(), "signature: not an upload signature (not Base64)"),
            (signature(&"b".repeat(40), "a.mp4", 3600), "signature: signed for another file (fs=bbbb"),
            (sig(60), "signature: expired at 60 (Unix time, its e)"),
            (signature(&"a".repeat(40), "a%3F.mp4", 3600), "signature: bad file name"),
        ] {
            let mut m = machine(10, 1);
            drain(&mut m);
            m.handle(Event::Signature(Ok(given)), 61_000.0, 0.5);
            assert_eq!(drain(&mut m), []);
            let error = m.take_outcome().unwrap().unwrap_err();
            assert_eq!((error.step, error.code()), (Step::Signature, None));
            assert!(error.to_string().starts_with(starts), "{error}");
        }
    }

    #[test]
    fn a_call_is_not_sent_with_less_than_a_minute_left_but_a_renewal_is_checked_too() {
        let (mut m, id, _) = init_sent();
        // Init answered at 3540 s: the parts would go with 60 s left minus a moment; a new signature first.
        m.handle(Event::Reply(id, ok(r#"{"code":0}"#)), 3_540_001.0, 0.5);
        let Some(Command::Read(read, _)) = drain(&mut m).pop() else { panic!("a read") };
        m.handle(Event::Read(read, Ok(md5_hex(b"x"))), 3_540_002.0, 0.5);
        assert_eq!(drain(&mut m), [Command::AskSignature]);
        m.handle(Event::Signature(Ok(sig(7200))), 3_540_003.0, 0.5);
        let part = drain(&mut m);
        assert_eq!(sent(&part).iter().map(|s| s.1.as_str()).collect::<Vec<_>>(), ["UploadPartEx"]);

        // A renewal that has expired already fails the upload like a first signature would.
        let (mut m, id, _) = init_sent();
        m.handle(Event::Reply(id, ok(r#"{"code":0}"#)), 3_590_000.0, 0.5);
        let Some(Command::Read(read, _)) = drain(&mut m).pop() else { panic!("a read") };
        m.handle(Event::Read(read, Ok(md5_hex(b"x"))), 3_590_001.0, 0.5);
        assert_eq!(drain(&mut m), [Command::AskSignature]);
        m.handle(Event::Signature(Ok(sig(3000))), 3_590_002.0, 0.5);
        let error = m.take_outcome().unwrap().unwrap_err();
        assert!(error.to_string().starts_with("signature: expired at"), "{error}");
    }

    #[test]
    fn a_renewal_with_less_than_a_minute_left_is_used_as_it_is() {
        let (mut m, id, _) = init_sent();
        m.handle(Event::Reply(id, ok(r#"{"code":2,"fileId":"1","url":"http://v.test/1"}"#)), 3_590_000.0, 0.5);
        assert_eq!(drain(&mut m), [Command::AskSignature]);
        m.handle(Event::Signature(Ok(sig(3620))), 3_590_001.0, 0.5);
        assert_eq!(sent(&drain(&mut m)).iter().map(|s| s.1.as_str()).collect::<Vec<_>>(), ["FinishUploadEx"]);
    }
}
