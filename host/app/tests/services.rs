//! The services themselves: the path of one intent, counted in store
//! round trips (on a warm cache, authentication, the idempotency check,
//! the agent with its policy's current version, and the usage, then the
//! commit; the policy is read only when a version is new to the server),
//! and reads that never write.

use std::sync::Arc;

use warrant_app::intents::Declared;
use warrant_app::tenants::TenantRequest;
use warrant_app::{App, Principal, forget};
use warrant_domain::intent::IntentRequest;
use warrant_runtime::{Runtime, RuntimeConfig};
use warrant_store::SqliteStore;

const ADMIN_KEY: &str = "admin-key-for-the-intent-path";

async fn app() -> (tempfile::TempDir, App) {
    let (dir, _, app) = app_and_store().await;
    (dir, app)
}

async fn app_and_store() -> (tempfile::TempDir, Arc<SqliteStore>, App) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("warrant.db"))
            .await
            .unwrap(),
    );
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    warrant_app::tenants::admin_key(store.as_ref(), Some(ADMIN_KEY))
        .await
        .unwrap();
    let app = App::new(store.clone(), runtime).unwrap();
    app.use_key_encryption_key([9u8; 32]).await.unwrap();
    (dir, store, app)
}

/// A tenant with a policy of one spend limit and an agent on it: the
/// tenant's principal and key, and the agent's id.
async fn tenant_with_agent(app: &App) -> (Principal, String, String, String) {
    let admin = app.authenticate(ADMIN_KEY).await.unwrap();
    let tenant = app
        .tenants()
        .create(
            &admin,
            TenantRequest {
                name: "acme".into(),
                plan: None,
            },
            &forget,
        )
        .await
        .unwrap();
    let principal = app.authenticate(&tenant.api_key).await.unwrap();
    let policy = app
        .policies()
        .create(
            &principal,
            json(serde_json::json!({
                "name": "everyday",
                "rules": [{"plugin": "spend-limit", "config": {"maxAmountEuros": 100}}]
            })),
            &forget,
        )
        .await
        .unwrap();
    let (agent, _secret) = app
        .agents()
        .create(
            &principal,
            json(serde_json::json!({
                "name": "ops",
                "policyId": policy.record.id,
                "profile": {"purpose": "pays for servers"}
            })),
            &forget,
        )
        .await
        .unwrap();
    app.cards()
        .create(
            &principal,
            json(serde_json::json!({"agentId": agent.agent.id, "name": "ops"})),
        )
        .await
        .unwrap();
    (principal, tenant.api_key, policy.record.id, agent.agent.id)
}

fn json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn intent(agent_id: &str) -> IntentRequest {
    IntentRequest::from_json(&format!(
        r#"{{"agentId":"{agent_id}","cardName":"ops","purpose":"renew","expectedAmountEuros":4.51,"expectedMerchant":"hetzner.com"}}"#
    ))
    .unwrap()
}

/// Store calls of one declaration as a surface makes it: authenticate,
/// look the idempotency key up, declare.
async fn declare_counted(app: &App, secret: &str, agent_id: &str) -> (u64, Declared) {
    let before = app.store_calls();
    let principal = app.authenticate(secret).await.unwrap();
    let scope = principal.idempotency_scope();
    assert!(app.remembered(&scope, "some-key").await.unwrap().is_none());
    let declared = app
        .intents()
        .declare(&principal, intent(agent_id), &forget)
        .await
        .unwrap();
    (app.store_calls() - before, declared)
}

