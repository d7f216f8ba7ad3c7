//! Agents' usage kept in memory between their decisions, so that an agent
//! deciding again does not read its counters again.
//!
//! Every statement that moves an agent's counters adds one to its
//! `agents.usage_version` in the same transaction. Usage is kept with the
//! version read in the same statement as its sums, and given again only
//! for that version: the caller reads the agent's row in the agent's turn
//! and passes the version it says. A write of an intent declared after a
//! kept read adds the intent to it when its own statement took the version
//! from the kept one to the next (its `RETURNING` says which): nothing
//! else moved the counters in between, so the kept usage plus the intent
//! is the usage at the new version. Any other write leaves the version
//! ahead of what is kept, which is then read again.
//!
//! The windows run from their starts to now and on: kept usage counted at
//! one set of starts is the usage at later starts as long as no counted
//! intent is older than them. Each window keeps the start of the oldest
//! bucket it summed (a lower bound of its oldest intent's time), and is
//! given again only while its start has not passed it.

use std::collections::HashMap;
use std::sync::Mutex;

use warrant_domain::context::WindowUsage;
use warrant_domain::money::Currency;

use crate::buckets::MAX_BUCKET_SPEND;

/// The windows of a usage read, in [`warrant_domain::context::Usage`]'s
/// order.
pub(crate) const WINDOWS: usize = 8;

/// Whose usage, counting spend in which currency, with which merchant's
/// window.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    agent_id: String,
    currency: Currency,
    merchant_key: Option<String>,
}

/// Usage as a read at some starts gave it, and since moved by this
/// server's declarations.
#[derive(Clone, Debug)]
struct Kept {
    version: i64,
    /// Each window's start (Unix seconds) when read.
    starts: [i64; WINDOWS],
    /// The start of the oldest bucket each window counts (`i64::MAX` when
    /// it counts none).
    oldest: [i64; WINDOWS],
    windows: [WindowUsage; WINDOWS],
}

/// A usage read: each window's sums and oldest bucket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Read {
    pub oldest: [i64; WINDOWS],
    pub windows: [WindowUsage; WINDOWS],
}

/// Agents' usage kept by this server; see the module's documentation.
#[derive(Debug, Default)]
pub(crate) struct KeptUsage(Mutex<HashMap<Key, Kept>>);

impl KeptUsage {
    /// Past this many (about 500 bytes each), everything kept is forgotten.
    const MOST: usize = 50_000;

