//! Lanes that fit the link. The machine tells a [`Link`] how many bytes of parts moved
//! and when (as a part's bytes leave, where the platform can see that, else as parts are
//! acknowledged); the link's speed over the last seconds then says how many parts may be in flight:
//! as many as let each part take about [`PART_SECONDS`] on its share of the link, at least one, at
//! most the `concurrency` option. On a weak uplink that is one lane, whose part takes seconds
//! rather than the minutes four lanes sharing it would take (and a cut connection costs one part
//! at most); on a fast link, every lane the option allows, so round trips overlap.

use crate::progress::{larger, smaller, SLOWEST_PACE};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// About how long one part should take on its lane's share of the link, seconds: at least this
/// long, so that a slow link has one part in flight (with the next one starting as its bytes have
/// all left, one lane keeps the link busy), and a cut loses one part's bytes at most.
pub const PART_SECONDS: f64 = 5.0;
/// A new session's parts are 1 MiB from this speed on (bytes per second: such a part then takes
/// 2 s at most on the whole link), else 512 KiB: on a slower link a part takes seconds rather than
/// tens of them, and a cut costs half as much.
pub const LARGE_PARTS_FROM: f64 = 524_288.0;
/// The part size when nothing is known of the link yet.
pub const UNKNOWN_LINK_PART: u64 = crate::plan::PART_SIZES[0];
/// The speed is smoothed over about this long, ms (each sample weighs its share of it) …
const SMOOTHING_MS: f64 = 3_000.0;
/// … or over this many times as long as the link takes to carry what the buffers on the way hold,
/// up to [`MAX_SMOOTHING_MS`]: a browser hands bytes over in bursts (a new connection's buffers
/// filling at once, then steps of 16 KiB as they drain), seconds apart on a weak uplink, which only
/// average out to the link's speed over several times that.
const BUFFER_WEIGHT: f64 = 4.0;
const MAX_SMOOTHING_MS: f64 = 60_000.0;
/// Samples closer together than this are folded into the next one, ms.
const SAMPLE_MS: f64 = 250.0;
/// A speed is known once bytes have moved for this long, ms …
const MIN_SPAN_MS: f64 = 1_000.0;
/// … or once this many bytes moved (a fast link carries a whole part before a second passes).
const MIN_BYTES: u64 = 256 * 1024;

/// The speed the last [`Link`] in this process measured, bytes per second (as `f64` bits; 0: none
/// yet): what a new session's part size fits ([`part_size`]).
static LAST_RATE: AtomicU64 = AtomicU64::new(0);

/// The speed the last upload in this process (in a browser, the page: its wasm instance) measured.
pub fn last_rate() -> Option<f64> {
    let rate = f64::from_bits(LAST_RATE.load(Relaxed));
    (rate > 0.0).then_some(rate)
}

/// The bytes of parts that moved over time, and the speed they tell, smoothed.
#[derive(Debug, Clone, Default)]
pub struct Link {
    /// When the first part started.
    started_ms: Option<f64>,
    moved: u64,
    /// The last sample: its time and the bytes moved by then.
    last: (f64, u64),
    rate: Option<f64>,
    /// When the first bytes moved, and the burst the connection's buffers took at once (every byte
    /// within [`SAMPLE_MS`] of them: its end, and the bytes moved by then). A slow link's first
    /// speed counts from after it: those bytes left at once, not at the link's speed.
    burst: Option<(f64, f64, u64)>,
    /// What a connection's buffers hold, as the parts' answers told ([`Link::answered`]; 0: not yet).
    room: f64,
    /// When [`Link::carried`] was last asked (0: never).
    carried_ms: f64,
}

impl Link {
    pub fn new() -> Link {
        Link::default()
    }

