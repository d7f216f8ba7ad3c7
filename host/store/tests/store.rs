//! The store through its trait, on SQLite and on PostgreSQL: every test
//! runs on both (on PostgreSQL when `WARRANT_TEST_POSTGRES` names a server
//! to create throwaway databases on, as `.ci/run` and `scripts/postgres`
//! arrange; without it those say so and pass).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use warrant_domain::receipt::{self, Jwk, Jwks, KeyVault, SigningKey};

use warrant_domain::context::{Agent, Card, Intent, WindowUsage};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_domain::plan::PlanLimit;
use warrant_domain::settlement::Reporter;
use warrant_store::{
    AgentEvent, AgentRecord, DecisionActions, IdempotencyRecord, IntentEvent, IntentFilter,
    IntentRecord, Page, Plan, PluginRecord, PolicyRecord, PostgresStore, Quota, SettledAmount,
    SettlementUpdate, SettlementWrite, SqliteStore, StatusChange, Store, StoreError, StoredInput,
    TenantRecord, TokenRecord,
};

use warrant_store::log::{
    AttemptOutcome, AttemptRecord, DeliveryStatus, EndpointRecord, EventFilter, EventRecord,
};

const MINUTE: i64 = 60_000;
const NO_ACTIONS: DecisionActions = DecisionActions {
    suspend: None,
    alerts: Vec::new(),
    input: None,
};
const NOW: i64 = 1_800_000_000_000;

fn admin() -> warrant_store::Actor {
    warrant_store::Actor::named_by_id("admin")
}

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A new, empty store: an SQLite file in a temporary directory, or a new
/// database on the test PostgreSQL server; `None` when there is none. With
/// the place it is at, to open it again.
async fn empty_store(
    backend: Backend,
) -> Option<(Option<tempfile::TempDir>, Arc<dyn Store>, String)> {
    let (dir, location) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("warrant.db");
            (Some(dir), path.to_str().unwrap().to_owned())
        }
        Backend::Postgres => {
            let Ok(server) = std::env::var("WARRANT_TEST_POSTGRES") else {
                eprintln!("skipped on PostgreSQL: WARRANT_TEST_POSTGRES is not set");
                return None;
            };
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let name = format!(
                "warrant_store_{}_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_micros()
            );
            (None, format!("{}/{name}", server.trim_end_matches('/')))
        }
    };
    let store = open_at(backend, &location).await;
    Some((dir, store, location))
}

/// Opens the store at `location` (another handle on the same database).
async fn open_at(backend: Backend, location: &str) -> Arc<dyn Store> {
    let store = open_bare(backend, location).await;
    store.use_key_vault(Arc::new(PlainVault));
    store
}

/// Opens the store at `location` with no vault for signing keys.
async fn open_bare(backend: Backend, location: &str) -> Arc<dyn Store> {
    match backend {
        Backend::Sqlite => Arc::new(
            SqliteStore::open(std::path::Path::new(location))
                .await
                .unwrap(),
        ),
        Backend::Postgres => Arc::new(PostgresStore::connect(location).await.unwrap()),
    }
}

/// Keeps signing keys unsealed, as hex: for these tests alone.
struct PlainVault;

impl KeyVault for PlainVault {
    fn new_key(&self) -> Result<(SigningKey, String), String> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut secret = [7u8; 32];
        secret[..8].copy_from_slice(&n.to_be_bytes());
        secret[8..24].copy_from_slice(&ulid::Ulid::generate().0.to_be_bytes());
        let text = secret.iter().map(|b| format!("{b:02x}")).collect();
        Ok((SigningKey::from_bytes(&secret), text))
    }

    fn open(&self, sealed: &str) -> Option<SigningKey> {
        let bytes: Vec<u8> = (0..sealed.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(sealed.get(i..i + 2)?, 16).ok())
            .collect::<Option<_>>()?;
        Some(SigningKey::from_bytes(&bytes.try_into().ok()?))
    }
}

/// A store with tenant `tn_1`, policy `pol_1` and agent `ag_1`.
async fn store_with_agent(backend: Backend) -> Option<(Option<tempfile::TempDir>, Arc<dyn Store>)> {
    store_with_agent_at(backend)
        .await
        .map(|(dir, store, _)| (dir, store))
}

/// [`store_with_agent`], with where it is.
async fn store_with_agent_at(
    backend: Backend,
) -> Option<(Option<tempfile::TempDir>, Arc<dyn Store>, String)> {
    let (dir, store, location) = empty_store(backend).await?;
    let tenant = TenantRecord {
        id: "tn_1".into(),
        name: "t".into(),
        plan: Plan::Enterprise,
        created_ms: 0,
    };
    store
        .create_tenant(&tenant, &first_key(), "hash", None)
        .await
        .unwrap();
    let policy = PolicyRecord {
        id: "pol_1".into(),
        tenant_id: "tn_1".into(),
        name: "p".into(),
        version: 1,
        body: "{}".into(),
        created_ms: 0,
        actor: None,
        actor_name: None,
    };
    store.insert_policy(&policy, &[], None).await.unwrap();
    let agent = AgentRecord {
        tenant_id: "tn_1".into(),
        policy_id: "pol_1".into(),
        policy_version: 1,
        agent: Agent {
            id: "ag_1".into(),
            ..Agent::default()
        },
        version: 1,
        created_ms: 0,
        updated_ms: 0,
        signing_key: None,
        usage_version: 0,
    };
    store
        .insert_agent(
            &agent,
            &warrant_store::Actor::named_by_id("tenant:tn_1"),
            None,
        )
        .await
        .unwrap();
    Some((dir, store, location))
}

fn intent(n: u32, at_ms: i64, status: IntentStatus, amount: Money, merchant: &str) -> IntentRecord {
    IntentRecord {
        id: format!("int_{n:04}"),
        tenant_id: "tn_1".into(),
        agent_id: "ag_1".into(),
        status,
        intent: Intent {
            id: format!("int_{n:04}"),
            amount: Some(amount),
            merchant: Some(merchant.into()),
            card: Card::Name("c".into()),
            purpose: "p".into(),
            recurring: None,
            client_intent_id: None,
            ttl_minutes: 60,
            signed_by: None,
        },
        card: None,
        decision: "{}".into(),
        policy_id: "pol_1".into(),
        policy_version: 1,
        status_reason: None,
        settlement: None,
        approvals_required: 1,
        created_ms: at_ms,
        updated_ms: at_ms,
        expires_ms: at_ms + 60 * MINUTE,
        input_sha256: None,
    }
}

fn created(record: &IntentRecord) -> IntentEvent {
    IntentEvent {
        id: format!("ev_{}", record.id),
        intent_id: record.id.clone(),
        from: None,
        to: record.status,
        actor: "policy".into(),
        actor_name: None,
        reason: None,
        note: None,
        at_ms: record.created_ms,
        settlement: None,
        kind: None,
    }
}

async fn usage_counts_every_intent_and_spends_pending_approved_and_completed_ones(
    backend: Backend,
) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    use IntentStatus::*;
    let intents = [
        intent(1, NOW - 30 * 1000, Approved, Money::eur(100), "a.com"),
        intent(2, NOW - 30 * MINUTE, Denied, Money::eur(5000), "a.com"),
        intent(
            3,
            NOW - 2 * 60 * MINUTE,
            Completed,
            Money::eur(250),
            "B.com",
        ),
        intent(
            4,
            NOW - 3 * 24 * 60 * MINUTE,
            Approved,
            Money::eur(1000),
            "a.com",
        ),
        intent(
            5,
            NOW - 20 * 24 * 60 * MINUTE,
            PendingApproval,
            Money::eur(7),
            "a.com",
        ),
        intent(
            6,
            NOW - 10 * 1000,
            Approved,
            Money::new(9, Currency::from_code("USD").unwrap()),
            "a.com",
        ),
        intent(
            7,
            NOW - 40 * 24 * 60 * MINUTE,
            Approved,
            Money::eur(99_999),
            "a.com",
        ),
    ];
    for record in &intents {
        store
            .insert_intent(record, &created(record), &NO_ACTIONS, &|_| None)
            .await
            .unwrap();
    }
    let day_start = NOW - 90 * MINUTE;
    let month_start = NOW - 5 * 24 * 60 * MINUTE;
    let usage = store
        .usage(
            "ag_1",
            Currency::EUR,
            Some("a.com"),
            NOW,
            day_start,
            month_start,
            None,
        )
        .await
        .unwrap();
    let w = |count, spend| WindowUsage {
        count,
        spend,
        ..WindowUsage::default()
    };
    assert_eq!(usage.last_minute, w(2, 100));
    assert_eq!(usage.last_hour, w(3, 100));
    assert_eq!(usage.last_day, w(4, 350));
    assert_eq!(usage.last_week, w(5, 1350));
    assert_eq!(usage.last_month, w(6, 1357));
    assert_eq!(usage.calendar_day, w(3, 100));
    assert_eq!(usage.calendar_month, w(5, 1350));
    assert_eq!(usage.merchant_last_month, w(5, 1107));

    let none = store
        .usage(
            "ag_1",
            Currency::EUR,
            None,
            NOW,
            day_start,
            month_start,
            None,
        )
        .await
        .unwrap();
    assert_eq!(none.merchant_last_month, w(0, 0));
}

