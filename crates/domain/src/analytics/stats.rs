//! Exact order statistics of durations.

use serde::Serialize;

/// Count, nearest-rank median and 90th percentile, maximum and total of a set
/// of durations in whole seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Duration {
    pub count: u64,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub max_seconds: Option<i64>,
    pub total_seconds: i64,
}

impl Duration {
    /// The statistics of `values` (any order).
    pub fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        let rank = |p: u64| -> Option<i64> {
            let n = values.len() as u64;
            // Nearest rank: the ceil(p/100 * n)-th smallest, 1-based.
            let k = (p * n).div_ceil(100).max(1);
            values.get(usize::try_from(k - 1).ok()?).copied()
        };
        Self {
            count: values.len() as u64,
            median_seconds: rank(50),
            p90_seconds: rank(90),
            max_seconds: values.last().copied(),
            total_seconds: values.iter().fold(0i64, |a, v| a.saturating_add(*v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_statistics() {
        let d = Duration::of(vec![50, 10, 40, 30, 20]);
        assert_eq!(d.count, 5);
        assert_eq!(d.median_seconds, Some(30));
        assert_eq!(d.p90_seconds, Some(50));
        assert_eq!(d.max_seconds, Some(50));
        assert_eq!(d.total_seconds, 150);
        let ten = Duration::of((1..=10).collect());
        assert_eq!((ten.median_seconds, ten.p90_seconds), (Some(5), Some(9)));
        assert_eq!(Duration::of(Vec::new()).median_seconds, None);
    }
}
