//! A cache bounded by the bytes its entries stand for, not by their
//! number: what a tenant can make the server keep (compiled policies,
//! loaded plugins) never grows past a budget. The entries used least
//! recently are the first to go (CLOCK-Pro, an approximation of LRU); an
//! evicted entry is simply made again from the database on its next use.

use std::hash::Hash;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// A value with the bytes it stands for.
#[derive(Clone)]
pub(crate) struct Weighed<V> {
    pub(crate) value: V,
    pub(crate) bytes: u64,
}

#[derive(Clone)]
pub(crate) struct ByBytes;

impl<K, V> Weighter<K, Weighed<V>> for ByBytes {
    fn weight(&self, _: &K, entry: &Weighed<V>) -> u64 {
        entry.bytes.max(1)
    }
}

/// Values by key, at most `budget` bytes of them.
pub(crate) struct BoundedCache<K, V> {
    cache: Cache<K, Weighed<V>, ByBytes>,
}

impl<K: Eq + Hash + Clone, V: Clone> BoundedCache<K, V> {
    /// A cache of at most `budget` bytes, sized for about `entries`.
    pub(crate) fn new(entries: usize, budget: u64) -> Self {
        BoundedCache {
            cache: Cache::with_weighter(entries, budget, ByBytes),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.cache.get(key).map(|entry| entry.value)
    }

    /// Keeps `value`, which stands for `bytes`; a value larger than the
    /// whole budget is not kept.
    pub(crate) fn insert(&self, key: K, value: V, bytes: u64) {
        self.cache.insert(key, Weighed { value, bytes });
    }

    pub(crate) fn remove(&self, key: &K) {
        self.cache.remove(key);
    }

    /// The bytes the kept values stand for.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> u64 {
        self.cache.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_no_more_bytes_than_its_budget() {
        let cache: BoundedCache<u32, u32> = BoundedCache::new(16, 1000);
        for key in 0..100 {
            cache.insert(key, key, 100);
            assert!(cache.bytes() <= 1000, "{} bytes", cache.bytes());
        }
        assert_eq!(cache.get(&99), Some(99));
        let kept = (0..100).filter(|key| cache.get(key).is_some()).count();
        assert!((1..=10).contains(&kept), "{kept} kept");
    }

    #[test]
    fn a_value_over_the_whole_budget_is_not_kept() {
        let cache: BoundedCache<u32, u32> = BoundedCache::new(16, 1000);
        cache.insert(1, 1, 5000);
        assert_eq!(cache.get(&1), None);
    }
}