async fn intents_list_by_the_time_they_were_declared(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    for n in 1..=4 {
        let record = intent(
            n,
            NOW + i64::from(n) * MINUTE,
            IntentStatus::Approved,
            Money::eur(100),
            "a.com",
        );
        store
            .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
            .await
            .unwrap();
    }
    let listed = |from: Option<i64>, before: Option<i64>| {
        let store = store.clone();
        async move {
            let filter = IntentFilter {
                now_ms: NOW,
                created_from_ms: from,
                created_before_ms: before,
                ..IntentFilter::default()
            };
            store
                .intents("tn_1", &filter, &whole_page())
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(None, None).await.len(), 4);
    // From is inclusive, before is not; newest first.
    assert_eq!(
        listed(Some(NOW + 2 * MINUTE), Some(NOW + 4 * MINUTE)).await,
        ["int_0003", "int_0002"]
    );
    assert_eq!(listed(Some(NOW + 4 * MINUTE), None).await, ["int_0004"]);
    assert!(listed(None, Some(NOW + MINUTE)).await.is_empty());
}

async fn a_status_change_applies_only_from_the_expected_status(backend: Backend) {
    use IntentStatus::*;
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let record = intent(1, NOW, PendingApproval, Money::eur(1), "a.com");
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    let change = |id: &str, from, to| StatusChange {
        tenant_id: "tn_1".into(),
        event: IntentEvent {
            id: id.into(),
            intent_id: "int_0001".into(),
            from: Some(from),
            to,
            actor: "tenant".into(),
            actor_name: None,
            reason: None,
            note: None,
            at_ms: NOW + 1,
            settlement: None,
            kind: None,
        },
        settlement: None,
        seen_updated_ms: Some(NOW),
        require_unexpired: true,
        require_active_agent: false,
    };
    assert!(
        store
            .change_status(&change("ev_a", PendingApproval, Approved), &|_| None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .change_status(&change("ev_b", PendingApproval, Denied), &|_| None)
            .await
            .unwrap()
            .is_none()
    );
    let stored = store.intent("tn_1", "int_0001").await.unwrap().unwrap();
    assert_eq!(stored.status, Approved);
    assert_eq!(store.intent_events("int_0001").await.unwrap().len(), 2);
    // Another tenant's id moves nothing.
    let mut foreign = change("ev_c", Approved, Cancelled);
    foreign.tenant_id = "tn_2".into();
    foreign.seen_updated_ms = Some(NOW + 1);
    assert!(
        store
            .change_status(&foreign, &|_| None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.intent("tn_2", "int_0001").await.unwrap().is_none());
    // A change decided on an older version of the intent does not apply.
    let stale = change("ev_d", Approved, Cancelled);
    assert!(
        store
            .change_status(&stale, &|_| None)
            .await
            .unwrap()
            .is_none()
    );
    // Nor one made after the time to live ended.
    let mut late = change("ev_e", Approved, Cancelled);
    late.seen_updated_ms = Some(NOW + 1);
    late.event.at_ms = NOW + 61 * MINUTE;
    assert!(
        store
            .change_status(&late, &|_| None)
            .await
            .unwrap()
            .is_none()
    );
    late.event.at_ms = NOW + 2;
    assert!(
        store
            .change_status(&late, &|_| None)
            .await
            .unwrap()
            .is_some()
    );
}

async fn an_idempotency_key_is_taken_once_and_its_write_rolls_back_with_it(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let idem = IdempotencyRecord {
        scope: "tn_1".into(),
        key: "k".into(),
        request_sha256: "h".into(),
        status: 201,
        body: "{}".into(),
        created_ms: NOW,
    };
    let first = intent(1, NOW, IntentStatus::Approved, Money::eur(1), "a.com");
    store
        .insert_intent(&first, &created(&first), &NO_ACTIONS, &|_| {
            Some(idem.clone())
        })
        .await
        .unwrap();
    let second = intent(2, NOW, IntentStatus::Approved, Money::eur(1), "a.com");
    let taken = store
        .insert_intent(&second, &created(&second), &NO_ACTIONS, &|_| {
            Some(idem.clone())
        })
        .await;
    assert!(
        matches!(taken, Err(StoreError::IdempotencyKeyTaken)),
        "{taken:?}"
    );
    assert!(store.intent("tn_1", "int_0002").await.unwrap().is_none());
    assert_eq!(
        store.idempotent_response("tn_1", "k").await.unwrap(),
        Some(idem)
    );
    assert_eq!(store.purge_idempotency(NOW + 1).await.unwrap(), 1);
    assert_eq!(store.idempotent_response("tn_1", "k").await.unwrap(), None);
}

async fn usage_saturates_at_2_to_the_53_minor_units_instead_of_failing(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    for n in 0..4 {
        let record = intent(
            n,
            NOW - 1000,
            IntentStatus::Approved,
            Money::eur(5_000_000_000_000_000_000),
            "a.com",
        );
        store
            .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
            .await
            .unwrap();
    }
    let usage = store
        .usage(
            "ag_1",
            Currency::EUR,
            Some("a.com"),
            NOW,
            NOW - MINUTE,
            NOW - MINUTE,
            None,
        )
        .await
        .unwrap();
    assert_eq!(usage.last_minute.count, 4);
    let cap = warrant_store::MAX_BUCKET_SPEND as u64;
    assert_eq!(usage.last_minute.spend, cap);
    assert_eq!(usage.merchant_last_month.spend, cap);
}

async fn a_settled_amount_counts_once_the_intent_completes(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let record = intent(
        1,
        NOW - 1000,
        IntentStatus::Approved,
        Money::eur(10_000),
        "a.com",
    );
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    let spend = async || {
        store
            .usage(
                "ag_1",
                Currency::EUR,
                None,
                NOW,
                NOW - MINUTE,
                NOW - MINUTE,
                None,
            )
            .await
            .unwrap()
            .last_minute
            .spend
    };
    let flagged = async || {
        let usage = store
            .usage(
                "ag_1",
                Currency::EUR,
                None,
                NOW,
                NOW - MINUTE,
                NOW - MINUTE,
                None,
            )
            .await
            .unwrap();
        (
            usage.last_minute.flagged_count,
            usage.last_minute.flagged_spend,
        )
    };
    let settlement = |minor: Option<u64>, by: Reporter, flagged: bool| SettlementWrite {
        record: "{}".into(),
        amount: Some(SettledAmount { minor, by }),
        flagged,
    };
    let update = |settlement: SettlementWrite, at_ms: i64, seen: i64| SettlementUpdate {
        tenant_id: "tn_1".into(),
        intent_id: record.id.clone(),
        status: IntentStatus::Approved,
        settlement,
        event_id: format!("ev_settled_{at_ms}"),
        actor: "tenant".into(),
        actor_name: None,
        at_ms,
        seen_updated_ms: seen,
    };
    let first = update(
        settlement(Some(1), Reporter::Tenant, false),
        NOW - 500,
        record.updated_ms,
    );
    assert!(
        store
            .set_settlement(&first, &|_| None)
            .await
            .unwrap()
            .is_some()
    );
    // Approved: the declared amount may still be spent.
    assert_eq!(spend().await, 10_000);
    let complete = |by: Reporter, minor: u64, flagged: bool| StatusChange {
        tenant_id: "tn_1".into(),
        event: IntentEvent {
            id: format!("ev_done_{minor}"),
            intent_id: record.id.clone(),
            from: Some(IntentStatus::Approved),
            to: IntentStatus::Completed,
            actor: "agent:ag_1".into(),
            actor_name: None,
            reason: None,
            note: None,
            at_ms: NOW - 400,
            settlement: None,
            kind: None,
        },
        settlement: Some(settlement(Some(minor), by, flagged)),
        seen_updated_ms: None,
        require_unexpired: false,
        require_active_agent: false,
    };
    // The agent reports less than it declared, flagged: its spend stays
    // at the declared amount, and the flagged settlement is counted.
    assert!(
        store
            .change_status(&complete(Reporter::Agent, 2_500, true), &|_| None)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(spend().await, 10_000);
    assert_eq!(flagged().await, (1, 10_000));
    // The tenant confirms what was paid: it counts, and nothing is flagged.
    let confirmed = SettlementUpdate {
        status: IntentStatus::Completed,
        ..update(
            settlement(Some(2_500), Reporter::Tenant, false),
            NOW - 300,
            NOW - 400,
        )
    };
    assert!(
        store
            .set_settlement(&confirmed, &|_| None)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(spend().await, 2_500);
    assert_eq!(flagged().await, (0, 0));
    // An agent's verification records, flags, and never moves the spend.
    let verified = SettlementUpdate {
        status: IntentStatus::Completed,
        settlement: SettlementWrite {
            amount: None,
            ..settlement(Some(0), Reporter::Agent, true)
        },
        ..update(
            settlement(None, Reporter::Agent, true),
            NOW - 200,
            NOW - 300,
        )
    };
    assert!(
        store
            .set_settlement(&verified, &|_| None)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(spend().await, 2_500);
    assert_eq!(flagged().await, (1, 10_000));
    // A later clean report of the agent's does not clear the flag.
    let clean = SettlementUpdate {
        status: IntentStatus::Completed,
        settlement: SettlementWrite {
            record: r#"{"flagged":false}"#.into(),
            amount: None,
            flagged: false,
        },
        ..update(
            settlement(None, Reporter::Agent, false),
            NOW - 100,
            NOW - 200,
        )
    };
    assert!(
        store
            .set_settlement(&clean, &|_| None)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(flagged().await, (1, 10_000));
    // Every settlement is in the history, the verifications from and to
    // the status the intent stayed in; the intent shows the latest.
    let history = store.intent_events(&record.id).await.unwrap();
    let settled: Vec<(Option<IntentStatus>, IntentStatus, Option<&str>)> = history
        .iter()
        .filter(|event| event.settlement.is_some())
        .map(|event| (event.from, event.to, event.settlement.as_deref()))
        .collect();
    let (approved, completed) = (IntentStatus::Approved, IntentStatus::Completed);
    assert_eq!(
        settled,
        [
            (Some(approved), approved, Some("{}")),
            (Some(completed), completed, Some("{}")),
            (Some(completed), completed, Some("{}")),
            (Some(completed), completed, Some(r#"{"flagged":false}"#)),
        ]
    );
    let shown = store.intent("tn_1", &record.id).await.unwrap().unwrap();
    assert_eq!(shown.settlement.as_deref(), Some(r#"{"flagged":false}"#));
}

async fn the_counters_agree_with_the_intents_through_every_change(backend: Backend) {
    use IntentStatus::*;
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    // Intents spread over 40 days, some in other currencies and merchants,
    // then moved: some approved, cancelled, completed, expired.
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let usd = Currency::from_code("USD").unwrap();
    let mut records = Vec::new();
    for n in 0..300u32 {
        let at = NOW - next(40 * 24 * 60) as i64 * MINUTE - next(60_000) as i64;
        let status = [PendingApproval, Approved, Denied][next(3) as usize];
        let currency = if next(5) == 0 { usd } else { Currency::EUR };
        let merchant = ["a.com", "b.com", "c.com"][next(3) as usize];
        let record = intent(n, at, status, Money::new(next(100_000), currency), merchant);
        store
            .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
            .await
            .unwrap();
        records.push(record);
    }
    for record in records.iter_mut() {
        let (to, actual) = match (record.status, next(4)) {
            (PendingApproval, 0) => (Approved, None),
            (PendingApproval, 1) => (Expired, None),
            (Approved, 0) => (Completed, Some(next(100_000))),
            (Approved, 1) => (Cancelled, None),
            (Approved, 2) => (Completed, None),
            _ => continue,
        };
        // Settlements of the tenant and of the agent, some flagged; the
        // record keeps `amount reporter flagged` for the reference below.
        let by = [Reporter::Tenant, Reporter::Agent][next(2) as usize];
        let flagged = by == Reporter::Agent && next(3) == 0;
        let settlement = (to == Completed).then(|| SettlementWrite {
            record: "{}".into(),
            amount: Some(SettledAmount { minor: actual, by }),
            flagged,
        });
        let change = StatusChange {
            tenant_id: "tn_1".into(),
            event: IntentEvent {
                id: format!("ev_move_{}", record.id),
                intent_id: record.id.clone(),
                from: Some(record.status),
                to,
                actor: "tenant".into(),
                actor_name: None,
                reason: None,
                note: None,
                at_ms: NOW,
                settlement: None,
                kind: None,
            },
            settlement,
            seen_updated_ms: None,
            require_unexpired: false,
            require_active_agent: false,
        };
        assert!(
            store
                .change_status(&change, &|_| None)
                .await
                .unwrap()
                .is_some()
        );
        record.status = to;
        record.settlement = (to == Completed).then(|| {
            format!(
                "{} {} {flagged}",
                actual.map_or(-1, |a| a as i64),
                by == Reporter::Tenant
            )
        });
    }
    let day_start = NOW - 13 * 60 * MINUTE - 7_777;
    let month_start = NOW - 17 * 24 * 60 * MINUTE + 123;
    let usage = store
        .usage(
            "ag_1",
            Currency::EUR,
            Some("b.com"),
            NOW,
            day_start,
            month_start,
            None,
        )
        .await
        .unwrap();
    // The same windows, summed from the records themselves; a window starts
    // at the beginning of the second its start falls in.
    let reference = |start: i64, merchant: Option<&str>| {
        let from = start.div_euclid(1000) * 1000;
        let mut window = WindowUsage::default();
        for r in records.iter().filter(|r| r.created_ms >= from) {
            if merchant.is_some_and(|m| r.intent.merchant.as_deref() != Some(m)) {
                continue;
            }
            window.count += 1;
            let amount = r.intent.amount.unwrap();
            let (settled, by, flagged) = match r.settlement.as_deref().map(|s| {
                let parts: Vec<&str> = s.split(' ').collect();
                (
                    parts[0].parse::<i64>().unwrap(),
                    parts[1] == "true",
                    parts[2] == "true",
                )
            }) {
                Some((settled, tenant, flagged)) => (
                    u64::try_from(settled).ok(),
                    if tenant {
                        Reporter::Tenant
                    } else {
                        Reporter::Agent
                    },
                    flagged,
                ),
                None => (None, Reporter::Agent, false),
            };
            window.flagged_count += u64::from(flagged);
            if amount.currency == Currency::EUR {
                window.spend +=
                    warrant_store::spend_minor(r.status, Some(amount.minor_units), settled, by)
                        as u64;
                if flagged {
                    window.flagged_spend += amount.minor_units;
                }
            }
        }
        window
    };
    const DAY: i64 = 24 * 60 * MINUTE;
    assert_eq!(usage.last_minute, reference(NOW - MINUTE, None));
    assert_eq!(usage.last_hour, reference(NOW - 60 * MINUTE, None));
    assert_eq!(usage.last_day, reference(NOW - DAY, None));
    assert_eq!(usage.last_week, reference(NOW - 7 * DAY, None));
    assert_eq!(usage.last_month, reference(NOW - 30 * DAY, None));
    assert_eq!(usage.calendar_day, reference(day_start, None));
    assert_eq!(usage.calendar_month, reference(month_start, None));
    assert_eq!(
        usage.merchant_last_month,
        reference(NOW - 30 * DAY, Some("b.com"))
    );
    assert!(usage.last_month.count > 100 && usage.last_month.spend > 0);
    assert!(usage.last_month.flagged_count > 0);
}

async fn an_approval_and_a_new_intent_need_an_active_agent_at_commit(backend: Backend) {
    use IntentStatus::*;
    use warrant_domain::context::AgentStatus;
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let record = intent(1, NOW, PendingApproval, Money::eur(1), "a.com");
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    let frozen = store
        .set_agent_status_logged(
            &agent_event("aev_frozen", "frozen", NOW),
            &[AgentStatus::Active],
            AgentStatus::Frozen,
            None,
        )
        .await
        .unwrap();
    assert!(frozen);
    let approve = StatusChange {
        tenant_id: "tn_1".into(),
        event: IntentEvent {
            id: "ev_a".into(),
            intent_id: record.id.clone(),
            from: Some(PendingApproval),
            to: Approved,
            actor: "tenant".into(),
            actor_name: None,
            reason: None,
            note: None,
            at_ms: NOW + 1,
            settlement: None,
            kind: None,
        },
        settlement: None,
        seen_updated_ms: Some(NOW),
        require_unexpired: true,
        require_active_agent: true,
    };
    assert!(
        store
            .change_status(&approve, &|_| None)
            .await
            .unwrap()
            .is_none()
    );
    let next = intent(2, NOW, Approved, Money::eur(1), "a.com");
    let refused = store
        .insert_intent(&next, &created(&next), &NO_ACTIONS, &|_| None)
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::AgentNotActive(AgentStatus::Frozen))
        ),
        "{refused:?}"
    );
    // A denial needs no active agent.
    let deny = StatusChange {
        require_active_agent: false,
        event: IntentEvent {
            id: "ev_b".into(),
            to: Denied,
            ..approve.event.clone()
        },
        ..approve
    };
    assert!(
        store
            .change_status(&deny, &|_| None)
            .await
            .unwrap()
            .is_some()
    );
}

// Governance: plans, agent versions, agent events, emergency suspension.

fn agent_record(id: &str) -> AgentRecord {
    AgentRecord {
        tenant_id: "tn_1".into(),
        policy_id: "pol_1".into(),
        policy_version: 1,
        agent: Agent {
            id: id.into(),
            ..Agent::default()
        },
        version: 1,
        created_ms: NOW,
        signing_key: None,
        updated_ms: NOW,
        usage_version: 0,
    }
}

fn agent_event(id: &str, kind: &str, at_ms: i64) -> AgentEvent {
    AgentEvent {
        id: id.into(),
        tenant_id: "tn_1".into(),
        agent_id: "ag_1".into(),
        kind: kind.into(),
        actor: "tenant:tn_1".into(),
        actor_name: None,
        message: format!("{kind} now"),
        intent_id: None,
        at_ms,
    }
}

async fn a_plan_caps_the_agents_that_are_not_archived_even_when_created_at_once(backend: Backend) {
    use warrant_domain::context::AgentStatus;
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    assert_eq!(
        store.tenant("tn_1").await.unwrap().unwrap().plan,
        Plan::Enterprise
    );
    assert!(
        store
            .set_tenant_plan("tn_1", Plan::Free, &admin(), 0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_tenant_plan("tn_2", Plan::Free, &admin(), 0)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .api_key_by_hash("hash", 0)
            .await
            .unwrap()
            .unwrap()
            .0
            .plan,
        Plan::Free
    );
    let refused = store
        .insert_agent(
            &agent_record("ag_2"),
            &warrant_store::Actor::named_by_id("tenant:tn_1"),
            None,
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::PlanLimit(PlanLimit {
                plan: Plan::Free,
                quota: Quota::Agents,
                limit: 1,
            }))
        ),
        "{refused:?}"
    );
    assert!(store.agent("tn_1", "ag_2").await.unwrap().is_none());
    // An archived agent does not count.
    let archived = store
        .stop_agent(
            &agent_event("aev_archived", "archived", NOW),
            AgentStatus::Archived,
            "its agent was archived",
            &|_| None,
        )
        .await
        .unwrap()
        .is_some();
    assert!(archived);
    store
        .insert_agent(
            &agent_record("ag_2"),
            &warrant_store::Actor::named_by_id("tenant:tn_1"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.live_agent_count("tn_1").await.unwrap(), 1);

    // Twelve creations at once on a plan of five: exactly four more.
    assert!(
        store
            .set_tenant_plan("tn_1", Plan::Starter, &admin(), 0)
            .await
            .unwrap()
    );
    let tasks: Vec<_> = (0..12)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_agent(
                        &agent_record(&format!("ag_x{n}")),
                        &warrant_store::Actor::named_by_id("tenant:tn_1"),
                        None,
                    )
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => created += 1,
            Err(StoreError::PlanLimit(PlanLimit {
                plan: Plan::Starter,
                quota: Quota::Agents,
                limit: 5,
            })) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(created, 4);
    assert_eq!(store.live_agent_count("tn_1").await.unwrap(), 5);
    // A smaller plan keeps the agents there are.
    assert!(
        store
            .set_tenant_plan("tn_1", Plan::Free, &admin(), 0)
            .await
            .unwrap()
    );
    assert_eq!(store.live_agent_count("tn_1").await.unwrap(), 5);
}

async fn every_change_of_an_agent_is_a_version_and_a_stale_one_applies_nothing(backend: Backend) {
    use warrant_domain::context::AgentStatus;
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let mut agent = store.agent("tn_1", "ag_1").await.unwrap().unwrap();
    assert_eq!(agent.version, 1);
    agent.agent.name = "second".into();
    agent.updated_ms = NOW;
    assert!(
        store
            .update_agent(
                &agent,
                AgentStatus::Active,
                true,
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                None
            )
            .await
            .unwrap()
    );
    // Into or out of `suspended` takes the governance calls.
    let mut suspending = agent.clone();
    suspending.agent.status = AgentStatus::Suspended;
    assert!(
        !store
            .update_agent(
                &suspending,
                AgentStatus::Active,
                true,
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                None
            )
            .await
            .unwrap()
    );
    // A change made on a status that is no longer there applies nothing.
    let mut freezing = agent.clone();
    freezing.agent.status = AgentStatus::Frozen;
    let frozen = agent_event("aev_0", "frozen", NOW);
    assert!(
        !store
            .update_agent(
                &freezing,
                AgentStatus::Frozen,
                false,
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                Some(&frozen)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .agent_events("tn_1", "ag_1", &whole_page())
            .await
            .unwrap()
            .is_empty()
    );
    let versions = store
        .agent_versions("tn_1", "ag_1", &whole_page())
        .await
        .unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version, v.name.as_str(), v.actor.as_str()))
            .collect::<Vec<_>>(),
        // Newest first.
        [
            (2, "second", "tenant:tn_1"),
            (1, "local agent", "tenant:tn_1")
        ]
    );
    // A move of status alone is an event, not a version.
    assert!(
        store
            .update_agent(
                &freezing,
                AgentStatus::Active,
                false,
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                Some(&frozen)
            )
            .await
            .unwrap()
    );
    let frozen_agent = store.agent("tn_1", "ag_1").await.unwrap().unwrap();
    assert_eq!(
        (frozen_agent.agent.status, frozen_agent.version),
        (AgentStatus::Frozen, 2)
    );
    assert_eq!(
        store
            .agent_versions("tn_1", "ag_1", &whole_page())
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .agent_versions("tn_2", "ag_1", &whole_page())
            .await
            .unwrap()
            .is_empty()
    );

    let mut rolled = store.agent("tn_1", "ag_1").await.unwrap().unwrap();
    assert_eq!(rolled.version, 2);
    rolled.agent.name = "local agent".into();
    rolled.version = 3;
    rolled.updated_ms = NOW + 1;
    let event = agent_event("aev_1", "rollback", NOW + 1);
    assert!(
        store
            .add_agent_version(
                &rolled,
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                Some("back"),
                &event,
                None
            )
            .await
            .unwrap()
    );
    // The same version again is stale: nothing is written.
    let again = agent_event("aev_2", "rollback", NOW + 2);
    assert!(
        !store
            .add_agent_version(
                &rolled,
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                None,
                &again,
                None
            )
            .await
            .unwrap()
    );
    // Nor with another tenant's policy, nor once archived.
    let other = TenantRecord {
        id: "tn_2".into(),
        name: "u".into(),
        plan: Plan::Free,
        created_ms: 0,
    };
    let other_key = warrant_store::ApiKeyRecord {
        id: "ak_2".into(),
        tenant_id: other.id.clone(),
        ..first_key()
    };
    store
        .create_tenant(&other, &other_key, "hash2", None)
        .await
        .unwrap();
    let foreign = PolicyRecord {
        id: "pol_2".into(),
        tenant_id: "tn_2".into(),
        name: "p".into(),
        version: 1,
        body: "{}".into(),
        created_ms: 0,
        actor: None,
        actor_name: None,
    };
    store.insert_policy(&foreign, &[], None).await.unwrap();
    let mut next = rolled.clone();
    next.version = 4;
    next.policy_id = "pol_2".into();
    assert!(
        !store
            .add_agent_version(
                &next,
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                None,
                &again,
                None
            )
            .await
            .unwrap()
    );
    store
        .stop_agent(
            &agent_event("aev_archived", "archived", NOW),
            AgentStatus::Archived,
            "its agent was archived",
            &|_| None,
        )
        .await
        .unwrap();
    next.policy_id = "pol_1".into();
    assert!(
        !store
            .add_agent_version(
                &next,
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                None,
                &again,
                None
            )
            .await
            .unwrap()
    );

    let versions = store
        .agent_versions("tn_1", "ag_1", &whole_page())
        .await
        .unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(
        (versions[0].name.as_str(), versions[0].reason.as_deref()),
        ("local agent", Some("back"))
    );
    let page = Page {
        after: None,
        limit: 10,
    };
    // The archiving's own event aside, the one rollback that applied.
    let rollbacks: Vec<AgentEvent> = store
        .agent_events("tn_1", "ag_1", &page)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "rollback")
        .collect();
    assert_eq!(rollbacks, [event]);
}

async fn an_emergency_suspension_cancels_live_intents_and_revokes_tokens_in_one_write(
    backend: Backend,
) {
    use IntentStatus::*;
    use warrant_domain::context::AgentStatus;
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let intents = [
        intent(1, NOW, PendingApproval, Money::eur(1), "a.com"),
        intent(2, NOW, Approved, Money::eur(2), "a.com"),
        intent(3, NOW, Denied, Money::eur(3), "a.com"),
        // Past its time to live: the sweeper's to expire, not cancelled.
        intent(4, NOW - 120 * MINUTE, Approved, Money::eur(4), "a.com"),
    ];
    for record in &intents {
        store
            .insert_intent(record, &created(record), &NO_ACTIONS, &|_| None)
            .await
            .unwrap();
    }
    for (n, revoked) in [(1, None), (2, None), (3, Some(NOW))] {
        let token = TokenRecord {
            id: format!("tok_{n}"),
            tenant_id: "tn_1".into(),
            agent_id: "ag_1".into(),
            permissions: vec![],
            created_ms: NOW,
            revoked_ms: None,
        };
        store
            .insert_token(
                &token,
                &format!("th{n}"),
                &agent_event(&format!("aev_issued_{n}"), "token-issued", NOW),
                None,
            )
            .await
            .unwrap();
        if let Some(at) = revoked {
            store
                .revoke_token(
                    "tn_1",
                    "ag_1",
                    &token.id,
                    &agent_event(&format!("aev_revoked_{n}"), "token-revoked", at),
                )
                .await
                .unwrap();
        }
    }
    let idem = IdempotencyRecord {
        scope: "tn_1".into(),
        key: "k".into(),
        request_sha256: "h".into(),
        status: 200,
        body: "{}".into(),
        created_ms: NOW,
    };
    let event = agent_event("aev_1", "emergency-suspend", NOW + 1);
    let remember = |_: &warrant_store::Suspension| Some(idem.clone());
    let suspension = store
        .stop_agent(
            &event,
            AgentStatus::Suspended,
            "emergency suspension: leak",
            &remember,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(suspension.cancelled_intents, ["int_0001", "int_0002"]);
    assert_eq!(suspension.revoked_tokens, 2);
    assert_eq!(suspension.agent.agent.status, AgentStatus::Suspended);
    assert_eq!(suspension.agent.updated_ms, NOW + 1);
    for (id, status) in [
        ("int_0001", Cancelled),
        ("int_0002", Cancelled),
        ("int_0003", Denied),
        ("int_0004", Approved),
    ] {
        assert_eq!(
            store.intent("tn_1", id).await.unwrap().unwrap().status,
            status,
            "{id}"
        );
    }
    let history = store.intent_events("int_0002").await.unwrap();
    let last = history.last().unwrap();
    assert_eq!((last.from, last.to), (Some(Approved), Cancelled));
    assert_eq!(last.actor, "tenant:tn_1");
    assert_eq!(last.reason.as_deref(), Some("emergency suspension: leak"));
    assert!(store.token_by_hash("th1").await.unwrap().is_none());
    assert_eq!(
        store.idempotent_response("tn_1", "k").await.unwrap(),
        Some(idem.clone())
    );

    // The same key again rolls the whole write back.
    let second = agent_event("aev_2", "emergency-suspend", NOW + 2);
    let taken = store
        .stop_agent(&second, AgentStatus::Suspended, "again", &remember)
        .await;
    assert!(
        matches!(taken, Err(StoreError::IdempotencyKeyTaken)),
        "{taken:?}"
    );
    let page = Page {
        after: None,
        limit: 10,
    };
    let suspensions: Vec<AgentEvent> = store
        .agent_events("tn_1", "ag_1", &page)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "emergency-suspend")
        .collect();
    assert_eq!(suspensions, [event]);
    // Another tenant's agent is none; an archived one cannot be suspended.
    let mut foreign = agent_event("aev_3", "emergency-suspend", NOW + 3);
    foreign.tenant_id = "tn_2".into();
    assert!(
        store
            .stop_agent(&foreign, AgentStatus::Suspended, "x", &|_| None)
            .await
            .unwrap()
            .is_none()
    );
    store
        .stop_agent(
            &agent_event("aev_archive", "archived", NOW),
            AgentStatus::Archived,
            "its agent was archived",
            &|_| None,
        )
        .await
        .unwrap();
    let archived = agent_event("aev_4", "emergency-suspend", NOW + 4);
    let refused = store
        .stop_agent(&archived, AgentStatus::Suspended, "x", &|_| None)
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::AgentNotActive(AgentStatus::Archived))
        ),
        "{refused:?}"
    );
}

async fn an_agents_status_moves_with_its_event_and_events_page_newest_first(backend: Backend) {
    use warrant_domain::context::AgentStatus;
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let to_active = [AgentStatus::Suspended];
    let refused = agent_event("aev_0", "activated", NOW);
    assert!(
        !store
            .set_agent_status_logged(&refused, &to_active, AgentStatus::Active, None)
            .await
            .unwrap()
    );
    for n in 1..=5 {
        let event = agent_event(&format!("aev_{n}"), "alert", NOW + n);
        assert!(
            store
                .set_agent_status_logged(&event, &[AgentStatus::Active], AgentStatus::Active, None)
                .await
                .unwrap()
        );
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = Page {
            after: after.clone(),
            limit: 2,
        };
        let mut events = store.agent_events("tn_1", "ag_1", &page).await.unwrap();
        let more = events.len() > 2;
        events.truncate(2);
        after = events.last().map(|e| e.id.clone());
        seen.extend(events.into_iter().map(|e| e.id));
        if !more {
            break;
        }
    }
    assert_eq!(seen, ["aev_5", "aev_4", "aev_3", "aev_2", "aev_1"]);
    let page = Page {
        after: None,
        limit: 10,
    };
    assert!(
        store
            .agent_events("tn_2", "ag_1", &page)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_writes_are_all_kept_and_a_failed_one_leaves_no_trace(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    // Sixty-four writes at once (SQLite commits them in groups); every
    // fourth reuses a client intent id, so fails in the middle of a group.
    let tasks: Vec<_> = (0..64u32)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut record = intent(
                    n,
                    NOW + i64::from(n),
                    IntentStatus::Approved,
                    Money::new(100, Currency::EUR),
                    "m.example",
                );
                if n % 4 == 3 {
                    record.intent.client_intent_id = Some("reused".into());
                }
                let result = store
                    .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
                    .await;
                (n, result)
            })
        })
        .collect();
    let mut kept = Vec::new();
    let mut duplicates = 0;
    for task in tasks {
        match task.await.unwrap() {
            (n, Ok(_)) => kept.push(n),
            (_, Err(StoreError::Duplicate)) => duplicates += 1,
            (_, Err(e)) => panic!("{e}"),
        }
    }
    assert_eq!((kept.len(), duplicates), (49, 15));
    store.sync().await.unwrap();
    for n in 0..64u32 {
        let stored = store.intent("tn_1", &format!("int_{n:04}")).await.unwrap();
        assert_eq!(stored.is_some(), kept.contains(&n), "int_{n:04}");
        let events = store.intent_events(&format!("int_{n:04}")).await.unwrap();
        assert_eq!(events.len(), usize::from(kept.contains(&n)));
    }
    let usage = store
        .usage(
            "ag_1",
            Currency::EUR,
            Some("m.example"),
            NOW + MINUTE,
            0,
            0,
            None,
        )
        .await
        .unwrap();
    assert_eq!(usage.last_hour.count, 49);
    assert_eq!(usage.last_hour.spend, 4900);
}

