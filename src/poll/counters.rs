//! Counters that never go backwards: 32-bit wraps, agent restarts and cleared counters are
//! told apart so that an exported total, and any rate drawn from it, is never negative.

use std::time::Duration;

/// Did the agent restart between two readings of sysUpTime taken `elapsed` apart?
///
/// sysUpTime is a 32-bit count of hundredths of a second that wraps after about 497 days. Between
/// two polls it must advance (modulo 2^32) by about the wall time that passed. It advancing by
/// much less means the agent started again in between (even when the new value is larger than
/// the old, after a long gap); advancing by much more means it went backwards, which is a
/// restart too. A genuine wrap advances by the right amount and is not a restart.
pub fn restarted(previous_ticks: u32, current_ticks: u32, elapsed: Duration) -> bool {
    let advanced = u64::from(current_ticks.wrapping_sub(previous_ticks));
    let expected = u64::try_from(elapsed.as_millis() / 10).unwrap_or(u64::MAX);
    // Polls are stamped by vigia's clock, replies by the agent's: allow for transit time and
    // scheduling delays, proportionally more over long gaps.
    let slack = (expected / 20).max(500);
    advanced.abs_diff(expected) > slack
}

/// How a counter moved between two readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The first reading: nothing to compare with.
    First,
    /// It advanced by this much.
    Advanced(u64),
    /// A 32-bit counter passed 2^32 and started again; it advanced by this much.
    Wrapped(u64),
    /// It went back (the agent restarted or the counter was cleared); the new reading counts
    /// from zero.
    Reset(u64),
}

/// Compare two readings of a counter `bits` wide. `restarted` says the agent restarted in
/// between (from [`restarted`]), which makes any decrease a reset rather than a wrap.
pub fn step(previous: Option<u64>, current: u64, bits: u8, restarted: bool) -> Step {
    let Some(previous) = previous else { return Step::First };
    if restarted {
        return Step::Reset(current);
    }
    if current >= previous {
        Step::Advanced(current - previous)
    } else if bits == 32 && previous <= u64::from(u32::MAX) {
        Step::Wrapped((1u64 << 32) - previous + current)
    } else {
        Step::Reset(current)
    }
}

/// A total that only grows, fed with successive raw readings of a device counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Monotonic {
    last: Option<u64>,
    total: u64,
}

impl Monotonic {
    /// Feed a reading; returns how it moved. The first reading starts the total at the
    /// reading itself, so the exported value matches the device's until something happens.
    pub fn update(&mut self, current: u64, bits: u8, restarted: bool) -> Step {
        let s = step(self.last, current, bits, restarted);
        self.total = match s {
            Step::First => current,
            Step::Advanced(d) | Step::Wrapped(d) | Step::Reset(d) => self.total.saturating_add(d),
        };
        self.last = Some(current);
        s
    }

    /// The total so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether it was ever fed a reading.
    pub fn read(&self) -> bool {
        self.last.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn uptime_advancing_with_the_clock_is_no_restart() {
        assert!(!restarted(100_000, 106_000, MINUTE));
        // A little transit delay either way is tolerated.
        assert!(!restarted(100_000, 106_300, MINUTE));
        assert!(!restarted(100_000, 105_700, MINUTE));
    }

    #[test]
    fn uptime_going_back_is_a_restart() {
        assert!(restarted(900_000, 1_200, MINUTE));
    }

    #[test]
    fn uptime_advancing_too_little_after_a_gap_is_a_restart() {
        // Polled at 1 s of uptime, then an hour later it reads 30 minutes: it restarted.
        assert!(restarted(100, 180_000, Duration::from_secs(3600)));
    }

    #[test]
    fn a_true_32_bit_wrap_of_sys_uptime_is_no_restart() {
        let before = u32::MAX - 2_999; // 30 s before the wrap
        let after = 3_000; // 30 s after it
        assert!(!restarted(before, after, MINUTE));
    }

    #[test]
    fn counter_steps_by_hand() {
        assert_eq!(step(None, 5, 64, false), Step::First);
        assert_eq!(step(Some(5), 9, 64, false), Step::Advanced(4));
        // 32-bit: 2^32 - 10 -> 20 is 30 octets, not a negative number.
        assert_eq!(step(Some(u64::from(u32::MAX) - 9), 20, 32, false), Step::Wrapped(30));
        // 64-bit counters do not wrap in practice: going back is a reset.
        assert_eq!(step(Some(1_000), 10, 64, false), Step::Reset(10));
        // After a restart even a 32-bit decrease is a reset, not a wrap.
        assert_eq!(step(Some(1_000), 10, 32, true), Step::Reset(10));
    }

    #[test]
    fn monotonic_totals_never_decrease() {
        let mut c = Monotonic::default();
        let readings = [(100, false), (250, false), (40, true), (90, false)];
        let mut last = 0;
        for (raw, restart) in readings {
            c.update(raw, 64, restart);
            assert!(c.total() >= last, "went back from {last} to {}", c.total());
            last = c.total();
        }
        // 100, +150, reset counts 40, +50.
        assert_eq!(c.total(), 340);
    }
}
