//! What survives a restart, a SIGTERM and a `kill -9`, and what time does
//! to an intent.

mod support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Server, Tenant};

#[test]
fn everything_survives_a_restart_and_sigterm_stops_cleanly() {
    let mut server = Server::start();
    let t = Tenant::new(&server, "acme");
    let nosy = warrant_fixtures::guest("nosy").wasm();
    let plugin = server
        .send(
            "POST",
            "/plugins?name=nosy&version=1.0.0",
            Some(&t.key),
            &[],
            Some(&nosy),
        )
        .expect(201)
        .str("id");
    let policy = server
        .post(
            "/policies",
            &t.key,
            json!({"name": "nosy", "rules": [{"plugin": "nosy"}]}),
        )
        .expect(201)
        .str("id");
    let agent = server.agent(&t.key, &policy, "nosy agent");
    let pending = server.intent(&t.token, &t.agent, "86.40").expect(201);
    let body = r#"{"cardName":"subscriptions","purpose":"x","expectedAmountEuros":1}"#;
    let first = server
        .post_once("/intents", &t.token, "before-restart", body)
        .expect(201);

    let status = server.terminate();
    assert!(status.success(), "SIGTERM exits cleanly: {status:?}");
    server.restart();

    // Keys, tokens, plugins, policies, agents and intents are all there.
    let read = server
        .get(&format!("/intents/{}", pending.str("id")), &t.token)
        .expect(200);
    assert_eq!(read.body["decision"], pending.body["decision"]);
    assert_eq!(read.str("status"), "pending_approval");
    server
        .get(&format!("/plugins/{plugin}"), &t.key)
        .expect(200);
    server
        .post(
            &format!("/intents/{}/approve", pending.str("id")),
            &t.key,
            json!({}),
        )
        .expect(200);
    // The uploaded plugin is loaded from the store and decides again.
    let decided = server.intent(&t.key, &agent, "5").expect(201);
    assert_eq!(decided.body["decision"]["rules"][0]["plugin"], "nosy");
    assert_eq!(decided.str("status"), "approved");
    // Idempotency keys outlive the process.
    let replay = server
        .post_once("/intents", &t.token, "before-restart", body)
        .expect(201);
    assert!(replay.replayed);
    assert_eq!(replay.text, first.text);
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    // A data directory of its own, so the plugin cache is cold and the
    // upload takes a while to compile.
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();
    let mut server = Server::start_with(&["--cache-dir", cache]);
    let t = Tenant::new(&server, "acme");
    let panics = warrant_fixtures::guest("panics").wasm();
    let answer = std::thread::scope(|s| {
        let upload = s.spawn(|| {
            server.send(
                "POST",
                "/plugins?name=slow&version=1.0.0",
                Some(&t.key),
                &[],
                Some(&panics),
            )
        });
        std::thread::sleep(Duration::from_millis(100));
        support::signal(server.pid(), "TERM");
        upload.join().unwrap()
    });
    answer.expect(201);
    let status = server.terminate_wait();
    assert!(status.success(), "{status:?}");
    server.restart();
    let listed = server.get("/plugins", &t.key).expect(200);
    assert!(listed.text.contains(r#""name":"slow""#), "{}", listed.text);
}

#[test]
fn every_acknowledged_intent_survives_kill_9_under_load() {
    let mut server = Server::start();
    let t = Tenant::new(&server, "acme");
    let acknowledged = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for worker in 0..4 {
            let (server, t, acknowledged, stop) = (&server, &t, &acknowledged, &stop);
            s.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let body = format!(
                        r#"{{"cardName":"subscriptions","purpose":"load","expectedAmountEuros":{worker}.{n:02},"clientIntentId":"w{worker}-{n}"}}"#
                    );
                    let Some(answer) = server.try_post("/intents", &t.token, &body) else {
                        return;
                    };
                    if answer.status == 201 {
                        acknowledged.lock().unwrap().push((
                            answer.str("id"),
                            answer.body["decision"].clone(),
                            answer.str("status"),
                        ));
                    }
                }
            });
        }
        let start = Instant::now();
        while acknowledged.lock().unwrap().len() < 100 && start.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        server.kill9_in_place();
        stop.store(true, Ordering::Relaxed);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(
        acknowledged.len() >= 100,
        "only {} intents",
        acknowledged.len()
    );

    server.restart();
    for (id, decision, status) in &acknowledged {
        let read = server.get(&format!("/intents/{id}"), &t.key).expect(200);
        assert_eq!(&read.body["decision"], decision, "{id}");
        assert_eq!(&read.str("status"), status, "{id}");
        assert_eq!(read.body["history"].as_array().unwrap().len(), 1, "{id}");
    }
    // No intent exists half-written: each has its decision and history.
    let mut cursor = String::new();
    let mut stored = 0;
    loop {
        let page = server
            .get(&format!("/intents?limit=200&cursor={cursor}"), &t.key)
            .expect(200);
        for intent in page.body["data"].as_array().unwrap() {
            stored += 1;
            assert!(
                intent["decision"]["rules"]
                    .as_array()
                    .is_some_and(|r| r.len() == 2)
            );
            let id = intent["id"].as_str().unwrap();
            let read = server.get(&format!("/intents/{id}"), &t.key).expect(200);
            assert_eq!(read.body["history"].as_array().unwrap().len(), 1, "{id}");
        }
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert!(stored >= acknowledged.len());
}