    /// `bytes` more moved at `now_ms` (0 marks a part's start: the time counts from there).
    #[inline(never)]
    pub fn moved(&mut self, bytes: u64, now_ms: f64) {
        let started = *self.started_ms.get_or_insert(now_ms);
        self.moved += bytes;
        if bytes > 0 {
            let (first_ms, ..) = *self.burst.get_or_insert((now_ms, now_ms, self.moved));
            if now_ms - first_ms < SAMPLE_MS {
                self.burst = Some((first_ms, now_ms, self.moved));
            }
        }
        let (span, dt) = (now_ms - started, now_ms - self.last.0);
        let (_, burst_ms, burst) = self.burst.unwrap_or((now_ms, now_ms, 0));
        match self.rate {
            // The first speed: everything since the start once a quarter MiB moved (a clock's tick
            // is a millisecond at least: a quarter MiB within one is a link as fast as any), or what
            // moved in the second after the first burst.
            None if self.moved >= MIN_BYTES => {
                self.rate = Some(self.moved as f64 / (span.max(1.0) / 1000.0));
            }
            None if now_ms - burst_ms >= MIN_SPAN_MS => {
                self.rate = Some((self.moved - burst) as f64 / ((now_ms - burst_ms) / 1000.0));
            }
            Some(rate) if dt >= SAMPLE_MS => {
                let sample = (self.moved - self.last.1) as f64 / (dt / 1000.0);
                // Over the time since the burst until the window is that long: the mean since then.
                let window = smaller(now_ms - burst_ms, smaller(larger(BUFFER_WEIGHT * self.buffered() / rate * 1000.0, SMOOTHING_MS), MAX_SMOOTHING_MS));
                self.rate = Some(rate + (dt / window).min(1.0) * (sample - rate));
            }
            _ => return,
        }
        LAST_RATE.store(self.rate.unwrap_or(0.0).to_bits(), Relaxed);
        self.last = (now_ms, self.moved);
    }

    /// What a connection's buffers on the way hold (its socket's, a proxy's, the radio's queue):
    /// the burst they took at once at first, then as the parts' answers tell ([`Link::answered`]).
    pub fn buffered(&self) -> f64 {
        if self.room > 0.0 { self.room } else { self.burst.map_or(0, |(.., bytes)| bytes) as f64 }
    }

    /// A part was answered while `queued` of its bytes were, as far as the link's speed tells, still
    /// in its connection's buffers, full ([`Link::buffered`]) when its last bytes were handed over:
    /// they hold that much less (or, below 0, more: the link took longer to carry them).
    pub fn answered(&mut self, queued: f64) {
        self.room = larger(self.buffered() - queued, 1.0);
    }

    /// The bytes the link can have carried since the last call, at [`Link::pace`].
    pub fn carried(&mut self, now_ms: f64) -> f64 {
        let since = std::mem::replace(&mut self.carried_ms, now_ms);
        if since > 0.0 { self.pace() * (now_ms - since) / 1000.0 } else { 0.0 }
    }

    /// The speed the bytes that left are carried at, as far as it is known: [`Link::rate`], or
    /// until that is measured [`SLOWEST_PACE`] (progress counts at it; the buffers drain at it).
    pub fn pace(&self) -> f64 {
        self.rate.unwrap_or(SLOWEST_PACE)
    }

    /// Bytes per second, smoothed over the last seconds; `None` until enough moved to tell.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }
}

/// The part size to ask of InitUploadEx for a new session, from what is known of the link's speed
/// (bytes per second: measured by earlier uploads, or a platform's hint), the smaller one when it is
/// not known (see `UNKNOWN_LINK_PART`).
pub fn part_size(rate: Option<f64>) -> u64 {
    let [small, large] = crate::plan::PART_SIZES;
    match rate {
        Some(rate) if rate >= LARGE_PARTS_FROM => large,
        Some(_) => small,
        None => UNKNOWN_LINK_PART,
    }
}

