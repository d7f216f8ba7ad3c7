//! Where plugins run: blocking work (evaluations, compilations) on a
//! bounded number of threads, shared fairly among tenants, and stopped
//! when nobody waits for it any more.
//!
//! A job first takes one of its tenant's few slots, then one of the
//! pool's. A tenant never holds more than its share of the pool, so
//! another tenant always finds a slot free or soon free, however slow the
//! first one's plugins are; waits are first come, first served. A tenant
//! whose queue is full is answered 429 `E_BUSY` at once rather than
//! queued without end.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, OwnedMutexGuard, Semaphore};

use warrant_domain::plugin::Cancel;

use crate::errors::{AppError, Result};
use crate::keyed::{Held, Keyed};

/// How much a pool runs at once and lets wait.
#[derive(Clone, Copy, Debug)]
pub struct PoolSize {
    /// Jobs running at once, among all tenants.
    pub slots: usize,
    /// Jobs of one tenant running at once.
    pub per_tenant: usize,
    /// Jobs of one tenant waiting for a slot; one more is refused.
    pub queue_per_tenant: usize,
}

impl PoolSize {
    /// Evaluations: two per core (at least four), half of them for one
    /// tenant, 256 more of a tenant waiting (a busy tenant's requests
    /// queue; an attacker's are refused past that, not queued without
    /// end).
    pub fn evaluations() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let slots = (2 * cores).max(4);
        PoolSize {
            slots,
            per_tenant: slots / 2,
            queue_per_tenant: 256,
        }
    }

    /// Compilations of uploaded plugins: one at a time (compiling is
    /// CPU and memory heavy), and two more of a tenant waiting.
    pub fn compilations() -> Self {
        PoolSize {
            slots: 1,
            per_tenant: 1,
            queue_per_tenant: 2,
        }
    }
}

/// A tenant's slots, and how many of its jobs wait or run.
struct Lane {
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
}

/// Bounded blocking work, shared fairly among tenants.
pub(crate) struct FairPool {
    what: &'static str,
    size: PoolSize,
    slots: Arc<Semaphore>,
    lanes: Keyed<Lane>,
}

impl FairPool {
    /// A pool of `size` for `what` (named in its 429 answers).
    pub(crate) fn new(what: &'static str, size: PoolSize) -> Self {
        FairPool {
            what,
            size,
            slots: Arc::new(Semaphore::new(size.slots.max(1))),
            lanes: Keyed::default(),
        }
    }

    /// Runs `job` on a blocking thread in one of `tenant_id`'s slots, once
    /// one is free. When the returned future is dropped (its request was
    /// abandoned), a job still waiting never starts, and a running one
    /// sees its [`Cancel`] cancelled. A running job keeps its slots until
    /// it ends, so the pool bounds threads, not only requests.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        tenant_id: &str,
        job: impl FnOnce(&Cancel) -> T + Send + 'static,
    ) -> Result<T> {
        let lane = self.lane(tenant_id);
        let queued = Queued::join(lane.value().clone(), &self.size).ok_or_else(|| {
            metrics::counter!("warrant_pool_refusals_total", "pool" => self.what).increment(1);
            AppError::Busy(format!(
                "this tenant has {} {} running or waiting; retry shortly",
                self.size.per_tenant + self.size.queue_per_tenant,
                self.what
            ))
        })?;
        let tenant_slot =
            (lane.value().slots.clone().acquire_owned().await).map_err(AppError::internal)?;
        let slot = (self.slots.clone().acquire_owned().await).map_err(AppError::internal)?;
        self.count_busy();
        let cancel = Cancel::new();
        let _stop = CancelOnDrop(cancel.clone());
        let done = tokio::task::spawn_blocking(move || {
            let _held = (queued, tenant_slot, slot);
            job(&cancel)
        })
        .await
        .map_err(AppError::internal);
        self.count_busy();
        done
    }

    /// Shows on `/metrics` how many of the pool's slots are taken.
    fn count_busy(&self) {
        let busy = self.size.slots.max(1) - self.slots.available_permits();
        metrics::gauge!("warrant_pool_busy_slots", "pool" => self.what).set(busy as f64);
    }

    /// The tenant's lane, made with its slots on first use.
    fn lane(&self, tenant_id: &str) -> Held<'_, Lane> {
        self.lanes.get_with(tenant_id, || Lane {
            slots: Arc::new(Semaphore::new(self.size.per_tenant.max(1))),
            queued: AtomicUsize::new(0),
        })
    }
}

/// A job counted in its tenant's lane (waiting or running) until it ends.
struct Queued(Arc<Lane>);

impl Queued {
    fn join(lane: Arc<Lane>, size: &PoolSize) -> Option<Self> {
        let before = lane.queued.fetch_add(1, Ordering::AcqRel);
        let queued = Queued(lane);
        (before < size.per_tenant + size.queue_per_tenant).then_some(queued)
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Cancels a job when the future waiting for it is dropped.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// One decision at a time per agent on this server, each agent with a turn
/// of its own (no two agents ever wait for each other).
#[derive(Default)]
pub(crate) struct AgentTurns(Keyed<Mutex<()>>);

/// An agent's turn, held until dropped.
pub(crate) struct Turn<'a> {
    _guard: OwnedMutexGuard<()>,
    _held: Held<'a, Mutex<()>>,
}

impl AgentTurns {
    /// Waits for `agent_id`'s turn.
    pub(crate) async fn take(&self, agent_id: &str) -> Turn<'_> {
        let held = self.0.get(agent_id);
        let guard = held.value().clone().lock_owned().await;
        Turn {
            _guard: guard,
            _held: held,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    fn small() -> FairPool {
        FairPool::new(
            "jobs",
            PoolSize {
                slots: 2,
                per_tenant: 1,
                queue_per_tenant: 1,
            },
        )
    }

    /// A job that holds its slot until told to end.
    fn held(release: mpsc::Receiver<()>) -> impl FnOnce(&Cancel) -> bool + Send + 'static {
        move |cancel: &Cancel| {
            while release.recv_timeout(Duration::from_millis(5)).is_err() {
                if cancel.is_cancelled() {
                    return false;
                }
            }
            true
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tenant_past_its_queue_is_refused_at_once_while_another_runs() {
        let pool = Arc::new(small());
        let (release_a, wait_a) = mpsc::channel();
        let running = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run("tn_a", held(wait_a)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run("tn_a", |_| true).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = pool.run("tn_a", |_| true).await.unwrap_err();
        assert_eq!(refused.code(), "E_BUSY");
        // Another tenant has a slot of its own.
        let other = tokio::time::timeout(Duration::from_secs(5), pool.run("tn_b", |_| 7))
            .await
            .expect("tenant b is not kept waiting");
        assert_eq!(other.unwrap(), 7);
        release_a.send(()).unwrap();
        assert!(running.await.unwrap().unwrap());
        assert!(queued.await.unwrap().unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_run_cancels_its_job_and_frees_its_slot() {
        let pool = Arc::new(small());
        let (_release, wait) = mpsc::channel();
        let (ended, seen) = mpsc::channel();
        let job = held(wait);
        let run = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run("tn_a", move |cancel| {
                    let finished = job(cancel);
                    ended.send(finished).unwrap();
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        run.abort();
        let finished = seen
            .recv_timeout(Duration::from_secs(5))
            .expect("the job ends");
        assert!(!finished, "the job saw its cancel");
        let next = tokio::time::timeout(Duration::from_secs(5), pool.run("tn_a", |_| 1))
            .await
            .expect("the slot is free again");
        assert_eq!(next.unwrap(), 1);
    }
}