#[test]
fn intents_expire_on_time_by_the_sweeper_and_at_every_read() {
    // One server sweeps every 100 ms; the other only every minute, so its
    // intents expire when they are read or acted on.
    let sweeping = Server::start_with(&["--sweep-interval-ms", "100"]);
    let lazy = Server::start_with(&["--sweep-interval-ms", "60000"]);
    let a = Tenant::new(&sweeping, "a");
    let b = Tenant::new(&lazy, "b");
    let short = |server: &Server, t: &Tenant, amount: &str| {
        server
            .post_text(
                "/intents",
                &t.key,
                &format!(
                    r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":{amount},"ttlMinutes":1}}"#,
                    t.agent
                ),
            )
            .expect(201)
    };
    let swept = short(&sweeping, &a, "86.40").str("id");
    let swept_approved = short(&sweeping, &a, "1").str("id");
    let lazy_pending = short(&lazy, &b, "86.40").str("id");
    let lazy_approved = short(&lazy, &b, "1").str("id");
    let lazy_listed = short(&lazy, &b, "2").str("id");
    let long = sweeping
        .intent(&a.key, &a.agent, "86.40")
        .expect(201)
        .str("id");
    std::thread::sleep(Duration::from_secs(61));

    // The sweeper expired both without anyone reading them: a filter on
    // the stored status finds them.
    let expired = sweeping.get("/intents?status=expired", &a.key).expect(200);
    let ids: Vec<&str> = expired.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&swept.as_str()) && ids.contains(&swept_approved.as_str()),
        "{ids:?}"
    );
    let read = sweeping
        .get(&format!("/intents/{swept}"), &a.key)
        .expect(200);
    assert_eq!(read.body["history"][1]["actor"], "system");
    assert_eq!(
        sweeping
            .get(&format!("/intents/{long}"), &a.key)
            .expect(200)
            .str("status"),
        "pending_approval"
    );

    // Not swept yet, but never approved, completed or shown as live.
    lazy.post(
        &format!("/intents/{lazy_pending}/approve"),
        &b.key,
        json!({}),
    )
    .expect_error(409, "E_INVALID_TRANSITION");
    assert_eq!(
        lazy.get(&format!("/intents/{lazy_pending}"), &b.key)
            .expect(200)
            .str("status"),
        "expired"
    );
    lazy.post(
        &format!("/intents/{lazy_approved}/complete"),
        &b.key,
        json!({}),
    )
    .expect_error(409, "E_INVALID_TRANSITION");
    let listed = lazy.get("/intents", &b.key).expect(200);
    let statuses: Vec<(&str, &str)> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    assert!(
        statuses.contains(&(lazy_listed.as_str(), "expired")),
        "{statuses:?}"
    );
}
