//! Progress as the user sees it: bytes done out of total, a smoothed speed and time left.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Hashing,
    Uploading,
    Finishing,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Hashing => "hashing",
            Phase::Uploading => "uploading",
            Phase::Finishing => "finishing",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    pub loaded: u64,
    pub total: u64,
    /// Smoothed over the last seconds; 0 until there is a measurement.
    pub bytes_per_second: f64,
    /// `None` until the speed is known.
    pub eta_seconds: Option<f64>,
}

/// Turns "these many bytes are done at this time" into monotonic progress with an exponentially
/// smoothed speed. Bytes that were done before the meter started (parts the server already held)
/// count towards `loaded` but not towards the speed. Bytes of parts in flight that have left count
/// too ([`Meter::sending`]); a part that fails takes its bytes out of flight, and `loaded` holds
/// where it was until the bytes sent again pass it.
#[derive(Debug, Clone)]
pub struct Meter {
    phase: Phase,
    total: u64,
    loaded: u64,
    /// Bytes acknowledged (or hashed).
    done: u64,
    /// Bytes of parts in flight that have left.
    in_flight: u64,
    last_ms: f64,
    last_loaded: u64,
    /// When bytes in flight were last reported.
    reported_ms: f64,
    rate: Option<f64>,
    /// The link's speed, bytes per second ([`Meter::sending`]; 0: not known), and when `loaded`
    /// last moved by it.
    pace: f64,
    paced_ms: f64,
    /// What the buffers on the way hold now, and what one connection's can hold (bytes:
    /// [`Meter::sending`]).
    buffered: f64,
    room: f64,
}