/// The parts to keep in flight at `rate` (bytes per second, `None` while unknown: one, to measure
/// before loading the link with more), each of `part_size` bytes, with at most `ceiling`. Once a
/// connection was cut, `cut`: half as many (each part about half as long on its share of the link):
/// a cut loses what was sent of every part in flight (a part is atomic), so on a slow link fewer
/// lanes keep fewer bytes at risk, while a fast one still fills every lane.
pub fn lanes(rate: Option<f64>, part_size: u64, ceiling: usize, cut: bool) -> usize {
    let ceiling = ceiling.max(1);
    let Some(rate) = rate else { return 1 };
    let fit = rate * PART_SECONDS / (part_size.max(1) << cut as u32) as f64;
    if fit >= ceiling as f64 {
        ceiling
    } else if fit >= 1.0 {
        fit as usize
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;

    #[test]
    fn lanes_fit_the_link() {
        // (bytes per second, part size, ceiling) -> lanes
        let table: &[(Option<f64>, u64, usize, usize)] = &[
            (None, MIB, 4, 1),
            (Some(16_000.0), 512 * KIB, 4, 1),
            (Some(16_000.0), MIB, 16, 1),
            (Some(128_000.0), 512 * KIB, 4, 1),
            (Some(128_000.0), MIB, 4, 1),
            (Some(256_000.0), 512 * KIB, 4, 2),
            (Some(1_000_000.0), 512 * KIB, 4, 4),
            (Some(1_000_000.0), MIB, 4, 4),
            (Some(1_000_000.0), MIB, 16, 4),
            (Some(10_000_000.0), MIB, 4, 4),
            (Some(10_000_000.0), MIB, 16, 16),
            (Some(1e9), 512 * KIB, 1, 1),
            (Some(0.0), MIB, 4, 1),
            (Some(1e9), MIB, 0, 1),
        ];
        for &(rate, part, ceiling, want) in table {
            assert_eq!(lanes(rate, part, ceiling, false), want, "{rate:?} B/s, {part} B parts, at most {ceiling}");
        }
    }

    #[test]
    fn the_rate_is_unknown_until_a_second_or_a_quarter_mebibyte_moved() {
        let mut link = Link::new();
        assert_eq!(link.rate(), None);
        link.moved(0, 0.0);
        // The buffers on the way take 32 kB at once: they do not count into the link's speed.
        link.moved(32_000, 50.0);
        link.moved(8_000, 550.0);
        assert_eq!(link.rate(), None, "half a second after the burst, 8 kB");
        link.moved(8_000, 1_050.0);
        assert_eq!(link.rate(), Some(16_000.0));

        let mut fast = Link::new();
        fast.moved(0, 0.0);
        fast.moved(MIB, 10.0);
        assert_eq!(fast.rate(), Some(MIB as f64 * 100.0), "a whole part in 10 ms");
    }

    #[test]
    fn the_rate_follows_the_last_seconds() {
        let mut link = Link::new();
        // 10 s at 1 MB/s, then 10 s at 100 kB/s, a sample every 100 ms; the first burst (what the
        // buffers took at once) is 300 kB.
        link.moved(0, 0.0);
        for i in 1..=200u32 {
            let bytes = if i <= 100 { 100_000 } else { 10_000 };
            link.moved(bytes, f64::from(i) * 100.0);
            if i == 100 {
                let rate = link.rate().unwrap();
                assert!((rate - 1_000_000.0).abs() < 1.0, "{rate}");
            }
        }
        let rate = link.rate().unwrap();
        // (Over a window that grows as the speed falls: the buffers take longer to drain.)
        assert!(rate > 100_000.0 && rate < 200_000.0, "{rate}");
        assert_eq!(lanes(Some(rate), 512 * KIB, 4, false), 1);
    }

    #[test]
    fn a_weak_links_bursts_average_out() {
        // 8 kB/s, whose bytes the browser hands over in steps of 16 KiB every 2 s, some of them late
        // (then two at once), once 64 KiB for a new connection's buffers: the speed stays near 8 kB/s.
        let mut link = Link::new();
        link.moved(0, 0.0);
        link.moved(65_536, 400.0);
        let mut t = 400.0;
        for i in 1..=60u32 {
            t += 2_048.0;
            let bytes = match i % 10 {
                3 => 0,
                4 => 32_768,
                _ if i == 30 => 16_384 + 65_536,
                _ => 16_384,
            };
            link.moved(bytes, t);
            let rate = link.rate().unwrap();
            assert!(i < 5 || (rate - 8_000.0).abs() < 2_500.0, "{rate} after {i} steps");
        }
    }

    #[test]
    fn after_a_cut_lanes_halve_but_a_fast_link_keeps_every_lane() {
        // 256 kB/s: two 512 KiB parts of ~4 s each, one of ~2 s once cut (what a cut loses halves).
        assert_eq!(lanes(Some(256_000.0), 512 * KIB, 4, false), 2);
        assert_eq!(lanes(Some(256_000.0), 512 * KIB, 4, true), 1);
        assert_eq!(lanes(Some(1_000_000.0), MIB, 16, true), 2);
        assert_eq!(lanes(Some(10_000_000.0), MIB, 4, true), 4);
    }

    #[test]
    fn a_new_session_takes_half_mebibyte_parts_unless_the_link_is_known_to_be_fast() {
        // (bytes per second) -> part size
        let table: &[(Option<f64>, u64)] = &[
            (None, 512 * KIB),
            (Some(0.0), 512 * KIB),
            (Some(16_000.0), 512 * KIB),
            (Some(128_000.0), 512 * KIB),
            (Some(524_287.0), 512 * KIB),
            (Some(524_288.0), MIB),
            (Some(10_000_000.0), MIB),
            (Some(f64::NAN), 512 * KIB),
        ];
        for &(rate, want) in table {
            assert_eq!(part_size(rate), want, "{rate:?} B/s");
            assert!(crate::plan::PART_SIZES.contains(&part_size(rate)));
        }
    }

    #[test]
    fn a_clock_that_goes_back_is_not_a_negative_span() {
        let mut link = Link::new();
        link.moved(0, 5_000.0);
        link.moved(300_000, 6_000.0);
        assert_eq!(link.rate(), Some(300_000.0));
        link.moved(100_000, 1_000.0);
        assert_eq!(link.rate(), Some(300_000.0));
    }
}
