//! The upload after hashing as a state machine without I/O: signature → InitUploadEx →
//! UploadPartEx × N (several at once) → FinishUploadEx, with retries, one signature refresh and
//! progress.
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
use crate::error::{EnvError, ErrorKind, Step, UploadError};
use crate::file::FileInfo;
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
    /// ahead of sending them, so their bytes are there when a lane frees up.
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
}

impl Call {
    fn step(&self) -> Step {
        match self {
            Call::Init => Step::Init,
            Call::Part(..) => Step::Part,
            Call::Finish => Step::Finish,
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
    /// A machine for uploading a hashed file; its first command asks for the signature.
    pub fn new(file: FileInfo, options: Options) -> Machine {
        let mut machine = Machine {
            file,
            options,
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
        } else {
            machine.ask_signature();
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
            Event::Read(id, md5) => self.read(id, md5, now_ms),
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
                self.step = Step::Init;
                self.start(Call::Init);
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

    fn start(&mut self, call: Call) {
        let id = self.id();
        self.calls.push(Pending { id, call, sends: 0, retries: 0, generation: 0, parked: false });
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
        let (endpoint, sha) = (&self.options.endpoint, &self.file.sha);
        let request = match &pending.call {
            Call::Init => request::init(endpoint, sha, self.file.size, self.options.part_size, &signature),
            Call::Part(part, md5) => request::part(endpoint, sha, *part, md5, &signature),
            Call::Finish => request::finish(endpoint, sha, &signature),
        };
        self.commands.push_back(Command::Send(id, request));
    }

    fn replied(&mut self, id: Id, reply: Result<HttpReply, EnvError>, now_ms: f64, random: f64) {
        let Some(index) = self.calls.iter().position(|c| c.id == id) else { return };
        let pending = &self.calls[index];
        let (step, sends, retries, sent_with) = (pending.call.step(), pending.sends, pending.retries, pending.generation);
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
        if self.no_session(&error) {
            return self.ask_init_again();
        }
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
            Call::Part(part, _) => answer::check_part_ack(answer, reply).map(|()| {
                self.uploaded_bytes += part.len;
                self.report(Phase::Uploading, part.len, now_ms);
                self.schedule(now_ms);
            }),
            Call::Finish => answer::decide_finished(answer, reply).map(|done| {
                self.outcome = Some(Ok(self.result(done.file_id, done.url, done.verify_content)));
            }),
        };
        if let Err(error) = checked {
            self.fail(error);
        }
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

    fn read(&mut self, id: Id, md5: Result<String, EnvError>, now_ms: f64) {
        match md5 {
            Ok(md5) => {
                if let Some(read) = self.reads.iter_mut().find(|r| r.id == id) {
                    read.md5 = Some(md5);
                }
                self.schedule(now_ms);
            }
            Err(EnvError::Aborted) => self.abort(),
            Err(EnvError::Failed(why) | EnvError::Unreadable(why)) => self.fail(UploadError::new(Step::Part, ErrorKind::Read(why))),
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
        m.handle(Event::Reply(id, ok(r#"{"code":2,"fileId":"1","url":"u"}"#)), 3_590_000.0, 0.5);
        assert_eq!(drain(&mut m), [Command::AskSignature]);
        m.handle(Event::Signature(Ok(sig(3620))), 3_590_001.0, 0.5);
        assert_eq!(sent(&drain(&mut m)).iter().map(|s| s.1.as_str()).collect::<Vec<_>>(), ["FinishUploadEx"]);
    }
}
