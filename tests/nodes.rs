//! Two `warrant serve` nodes on one PostgreSQL database: any node serves any
//! request, a plugin uploaded through one decides on the other, each intent
//! expires exactly once although both sweep, of two moves of one intent
//! sent to both nodes at once exactly one wins, and a rate limit counts the
//! intents of both.
//!
//! Needs `WARRANT_TEST_POSTGRES` (see `scripts/with-postgres`); without it
//! the test says so and passes.

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{ADMIN_KEY, Server, new_postgres_database};

fn history_to(answer: &Value, status: &str) -> usize {
    answer["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["to"] == status)
        .count()
}

#[test]
fn two_nodes_share_one_database() {
    if std::env::var("WARRANT_TEST_POSTGRES").is_err() {
        eprintln!("skipped: WARRANT_TEST_POSTGRES is not set");
        return;
    }
    let url = new_postgres_database("warrant_nodes");
    // Both sweep every 10 ms, so that they race for every due intent.
    let a = Server::start_node_with(&url, &["--sweep-interval-ms", "10"]);
    let b = Server::start_node_with(&url, &["--sweep-interval-ms", "10"]);

    // Any node serves any request: a tenant made on one is known to the
    // other, and so is everything it makes.
    let key = a
        .post("/tenants", ADMIN_KEY, json!({"name": "shared"}))
        .expect(201)
        .str("apiKey");
    b.get("/agents", &key).expect(200);

    // A plugin uploaded through A decides on B, which compiles it from the
    // artifact in the database into its own cache.
    let wasm = warrant_builtins::find("spend-limit").unwrap().wasm;
    let plugin = a
        .send(
            "POST",
            "/plugins?name=my-limit&version=1.0.0",
            Some(&key),
            &[],
            Some(wasm),
        )
        .expect(201)
        .str("id");
    b.get(&format!("/plugins/{plugin}"), &key).expect(200);
    let policy = b
        .post(
            "/policies",
            &key,
            json!({"name": "limit", "rules": [{"plugin": "my-limit@1.0.0",
                   "config": {"maxAmountEuros": 100, "reviewAboveEuros": 50}}]}),
        )
        .expect(201)
        .str("id");
    let agents: Vec<String> = (0..3)
        .map(|n| {
            let node = if n % 2 == 0 { &a } else { &b };
            node.agent(&key, &policy, &format!("agent {n}"))
        })
        .collect();
    for (amount, status) in [
        ("10", "approved"),
        ("60", "pending_approval"),
        ("120", "denied"),
    ] {
        let decided = b.intent(&key, &agents[0], amount).expect(201);
        assert_eq!(decided.str("status"), status, "{}", decided.text);
        let read = a
            .get(&format!("/intents/{}", decided.str("id")), &key)
            .expect(200);
        assert_eq!(read.str("status"), status);
    }

    // Intents that expire in a minute, made on both nodes for three agents.
    let started = Instant::now();
    let short: Vec<String> = (0..24)
        .map(|n| {
            let node = if n % 2 == 0 { &a } else { &b };
            let amount = if n % 3 == 0 { "10" } else { "60" };
            node.post_text(
                "/intents",
                &key,
                &format!(
                    r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":{amount},"expectedMerchant":"hetzner.com","ttlMinutes":1}}"#,
                    agents[n % 3]
                ),
            )
            .expect(201)
            .str("id")
        })
        .collect();

    // Of an approval on one node and a denial on the other, sent at once,
    // exactly one wins; the intent ends as the winner says.
    for round in 0..10 {
        let pending = a
            .intent(&key, &agents[round % 3], "60")
            .expect(201)
            .str("id");
        let barrier = Arc::new(Barrier::new(2));
        let answers: Vec<(&str, u16)> = std::thread::scope(|scope| {
            let moves = [(&a, "approve"), (&b, "deny")];
            let handles: Vec<_> = moves
                .into_iter()
                .map(|(node, action)| {
                    let barrier = barrier.clone();
                    let (key, pending) = (&key, &pending);
                    scope.spawn(move || {
                        barrier.wait();
                        let answer =
                            node.post(&format!("/intents/{pending}/{action}"), key, json!({}));
                        (action, answer.status)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<&str> = answers
            .iter()
            .filter(|(_, status)| *status == 200)
            .map(|(action, _)| *action)
            .collect();
        assert_eq!(winners.len(), 1, "{answers:?}");
        let lost = answers.iter().find(|(_, status)| *status != 200).unwrap();
        assert_eq!(lost.1, 409, "{answers:?}");
        let read = b.get(&format!("/intents/{pending}"), &key).expect(200);
        let expected = if winners[0] == "approve" {
            "approved"
        } else {
            "denied"
        };
        assert_eq!(read.str("status"), expected);
        assert_eq!(read.body["history"].as_array().unwrap().len(), 2);
    }

    // A rate limit holds across nodes: twenty intents at once, half on
    // each node, for an agent allowed five a minute: exactly five pass.
    let limited_policy = a
        .post(
            "/policies",
            &key,
            json!({"name": "five a minute", "rules": [
                {"plugin": "rate-limit", "config": {"perMinute": 5}}]}),
        )
        .expect(201)
        .str("id");
    let limited = b.agent(&key, &limited_policy, "limited");
    let barrier = Arc::new(Barrier::new(20));
    let statuses: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|n| {
                let node = if n % 2 == 0 { &a } else { &b };
                let barrier = barrier.clone();
                let (key, limited) = (&key, &limited);
                scope.spawn(move || {
                    barrier.wait();
                    node.intent(key, limited, "1").expect(201).str("status")
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let approved = statuses.iter().filter(|s| *s == "approved").count();
    assert_eq!(approved, 5, "{statuses:?}");

    // Both nodes sweep; each due intent is expired once, by one of them.
    let wait = Duration::from_secs(62).saturating_sub(started.elapsed());
    std::thread::sleep(wait);
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in &short {
        loop {
            let read = a.get(&format!("/intents/{id}"), &key).expect(200);
            // A read expires a due intent itself; wait for the sweepers'
            // events instead of making one.
            if history_to(&read.body, "expired") == 1 || Instant::now() > deadline {
                assert_eq!(read.str("status"), "expired", "{}", read.text);
                assert_eq!(history_to(&read.body, "expired"), 1, "{}", read.text);
                assert_eq!(
                    read.body["history"].as_array().unwrap().last().unwrap()["actor"],
                    "system"
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let listed = b.get("/intents?status=expired&limit=100", &key).expect(200);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), short.len());
}