async fn two_sweepers_expire_each_due_intent_once(backend: Backend) {
    let Some((_dir, first, location)) = store_with_agent_at(backend).await else {
        return;
    };
    let second = open_at(backend, &location).await;
    for agent in ["ag_2", "ag_3"] {
        first
            .insert_agent(
                &agent_record(agent),
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                None,
            )
            .await
            .unwrap();
    }
    let agents = ["ag_1", "ag_2", "ag_3"];
    for n in 0..90u32 {
        let status = if n % 2 == 0 {
            IntentStatus::PendingApproval
        } else {
            IntentStatus::Approved
        };
        let mut record = intent(n, NOW, status, Money::new(100, Currency::EUR), "m.example");
        record.agent_id = agents[n as usize % 3].into();
        first
            .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
            .await
            .unwrap();
    }
    // One not yet due.
    let mut later = intent(
        90,
        NOW + 10 * MINUTE,
        IntentStatus::PendingApproval,
        Money::new(100, Currency::EUR),
        "m.example",
    );
    later.agent_id = "ag_2".into();
    first
        .insert_intent(&later, &created(&later), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();

    let due_at = NOW + 61 * MINUTE;
    let sweep = |store: Arc<dyn Store>, name: &'static str| {
        tokio::spawn(async move {
            let counter = AtomicU32::new(0);
            let mut expired = Vec::new();
            loop {
                let events = store
                    .expire_due(
                        due_at,
                        7,
                        "ttl",
                        &|| format!("ev_{name}_{}", counter.fetch_add(1, Ordering::Relaxed)),
                        None,
                    )
                    .await
                    .unwrap();
                if events.is_empty() {
                    return expired;
                }
                expired.extend(events.into_iter().map(|event| event.intent_id));
            }
        })
    };
    let (a, b) = (sweep(first.clone(), "a"), sweep(second.clone(), "b"));
    let mut expired = a.await.unwrap();
    expired.extend(b.await.unwrap());
    expired.sort();
    let before = expired.len();
    expired.dedup();
    assert_eq!(before, expired.len(), "an intent expired twice");
    // A sweeper that skipped an agent the other held leaves nothing behind
    // once both are done and a last round finds nothing.
    let last = first
        .expire_due(due_at, 1000, "ttl", &|| "ev_last".into(), None)
        .await
        .unwrap();
    assert!(last.is_empty(), "{last:?}");
    assert_eq!(expired.len(), 90);
    for n in 0..90u32 {
        let id = format!("int_{n:04}");
        let record = first.intent("tn_1", &id).await.unwrap().unwrap();
        assert_eq!(record.status, IntentStatus::Expired);
        let events = first.intent_events(&id).await.unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[1].actor, "system");
    }
    let later = first.intent("tn_1", "int_0090").await.unwrap().unwrap();
    assert_eq!(later.status, IntentStatus::PendingApproval);
    // Expired intents no longer count towards spend.
    let usage = first
        .usage("ag_1", Currency::EUR, None, due_at, 0, 0, None)
        .await
        .unwrap();
    assert_eq!((usage.last_day.count, usage.last_day.spend), (30, 0));
}

