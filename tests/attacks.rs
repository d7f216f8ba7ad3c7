//! Attacks found by a hostile review, each reproduced against the real
//! server: a tenant's plugins cannot hold threads past their deadlines,
//! stall another tenant or another tenant's agent, or keep running for a
//! client that left.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, Tenant};

/// A tenant whose policy runs the attacker's `dry-run-dodger` plugin with
/// `config` and `limits`, and one agent on it.
fn attacker(server: &Server, name: &str, config: Value, limits: Value) -> Tenant {
    let key = server.tenant(name);
    let wasm = warrant_fixtures::guest("dry-run-dodger").wasm();
    server.upload(&key, "dodger", "1.0.0", &wasm).expect(201);
    let policy = server
        .post(
            "/policies",
            &key,
            json!({
                "name": "looks harmless",
                "rules": [{"plugin": "dodger", "config": config, "limits": limits}]
            }),
        )
        .expect(201)
        .str("id");
    let agent = server.agent(&key, &policy, &format!("{name} agent"));
    let token = server.token(&key, &agent);
    Tenant {
        key,
        policy,
        agent,
        token,
    }
}

/// A spinning dodger: loops until its deadline of `ms` on every real
/// intent.
fn spinner(server: &Server, name: &str, ms: u32) -> Tenant {
    attacker(
        server,
        name,
        json!({"spin": true}),
        json!({"fuel": 10_000_000_000u64, "timeoutMs": ms}),
    )
}

fn dry_run_body(agent: &str) -> String {
    json!({
        "agentId": agent,
        "cardName": "ops",
        "purpose": "probe",
        "expectedAmountEuros": 5,
        "expectedMerchant": "shop.example"
    })
    .to_string()
}

/// How long `f` takes.
fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Sends `count` dry runs for `agent` at once, each abandoned by its
/// client after `patience`, and returns how many got each status (0 for
/// an abandoned one).
fn abandoned_dry_runs(
    server: &Server,
    key: &str,
    agent: &str,
    count: usize,
    patience: Duration,
) -> std::collections::BTreeMap<u16, usize> {
    let body = dry_run_body(agent);
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..count {
            scope.spawn(|| {
                let http = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .proxy(None)
                    .timeout_global(Some(patience))
                    .build()
                    .new_agent();
                let status = http
                    .post(format!("{}/agents/{agent}/evaluate", server.base))
                    .header("Authorization", format!("Bearer {key}"))
                    .send(body.as_bytes())
                    .map(|response| response.status().as_u16())
                    .unwrap_or(0);
                *statuses.lock().unwrap().entry(status).or_insert(0) += 1;
            });
        }
    });
    statuses.into_inner().unwrap()
}

/// The reviewer's first finding: a plugin that sleeps, approving only the
/// check made at policy creation, made an intent with a 100 ms deadline
/// never return. Now it is denied with `E_PLUGIN_TIMEOUT` at once.
#[test]
fn a_plugin_that_sleeps_cannot_hold_an_intent_past_its_deadline() {
    let server = Server::start();
    let t = attacker(&server, "sleeper", json!({}), json!({"timeoutMs": 100}));
    let mut answer = None;
    let took = timed(|| answer = Some(server.intent(&t.token, &t.agent, "5")));
    let answer = answer.unwrap().expect(201);
    assert_eq!(answer.str("status"), "denied", "{}", answer.text);
    let rule = &answer.body["decision"]["rules"][0];
    assert_eq!(rule["code"], "E_PLUGIN_TIMEOUT", "{rule}");
    assert!(took < Duration::from_secs(2), "the intent took {took:?}");
}