    fn key(agent_id: &str, currency: Currency, merchant_key: Option<&str>) -> Option<Key> {
        // An empty merchant would name the scope of all intents.
        if merchant_key.is_some_and(str::is_empty) {
            return None;
        }
        Some(Key {
            agent_id: agent_id.to_owned(),
            currency,
            merchant_key: merchant_key.map(str::to_owned),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Kept>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The usage kept for the agent at `version`, if it is still the usage
    /// of windows starting at `starts` (seconds).
    pub(crate) fn get(
        &self,
        agent_id: &str,
        currency: Currency,
        merchant_key: Option<&str>,
        version: i64,
        starts: &[i64; WINDOWS],
    ) -> Option<[WindowUsage; WINDOWS]> {
        let key = Self::key(agent_id, currency, merchant_key)?;
        let kept = self.lock().get(&key)?.clone();
        let current =
            (0..WINDOWS).all(|w| kept.starts[w] <= starts[w] && starts[w] <= kept.oldest[w]);
        (kept.version == version && current).then_some(kept.windows)
    }

    /// Keeps a read of windows starting at `starts` (seconds), made with
    /// the agent's usage at `version`.
    pub(crate) fn keep(
        &self,
        agent_id: &str,
        currency: Currency,
        merchant_key: Option<&str>,
        version: i64,
        starts: [i64; WINDOWS],
        read: Read,
    ) {
        let Some(key) = Self::key(agent_id, currency, merchant_key) else {
            return;
        };
        let mut kept = self.lock();
        if kept.len() >= Self::MOST && !kept.contains_key(&key) {
            kept.clear();
        }
        kept.insert(
            key,
            Kept {
                version,
                starts,
                oldest: read.oldest,
                windows: read.windows,
            },
        );
    }

    /// A declared intent of the agent is committed: at `at_ms`, spending
    /// `spend` of `currency`, with its merchant's key; its statement moved
    /// the agent's usage version to `version`. What is kept at the version
    /// before now counts the intent too; anything else kept of the agent
    /// is left behind by the version.
    pub(crate) fn declared(
        &self,
        agent_id: &str,
        currency: Currency,
        merchant_key: Option<&str>,
        version: i64,
        at_ms: i64,
        spend: i64,
    ) {
        let Some(key) = Self::key(agent_id, currency, merchant_key) else {
            return;
        };
        let mut all = self.lock();
        let Some(kept) = all.get_mut(&key) else {
            return;
        };
        // A bucket whose spend would reach the ceiling saturates there, so
        // the sum would not be the buckets'.
        let exact = kept.version + 1 == version
            && spend >= 0
            && kept
                .windows
                .iter()
                .all(|w| w.spend.saturating_add(spend as u64) < MAX_BUCKET_SPEND as u64);
        if !exact {
            all.remove(&key);
            return;
        }
        let second = at_ms.div_euclid(1000);
        kept.version = version;
        for (window, oldest) in kept.windows.iter_mut().zip(&mut kept.oldest) {
            window.count = window.count.saturating_add(1);
            window.spend += spend as u64;
            *oldest = (*oldest).min(second);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(oldest: i64, count: u64) -> Read {
        Read {
            oldest: [oldest; WINDOWS],
            windows: [WindowUsage {
                count,
                spend: 100 * count,
                ..WindowUsage::default()
            }; WINDOWS],
        }
    }

    #[test]
    fn usage_is_given_again_only_at_its_version_and_while_no_counted_bucket_leaves_a_window() {
        let kept = KeptUsage::default();
        let eur = Currency::EUR;
        kept.keep("a", eur, None, 7, [100; WINDOWS], read(130, 2));
        assert_eq!(
            kept.get("a", eur, None, 7, &[100; WINDOWS]).unwrap()[0].count,
            2
        );
        assert_eq!(
            kept.get("a", eur, None, 7, &[130; WINDOWS]).unwrap()[3].spend,
            200
        );
        // Another version, a window past its oldest bucket, or earlier.
        assert!(kept.get("a", eur, None, 8, &[100; WINDOWS]).is_none());
        assert!(kept.get("a", eur, None, 7, &[131; WINDOWS]).is_none());
        assert!(kept.get("a", eur, None, 7, &[99; WINDOWS]).is_none());
        // Another merchant's window, another currency's spend.
        assert!(kept.get("a", eur, Some("m"), 7, &[100; WINDOWS]).is_none());
        assert!(
            kept.get(
                "a",
                Currency::from_code("USD").unwrap(),
                None,
                7,
                &[100; WINDOWS]
            )
            .is_none()
        );
    }

    #[test]
    fn a_declaration_moves_what_is_kept_only_from_the_version_before_its_own() {
        let kept = KeptUsage::default();
        let eur = Currency::EUR;
        kept.keep("a", eur, None, 7, [100; WINDOWS], read(i64::MAX, 0));
        kept.declared("a", eur, None, 8, 120_500, 40);
        let now = kept.get("a", eur, None, 8, &[110; WINDOWS]).unwrap();
        assert_eq!((now[0].count, now[0].spend), (1, 40));
        // The new intent is the oldest now: a window past it is read again.
        assert!(kept.get("a", eur, None, 8, &[121; WINDOWS]).is_none());
        // Another write moved the counters in between: forgotten.
        kept.declared("a", eur, None, 10, 120_600, 40);
        assert!(kept.get("a", eur, None, 10, &[110; WINDOWS]).is_none());
        assert!(kept.get("a", eur, None, 8, &[110; WINDOWS]).is_none());
    }

    #[test]
    fn a_spend_near_the_buckets_ceiling_is_read_again() {
        let kept = KeptUsage::default();
        let eur = Currency::EUR;
        kept.keep("a", eur, None, 1, [100; WINDOWS], read(i64::MAX, 0));
        kept.declared("a", eur, None, 2, 120_000, MAX_BUCKET_SPEND);
        assert!(kept.get("a", eur, None, 2, &[100; WINDOWS]).is_none());
    }
}
