//! Stable sorting compiled once per component, not once per element type.
//!
//! The standard library's `sort_by` (driftsort) is 3–5 KB of Wasm compiled again
//! for every element type and comparator, and `BTreeMap`/`BTreeSet`'s `collect`
//! sorts with it too: 19 instances, 95 KB of campaign-intake's code before
//! (BENCHMARKS.md, "Component sizes"). Here one non-generic sort orders a
//! permutation of indices (ties broken by index, so the result is exactly what
//! `slice::sort_by` gives), and a few lines per element type apply it with swaps.
//! Collect a `BTreeMap`/`BTreeSet` with `extend` on an empty one instead of
//! `collect` (inserts, no sort).

use std::cmp::Ordering;

/// Sorts `items` stably by `compare`, like `slice::sort_by`.
pub fn sort_by<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let swaps = {
        let view: &[T] = items;
        swaps(view.len(), &mut |a, b| compare(&view[a], &view[b]))
    };
    for (a, b) in swaps {
        items.swap(a, b);
    }
}

/// Sorts `items` stably by the key `key` gives, like `slice::sort_by_key`.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `items` stably, like `slice::sort`.
pub fn sort<T: Ord>(items: &mut [T]) {
    sort_by(items, T::cmp);
}

/// The distinct items in order (what collecting into a `BTreeSet` and back gives).
pub fn sorted_unique<T: Ord>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = items.into_iter().collect();
    sort(&mut out);
    out.dedup();
    out
}

/// The swaps that put `len` items into stable sorted order by `compare` (over
/// their original positions), applied first to last.
fn swaps(len: usize, compare: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_unstable_by(|&a, &b| compare(a, b).then(a.cmp(&b)));
    // `at[p]`: the original index of the item now at position p; `pos[i]`: where
    // the item originally at i is now.
    let mut at: Vec<usize> = (0..len).collect();
    let mut pos = at.clone();
    let mut out = Vec::new();
    for (target, &wanted) in order.iter().enumerate() {
        let from = pos[wanted];
        if from != target {
            out.push((target, from));
            let displaced = at[target];
            at[target] = wanted;
            at[from] = displaced;
            pos[wanted] = target;
            pos[displaced] = from;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_exactly_as_the_standard_stable_sort(
            items in proptest::collection::vec((0u8..6, any::<u16>()), 0..200)
        ) {
            let mut expected = items.clone();
            expected.sort_by_key(|p| p.0);
            let mut ours = items.clone();
            sort_by_key(&mut ours, |p| p.0);
            prop_assert_eq!(&ours, &expected);
            let mut whole = items.clone();
            sort(&mut whole);
            let mut std_whole = items;
            std_whole.sort();
            prop_assert_eq!(whole, std_whole);
        }
    }

    #[test]
    fn reverse_and_ties_keep_their_order() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        sort_by(&mut v, |a, b| b.0.cmp(&a.0));
        assert_eq!(v, [(3, 'a'), (3, 'c'), (2, 'd'), (1, 'b'), (1, 'e')]);
    }
}