/// A plan caps a tenant's plugins and their bytes, in the insert itself,
/// even for uploads at once; deleting one makes room again.
async fn a_plan_caps_the_plugins_and_their_bytes(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let plugin = |n: u32, size: i64| PluginRecord {
        id: format!("plg_{n:02}"),
        tenant_id: "tn_1".into(),
        name: "p".into(),
        version: format!("1.0.{n}"),
        sha256: format!("{n:064}"),
        world: warrant_domain::plugin::World::Policy,
        size,
        created_ms: NOW,
        signed_by: None,
        deleted_ms: None,
    };
    assert!(
        store
            .set_tenant_plan("tn_1", Plan::Free, &admin(), 0)
            .await
            .unwrap()
    );
    let mib = 1 << 20;
    // Ten uploads at once on a plan of three: exactly three.
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_plugin(&plugin(n, mib), b"\0asm", &admin(), None)
                    .await
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => stored += 1,
            Err(StoreError::PlanLimit(PlanLimit {
                plan: Plan::Free,
                quota: Quota::Plugins,
                limit: 3,
            })) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(stored, 3);
    assert_eq!(store.plugin_totals("tn_1").await.unwrap(), (3, 3 * mib));

    // Bytes: the free plan keeps 64 MiB; 3 are used.
    let ids: Vec<String> = store
        .plugins("tn_1", None, &whole_page())
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        store
            .delete_plugin("tn_1", &ids[0], &admin(), 0)
            .await
            .unwrap(),
        Some(warrant_store::PluginRemoval::Removed)
    );
    let refused = store
        .insert_plugin(&plugin(20, 63 * mib), b"\0asm", &admin(), None)
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::PlanLimit(PlanLimit {
                quota: Quota::PluginBytes,
                ..
            }))
        ),
        "{refused:?}"
    );
    store
        .insert_plugin(&plugin(21, 62 * mib), b"\0asm", &admin(), None)
        .await
        .unwrap();
    assert_eq!(store.plugin_totals("tn_1").await.unwrap(), (3, 64 * mib));
}

