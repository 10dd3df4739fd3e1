//! The retry schedule: exponential backoff with jitter, bounded.

/// When to send a call again after its `n`-th failure in a row (`n` ≥ 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay before the first retry, before jitter.
    pub base_ms: u32,
    /// No delay is longer than this, before jitter.
    pub max_ms: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base_ms: 500, max_ms: 16_000 }
    }
}

impl Backoff {
    /// The wait before retry `n` (1-based), given `random` in [0, 1): half of the exponential delay is
    /// fixed and half is random ("equal jitter"), so that clients that failed together spread out but
    /// none hammers the server.
    pub fn delay_ms(&self, n: u32, random: f64) -> u32 {
        let exp = u64::from(self.base_ms).saturating_mul(1u64 << n.saturating_sub(1).min(30));
        let capped = exp.min(u64::from(self.max_ms)) as f64;
        let jitter = random.clamp(0.0, 1.0);
        (capped / 2.0 + capped / 2.0 * jitter).round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps_with_jitter_in_the_upper_half() {
        let b = Backoff { base_ms: 500, max_ms: 4_000 };
        assert_eq!(b.delay_ms(1, 0.0), 250);
        assert_eq!(b.delay_ms(1, 1.0), 500);
        assert_eq!(b.delay_ms(2, 0.0), 500);
        assert_eq!(b.delay_ms(3, 0.5), 1_500);
        assert_eq!(b.delay_ms(4, 1.0), 4_000);
        assert_eq!(b.delay_ms(10, 1.0), 4_000);
        assert_eq!(b.delay_ms(200, 0.0), 2_000, "huge attempt counts do not overflow");
    }

    #[test]
    fn zero_base_means_no_wait() {
        assert_eq!(Backoff { base_ms: 0, max_ms: 1_000 }.delay_ms(5, 0.7), 0);
    }
}
