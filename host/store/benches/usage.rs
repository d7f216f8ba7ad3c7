//! The usage snapshot of one agent with many intents stored: what every
//! decision reads. `WARRANT_BENCH_INTENTS` sets how many intents the agent
//! has over the last 30 days (1,000,000 by default; 10,000 when run by
//! `cargo test`).

use std::time::Instant;

use criterion::Criterion;
use warrant_domain::context::{Agent, Card, Intent};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_store::{
    AgentRecord, AgentRepository, IntentRecord, PolicyRecord, PolicyRepository, SqliteStore,
    TenantRecord, TenantRepository, UsageRepository,
};

const NOW: i64 = 1_800_000_000_000;
const MONTH_MS: i64 = 30 * 86_400_000;

fn intent(n: u64) -> IntentRecord {
    // Spread evenly over the last 30 days, newest last; three statuses,
    // 100 merchants.
    let total = count();
    let at = NOW - MONTH_MS + (n as i64) * (MONTH_MS / total as i64);
    let status = [
        IntentStatus::Approved,
        IntentStatus::Denied,
        IntentStatus::Completed,
    ][(n % 3) as usize];
    IntentRecord {
        id: format!("int_{n:012}"),
        tenant_id: "tn_1".into(),
        agent_id: "ag_1".into(),
        status,
        intent: Intent {
            id: format!("int_{n:012}"),
            amount: Some(Money::eur(100 + n % 10_000)),
            merchant: Some(format!("m{}.example", n % 100)),
            card: Card::Name("main".into()),
            purpose: "load".into(),
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
        created_ms: at,
        updated_ms: at,
        expires_ms: at + 3_600_000,
        input_sha256: None,
    }
}

fn count() -> u64 {
    std::env::var("WARRANT_BENCH_INTENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            1_000_000
        } else {
            10_000
        })
}

async fn filled_store(dir: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(&dir.join("warrant.db")).await.unwrap();
    let tenant = TenantRecord {
        id: "tn_1".into(),
        name: "t".into(),
        plan: warrant_store::Plan::Enterprise,
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
        created_ms: 0,
        updated_ms: 0,
        version: 1,
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
    let total = count();
    let start = Instant::now();
    let mut n = 0;
    while n < total {
        let batch: Vec<_> = (n..(n + 10_000).min(total)).map(intent).collect();
        store.bulk_insert_intents(&batch).await.unwrap();
        n += batch.len() as u64;
    }
    eprintln!(
        "stored {total} intents of one agent over 30 days in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    store
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = runtime.block_on(filled_store(dir.path()));
    let usage = runtime
        .block_on(store.usage(
            "ag_1",
            Currency::EUR,
            Some("m7.example"),
            NOW,
            NOW - 10 * 3_600_000 - 1_234,
            NOW - 17 * 86_400_000 - 5_678,
            None,
        ))
        .unwrap();
    eprintln!(
        "last month: {} intents, {} cents",
        usage.last_month.count, usage.last_month.spend
    );
    assert_eq!(usage.last_month.count, count());

    let mut criterion = Criterion::default().configure_from_args();
    criterion.bench_function(&format!("usage snapshot, {} intents", count()), |b| {
        b.iter(|| {
            runtime
                .block_on(store.usage(
                    "ag_1",
                    Currency::EUR,
                    Some("m7.example"),
                    NOW,
                    NOW - 10 * 3_600_000 - 1_234,
                    NOW - 17 * 86_400_000 - 5_678,
                    None,
                ))
                .unwrap()
        })
    });
    criterion.final_summary();
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