/// The store's copy of the expiry rule (which intents the sweeper
/// expires, and which show as expired in a listing) agrees with the
/// domain's, `IntentStatus::lives_out`, for every status, recurring or
/// not, due or not.
async fn the_stores_expiry_rule_is_the_domains(backend: Backend) {
    use IntentStatus::*;
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let mut n = 0;
    let mut records = Vec::new();
    for status in IntentStatus::ALL {
        for recurring in [false, true] {
            for due in [false, true] {
                n += 1;
                let mut record = intent(n, NOW - 2 * 60 * MINUTE, status, Money::eur(100), "a.com");
                record.expires_ms = if due { NOW - MINUTE } else { NOW + MINUTE };
                if recurring {
                    record.intent.recurring = Some(warrant_domain::context::RecurringTerms {
                        cadence: warrant_domain::context::Cadence::Monthly,
                        window_start_days_before: 0,
                        window_end_days_after: 0,
                        amount_tolerance_bps: 0,
                        merchant_match: true,
                    });
                }
                store
                    .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
                    .await
                    .unwrap();
                records.push(record);
            }
        }
    }
    // A settlement lands only on an intent that still lives.
    for record in records.iter().filter(|r| r.status == Approved) {
        let update = SettlementUpdate {
            tenant_id: "tn_1".into(),
            intent_id: record.id.clone(),
            status: Approved,
            event_id: format!("ev_settled_{}", record.id),
            actor: "tenant".into(),
            actor_name: None,
            settlement: SettlementWrite {
                record: "{}".into(),
                amount: None,
                flagged: false,
            },
            at_ms: NOW,
            seen_updated_ms: record.updated_ms,
        };
        let lives = record
            .status
            .at(record.intent.recurring.is_some(), record.expires_ms, NOW);
        assert_eq!(
            store
                .set_settlement(&update, &|_| None)
                .await
                .unwrap()
                .is_some(),
            lives == Approved,
            "{}",
            record.id
        );
    }
    let page = Page {
        after: None,
        limit: 100,
    };
    // A listing shows each as the domain says it stands now.
    for status in IntentStatus::ALL {
        let filter = IntentFilter {
            agent_id: None,
            status: Some(status),
            now_ms: NOW,
            ..IntentFilter::default()
        };
        let mut listed: Vec<String> = store
            .intents("tn_1", &filter, &page)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        listed.sort();
        let expected: Vec<String> = records
            .iter()
            .filter(|r| r.status.at(r.intent.recurring.is_some(), r.expires_ms, NOW) == status)
            .map(|r| r.id.clone())
            .collect();
        assert_eq!(listed, expected, "{status}");
    }
    // The sweeper expires exactly those.
    let expired = store
        .expire_due(NOW, 100, "ttl", &|| new_id_for_test(), None)
        .await
        .unwrap();
    let mut swept: Vec<String> = expired.into_iter().map(|e| e.intent_id).collect();
    swept.sort();
    let expected: Vec<String> = records
        .iter()
        .filter(|r| {
            r.status != Expired
                && r.status.at(r.intent.recurring.is_some(), r.expires_ms, NOW) == Expired
        })
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(swept, expected);
    assert!(!swept.is_empty());
    // And `only` expires one intent, if it is due.
    let pending = intent(
        99,
        NOW - 2 * 60 * MINUTE,
        PendingApproval,
        Money::eur(1),
        "a.com",
    );
    let due = IntentRecord {
        expires_ms: NOW - MINUTE,
        ..pending
    };
    store
        .insert_intent(&due, &created(&due), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    let other = store
        .expire_due(NOW, 100, "ttl", &|| new_id_for_test(), Some("int_0001"))
        .await
        .unwrap();
    assert!(other.is_empty());
    let one = store
        .expire_due(NOW, 100, "ttl", &|| new_id_for_test(), Some(&due.id))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].intent_id, due.id);

    // Stopping the agent cancels exactly the intents that still live (an
    // approved recurring one among them, its time to live long over).
    let mut live = Vec::new();
    for record in &records {
        let stored = store.intent("tn_1", &record.id).await.unwrap().unwrap();
        let shows = stored
            .status
            .at(record.intent.recurring.is_some(), stored.expires_ms, NOW);
        if matches!(shows, PendingApproval | Approved) {
            live.push(record.id.clone());
        }
    }
    assert!(records.iter().any(|r| {
        r.status == Approved
            && r.intent.recurring.is_some()
            && r.expires_ms < NOW
            && live.contains(&r.id)
    }));
    let stopped = store
        .stop_agent(
            &agent_event("aev_stop", "emergency-suspend", NOW),
            warrant_domain::context::AgentStatus::Suspended,
            "stopped",
            &|_| None,
        )
        .await
        .unwrap()
        .unwrap();
    let mut cancelled = stopped.cancelled_intents;
    cancelled.sort();
    assert_eq!(cancelled, live);
}

fn new_id_for_test() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("ev_t{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The tenant's public keys as a JWK Set.
async fn jwks_of(store: &Arc<dyn Store>) -> Jwks {
    let keys = store.signing_keys(Some("tn_1")).await.unwrap();
    Jwks {
        keys: keys
            .iter()
            .map(|key| Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: key.public_key.clone(),
                kid: key.kid.clone(),
                alg: None,
                usage: None,
            })
            .collect(),
    }
}

async fn every_history_entry_adds_a_signed_receipt_to_the_tenants_chain(backend: Backend) {
    use IntentStatus::*;
    let Some((_dir, store, location)) = store_with_agent_at(backend).await else {
        return;
    };
    assert!(store.chain_head("tn_1").await.unwrap().is_none());
    let input = StoredInput {
        sha256: "ab".repeat(32),
        body: "{}".into(),
        configs: [("cd".repeat(32), "{\"max\": 1}".to_owned())].into(),
    };
    let record = IntentRecord {
        input_sha256: Some(input.sha256.clone()),
        ..intent(1, NOW, PendingApproval, Money::eur(1), "a.com")
    };
    // The answer remembered for a key shows the write's receipt.
    let idem = IdempotencyRecord {
        scope: "s".into(),
        key: "k".into(),
        request_sha256: "r".into(),
        status: 201,
        body: "claimed".into(),
        created_ms: NOW,
    };
    let remember = |receipt: Option<&str>| {
        Some(IdempotencyRecord {
            body: receipt.unwrap_or("claimed").to_owned(),
            ..idem.clone()
        })
    };
    let declared = store
        .insert_intent(
            &record,
            &created(&record),
            &DecisionActions {
                input: Some(StoredInput {
                    body: "not parsed here".into(),
                    ..input.clone()
                }),
                ..NO_ACTIONS
            },
            &|_| None,
        )
        .await;
    assert!(
        matches!(declared, Err(StoreError::Corrupt { .. })),
        "an input that does not parse is refused: {declared:?}"
    );
    let record = IntentRecord {
        input_sha256: None,
        ..record
    };
    let first = store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &remember)
        .await
        .unwrap();
    let remembered = store.idempotent_response("s", "k").await.unwrap().unwrap();
    assert_eq!(remembered.body, first);
    let approve = StatusChange {
        tenant_id: "tn_1".into(),
        event: IntentEvent {
            id: "ev_approve".into(),
            intent_id: record.id.clone(),
            from: Some(PendingApproval),
            to: Approved,
            actor: "tenant".into(),
            actor_name: None,
            reason: None,
            note: None,
            at_ms: NOW + 1,
            settlement: None,
            kind: None,
        },
        settlement: None,
        seen_updated_ms: None,
        require_unexpired: false,
        require_active_agent: false,
    };
    let second = store
        .change_status(&approve, &|_| None)
        .await
        .unwrap()
        .unwrap();
    // A rotation: the next receipt is signed by the new key, and the old
    // one stays published.
    let old = jwks_of(&store).await;
    assert_eq!(old.keys.len(), 1);
    let made = store.rotate_signing_key("tn_1", NOW + 2).await.unwrap();
    let cancel = StatusChange {
        event: IntentEvent {
            id: "ev_cancel".into(),
            from: Some(Approved),
            to: Cancelled,
            at_ms: NOW + 3,
            ..approve.event.clone()
        },
        ..approve.clone()
    };
    let third = store
        .change_status(&cancel, &|_| None)
        .await
        .unwrap()
        .unwrap();
    let keys = store.signing_keys(Some("tn_1")).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].retired_ms, Some(NOW + 2));
    assert_eq!(
        (keys[1].kid.as_str(), keys[1].retired_ms),
        (made.kid.as_str(), None)
    );
    let jwks = jwks_of(&store).await;

    let chain: Vec<String> = store
        .receipts("tn_1", 1, i64::MAX, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.jws)
        .collect();
    assert_eq!(chain, [first.clone(), second.clone(), third.clone()]);
    let links: Vec<&str> = chain.iter().map(String::as_str).collect();
    assert_eq!(receipt::verify_chain(&links, &jwks, None), Ok(3));
    let receipts: Vec<_> = chain
        .iter()
        .map(|jws| receipt::verify(jws, &jwks).unwrap())
        .collect();
    assert_eq!(
        receipts
            .iter()
            .map(|r| (
                r.event.as_str(),
                r.from.as_deref(),
                r.to.as_str(),
                r.verdict.as_deref()
            ))
            .collect::<Vec<_>>(),
        [
            (
                "intent.decided",
                None,
                "pending_approval",
                Some("pending_approval")
            ),
            (
                "intent.approved",
                Some("pending_approval"),
                "approved",
                None
            ),
            ("intent.cancelled", Some("approved"), "cancelled", None),
        ]
    );
    assert!(
        receipt::verify(&third, &old).is_err(),
        "the new key signed it"
    );
    let head = store.chain_head("tn_1").await.unwrap().unwrap();
    assert_eq!(
        (
            head.sequence,
            head.last_sha256.as_deref(),
            head.kid.as_str()
        ),
        (3, Some(receipt::digest(&third).as_str()), made.kid.as_str())
    );
    let of_intent = store.intent_receipts("tn_1", &record.id).await.unwrap();
    assert_eq!(of_intent.len(), 3);
    assert_eq!(of_intent[1].event_id, "ev_approve");
    assert!(
        store
            .intent_receipts("tn_2", &record.id)
            .await
            .unwrap()
            .is_empty()
    );
    let latest = store
        .latest_intent_receipt("tn_1", &record.id)
        .await
        .unwrap();
    assert_eq!(latest.map(|r| r.jws), Some(third.clone()));
    assert_eq!(
        store
            .latest_intent_receipt("tn_2", &record.id)
            .await
            .unwrap(),
        None
    );

    // A write that fails leaves no receipt.
    assert!(
        store
            .change_status(&cancel, &|_| None)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.chain_head("tn_1").await.unwrap().unwrap().sequence, 3);

    // A store with no vault signs nothing, and says why.
    store.close().await;
    let bare = open_bare(backend, &location).await;
    let next = intent(2, NOW, Approved, Money::eur(1), "a.com");
    let refused = bare
        .insert_intent(&next, &created(&next), &NO_ACTIONS, &|_| None)
        .await;
    assert!(matches!(refused, Err(StoreError::Keys(_))), "{refused:?}");
    assert!(bare.intent("tn_1", &next.id).await.unwrap().is_none());
}

/// Declares intent `n` of `ag_1`, approved, of 1 EUR at `at_ms`; gives
/// its receipt.
async fn declare_one_euro(store: Arc<dyn Store>, n: u32, at_ms: i64) -> Result<String, StoreError> {
    let record = intent(n, at_ms, IntentStatus::Approved, Money::eur(1), "a.com");
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
}

/// A declaration written in its agent's turn commits in it and ends it:
/// where several servers share the database, another server's turn for
/// the agent begins only once the intent is kept, and its usage read then
/// counts it; a write that fails ends the turn too.
async fn a_declaration_in_its_agents_turn_ends_the_turn_with_its_commit(backend: Backend) {
    let Some((_dir, first, location)) = store_with_agent_at(backend).await else {
        return;
    };
    let record = intent(1, NOW, IntentStatus::Approved, Money::eur(1), "a.com");
    // A second server, on PostgreSQL; SQLite serves one.
    let second = match backend {
        Backend::Postgres => Some(open_at(backend, &location).await),
        Backend::Sqlite => None,
    };
    let turn = first.agent_turn("tn_1", "ag_1").await.unwrap();
    let waiting = second.map(|second| {
        tokio::spawn(async move {
            let _turn = second.agent_turn("tn_1", "ag_1").await.unwrap();
            second
                .usage("ag_1", Currency::EUR, None, NOW, NOW, NOW, None)
                .await
                .unwrap()
        })
    });
    if let Some(waiting) = &waiting {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !waiting.is_finished(),
            "the other server waits for the turn"
        );
        // Another tenant naming the same agent id takes a turn of its own.
        let other_tenant = open_at(backend, &location).await;
        let foreign = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            other_tenant.agent_turn("tn_2", "ag_1"),
        )
        .await
        .expect("another tenant's turn does not wait for this one");
        drop(foreign.unwrap());
    }
    first
        .insert_intent_in_turn(turn, &record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    if let Some(waiting) = waiting {
        let seen = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("the turn ended with the commit")
            .unwrap();
        assert_eq!(seen.last_minute.count, 1, "the next turn sees the intent");
    }
    assert!(first.intent("tn_1", "int_0001").await.unwrap().is_some());

    // The same intent again: refused, and the turn over all the same.
    let turn = first.agent_turn("tn_1", "ag_1").await.unwrap();
    assert!(
        first
            .insert_intent_in_turn(turn, &record, &created(&record), &NO_ACTIONS, &|_| None)
            .await
            .is_err()
    );
    let next = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        first.agent_turn("tn_1", "ag_1"),
    )
    .await
    .expect("a failed write ends its turn");
    drop(next.unwrap());
}

