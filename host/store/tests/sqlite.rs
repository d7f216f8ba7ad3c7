//! The SQLite store through its trait.

use warrant_domain::context::{Agent, Card, Intent, WindowUsage};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_store::{
    AgentRecord, DecisionActions, IdempotencyRecord, IntentEvent, IntentRecord, PolicyRecord,
    SqliteStore, StatusChange, Store, StoreError, TenantRecord,
};

const MINUTE: i64 = 60_000;
const NO_ACTIONS: DecisionActions = DecisionActions {
    suspend: None,
    alerts: Vec::new(),
};
const NOW: i64 = 1_800_000_000_000;

async fn store_with_agent() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("warrant.db"))
        .await
        .unwrap();
    let tenant = TenantRecord {
        id: "tn_1".into(),
        name: "t".into(),
        created_ms: 0,
    };
    store.create_tenant(&tenant, "hash", None).await.unwrap();
    let policy = PolicyRecord {
        id: "pol_1".into(),
        tenant_id: "tn_1".into(),
        name: "p".into(),
        version: 1,
        body: "{}".into(),
        created_ms: 0,
    };
    store.insert_policy(&policy, &[], None).await.unwrap();
    let agent = AgentRecord {
        tenant_id: "tn_1".into(),
        policy_id: "pol_1".into(),
        agent: Agent {
            id: "ag_1".into(),
            ..Agent::default()
        },
        created_ms: 0,
        updated_ms: 0,
    };
    store.insert_agent(&agent, None).await.unwrap();
    (dir, store)
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
        },
        decision: "{}".into(),
        policy_id: "pol_1".into(),
        policy_version: 1,
        status_reason: None,
        settlement: None,
        created_ms: at_ms,
        updated_ms: at_ms,
        expires_ms: at_ms + 60 * MINUTE,
    }
}

fn created(record: &IntentRecord) -> IntentEvent {
    IntentEvent {
        id: format!("ev_{}", record.id),
        intent_id: record.id.clone(),
        from: None,
        to: record.status,
        actor: "policy".into(),
        reason: None,
        at_ms: record.created_ms,
    }
}

#[tokio::test]
async fn usage_counts_every_intent_and_spends_pending_approved_and_completed_ones() {
    let (_dir, store) = store_with_agent().await;
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
            .insert_intent(record, &created(record), &NO_ACTIONS, None)
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
        )
        .await
        .unwrap();
    let w = |count, spend| WindowUsage { count, spend };
    assert_eq!(usage.last_minute, w(2, 100));
    assert_eq!(usage.last_hour, w(3, 100));
    assert_eq!(usage.last_day, w(4, 350));
    assert_eq!(usage.last_week, w(5, 1350));
    assert_eq!(usage.last_month, w(6, 1357));
    assert_eq!(usage.calendar_day, w(3, 100));
    assert_eq!(usage.calendar_month, w(5, 1350));
    assert_eq!(usage.merchant_last_month, w(5, 1107));

    let none = store
        .usage("ag_1", Currency::EUR, None, NOW, day_start, month_start)
        .await
        .unwrap();
    assert_eq!(none.merchant_last_month, w(0, 0));
}

#[tokio::test]
async fn a_status_change_applies_only_from_the_expected_status() {
    use IntentStatus::*;
    let (_dir, store) = store_with_agent().await;
    let record = intent(1, NOW, PendingApproval, Money::eur(1), "a.com");
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, None)
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
            reason: None,
            at_ms: NOW + 1,
        },
        settlement: None,
        actual_minor: None,
        seen_updated_ms: Some(NOW),
        require_unexpired: true,
        require_active_agent: false,
    };
    assert!(
        store
            .change_status(&change("ev_a", PendingApproval, Approved), None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .change_status(&change("ev_b", PendingApproval, Denied), None)
            .await
            .unwrap()
    );
    let stored = store.intent("tn_1", "int_0001").await.unwrap().unwrap();
    assert_eq!(stored.status, Approved);
    assert_eq!(store.intent_events("int_0001").await.unwrap().len(), 2);
    // Another tenant's id moves nothing.
    let mut foreign = change("ev_c", Approved, Cancelled);
    foreign.tenant_id = "tn_2".into();
    foreign.seen_updated_ms = Some(NOW + 1);
    assert!(!store.change_status(&foreign, None).await.unwrap());
    assert!(store.intent("tn_2", "int_0001").await.unwrap().is_none());
    // A change decided on an older version of the intent does not apply.
    let stale = change("ev_d", Approved, Cancelled);
    assert!(!store.change_status(&stale, None).await.unwrap());
    // Nor one made after the time to live ended.
    let mut late = change("ev_e", Approved, Cancelled);
    late.seen_updated_ms = Some(NOW + 1);
    late.event.at_ms = NOW + 61 * MINUTE;
    assert!(!store.change_status(&late, None).await.unwrap());
    late.event.at_ms = NOW + 2;
    assert!(store.change_status(&late, None).await.unwrap());
}