/// The larger of `a` and `b`, neither NaN (`f64::max` carries NaN handling into the wasm).
pub(crate) fn larger(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

/// The smaller of `a` and `b`, neither NaN.
pub(crate) fn smaller(a: f64, b: f64) -> f64 {
    if a < b { a } else { b }
}

/// The time constant of the smoothing, in seconds.
const SMOOTHING_S: f64 = 2.0;
/// Samples closer together than this are folded into the next one.
const MIN_SAMPLE_MS: f64 = 100.0;
/// Bytes in flight are reported at most this often (an acknowledged part at once).
pub const REPORT_EVERY_MS: f64 = 250.0;
/// Until the link's speed is measured, it is taken as this (bytes per second): the slowest uplink
/// planned for (8 kB/s, a weak EDGE signal). Progress then moves from the first bytes past the
/// buffers on, behind any such link, rather than standing still for the second or two the first
/// measure takes on a slow link; the buffers on the way drain at it too (`adapt::Link::pace`).
pub const SLOWEST_PACE: f64 = 8_000.0;

impl Meter {
    pub fn new(phase: Phase, total: u64, already: u64, now_ms: f64) -> Self {
        let loaded = already.min(total);
        Meter { phase, total, loaded, done: loaded, in_flight: 0, last_ms: now_ms, last_loaded: loaded, reported_ms: f64::NEG_INFINITY, rate: None, pace: 0.0, paced_ms: now_ms, buffered: 0.0, room: 0.0 }
    }

    /// `bytes` more are done. Returns the progress to report.
    pub fn advance(&mut self, bytes: u64, now_ms: f64) -> Progress {
        self.done += bytes;
        self.moved(now_ms)
    }

    /// `loaded` of `total` are done, where both may move either way (a queue's sums, as files are
    /// added and fail; the hash pass): what went back counts as no speed. Returns the progress to report.
    pub fn at(&mut self, loaded: u64, total: u64, now_ms: f64) -> Progress {
        self.total = total;
        self.done = loaded.min(total);
        self.in_flight = 0;
        self.loaded = self.done;
        if self.loaded < self.last_loaded {
            self.last_loaded = self.loaded;
        }
        self.sample(now_ms)
    }

    /// The bytes of parts in flight that have left are now `in_flight` (set before the
    /// [`Meter::advance`] of a part acknowledged, without that part).
    pub fn set_in_flight(&mut self, in_flight: u64) {
        self.in_flight = in_flight;
    }

    /// [`Meter::set_in_flight`], then the progress to report when `loaded` moved and the last such
    /// report is [`REPORT_EVERY_MS`] old. `pace` is the link's speed as far as it is known (until
    /// it is measured, [`SLOWEST_PACE`]); `buffered` what the buffers on the way (the sockets', a proxy's, the
    /// radio's queue) hold now of the bytes that have left (been handed to the connections), and
    /// `room` what one connection's can hold. The bytes that left less `buffered` are what the link
    /// has carried as far as the edge can tell; `loaded` moves towards them at the link's pace,
    /// faster (up to twice) when behind by as much as `room`, slower when ahead, and never past the
    /// bytes that left. So it neither runs ahead of the link by what the buffers hold, nor stands
    /// still while they drain (called again with the same bytes as time passes), nor at each
    /// estimate that falls short of it: a browser reports bytes leaving in steps of 16 KiB, two
    /// seconds of a weak uplink.
    #[inline(never)]
    pub fn sending(&mut self, in_flight: u64, pace: f64, buffered: f64, room: f64, now_ms: f64) -> Option<Progress> {
        self.room = room;
        self.in_flight = in_flight;
        self.pace = pace;
        self.buffered = buffered;
        let before = self.loaded;
        let progress = self.moved(now_ms);
        let due = progress.loaded > before && now_ms - self.reported_ms >= REPORT_EVERY_MS;
        due.then(|| {
            self.reported_ms = now_ms;
            progress
        })
    }

    /// `loaded` never goes back: what is done, or where it moved at the link's pace towards what
    /// the link can have carried (see [`Meter::sending`]).
    #[inline(never)] // several callers: once in the wasm
    fn moved(&mut self, now_ms: f64) -> Progress {
        let (left, loaded) = (self.done + self.in_flight, self.loaded as f64);
        let carried = larger(left as f64 - self.buffered, 0.0);
        // The bytes carried moved a step of the link's pace since the last call; `loaded` moves that
        // step and closes the gap it had then (behind them, or ahead) by 1 - e^(-step / room): at the
        // pace when level with them, faster when behind, slower when ahead; at most twice the pace.
        let step = self.pace / 1000.0 * (now_ms - self.paced_ms);
        let behind = carried - step - loaded;
        let next = larger(smaller(carried - behind * crate::platform::exp(-step / larger(self.room, 1.0)), loaded + 2.0 * step), loaded);
        self.paced_ms = now_ms;
        // (Casts of negative values are 0.)
        self.loaded = self.loaded.max(self.done.max((next as u64).min(left)).min(self.total));
        self.sample(now_ms)
    }

    /// The speed sampled at `now_ms`, and the progress to report.
    #[inline(never)]
    fn sample(&mut self, now_ms: f64) -> Progress {
        let dt = now_ms - self.last_ms;
        if dt >= MIN_SAMPLE_MS {
            let sample = (self.loaded - self.last_loaded) as f64 / (dt / 1000.0);
            let alpha = 1.0 - crate::platform::exp(-(dt / 1000.0) / SMOOTHING_S);
            self.rate = Some(match self.rate {
                Some(rate) => rate + alpha * (sample - rate),
                None => sample,
            });
            self.last_ms = now_ms;
            self.last_loaded = self.loaded;
        }
        self.progress()
    }

    pub fn progress(&self) -> Progress {
        let rate = self.rate.unwrap_or(0.0);
        let eta_seconds = match self.rate {
            _ if self.loaded >= self.total => Some(0.0),
            Some(r) if r > 0.0 => Some((self.total - self.loaded) as f64 / r),
            _ => None,
        };
        Progress { phase: self.phase, loaded: self.loaded, total: self.total, bytes_per_second: rate, eta_seconds }
    }

    pub fn loaded(&self) -> u64 {
        self.loaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_and_eta_from_steady_progress() {
        let mut m = Meter::new(Phase::Uploading, 10_000_000, 0, 0.0);
        let mut p = m.progress();
        assert_eq!((p.loaded, p.bytes_per_second, p.eta_seconds), (0, 0.0, None));
        for i in 1..=5 {
            p = m.advance(1_000_000, f64::from(i) * 1000.0);
        }
        assert_eq!(p.loaded, 5_000_000);
        assert!((p.bytes_per_second - 1_000_000.0).abs() < 1.0, "{}", p.bytes_per_second);
        assert!((p.eta_seconds.unwrap() - 5.0).abs() < 0.01);
    }

    #[test]
    fn resumed_bytes_count_as_loaded_but_not_as_speed() {
        let mut m = Meter::new(Phase::Uploading, 4_000, 3_000, 0.0);
        assert_eq!(m.progress().loaded, 3_000);
        let p = m.advance(500, 1_000.0);
        assert_eq!(p.loaded, 3_500);
        assert!((p.bytes_per_second - 500.0).abs() < 1e-9);
    }

    #[test]
    fn bursts_closer_than_the_sample_interval_do_not_spike_the_speed() {
        let mut m = Meter::new(Phase::Hashing, 100, 0, 0.0);
        m.advance(10, 1_000.0);
        let p = m.advance(10, 1_001.0);
        assert!((p.bytes_per_second - 10.0).abs() < 1e-9);
        assert_eq!(p.loaded, 20);
    }

    #[test]
    fn sums_that_move_either_way_are_measured_too() {
        let mut m = Meter::new(Phase::Uploading, 0, 0, 0.0);
        m.at(1_000, 4_000, 1_000.0);
        let p = m.at(500, 8_000, 2_000.0);
        assert_eq!((p.loaded, p.total), (500, 8_000));
        assert!(p.bytes_per_second < 1_000.0 && p.bytes_per_second >= 0.0, "a file that failed is no speed: {}", p.bytes_per_second);
        let p = m.at(2_500, 8_000, 3_000.0);
        assert!(p.bytes_per_second > 0.0 && p.eta_seconds.is_some());
    }

    #[test]
    fn loaded_never_passes_total_and_done_has_no_time_left() {
        let mut m = Meter::new(Phase::Uploading, 100, 0, 0.0);
        let p = m.advance(150, 500.0);
        assert_eq!((p.loaded, p.eta_seconds), (100, Some(0.0)));
    }

    #[test]
    fn bytes_in_flight_move_progress_and_a_failed_part_holds_it() {
        // A fast link, its buffers empty: bytes handed over count a second later (each call is
        // followed by one a second on with the same bytes: time passing).
        let fast = 1e9;
        let mut m = Meter::new(Phase::Uploading, 4_000, 0, 0.0);
        let at = |m: &mut Meter, bytes, t| {
            let first = m.sending(bytes, fast, 0.0, 1_000.0, t);
            m.sending(bytes, fast, 0.0, 1_000.0, t + 1_000.0).or(first).map(|p| p.loaded)
        };
        // The link's pace unknown: bytes that have left count at the slowest pace (a little faster
        // when behind: here by little of what the buffers can hold).
        assert_eq!(m.sending(500, SLOWEST_PACE, 0.0, 1e6, 50.0).map(|p| p.loaded), Some(400), "8 kB/s for 50 ms");
        assert_eq!(at(&mut m, 500, 300.0), Some(500));
        assert_eq!(at(&mut m, 900, 1_600.0), Some(900));
        // The part fails: nothing in flight, progress holds at 900 until the resend passes it.
        assert_eq!(at(&mut m, 0, 3_000.0), None);
        assert_eq!(m.progress().loaded, 900);
        assert_eq!(at(&mut m, 800, 5_000.0), None, "below the mark");
        assert_eq!(at(&mut m, 1_000, 7_000.0), Some(1_000));
        // Acknowledged: out of flight, into done; the next part's bytes add to it.
        m.set_in_flight(0);
        assert_eq!(m.advance(1_000, 9_000.0).loaded, 1_000);
        assert_eq!(at(&mut m, 3_500, 10_000.0), Some(4_000), "never past total");
    }

    #[test]
    fn loaded_is_monotonic_whatever_comes_in_flight() {
        let mut m = Meter::new(Phase::Uploading, 1_000_000, 0, 0.0);
        let mut last = 0;
        let mut t = 0.0;
        for (i, in_flight) in [10u64, 5_000, 0, 70_000, 3, 200_000, 199_999, 0, 0, 250_000].iter().enumerate() {
            t += 300.0;
            m.sending(*in_flight, if i % 2 == 0 { 100_000.0 } else { SLOWEST_PACE }, 30_000.0 * (i % 3) as f64, 30_000.0, t);
            if i == 7 {
                m.advance(150_000, t);
            }
            assert!(m.progress().loaded >= last, "step {i}");
            last = m.progress().loaded;
        }
        m.sending(250_000, 1e9, 0.0, 30_000.0, t + 1_000.0);
        assert_eq!(m.progress().loaded, 400_000, "150 000 acknowledged and 250 000 in flight, the buffers drained");
    }

    #[test]
    fn bytes_handed_over_ahead_of_the_link_count_as_the_link_carries_them() {
        // 16 kB/s: the browser hands 32 kB to its socket at once (what the buffers hold), then
        // more as the link takes 16 kB a second, until the part's 100 kB have all left; the
        // caller tells what the buffers hold (here exactly). Every 250 ms, as the edge does.
        let (pace, room, len) = (16_000.0, 32_000, 100_000u64);
        let mut m = Meter::new(Phase::Uploading, 200_000, 0, 0.0);
        let mut reports = Vec::new();
        for tick in 0..=30 {
            let t = f64::from(tick) * 250.0;
            let carried = (pace * t / 1000.0) as u64;
            let left = (carried + room).min(len);
            let known = if tick > 0 { pace } else { SLOWEST_PACE };
            if let Some(p) = m.sending(left, known, (left - carried.min(left)) as f64, room as f64, t) {
                assert!(p.loaded.abs_diff(carried.min(len)) <= 1_000, "{} at {t} ms: the link carried {carried}", p.loaded);
                reports.push(p.loaded);
            }
        }
        assert_eq!(reports.len(), 25, "a move every 250 ms until all is carried: {reports:?}");
        assert_eq!(reports.last(), Some(&len), "up to what has left and no further");
        // A part acknowledged counts whole at once, whatever the pace.
        m.set_in_flight(0);
        assert_eq!(m.advance(len, 8_000.0).loaded, len);
    }

    #[test]
    fn an_estimate_that_falls_short_slows_progress_rather_than_stopping_it() {
        // 10 kB/s, 40 kB of buffers (`room`), every 250 ms: each step of the pace is 2.5 kB.
        let (pace, room, step) = (10_000.0, 40_000.0, 2_500);
        let moves = |m: &mut Meter, left, buffered, from: f64, steps: u32| {
            let mut loaded = vec![m.loaded()];
            for i in 1..=steps {
                m.sending(left, pace, buffered, room, from + f64::from(i) * 250.0);
                loaded.push(m.loaded());
            }
            loaded.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
        };
        // Behind what the link carried (90 kB left, 40 kB of them in the buffers) by more than the
        // buffers hold: twice the pace; then slower as it closes in, faster than the pace.
        let mut m = Meter::new(Phase::Uploading, 1_000_000, 0, 0.0);
        m.sending(90_000, pace, 40_000.0, room, 0.0);
        let faster = moves(&mut m, 90_000, 40_000.0, 0.0, 8);
        assert_eq!(faster[..2], [2 * step; 2]);
        assert!(faster.windows(2).all(|w| w[1] > step && w[1] <= w[0]), "{faster:?}");
        // An estimate that fell short (as after a browser's late report): `loaded` is ahead of
        // it. It goes on moving, slower than the pace the further ahead, never past what left.
        let mut m = Meter::new(Phase::Uploading, 1_000_000, 60_000, 0.0);
        m.sending(40_000, pace, 60_000.0, room, 0.0);
        let slower = moves(&mut m, 40_000, 60_000.0, 0.0, 40);
        assert!(slower.windows(2).all(|w| w[0] > 0 && w[1] <= w[0] && w[0] < step), "{slower:?}");
        assert!(m.loaded() < 100_000);
    }
}