/// Two handles on one database write intents of one tenant in turn: each
/// sees what the other wrote (its receipts and its endpoints), whatever it
/// knew before.
async fn two_handles_on_one_database_keep_one_chain_and_one_outbox(backend: Backend) {
    let Some((_dir, first, location)) = store_with_agent_at(backend).await else {
        return;
    };
    let second = open_at(backend, &location).await;
    let declare = |store: &Arc<dyn Store>, n: u32| {
        let written = declare_one_euro(store.clone(), n, NOW + i64::from(n));
        async move { written.await.unwrap() }
    };
    let mut chain = vec![declare(&first, 1).await];
    second
        .insert_endpoint(&endpoint("we_new", &["intent.created"]), &admin())
        .await
        .unwrap();
    chain.push(declare(&first, 2).await);
    chain.push(declare(&second, 3).await);
    chain.push(declare(&first, 4).await);
    chain.push(declare(&first, 5).await);

    let kept: Vec<String> = first
        .receipts("tn_1", 1, i64::MAX, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.jws)
        .collect();
    assert_eq!(kept, chain);
    let links: Vec<&str> = chain.iter().map(String::as_str).collect();
    assert_eq!(
        receipt::verify_chain(&links, &jwks_of(&first).await, None),
        Ok(5)
    );
    let claimed = first.claim_deliveries(NOW + 10, 60_000, 10).await.unwrap();
    let mut sent: Vec<&str> = claimed.iter().map(|d| d.event.object_id.as_str()).collect();
    sent.sort();
    assert_eq!(sent, ["int_0002", "int_0003", "int_0004", "int_0005"]);
}

/// Declarations of several agents at once, with a write of another kind
/// moving the chain and a new signing key among them, each get a receipt
/// on one unbroken chain.
async fn declarations_at_once_keep_one_chain(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    for agent in 2..=6 {
        let mut record = store.agent("tn_1", "ag_1").await.unwrap().unwrap();
        record.agent.id = format!("ag_{agent}");
        store
            .insert_agent(
                &record,
                &warrant_store::Actor::named_by_id("tenant:tn_1"),
                None,
            )
            .await
            .unwrap();
    }
    let first = declare_one_euro(store.clone(), 1, NOW).await.unwrap();
    let declare = |n: u32| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut record = intent(
                n,
                NOW + i64::from(n),
                IntentStatus::Approved,
                Money::eur(1),
                "a.com",
            );
            record.agent_id = format!("ag_{}", n % 6 + 1);
            store
                .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
                .await
                .unwrap()
        })
    };
    let mut writes: Vec<_> = (2..=30).map(declare).collect();
    // Meanwhile the first intent is cancelled (its receipt written in
    // steps) and the tenant's key rotated.
    let change = move_of(
        "int_0001",
        IntentStatus::Approved,
        IntentStatus::Cancelled,
        NOW + 100,
    );
    let cancelled = store
        .change_status(&change, &|_| None)
        .await
        .unwrap()
        .unwrap();
    writes.extend((31..=45).map(declare));
    store.rotate_signing_key("tn_1", NOW + 200).await.unwrap();
    writes.extend((46..=60).map(declare));
    let mut written = vec![first, cancelled];
    for write in writes {
        written.push(write.await.unwrap());
    }

    let receipts = store.receipts("tn_1", 1, i64::MAX, 1_000).await.unwrap();
    let links: Vec<&str> = receipts.iter().map(|r| r.jws.as_str()).collect();
    assert_eq!(
        receipt::verify_chain(&links, &jwks_of(&store).await, None),
        Ok(61)
    );
    let mut kept: Vec<&str> = links.clone();
    kept.sort_unstable();
    written.sort_unstable();
    assert_eq!(kept, written, "each write's receipt is on the chain, once");
}

/// Writes given up at every point on their way (as when a client hangs
/// up) leave each intent whole or absent, the chain unbroken, and the
/// store writing.
async fn writes_given_up_midway_leave_nothing_half_done(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let mut given_up = Vec::new();
    for n in 1..=120u32 {
        let write = tokio::spawn(declare_one_euro(store.clone(), n, NOW + i64::from(n)));
        // From not at all to most of a write.
        tokio::time::sleep(std::time::Duration::from_micros(u64::from(n % 40) * 25)).await;
        write.abort();
        given_up.push(write);
    }
    for write in given_up {
        match write.await {
            Ok(written) => {
                written.unwrap();
            }
            Err(e) => assert!(e.is_cancelled(), "{e}"),
        }
    }
    declare_one_euro(store.clone(), 999, NOW + 1_000)
        .await
        .unwrap();
    store.sync().await.unwrap();

    let receipts = store.receipts("tn_1", 1, i64::MAX, 1_000).await.unwrap();
    let links: Vec<&str> = receipts.iter().map(|r| r.jws.as_str()).collect();
    assert_eq!(
        receipt::verify_chain(&links, &jwks_of(&store).await, None),
        Ok(receipts.len())
    );
    let kept = store
        .intents(
            "tn_1",
            &IntentFilter::default(),
            &Page {
                limit: 1_000,
                after: None,
            },
        )
        .await
        .unwrap();
    let mut with_receipts: Vec<&str> = receipts.iter().map(|r| r.intent_id.as_str()).collect();
    with_receipts.sort();
    let mut written: Vec<&str> = kept.iter().map(|i| i.id.as_str()).collect();
    written.sort();
    assert_eq!(
        written, with_receipts,
        "each kept intent has its one receipt"
    );
    for record in &kept {
        assert_eq!(store.intent_events(&record.id).await.unwrap().len(), 1);
    }
    let usage = store
        .usage("ag_1", Currency::EUR, None, NOW + 2_000, 0, 0, None)
        .await
        .unwrap();
    assert_eq!(usage.last_month.count as usize, kept.len());
}

/// What the store keeps of an agent's usage for its next decision in its
/// turn (given the usage version read with the agent) is what a read gives:
/// after the agent's own declarations, after writes that move its counters
/// otherwise (another merchant, another currency, a cancellation, another
/// server's declaration), and as intents leave the windows. And it is kept,
/// not read: counters moved behind the store's back, without their
/// version, are not seen.
async fn usage_kept_for_the_next_decision_is_the_usage_read_again(backend: Backend) {
    let Some((_dir, store, location)) = store_with_agent_at(backend).await else {
        return;
    };
    let other = match backend {
        Backend::Postgres => Some(open_at(backend, &location).await),
        Backend::Sqlite => None,
    };
    let usage = async |at: i64, merchant: Option<&str>, version: Option<i64>| {
        store
            .usage(
                "ag_1",
                Currency::EUR,
                merchant,
                at,
                at - 90 * MINUTE,
                at - 3 * 24 * 60 * MINUTE,
                version,
            )
            .await
            .unwrap()
    };
    let version = async || {
        store
            .agent("tn_1", "ag_1")
            .await
            .unwrap()
            .unwrap()
            .usage_version
    };
    // A decision at `at`: the usage it is given, checked against a read.
    let decide = async |at: i64, merchant: Option<&str>| {
        let given = usage(at, merchant, Some(version().await)).await;
        let read = usage(at, merchant, None).await;
        assert_eq!(
            given,
            read,
            "at NOW + {} ms, merchant {merchant:?}",
            at - NOW
        );
        given
    };
    let declare = async |store: &Arc<dyn Store>, n: u32, at: i64, status, amount, merchant| {
        let record = intent(n, at, status, amount, merchant);
        store
            .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
            .await
            .unwrap();
    };
    use IntentStatus::*;
    let usd = |minor| Money::new(minor, Currency::from_code("USD").unwrap());

    assert_eq!(decide(NOW, Some("a.com")).await.last_minute.count, 0);
    declare(&store, 1, NOW, Approved, Money::eur(100), "a.com").await;
    let after = decide(NOW + 1000, Some("a.com")).await;
    assert_eq!(after.last_minute.count, 1);
    assert_eq!(after.merchant_last_month.spend, 100);
    declare(&store, 2, NOW + 2000, Denied, Money::eur(5000), "a.com").await;
    declare(&store, 3, NOW + 3000, Approved, Money::eur(7), "b.com").await;
    for merchant in [Some("a.com"), Some("b.com"), None] {
        decide(NOW + 4000, merchant).await;
    }
    declare(&store, 4, NOW + 5000, Approved, usd(9), "a.com").await;
    decide(NOW + 6000, Some("a.com")).await;
    // Decisions one after another, each followed by its declaration.
    let mut at = NOW + 10_000;
    for n in 5..25 {
        decide(at, Some("a.com")).await;
        declare(
            &store,
            n,
            at,
            Approved,
            Money::eur(u64::from(n) * 10),
            "a.com",
        )
        .await;
        at += 3_100;
    }
    // Intents leave the last minute, the last hour and the calendar day.
    for later in [
        1_000,
        30_000,
        59_000,
        61_000,
        65_000,
        90_000,
        61 * MINUTE,
        3 * 60 * MINUTE,
    ] {
        let usage = decide(at + later, Some("a.com")).await;
        if later > 61 * MINUTE {
            assert_eq!(usage.last_hour.count, 0);
        }
    }
    at += 3 * 60 * MINUTE;
    declare(&store, 25, at, Approved, Money::eur(3), "a.com").await;
    decide(at + 1000, Some("a.com")).await;
    // A cancellation gives the spend back.
    let cancel = StatusChange {
        tenant_id: "tn_1".into(),
        event: IntentEvent {
            id: "ev_cancel".into(),
            intent_id: "int_0025".into(),
            from: Some(Approved),
            to: Cancelled,
            actor: "tenant".into(),
            actor_name: None,
            reason: None,
            note: None,
            at_ms: at + 2000,
            settlement: None,
            kind: None,
        },
        settlement: None,
        seen_updated_ms: Some(at),
        require_unexpired: false,
        require_active_agent: false,
    };
    assert!(
        store
            .change_status(&cancel, &|_| None)
            .await
            .unwrap()
            .is_some()
    );
    declare(&store, 29, at + 2500, Approved, Money::eur(5), "a.com").await;
    let cancelled = decide(at + 3000, Some("a.com")).await;
    assert_eq!(cancelled.last_minute.spend, 5);
    // Another server's declarations, before and between this one's.
    if let Some(other) = &other {
        declare(other, 26, at + 4000, Approved, Money::eur(11), "a.com").await;
        decide(at + 5000, Some("a.com")).await;
        declare(other, 27, at + 6000, Approved, Money::eur(13), "a.com").await;
        declare(&store, 28, at + 7000, Approved, Money::eur(17), "a.com").await;
        let both = decide(at + 8000, Some("a.com")).await;
        assert_eq!(both.last_minute.spend, 5 + 11 + 13 + 17);
    }
    // Kept, not read again.
    at += 10_000;
    let kept = decide(at, Some("a.com")).await;
    behind_the_stores_back(
        backend,
        &location,
        "UPDATE usage_buckets SET count = count + 1000 WHERE agent_id = 'ag_1'",
    )
    .await;
    let version = version().await;
    assert_eq!(usage(at, Some("a.com"), Some(version)).await, kept);
    assert_ne!(usage(at, Some("a.com"), None).await, kept);
}

/// Runs `sql` on the database at `location` without the store.
async fn behind_the_stores_back(backend: Backend, location: &str, sql: &str) {
    use sqlx::Executor;
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{location}");
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            pool.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(location).await.unwrap();
            pool.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            pool.close().await;
        }
    }
}

/// Each test, on each backend.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

on_both!(
    usage_counts_every_intent_and_spends_pending_approved_and_completed_ones,
    a_status_change_applies_only_from_the_expected_status,
    an_idempotency_key_is_taken_once_and_its_write_rolls_back_with_it,
    usage_saturates_at_2_to_the_53_minor_units_instead_of_failing,
    a_settled_amount_counts_once_the_intent_completes,
    the_counters_agree_with_the_intents_through_every_change,
    an_approval_and_a_new_intent_need_an_active_agent_at_commit,
    a_plan_caps_the_agents_that_are_not_archived_even_when_created_at_once,
    every_change_of_an_agent_is_a_version_and_a_stale_one_applies_nothing,
    an_emergency_suspension_cancels_live_intents_and_revokes_tokens_in_one_write,
    an_agents_status_moves_with_its_event_and_events_page_newest_first,
    concurrent_writes_are_all_kept_and_a_failed_one_leaves_no_trace,
    two_sweepers_expire_each_due_intent_once,
    a_plan_caps_the_plugins_and_their_bytes,
    the_stores_expiry_rule_is_the_domains,
    every_write_logs_its_events_and_fills_the_outbox_in_its_transaction,
    a_declaration_reaches_every_one_of_many_endpoints,
    a_claimed_delivery_is_leased_and_a_failed_one_disables_its_endpoint,
    an_endpoint_reached_since_a_delivery_failed_stays_enabled,
    intents_list_by_the_time_they_were_declared,
    every_history_entry_adds_a_signed_receipt_to_the_tenants_chain,
    a_card_name_and_a_providers_id_name_one_open_card_and_suspension_freezes_them,
    a_secret_is_kept_sealed_per_owner_and_its_events_carry_no_value,
    an_authorization_takes_its_intent_once_and_reserves_its_amount_until_settled,
    two_handles_on_one_database_keep_one_chain_and_one_outbox,
    writes_given_up_midway_leave_nothing_half_done,
    declarations_at_once_keep_one_chain,
    a_declaration_in_its_agents_turn_ends_the_turn_with_its_commit,
    usage_kept_for_the_next_decision_is_the_usage_read_again,
);