#[tokio::test]
async fn an_idempotency_key_is_taken_once_and_its_write_rolls_back_with_it() {
    let (_dir, store) = store_with_agent().await;
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
        .insert_intent(&first, &created(&first), &NO_ACTIONS, Some(&idem))
        .await
        .unwrap();
    let second = intent(2, NOW, IntentStatus::Approved, Money::eur(1), "a.com");
    let taken = store
        .insert_intent(&second, &created(&second), &NO_ACTIONS, Some(&idem))
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

#[tokio::test]
async fn usage_saturates_at_2_to_the_53_minor_units_instead_of_failing() {
    let (_dir, store) = store_with_agent().await;
    for n in 0..4 {
        let record = intent(
            n,
            NOW - 1000,
            IntentStatus::Approved,
            Money::eur(5_000_000_000_000_000_000),
            "a.com",
        );
        store
            .insert_intent(&record, &created(&record), &NO_ACTIONS, None)
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
        )
        .await
        .unwrap();
    assert_eq!(usage.last_minute.count, 4);
    let cap = warrant_store::MAX_BUCKET_SPEND as u64;
    assert_eq!(usage.last_minute.spend, cap);
    assert_eq!(usage.merchant_last_month.spend, cap);
}

#[tokio::test]
async fn a_settled_amount_counts_once_the_intent_completes() {
    let (_dir, store) = store_with_agent().await;
    let record = intent(
        1,
        NOW - 1000,
        IntentStatus::Approved,
        Money::eur(10_000),
        "a.com",
    );
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, None)
        .await
        .unwrap();
    let spend = async || {
        store
            .usage("ag_1", Currency::EUR, None, NOW, NOW - MINUTE, NOW - MINUTE)
            .await
            .unwrap()
            .last_minute
            .spend
    };
    let update = warrant_store::SettlementUpdate {
        tenant_id: "tn_1".into(),
        intent_id: record.id.clone(),
        status: IntentStatus::Approved,
        settlement: "{}".into(),
        actual_minor: Some(1),
        at_ms: NOW - 500,
        seen_updated_ms: record.updated_ms,
    };
    assert!(store.set_settlement(&update, None).await.unwrap());
    // Approved: the declared amount may still be spent.
    assert_eq!(spend().await, 10_000);
    let complete = StatusChange {
        tenant_id: "tn_1".into(),
        event: IntentEvent {
            id: "ev_done".into(),
            intent_id: record.id.clone(),
            from: Some(IntentStatus::Approved),
            to: IntentStatus::Completed,
            actor: "tenant".into(),
            reason: None,
            at_ms: NOW - 400,
        },
        settlement: None,
        actual_minor: Some(2_500),
        seen_updated_ms: None,
        require_unexpired: false,
        require_active_agent: false,
    };
    assert!(store.change_status(&complete, None).await.unwrap());
    // Completed: what was actually paid.
    assert_eq!(spend().await, 2_500);
}

#[tokio::test]
async fn the_counters_agree_with_the_intents_through_every_change() {
    use IntentStatus::*;
    let (_dir, store) = store_with_agent().await;
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
            .insert_intent(&record, &created(&record), &NO_ACTIONS, None)
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
        let change = StatusChange {
            tenant_id: "tn_1".into(),
            event: IntentEvent {
                id: format!("ev_move_{}", record.id),
                intent_id: record.id.clone(),
                from: Some(record.status),
                to,
                actor: "tenant".into(),
                reason: None,
                at_ms: NOW,
            },
            settlement: None,
            actual_minor: actual,
            seen_updated_ms: None,
            require_unexpired: false,
            require_active_agent: false,
        };
        assert!(store.change_status(&change, None).await.unwrap());
        record.status = to;
        record.settlement = actual.map(|a| a.to_string());
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
            if amount.currency == Currency::EUR {
                let settled = r.settlement.as_ref().map(|a| a.parse::<u64>().unwrap());
                window.spend +=
                    warrant_store::spend_minor(r.status, Some(amount.minor_units), settled) as u64;
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
}

#[tokio::test]
async fn an_approval_and_a_new_intent_need_an_active_agent_at_commit() {
    use IntentStatus::*;
    use warrant_domain::context::AgentStatus;
    let (_dir, store) = store_with_agent().await;
    let record = intent(1, NOW, PendingApproval, Money::eur(1), "a.com");
    store
        .insert_intent(&record, &created(&record), &NO_ACTIONS, None)
        .await
        .unwrap();
    let frozen = store
        .set_agent_status(
            "tn_1",
            "ag_1",
            &[AgentStatus::Active],
            AgentStatus::Frozen,
            NOW,
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
            reason: None,
            at_ms: NOW + 1,
        },
        settlement: None,
        actual_minor: None,
        seen_updated_ms: Some(NOW),
        require_unexpired: true,
        require_active_agent: true,
    };
    assert!(!store.change_status(&approve, None).await.unwrap());
    let next = intent(2, NOW, Approved, Money::eur(1), "a.com");
    let refused = store
        .insert_intent(&next, &created(&next), &NO_ACTIONS, None)
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
    assert!(store.change_status(&deny, None).await.unwrap());
}