/// Two hundred dry runs of tenant A's plugin, which spins to its deadline
/// and is abandoned by its clients, fill no pool that tenant B needs: B's
/// intents on built-in plugins take about as long as without the attack.
#[test]
fn hung_dry_runs_of_one_tenant_do_not_stall_another() {
    let server = Server::start();
    let a = spinner(&server, "attacker", 2_000);
    let b = Tenant::new(&server, "bystander");
    let b_intents = |n: usize| -> Vec<Duration> {
        (0..n)
            .map(|_| timed(|| drop(server.intent(&b.token, &b.agent, "5").expect(201))))
            .collect()
    };
    b_intents(3);
    let quiet = b_intents(20);

    let mut during = Vec::new();
    let mut refused = std::collections::BTreeMap::new();
    std::thread::scope(|scope| {
        let attack = scope
            .spawn(|| abandoned_dry_runs(&server, &a.key, &a.agent, 200, Duration::from_secs(3)));
        std::thread::sleep(Duration::from_millis(300));
        during = b_intents(20);
        refused = attack.join().unwrap();
    });
    let (quiet_median, during_median) = (median(quiet.clone()), median(during.clone()));
    let during_max = *during.iter().max().unwrap();
    eprintln!(
        "tenant B: median {quiet_median:?} quiet, {during_median:?} under attack (max {during_max:?}); attack answers {refused:?}"
    );
    // Most of the attack is refused at once instead of queued.
    assert!(
        refused.get(&429).copied().unwrap_or(0) >= 100,
        "{refused:?}"
    );
    assert!(
        during_median <= quiet_median * 5 + Duration::from_millis(50),
        "B's median went from {quiet_median:?} to {during_median:?}"
    );
    assert!(
        during_max < Duration::from_secs(1),
        "B waited {during_max:?}"
    );
}

/// Agents used to share 1024 locks by a hash anyone can compute: an
/// attacker made agents until one shared the victim's lock, then kept its
/// intent busy. Each agent now has a turn of its own.
#[test]
fn an_agent_whose_hash_matches_another_tenants_agent_does_not_stall_it() {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let slot = |id: &str| BuildHasherDefault::<DefaultHasher>::default().hash_one(id) % 1024;

    let server = Server::start();
    let victim = Tenant::new(&server, "victim");
    let a = spinner(&server, "attacker", 2_000);
    let target = slot(&victim.agent);
    let twin = (0..20_000)
        .map(|i| server.agent(&a.key, &a.policy, &format!("twin {i}")))
        .find(|id| slot(id) == target)
        .expect("an agent in the victim's slot");
    let twin_token = server.token(&a.key, &twin);

    std::thread::scope(|scope| {
        let busy = scope.spawn(|| server.intent(&twin_token, &twin, "5").expect(201));
        std::thread::sleep(Duration::from_millis(300));
        let took = timed(|| drop(server.intent(&victim.token, &victim.agent, "5").expect(201)));
        assert!(took < Duration::from_secs(1), "the victim waited {took:?}");
        let busy = busy.join().unwrap();
        assert_eq!(
            busy.body["decision"]["rules"][0]["code"], "E_PLUGIN_TIMEOUT",
            "{}",
            busy.text
        );
    });
}

/// A dry run whose client leaves stops running: the tenant's slots are
/// free again at once, not after the plugin's deadline.
#[test]
fn an_abandoned_request_stops_its_evaluation() {
    let server = Server::start();
    let a = spinner(&server, "attacker", 2_000);
    // More abandoned dry runs than the tenant has slots, each of which would
    // spin for two seconds if it kept running.
    let statuses = abandoned_dry_runs(&server, &a.key, &a.agent, 8, Duration::from_millis(300));
    assert_eq!(statuses.get(&0), Some(&8), "{statuses:?}");
    // The tenant's next evaluation (the creation check of a policy on a
    // built-in) finds a slot at once.
    let took = timed(|| {
        server
            .post(
                "/policies",
                &a.key,
                json!({"name": "plain", "rules": [{"plugin": "spend-limit", "config": {"maxAmountEuros": 10}}]}),
            )
            .expect(201);
    });
    eprintln!("after the abandoned dry runs, the next evaluation took {took:?}");
    assert!(took < Duration::from_secs(1), "it waited {took:?}");
}