fn authorization_of(id: &str, intent_id: &str, minor: u64) -> warrant_store::AuthorizationRecord {
    use warrant_domain::authorization::{AuthorizationStatus, Merchant};
    warrant_store::AuthorizationRecord {
        id: id.into(),
        tenant_id: "tn_1".into(),
        card_id: "ca_1".into(),
        agent_id: "ag_1".into(),
        intent_id: Some(intent_id.into()),
        amount: Money::eur(minor),
        merchant: Merchant {
            name: "A".into(),
            domain: Some("a.com".into()),
            mcc: None,
            country: None,
        },
        external_id: None,
        approved: true,
        code: "approved".into(),
        reason: "covered".into(),
        status: AuthorizationStatus::Pending,
        captured_minor: None,
        created_ms: NOW + 1,
        updated_ms: NOW + 1,
    }
}

fn move_of(intent_id: &str, from: IntentStatus, to: IntentStatus, at_ms: i64) -> StatusChange {
    StatusChange {
        tenant_id: "tn_1".into(),
        event: IntentEvent {
            id: format!("ev_{intent_id}_{}", to.as_str()),
            intent_id: intent_id.into(),
            from: Some(from),
            to,
            actor: "key:ak_1".into(),
            actor_name: None,
            reason: None,
            note: None,
            at_ms,
            settlement: None,
            kind: None,
        },
        settlement: None,
        seen_updated_ms: None,
        require_unexpired: from == IntentStatus::Approved,
        require_active_agent: from == IntentStatus::Approved,
    }
}

async fn an_authorization_takes_its_intent_once_and_reserves_its_amount_until_settled(
    backend: Backend,
) {
    use IntentStatus::*;
    use warrant_domain::authorization::{AuthorizationStatus, TransactionKind};
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    store
        .insert_card(&card_record("ca_1", "subs", None), &admin())
        .await
        .unwrap();
    let record = IntentRecord {
        card: Some(warrant_domain::card::IntentCard {
            id: "ca_1".into(),
            name: "subs".into(),
        }),
        ..intent(1, NOW, Approved, Money::eur(5000), "a.com")
    };
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    let stored = store.intent("tn_1", "int_0001").await.unwrap().unwrap();
    assert_eq!(stored.card, record.card);
    let spend = |usage: &warrant_domain::context::Usage| usage.last_day.spend;
    let usage_now = || {
        store.usage(
            "ag_1",
            Currency::EUR,
            None,
            NOW + 10,
            NOW - MINUTE,
            NOW - MINUTE,
            None,
        )
    };
    assert_eq!(spend(&usage_now().await.unwrap()), 5000);
    assert_eq!(
        store
            .approved_intents_on("ag_1", "ca_1", NOW + 1, None)
            .await
            .unwrap()
            .len(),
        1
    );
    // Another card's authorization does not see it.
    assert!(
        store
            .approved_intents_on("ag_1", "ca_2", NOW + 1, None)
            .await
            .unwrap()
            .is_empty()
    );

    // Two authorizations take the one intent at once: one does.
    let take = move_of("int_0001", Approved, Authorized, NOW + 1);
    let (one, two, actor) = (
        authorization_of("auth_1", "int_0001", 5400),
        authorization_of("auth_2", "int_0001", 5400),
        admin(),
    );
    let (first, second) = tokio::join!(
        store.record_authorization(&one, Some(warrant_store::Take::Intent(&take)), &actor),
        store.record_authorization(&two, Some(warrant_store::Take::Intent(&take)), &actor),
    );
    let taken: Vec<_> = [first.unwrap(), second.unwrap()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(taken.len(), 1, "{taken:?}");
    let won = taken[0].id.clone();
    assert!(store.authorization("tn_1", &won).await.unwrap().is_some());
    assert_eq!(
        store
            .intent("tn_1", "int_0001")
            .await
            .unwrap()
            .unwrap()
            .status,
        Authorized
    );
    assert!(
        store
            .approved_intents_on("ag_1", "ca_1", NOW + 2, Some((["a.com", "a.com"], 5400)))
            .await
            .unwrap()
            .is_empty()
    );
    // The reservation, not the declared amount, counts.
    assert_eq!(spend(&usage_now().await.unwrap()), 5400);

    // Reversed: the declared amount counts again; taken again and captured.
    let reverse = move_of("int_0001", Authorized, Approved, NOW + 3);
    store
        .settle_authorization(
            "tn_1",
            &won,
            AuthorizationStatus::Reversed,
            Some(&reverse),
            None,
            &admin(),
            NOW + 3,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .settle_authorization(
                "tn_1",
                &won,
                AuthorizationStatus::Reversed,
                Some(&reverse),
                None,
                &admin(),
                NOW + 3
            )
            .await
            .unwrap()
            .is_none(),
        "only a pending authorization moves"
    );
    assert_eq!(spend(&usage_now().await.unwrap()), 5000);
    let mut take = move_of("int_0001", Approved, Authorized, NOW + 4);
    take.event.id = "ev_retake".into();
    store
        .record_authorization(
            &authorization_of("auth_3", "int_0001", 5000),
            Some(warrant_store::Take::Intent(&take)),
            &admin(),
        )
        .await
        .unwrap()
        .unwrap();
    let capture = warrant_store::TransactionRecord {
        id: "txn_1".into(),
        tenant_id: "tn_1".into(),
        kind: TransactionKind::Capture,
        authorization_id: "auth_3".into(),
        refund_of: None,
        card_id: "ca_1".into(),
        agent_id: "ag_1".into(),
        intent_id: Some("int_0001".into()),
        amount: Money::eur(5000),
        merchant: authorization_of("x", "x", 1).merchant,
        external_id: Some("evt_1".into()),
        created_ms: NOW + 5,
    };
    let complete = move_of("int_0001", Authorized, Completed, NOW + 5);
    let captured = store
        .settle_authorization(
            "tn_1",
            "auth_3",
            AuthorizationStatus::Captured,
            Some(&complete),
            Some(&capture),
            &admin(),
            NOW + 5,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(captured.captured_minor, Some(5000));
    assert_eq!(
        store
            .intent("tn_1", "int_0001")
            .await
            .unwrap()
            .unwrap()
            .status,
        Completed
    );
    assert_eq!(
        store.capture_of("auth_3").await.unwrap().unwrap().id,
        "txn_1"
    );
    assert_eq!(
        store
            .transaction_by_external_id("tn_1", "evt_1")
            .await
            .unwrap()
            .unwrap()
            .id,
        "txn_1"
    );

    // Refunds: at most what is left.
    let refund = |id: &str, minor: u64| warrant_store::TransactionRecord {
        id: id.into(),
        kind: TransactionKind::Refund,
        refund_of: Some("txn_1".into()),
        amount: Money::eur(minor),
        external_id: None,
        ..capture.clone()
    };
    assert_eq!(
        store
            .record_refund(&refund("txn_2", 3000), &admin())
            .await
            .unwrap(),
        Some(Ok(2000))
    );
    assert_eq!(
        store
            .record_refund(&refund("txn_3", 2001), &admin())
            .await
            .unwrap(),
        Some(Err(2000))
    );
    let ledger = store
        .transactions(
            "tn_1",
            &warrant_store::TransactionFilter {
                intent_id: Some("int_0001".into()),
                ..Default::default()
            },
            &whole_page(),
        )
        .await
        .unwrap();
    assert_eq!(
        ledger.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["txn_2", "txn_1"]
    );
}

fn card_record(id: &str, name: &str, external_id: Option<&str>) -> warrant_store::CardRecord {
    use warrant_domain::card::{CardStatus, Provider};
    warrant_store::CardRecord {
        id: id.into(),
        tenant_id: "tn_1".into(),
        agent_id: "ag_1".into(),
        name: name.into(),
        currency: Currency::EUR,
        last4: None,
        provider: if external_id.is_some() {
            Provider::Stripe
        } else {
            Provider::Generic
        },
        external_id: external_id.map(str::to_owned),
        status: CardStatus::Active,
        created_ms: NOW,
        updated_ms: NOW,
    }
}

async fn a_card_name_and_a_providers_id_name_one_open_card_and_suspension_freezes_them(
    backend: Backend,
) {
    use warrant_domain::card::{CardStatus, Provider};
    use warrant_domain::context::{AgentStatus, Card};
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    store
        .insert_card(&card_record("ca_1", "subs", None), &admin())
        .await
        .unwrap();
    store
        .insert_card(&card_record("ca_2", "stripe", Some("ic_1")), &admin())
        .await
        .unwrap();
    for duplicate in [
        card_record("ca_3", "subs", None),
        card_record("ca_3", "other", Some("ic_1")),
    ] {
        let refused = store.insert_card(&duplicate, &admin()).await;
        assert!(matches!(refused, Err(StoreError::Duplicate)), "{refused:?}");
    }
    let named = async |name: &str| {
        store
            .agent_with_card("tn_1", "ag_1", &Card::Name(name.into()))
            .await
            .unwrap()
            .unwrap()
            .1
            .map(|(card, _)| card.id)
    };
    assert_eq!(named("subs").await.as_deref(), Some("ca_1"));
    assert!(named("SUBS").await.is_none());
    let found = store
        .card_by_external_id("tn_1", Provider::Stripe, "ic_1")
        .await
        .unwrap();
    assert_eq!(found.unwrap().id, "ca_2");
    assert!(
        store
            .card_by_external_id("tn_1", Provider::Generic, "ic_1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.card("tn_2", "ca_1").await.unwrap().is_none());

    // Closed, its name and id are free for a new card; the provider's id
    // then finds the open one.
    let close = |card: &mut warrant_store::CardRecord| {
        card.status = CardStatus::Closed;
        Some("card.closed")
    };
    for id in ["ca_1", "ca_2"] {
        store
            .update_card("tn_1", id, &close, &admin(), NOW + 1)
            .await
            .unwrap()
            .unwrap();
    }
    assert!(named("subs").await.is_none());
    store
        .insert_card(&card_record("ca_4", "subs", Some("ic_1")), &admin())
        .await
        .unwrap();
    // The card an intent names, read with its agent: by id whatever its
    // status, by name the one not closed.
    for (card, expected) in [
        (
            Card::Name("subs".into()),
            Some(("ca_4", CardStatus::Active)),
        ),
        (Card::Id("ca_1".into()), Some(("ca_1", CardStatus::Closed))),
        (Card::Name("stripe".into()), None),
        (Card::Id("ca_nope".into()), None),
    ] {
        let (agent, found) = store
            .agent_with_card("tn_1", "ag_1", &card)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(agent.agent.id, "ag_1");
        assert_eq!(
            found.map(|(card, status)| (card.id, status)),
            expected.map(|(id, status)| (id.to_owned(), status)),
            "{card:?}"
        );
    }
    assert!(
        store
            .agent_with_card("tn_2", "ag_1", &Card::Name("subs".into()))
            .await
            .unwrap()
            .is_none()
    );
    let found = store
        .card_by_external_id("tn_1", Provider::Stripe, "ic_1")
        .await
        .unwrap();
    assert_eq!(found.unwrap().id, "ca_4");
    let page = store
        .cards("tn_1", &warrant_store::CardFilter::default(), &whole_page())
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["ca_4", "ca_2", "ca_1"]
    );

    // Suspending the agent freezes its active cards in the same write,
    // each with its event; closed ones stay closed.
    store
        .stop_agent(
            &agent_event("aev_s", "emergency-suspend", NOW + 2),
            AgentStatus::Suspended,
            "stop",
            &|_| None,
        )
        .await
        .unwrap()
        .unwrap();
    let statuses: Vec<CardStatus> = store
        .cards(
            "tn_1",
            &warrant_store::CardFilter {
                agent_id: Some("ag_1".into()),
            },
            &whole_page(),
        )
        .await
        .unwrap()
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(
        statuses,
        [CardStatus::Frozen, CardStatus::Closed, CardStatus::Closed]
    );
    let filter = EventFilter {
        event_type: Some("card.frozen".into()),
        ..EventFilter::default()
    };
    let frozen = store.events("tn_1", &filter, &whole_page()).await.unwrap();
    assert_eq!(frozen.len(), 1);
    assert_eq!(frozen[0].object_id, "ca_4");
}

async fn a_secret_is_kept_sealed_per_owner_and_its_events_carry_no_value(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let secret = |agent_id: Option<&str>, sealed: &str| warrant_store::SecretRecord {
        tenant_id: "tn_1".into(),
        agent_id: agent_id.map(str::to_owned),
        key: "KEY".into(),
        sealed: sealed.into(),
        allowed_hosts: vec!["shop.example".into()],
        set_ms: NOW,
    };
    assert!(
        store
            .put_secret(&secret(Some("ag_1"), "sealed-1"), &admin())
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_secret(&secret(Some("ag_1"), "sealed-2"), &admin())
            .await
            .unwrap()
    );
    assert!(
        store
            .put_secret(&secret(None, "sealed-3"), &admin())
            .await
            .unwrap()
    );
    let agents = store.secrets("tn_1", Some("ag_1")).await.unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].sealed, "sealed-2");
    assert_eq!(
        store
            .secret("tn_1", None, "KEY")
            .await
            .unwrap()
            .unwrap()
            .sealed,
        "sealed-3"
    );
    assert!(store.secret("tn_2", None, "KEY").await.unwrap().is_none());
    assert!(
        store
            .delete_secret("tn_1", Some("ag_1"), "KEY", &admin(), NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_secret("tn_1", Some("ag_1"), "KEY", &admin(), NOW)
            .await
            .unwrap()
    );
    assert!(store.secret("tn_1", None, "KEY").await.unwrap().is_some());
    let events = store
        .events("tn_1", &EventFilter::default(), &whole_page())
        .await
        .unwrap();
    let secrets: Vec<&EventRecord> = events
        .iter()
        .filter(|e| e.event_type.starts_with("secret."))
        .collect();
    assert_eq!(secrets.len(), 4);
    for event in secrets {
        assert!(!event.data.contains("sealed-"), "{}", event.data);
    }
}

/// A page holding all there is in these tests.
fn whole_page() -> Page {
    Page {
        after: None,
        limit: 100,
    }
}

/// The first key of the tenant `tn_1`, whose secret hashes to `hash`.
fn first_key() -> warrant_store::ApiKeyRecord {
    warrant_store::ApiKeyRecord {
        id: "ak_1".into(),
        tenant_id: "tn_1".into(),
        name: "admin".into(),
        role: "admin".into(),
        prefix: "sk_".into(),
        created_ms: 0,
        expires_ms: None,
        last_used_ms: None,
        previous_until_ms: None,
        revoked_ms: None,
    }
}

fn endpoint(id: &str, events: &[&str]) -> EndpointRecord {
    EndpointRecord {
        id: id.into(),
        tenant_id: "tn_1".into(),
        url: "https://hooks.example/in".into(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        description: None,
        secret: "whsec_c2VjcmV0".into(),
        previous_secret: None,
        previous_until_ms: None,
        disabled_ms: None,
        disabled_reason: None,
        created_ms: NOW,
        updated_ms: NOW,
    }
}

async fn every_write_logs_its_events_and_fills_the_outbox_in_its_transaction(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    let actor = admin();
    store
        .insert_endpoint(&endpoint("we_intents", &["intent.*"]), &actor)
        .await
        .unwrap();
    store
        .insert_endpoint(&endpoint("we_all", &["*"]), &actor)
        .await
        .unwrap();
    store
        .update_endpoint(
            "tn_1",
            "we_all",
            &|e| e.disabled_ms = Some(NOW),
            "webhook_endpoint.updated",
            &actor,
            NOW,
        )
        .await
        .unwrap()
        .unwrap();
    let record = intent(1, NOW, IntentStatus::Approved, Money::eur(100), "a.com");
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    // A write that fails logs nothing: the same intent again.
    assert!(
        store
            .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
            .await
            .is_err()
    );

    let filter = EventFilter {
        event_type: Some("intent.*".into()),
        oldest_first: true,
        ..EventFilter::default()
    };
    let logged = store.events("tn_1", &filter, &whole_page()).await.unwrap();
    let types: Vec<&str> = logged.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["intent.created", "intent.approved"]);
    assert!(logged.iter().all(|e| e.object_id == "int_0001"
        && e.agent_id.as_deref() == Some("ag_1")
        && e.actor == "policy"));
    // Everything the tenant's writes did, newest first: the agent, the
    // policy and the endpoints too.
    let all = store
        .events("tn_1", &EventFilter::default(), &whole_page())
        .await
        .unwrap();
    let all_types: Vec<&str> = all.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        all_types,
        [
            "intent.approved",
            "intent.created",
            "webhook_endpoint.updated",
            "webhook_endpoint.created",
            "webhook_endpoint.created",
            "agent.created",
            "policy.created",
        ]
    );
    assert!(
        store
            .events("tn_2", &EventFilter::default(), &whole_page())
            .await
            .unwrap()
            .is_empty()
    );

    // One delivery per event for the enabled endpoint that receives it;
    // none for the disabled one.
    let claimed = store.claim_deliveries(NOW + 1, 60_000, 10).await.unwrap();
    let mut sent: Vec<(&str, &str)> = claimed
        .iter()
        .map(|d| (d.endpoint.id.as_str(), d.event.event_type.as_str()))
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            ("we_intents", "intent.approved"),
            ("we_intents", "intent.created")
        ]
    );
}

