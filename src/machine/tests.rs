//! The machine stepped by hand: each test hands it events and checks the commands it gives.

use super::*;
use crate::hash::md5_hex;
use crate::signature::testing::signature;

/// A signature for the test file that expires at `e`, Unix seconds (the tests' clock starts at 0).
fn sig(e: u64) -> String {
    signature(&"a".repeat(40), "a.mp4", e)
}

fn ok(body: &str) -> Result<HttpReply, EnvError> {
    Ok(HttpReply::new(200, body))
}

/// A machine with `concurrency` lanes always (not fitted to the link).
fn machine(size: u64, concurrency: usize) -> Machine {
    machine_with(size, concurrency, false)
}

fn machine_with(size: u64, concurrency: usize, adapt_lanes: bool) -> Machine {
    let options = Options { endpoint: "http://vod.test/v2".into(), concurrency, adapt_lanes, ..Options::default() };
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
    m.handle(Event::Reply(id, ok(r#"{"code":2,"fileId":"1","url":"http://v.test/1"}"#)), 0.0, 0.5);
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
    m.handle(Event::Reply(id, ok(r#"{"code":2,"fileId":"5285890781763144364","url":"http://vod.test/vod/5285890781763144364/f0.mp4"}"#)), 3_590_000.0, 0.5);
    assert_eq!(drain(&mut m), [Command::AskSignature]);
    m.handle(Event::Signature(Ok(sig(3620))), 3_590_001.0, 0.5);
    assert_eq!(sent(&drain(&mut m)).iter().map(|s| s.1.as_str()).collect::<Vec<_>>(), ["FinishUploadEx"]);
}

/// An adaptive machine for `size` bytes of 1 MiB parts, InitUploadEx answered fresh at 0 ms: the
/// reads it asked for.
fn adaptive(size: u64, concurrency: usize) -> (Machine, Vec<(Id, Part)>) {
    let mut m = machine_with(size, concurrency, true);
    drain(&mut m);
    m.handle(Event::Signature(Ok(sig(3600))), 0.0, 0.5);
    let Command::Send(init, _) = drain(&mut m).remove(0) else { panic!("InitUploadEx first") };
    m.handle(Event::Reply(init, ok(r#"{"code":0}"#)), 0.0, 0.5);
    let reads = drain(&mut m).into_iter().map(|c| match c { Command::Read(id, part) => (id, part), other => panic!("{other:?}") }).collect();
    (m, reads)
}

/// Every progress report queued now: its `loaded`.
fn reported(m: &mut Machine) -> Vec<u64> {
    std::iter::from_fn(|| m.next_command()).filter_map(|c| match c { Command::Progress(p) => Some(p.loaded), _ => None }).collect()
}

#[test]
fn lanes_open_as_the_link_allows_and_progress_moves_within_a_part() {
    // A slow link: one part at a time, its bytes reported as they leave.
    let (mut m, reads) = adaptive(4 << 20, 4);
    assert_eq!(reads.len(), 1, "one lane until the link's speed is known");
    m.handle(Event::Read(reads[0].0, Ok(md5_hex(b"0"))), 0.0, 0.5);
    let [Command::Send(part, _), Command::Read(..)] = drain(&mut m)[..] else { panic!("the part goes, the next is read") };
    let mut loaded = Vec::new();
    for s in 1..=20u32 {
        m.handle(Event::Sending(part, u64::from(s) * 8_000), f64::from(s) * 500.0, 0.5);
        loaded.extend(reported(&mut m));
    }
    // From the first bytes on (the first burst, 8 kB, in the buffers), a report every half second:
    // at the slowest pace until the speed is known (a second in), then at the link's, behind what
    // has left by what the buffers hold: what the link can have carried.
    assert_eq!(loaded.len(), 20, "a report every half second: {loaded:?}");
    assert!(loaded[0] < 4_000, "8 kB/s at most for half a second: {loaded:?}");
    assert!(loaded[4..].windows(2).all(|w| (w[1] - w[0]).abs_diff(8_000) <= 100), "16 kB/s: {loaded:?}");
    assert_eq!(loaded.last(), Some(&151_999), "160 kB left, 8 kB in the buffers");
    assert_eq!(m.calls.len(), 1, "16 kB/s: still one part in flight");

    // A fast link: a whole part leaves in 10 ms, and every lane opens.
    let (mut m, reads) = adaptive(4 << 20, 4);
    m.handle(Event::Read(reads[0].0, Ok(md5_hex(b"0"))), 0.0, 0.5);
    let Command::Send(part, _) = drain(&mut m).remove(0) else { panic!("the part goes") };
    m.handle(Event::Sending(part, 1 << 20), 10.0, 0.5);
    assert_eq!(drain(&mut m).iter().filter(|c| matches!(c, Command::Read(..))).count(), 2, "reads ahead for four lanes");
}

#[test]
fn progress_keeps_the_links_pace_from_one_part_to_the_next_on_the_slowest_link() {
    // 8 kB/s shared by every connection, 150 ms each way, simulated 100 ms at a time. As Chromium
    // does, the browser hands a new connection 64 KiB at once, then 16 KiB at a time as its
    // buffers (80 KiB) have room, and reports what it handed over.
    const RATE: f64 = 8_000.0;
    const BUFFERS: u64 = 80 << 10;
    const STEP: u64 = 16 << 10;
    let (mut m, reads) = adaptive(2 << 20, 4);
    m.handle(Event::Read(reads[0].0, Ok(md5_hex(b"0"))), 0.0, 0.5);
    // Each connection: the call, its body's length, bytes handed over and carried, when answered.
    let mut connections: Vec<(Id, u64, u64, f64, Option<f64>)> = Vec::new();
    let (mut carried, mut reports) = (0.0, vec![(0.0, 0)]);
    let mut t = 0.0;
    while m.take_outcome().is_none() && t < 600_000.0 {
        for command in std::iter::from_fn(|| m.next_command()).collect::<Vec<_>>() {
            match command {
                Command::Read(id, part) => m.handle(Event::Read(id, Ok(md5_hex(&part.offset.to_be_bytes()))), t, 0.5),
                Command::Send(id, Request { part: Some(part), .. }) => connections.push((id, part.len, 0, 0.0, None)),
                Command::Send(..) => {
                    assert_eq!(connections.len(), 0, "FinishUploadEx once every part is acknowledged");
                    t = 600_000.0;
                }
                Command::Progress(p) => {
                    // Within a second and a half of the link's bytes carried, ahead or behind
                    // (the buffers hold ten seconds of it).
                    assert!((p.loaded as f64 - carried).abs() <= 1.5 * RATE, "{} at {t} ms: the link carried {carried}", p.loaded);
                    reports.push((t, p.loaded));
                }
                other => panic!("{other:?}"),
            }
        }
        t += 100.0;
        // The link takes its 800 bytes from the buffers that hold some, in equal shares.
        let mut budget = RATE / 10.0;
        while budget > 0.5 {
            let queued: Vec<_> = connections.iter_mut().filter(|c| (c.2 as f64) > c.3).collect();
            let share = budget / queued.len().max(1) as f64;
            if queued.is_empty() {
                break;
            }
            for c in queued {
                let took = share.min(c.2 as f64 - c.3);
                c.3 += took;
                budget -= took;
                carried += took;
            }
        }
        for c in connections.iter_mut() {
            if c.2 == 0 {
                c.2 = c.1.min(64 << 10);
            }
            while c.2 < c.1 && c.2 + STEP <= c.3 as u64 + BUFFERS {
                c.2 = c.1.min(c.2 + STEP);
            }
            if c.3 as u64 >= c.1 && c.4.is_none() {
                c.4 = Some(t + 300.0);
            }
        }
        for (id, _, handed, ..) in connections.clone() {
            m.handle(Event::Sending(id, handed), t, 0.5);
        }
        for (id, ..) in connections.iter().filter(|c| c.4.is_some_and(|at| at <= t)).copied().collect::<Vec<_>>() {
            m.handle(Event::Reply(id, ok(r#"{"code":0}"#)), t, 0.5);
            connections.retain(|c| c.0 != id);
        }
    }
    assert_eq!(reports.last().map(|r| r.1), Some(2 << 20), "every part acknowledged");
    let still = reports.windows(2).map(|w| (w[1].0 - w[0].0, w[0])).fold((0.0, (0.0, 0)), |a, b| if b.0 > a.0 { b } else { a });
    assert!(still.0 <= 1_000.0, "progress stood still {} ms from {:?} (at 8 kB/s, a part's 1 MiB takes 131 s)", still.0, still.1);
}

#[test]
fn a_part_that_fails_holds_progress_until_its_bytes_sent_again_pass_the_mark() {
    let (mut m, reads) = adaptive(1 << 20, 1);
    m.handle(Event::Read(reads[0].0, Ok(md5_hex(b"0"))), 0.0, 0.5);
    let Command::Send(part, _) = drain(&mut m).remove(0) else { panic!("the part goes") };
    m.handle(Event::Sending(part, 500_000), 1_000.0, 0.5);
    assert!(reported(&mut m).iter().all(|&loaded| loaded < 250_000), "just handed over: mostly in the buffers");
    m.handle(Event::Sending(part, 0), 2_000.0, 0.5); // a second passes
    assert_eq!(reported(&mut m), [500_000]);
    m.handle(Event::Reply(part, Err(EnvError::Failed("cut".into()))), 2_500.0, 0.0);
    let [Command::Sleep(..)] = drain(&mut m)[..] else { panic!("a retry, later") };
    m.handle(Event::Woke(part, Ok(())), 3_000.0, 0.0);
    drain(&mut m);
    m.handle(Event::Sending(part, 300_000), 4_000.0, 0.5);
    m.handle(Event::Sending(part, 0), 5_000.0, 0.5);
    assert_eq!(reported(&mut m), [] as [u64; 0], "below the mark: no report, nothing goes back");
    m.handle(Event::Sending(part, 600_000), 5_000.0, 0.5);
    m.handle(Event::Sending(part, 0), 8_000.0, 0.5); // time for the buffers to drain
    assert_eq!(reported(&mut m), [600_000]);
    m.handle(Event::Reply(part, ok(r#"{"code":0}"#)), 8_500.0, 0.5);
    assert_eq!(reported(&mut m), [1 << 20, 1 << 20], "acknowledged, then finishing");
}

#[test]
fn the_next_part_starts_once_a_part_has_all_left_and_waits_for_its_answer() {
    let (mut m, reads) = adaptive(3 << 20, 4);
    m.handle(Event::Read(reads[0].0, Ok(md5_hex(b"0"))), 0.0, 0.5);
    let [Command::Send(first, _), Command::Read(second, _)] = drain(&mut m)[..] else { panic!("the part goes, the next is read") };
    m.handle(Event::Read(second, Ok(md5_hex(b"1"))), 100.0, 0.5);
    m.handle(Event::Sending(first, 16_000), 1_000.0, 0.5);
    assert!(sent(&drain(&mut m)).is_empty(), "16 kB/s: one lane, and its part is still leaving");
    m.handle(Event::Sending(first, 1 << 20), 60_000.0, 0.5);
    assert_eq!(sent(&drain(&mut m)).len(), 1, "the first part waits for its answer: the second goes");
    assert_eq!(m.calls.len(), 2);
}