fn version_of(declared: &Declared) -> i64 {
    match declared {
        Declared::Created(intent) => intent.record.policy_version,
        Declared::Existing(_) => panic!("a new intent was expected"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_intent_costs_four_round_trips_before_its_commit() {
    let (_dir, app) = app().await;
    let (principal, api_key, policy_id, agent_id) = tenant_with_agent(&app).await;
    let token = app
        .agents()
        .issue_token(&principal, &agent_id, Default::default(), &forget)
        .await
        .unwrap();

    // The first decision loads and compiles the policy.
    declare_counted(&app, &api_key, &agent_id).await;

    // Warm: authentication, the key's lookup, the agent with its card, the
    // usage; then the commit.
    let (calls, declared) = declare_counted(&app, &api_key, &agent_id).await;
    assert_eq!(calls, 5, "with the tenant's key");
    assert_eq!(version_of(&declared), 1);
    let (calls, _) = declare_counted(&app, &token.secret, &agent_id).await;
    assert_eq!(calls, 5, "with an agent token");

    // A new version (made here, or on another server) comes with the
    // agent's own read; compiling it reads the policy once.
    app.policies()
        .update(
            &principal,
            &policy_id,
            json(serde_json::json!({"name": "everyday, renamed"})),
        )
        .await
        .unwrap();
    let (calls, declared) = declare_counted(&app, &api_key, &agent_id).await;
    assert_eq!((calls, version_of(&declared)), (6, 2));
    let (calls, declared) = declare_counted(&app, &api_key, &agent_id).await;
    assert_eq!((calls, version_of(&declared)), (5, 2));
}

/// An intent whose time to live ended shows as expired, with the expiry
/// in its history, and the read writes nothing; a move that finds it so
/// records the expiry (and is refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_never_writes_and_a_move_records_the_expiry() {
    use warrant_app::intents::{MoveBody, ReasonRequest};
    use warrant_domain::lifecycle::{IntentStatus, Transition};
    use warrant_store::IntentRepository;

    let (_dir, store, app) = app_and_store().await;
    let (principal, _, _, agent_id) = tenant_with_agent(&app).await;
    let Declared::Created(declared) = app
        .intents()
        .declare(&principal, intent(&agent_id), &forget)
        .await
        .unwrap()
    else {
        panic!("a new intent");
    };
    // The same intent, its time to live ended a minute ago, not swept.
    let mut record = declared.record.clone();
    record.id = "int_lapsed".into();
    record.intent.id = record.id.clone();
    record.status = IntentStatus::PendingApproval;
    record.expires_ms = warrant_app::now_ms() - 60_000;
    let mut event = declared.events[0].clone();
    event.id = "ev_lapsed".into();
    event.intent_id = record.id.clone();
    event.to = IntentStatus::PendingApproval;
    store
        .insert_intent(&record, &event, &Default::default(), &|_| None)
        .await
        .unwrap();

    let before = app.store_calls();
    let shown = app.intents().show(&principal, "int_lapsed").await.unwrap();
    assert_eq!(
        app.store_calls() - before,
        3,
        "the intent, its events and its receipts"
    );
    assert_eq!(shown.record.status, IntentStatus::Expired);
    let last = shown.events.last().unwrap();
    assert_eq!(
        (last.to, last.actor.as_str()),
        (IntentStatus::Expired, "system")
    );
    let stored = store
        .intent(&record.tenant_id, "int_lapsed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status,
        IntentStatus::PendingApproval,
        "the read wrote nothing"
    );

    let refused = app
        .intents()
        .transition(
            &principal,
            "int_lapsed",
            Transition::Approve,
            MoveBody::Reason(ReasonRequest::default()),
            &forget,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "E_INVALID_TRANSITION");
    let stored = store
        .intent(&record.tenant_id, "int_lapsed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, IntentStatus::Expired, "the move recorded it");
    let events = store.intent_events("int_lapsed").await.unwrap();
    assert_eq!(events.last().unwrap().actor, "system");
}

/// Readiness is the database answering: a closed store is not ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_is_ready_while_its_database_answers() {
    let (_dir, store, app) = app_and_store().await;
    app.ready().await.unwrap();
    warrant_store::Store::close(store.as_ref()).await;
    assert!(app.ready().await.is_err());
}