/// A tenant with more endpoints than a declaration's batch carries
/// deliveries for (PostgreSQL takes at most 65,535 values in a statement,
/// five for each delivery) still declares intents, written in steps, each
/// event queued for every endpoint.
async fn a_declaration_reaches_every_one_of_many_endpoints(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    const ENDPOINTS: usize = 150;
    for n in 0..ENDPOINTS {
        let added = endpoint(&format!("we_{n:04}"), &["intent.*"]);
        store.insert_endpoint(&added, &admin()).await.unwrap();
    }
    let record = intent(1, NOW, IntentStatus::Approved, Money::eur(100), "a.com");
    let receipt = store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();

    let claimed = store
        .claim_deliveries(NOW + 1, 60_000, 3 * ENDPOINTS as i64)
        .await
        .unwrap();

    let mut sent: Vec<(&str, &str)> = claimed
        .iter()
        .map(|d| (d.event.event_type.as_str(), d.endpoint.id.as_str()))
        .collect();
    sent.sort_unstable();
    sent.dedup();
    assert_eq!(claimed.len(), 2 * ENDPOINTS);
    assert_eq!(
        sent.len(),
        2 * ENDPOINTS,
        "one delivery per endpoint and event"
    );
    assert!(
        sent.iter()
            .all(|(event, _)| ["intent.created", "intent.approved"].contains(event))
    );
    let receipts = store.receipts("tn_1", 1, i64::MAX, 10).await.unwrap();
    assert_eq!(
        receipts.iter().map(|r| r.jws.as_str()).collect::<Vec<_>>(),
        [receipt.as_str()]
    );
}

async fn a_claimed_delivery_is_leased_and_a_failed_one_disables_its_endpoint(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    store
        .insert_endpoint(&endpoint("we_1", &["intent.created"]), &admin())
        .await
        .unwrap();
    let record = intent(1, NOW, IntentStatus::Approved, Money::eur(100), "a.com");
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    let first = store.claim_deliveries(NOW, 1_000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    // Leased: not claimed again before the lease ends, by anyone.
    assert!(
        store
            .claim_deliveries(NOW + 999, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_deliveries(NOW + 1_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    let id = &again[0].id;
    let attempt = |n, status| AttemptRecord {
        n,
        at_ms: NOW + 1_000,
        duration_ms: 5,
        response_status: Some(status),
        error: None,
    };
    store
        .finish_attempt(
            id,
            &AttemptOutcome {
                attempt: attempt(1, 503),
                status: DeliveryStatus::Pending,
                next_attempt_ms: Some(NOW + 5_000),
                disable_endpoint: None,
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries(NOW + 4_999, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store
        .claim_deliveries(NOW + 5_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(due[0].attempts, 1);
    store
        .finish_attempt(
            id,
            &AttemptOutcome {
                attempt: attempt(2, 500),
                status: DeliveryStatus::Failed,
                next_attempt_ms: None,
                disable_endpoint: Some("failed for days".into()),
            },
        )
        .await
        .unwrap();
    let deliveries = store
        .deliveries("tn_1", "we_1", &whole_page())
        .await
        .unwrap();
    assert_eq!(deliveries[0].status, DeliveryStatus::Failed);
    assert_eq!(
        deliveries[0]
            .tries
            .iter()
            .map(|t| t.response_status)
            .collect::<Vec<_>>(),
        [Some(503), Some(500)]
    );
    let endpoint = store.endpoint("tn_1", "we_1").await.unwrap().unwrap();
    assert_eq!(endpoint.disabled_reason.as_deref(), Some("failed for days"));
    let disabled = EventFilter {
        event_type: Some("webhook_endpoint.disabled".into()),
        ..EventFilter::default()
    };
    let logged = store
        .events("tn_1", &disabled, &whole_page())
        .await
        .unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].actor, "system");
    // Disabled, it gets nothing new; sent again on request once enabled.
    let second = intent(2, NOW, IntentStatus::Approved, Money::eur(1), "a.com");
    store
        .insert_intent(&second, &created(&second), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries(NOW + 10_000, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .update_endpoint(
            "tn_1",
            "we_1",
            &|e| e.disabled_ms = None,
            "webhook_endpoint.updated",
            &admin(),
            NOW,
        )
        .await
        .unwrap();
    let event_id = &deliveries[0].event_id;
    assert_eq!(
        store
            .redeliver("tn_1", event_id, NOW + 20_000)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        store
            .redeliver("tn_2", event_id, NOW + 20_000)
            .await
            .unwrap(),
        None
    );
    let resent = store
        .claim_deliveries(NOW + 20_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(resent.len(), 1);
    assert_eq!(&resent[0].event.id, event_id);
    // …as a new delivery with a schedule of its own; the failed one keeps
    // its attempts.
    assert_eq!(resent[0].attempts, 0);
    let both = store
        .deliveries("tn_1", "we_1", &whole_page())
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    let failed = both.iter().find(|d| d.id == *id).unwrap();
    assert_eq!(
        (failed.status, failed.tries.len()),
        (DeliveryStatus::Failed, 2)
    );
}

async fn an_endpoint_reached_since_a_delivery_failed_stays_enabled(backend: Backend) {
    let Some((_dir, store)) = store_with_agent(backend).await else {
        return;
    };
    store
        .insert_endpoint(&endpoint("we_1", &["intent.*"]), &admin())
        .await
        .unwrap();
    let record = intent(1, NOW, IntentStatus::Approved, Money::eur(100), "a.com");
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, &|_| None)
        .await
        .unwrap();
    let claimed = store.claim_deliveries(NOW, 1_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let outcome = |status, delivered| AttemptOutcome {
        attempt: AttemptRecord {
            n: 1,
            at_ms: NOW + 10,
            duration_ms: 1,
            response_status: Some(status),
            error: None,
        },
        status: if delivered {
            DeliveryStatus::Delivered
        } else {
            DeliveryStatus::Failed
        },
        next_attempt_ms: None,
        disable_endpoint: (!delivered).then(|| "failed for days".to_owned()),
    };
    store
        .finish_attempt(&claimed[0].id, &outcome(200, true))
        .await
        .unwrap();
    store
        .finish_attempt(&claimed[1].id, &outcome(500, false))
        .await
        .unwrap();
    let endpoint = store.endpoint("tn_1", "we_1").await.unwrap().unwrap();
    assert_eq!(endpoint.disabled_ms, None);
}
