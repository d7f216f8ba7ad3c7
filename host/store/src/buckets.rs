//! The usage counters: each agent's intents counted in buckets of a second,
//! a minute, an hour and a (UTC) day, so that a window of any length is
//! summed from a few dozen buckets instead of every intent in it.
//!
//! A window from `start` up to now is the suffix of time from the start of
//! the second `start` falls in. It decomposes into the seconds up to the
//! next whole minute, the minutes up to the next whole hour, the hours up
//! to the next whole day, and every day from there on: at most 59 + 59 +
//! 23 buckets plus one per day, whatever the number of intents.

use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::settlement::{self, Reporter};

/// The length of each bucket level, in seconds: level 0 is a second, 1 a
/// minute, 2 an hour, 3 a day.
pub(crate) const LEVELS: [i64; 4] = [1, 60, 3600, 86_400];

/// A bucket's spend saturates here (2^53 minor units), so that summing the
/// at most 172 buckets of a window never passes 2^63.
pub const MAX_BUCKET_SPEND: i64 = 1 << 53;

/// What an intent adds to its agent's spend ([`settlement::spend`]),
/// capped at [`MAX_BUCKET_SPEND`].
pub fn spend_minor(
    status: IntentStatus,
    declared: Option<u64>,
    settled: Option<u64>,
    settled_by: Reporter,
) -> i64 {
    settlement::spend(status, declared, settled, settled_by).min(MAX_BUCKET_SPEND as u64) as i64
}

/// The start (Unix seconds) of the bucket of each level holding a time.
pub(crate) fn bucket_starts(at_ms: i64) -> [i64; 4] {
    let second = at_ms.div_euclid(1000);
    LEVELS.map(|size| second.div_euclid(size) * size)
}

/// The buckets, per level, whose sum is every intent at or after the start
/// of the second holding `start_ms`: half-open ranges `[from, to)` of
/// bucket starts, level by level; the last one open to the future.
pub(crate) fn suffix_ranges(start_ms: i64) -> [(i64, i64); 4] {
    let start = start_ms.div_euclid(1000);
    let ceil = |size: i64| start.div_euclid(size) * size + if start % size == 0 { 0 } else { size };
    let (minute, hour, day) = (ceil(60), ceil(3600), ceil(86_400));
    [
        (start, minute),
        (minute, hour),
        (hour, day),
        (day, i64::MAX),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts, by the decomposition, the times at or after `start_ms`.
    fn counted(times_ms: &[i64], start_ms: i64) -> usize {
        let ranges = suffix_ranges(start_ms);
        times_ms
            .iter()
            .map(|&at| {
                let starts = bucket_starts(at);
                (0..4)
                    .filter(|&level| {
                        let (from, to) = ranges[level];
                        starts[level] >= from && starts[level] < to
                    })
                    .count()
            })
            .sum()
    }

    #[test]
    fn every_time_after_the_start_is_counted_once_and_earlier_ones_never() {
        // A pseudo-random spread over 40 days around an arbitrary moment,
        // against starts that are aligned and not, negative times included.
        let base = 1_767_225_600_000_i64 - 20 * 86_400_000;
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut times = Vec::new();
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            times.push(base + (x % (40 * 86_400_000)) as i64);
        }
        times.extend([0, -1, -999, -1000, -86_400_001]);
        let starts = times
            .iter()
            .copied()
            .chain([
                base,
                base + 60_000,
                base + 3_600_000,
                base + 86_400_000,
                -1500,
                0,
            ])
            .chain((0..50).map(|n| base + n * 1_234_567_891 % (40 * 86_400_000)));
        for start in starts {
            let second = start.div_euclid(1000) * 1000;
            let expected = times.iter().filter(|&&t| t >= second).count();
            assert_eq!(counted(&times, start), expected, "start {start}");
        }
    }

    #[test]
    fn a_window_reads_a_bounded_number_of_buckets() {
        let start = 1_767_225_600_000_i64 - 30 * 86_400_000 + 86_399_999;
        let [seconds, minutes, hours, days] = suffix_ranges(start);
        assert!(seconds.1 - seconds.0 < 60);
        assert!((minutes.1 - minutes.0) / 60 < 60);
        assert!((hours.1 - hours.0) / 3600 < 24);
        assert_eq!(days.1, i64::MAX);
    }
}
