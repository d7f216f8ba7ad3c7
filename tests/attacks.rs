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

/// Taken alone by the tests that time a tenant's requests, and shared by
/// the others in this file, so that none of those (filling databases,
/// compiling) runs beside a timed one.
static TIMED: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn timed_alone() -> std::sync::RwLockWriteGuard<'static, ()> {
    TIMED
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn beside_others() -> std::sync::RwLockReadGuard<'static, ()> {
    TIMED
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    let _shared = beside_others();
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
    let _alone = timed_alone();
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
    let mut answered = std::collections::BTreeMap::new();
    std::thread::scope(|scope| {
        let attack = scope
            .spawn(|| abandoned_dry_runs(&server, &a.key, &a.agent, 200, Duration::from_secs(3)));
        std::thread::sleep(Duration::from_millis(300));
        during = b_intents(20);
        answered = attack.join().unwrap();
    });
    let (quiet_median, during_median) = (median(quiet.clone()), median(during.clone()));
    let during_max = *during.iter().max().unwrap();
    eprintln!(
        "tenant B: median {quiet_median:?} quiet, {during_median:?} under attack (max {during_max:?}); attack answers {answered:?}"
    );
    assert!(
        during_median <= quiet_median * 5 + Duration::from_millis(50),
        "B's median went from {quiet_median:?} to {during_median:?}"
    );
    // Before, B's intents waited past 20 s; a loaded machine may pause
    // one request now and then, which is no stall.
    assert!(
        during_max < Duration::from_secs(5),
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

    // Hundreds of agents made as fast as the server answers: past any
    // rate limit a tenant would want.
    let server = Server::start_with(&["--rate-limit", "0"]);
    let victim = Tenant::new(&server, "victim");
    let _alone = timed_alone();
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
    let _alone = timed_alone();
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

// ---------------------------------------------------------------------
// Uploads and stored data cost what a plan allows, and no more.

/// Files in a compiled-plugin cache.
fn cached(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A component of some megabytes with one function of 400,000
/// instructions, exporting `add`: it targets no Warrant world.
fn heavy_component_of_the_wrong_world() -> Vec<u8> {
    let body = "local.get 0 i32.const 1 i32.add local.set 0\n".repeat(100_000);
    let text = format!(
        r#"(component
             (core module $m
               (func (export "f") (result i32) (local i32) {body} local.get 0))
             (core instance $i (instantiate $m))
             (func $add (result u32) (canon lift (core func $i "f")))
             (export "add" (func $add)))"#
    );
    wat::parse_str(text).expect("the component assembles")
}

/// The reviewer's component compiled for 11 s and left 5.4 MB of compiled
/// code behind before it was refused for its world; an empty component
/// left a file too. Now both are refused from their outline, at once, and
/// leave nothing.
#[test]
fn a_refused_upload_costs_no_compilation_and_leaves_no_file() {
    let _shared = beside_others();
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start_with(&["--cache-dir", cache.path().to_str().unwrap()]);
    let key = server.tenant("acme");
    let before = cached(cache.path());
    let heavy = heavy_component_of_the_wrong_world();
    let empty = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
    let foreign = warrant_fixtures::guest("foreign-import").wasm();
    for (name, wasm, code) in [
        ("heavy", heavy.as_slice(), "E_PLUGIN_WORLD"),
        ("empty", &empty[..], "E_PLUGIN_WORLD"),
        ("foreign", &foreign[..], "E_PLUGIN_IMPORT"),
    ] {
        let mut answer = None;
        let took = timed(|| answer = Some(server.upload(&key, name, "1.0.0", wasm)));
        answer.unwrap().expect_error(400, code);
        assert!(took < Duration::from_secs(2), "{name} took {took:?}");
    }
    assert_eq!(cached(cache.path()), before);
}

/// Compiled code that no registered plugin uses any more (a deleted one,
/// one of an older engine) is removed when the server starts; a
/// registered plugin's stays.
#[test]
fn unused_compiled_code_is_removed_at_start() {
    let _shared = beside_others();
    let cache = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(&["--cache-dir", cache.path().to_str().unwrap()]);
    let key = server.tenant("acme");
    let nosy = server
        .upload(
            &key,
            "nosy",
            "1.0.0",
            &warrant_fixtures::guest("nosy").wasm(),
        )
        .expect(201);
    let panics = server
        .upload(
            &key,
            "panics",
            "1.0.0",
            &warrant_fixtures::guest("panics").wasm(),
        )
        .expect(201);
    let kept = |sha: &str| cached(cache.path()).iter().any(|f| f.starts_with(sha));
    assert!(kept(&nosy.str("sha256")) && kept(&panics.str("sha256")));
    server
        .delete(&format!("/plugins/{}", panics.str("id")), &key)
        .expect(204);
    let stale = format!("{}-0123456789abcdef.cwasm", "0".repeat(64));
    std::fs::write(cache.path().join(&stale), b"compiled by another engine").unwrap();

    server.restart();
    let files = cached(cache.path());
    assert!(kept(&nosy.str("sha256")), "{files:?}");
    assert!(!kept(&panics.str("sha256")), "{files:?}");
    assert!(!files.contains(&stale), "{files:?}");
    // The plugin still decides, from its cached code.
    let policy = server
        .post(
            "/policies",
            &key,
            json!({"name": "nosy", "rules": [{"plugin": "nosy"}]}),
        )
        .expect(201);
    assert_eq!(policy.body["rules"][0]["pluginId"], nosy.str("id"));
}

/// A tenant's plan bounds how many plugins it keeps.
#[test]
fn uploads_are_limited_by_the_plan() {
    let _shared = beside_others();
    let server = Server::start();
    let created = server
        .post("/tenants", support::ADMIN_KEY, json!({"name": "small"}))
        .expect(201);
    let key = created.str("apiKey");
    server
        .patch(
            &format!("/tenants/{}", created.str("id")),
            support::ADMIN_KEY,
            json!({"plan": "free"}),
        )
        .expect(200);
    let nosy = warrant_fixtures::guest("nosy").wasm();
    for version in ["1.0.0", "1.0.1", "1.0.2"] {
        server.upload(&key, "nosy", version, &nosy).expect(201);
    }
    let refused = server
        .upload(&key, "nosy", "1.0.3", &nosy)
        .expect_error(403, "E_PLAN_LIMIT");
    assert!(
        refused.text.contains("3 uploaded plugins"),
        "{}",
        refused.text
    );
    let listed = server.get("/plugins?limit=200", &key).expect(200);
    let uploaded = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["builtin"] == false)
        .count();
    assert_eq!(uploaded, 3);
}

/// 64 rules of 10 s each could be configured, and configurations of a
/// megabyte per version; now what one decision may cost is capped before
/// anything runs.
#[test]
fn a_policy_cannot_ask_for_more_than_a_decision_may_cost() {
    let _shared = beside_others();
    let server = Server::start();
    let key = server.tenant("acme");
    let rule = |limits: Value| json!({"plugin": "spend-limit", "config": {"maxAmountEuros": 10}, "limits": limits});
    let policy = |rules: Vec<Value>| json!({"name": "costly", "rules": rules});

    let slow = vec![rule(json!({"timeoutMs": 10_000})); 64];
    let refused = server
        .post("/policies", &key, policy(slow))
        .expect_error(400, "E_VALIDATION");
    assert_eq!(refused.body["error"]["field"], "rules", "{}", refused.text);
    assert!(refused.text.contains("640000 ms"), "{}", refused.text);

    // Eight rules at the default 250 ms fit in 2 s; nine do not.
    server
        .post("/policies", &key, policy(vec![rule(json!({})); 8]))
        .expect(201);
    server
        .post("/policies", &key, policy(vec![rule(json!({})); 9]))
        .expect_error(400, "E_VALIDATION");
    // Shorter deadlines make room for more rules.
    server
        .post(
            "/policies",
            &key,
            policy(vec![rule(json!({"timeoutMs": 100})); 20]),
        )
        .expect(201);

    let greedy = server
        .post(
            "/policies",
            &key,
            policy(vec![rule(json!({"memoryBytes": 512u64 << 20}))]),
        )
        .expect_error(400, "E_VALIDATION");
    assert_eq!(greedy.body["error"]["field"], "rules[0].limits.memoryBytes");

    let big = json!({"plugin": "merchant-rules", "config": {"allow": vec!["x".repeat(1000); 70]}});
    let large = server
        .post("/policies", &key, json!({"name": "large", "rules": [big]}))
        .expect_error(400, "E_VALIDATION");
    assert_eq!(large.body["error"]["field"], "rules[0].config");
    let sizeable =
        json!({"plugin": "merchant-rules", "config": {"allow": vec!["x".repeat(1000); 60]}});
    let too_much = server
        .post(
            "/policies",
            &key,
            json!({"name": "large", "rules": vec![sizeable; 5]}),
        )
        .expect_error(400, "E_VALIDATION");
    assert!(too_much.text.contains("together"), "{}", too_much.text);
}

/// Reads every page of a listing at `path` (which has a query already),
/// `limit` at a time; gives the items and the number of pages.
fn all_pages(server: &Server, key: &str, path: &str, limit: usize) -> (Vec<Value>, usize) {
    let (mut items, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut url = format!("{path}&limit={limit}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page = server.get(&url, key).expect(200);
        let data = page.body["data"].as_array().unwrap().clone();
        assert!(data.len() <= limit, "{}", page.text);
        items.extend(data);
        pages += 1;
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (items, pages),
        }
    }
}

/// Lists that grew without end are paged like the others.
#[test]
fn every_list_is_paged() {
    let _shared = beside_others();
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let nosy = warrant_fixtures::guest("nosy").wasm();
    for version in ["1.0.0", "1.0.1"] {
        server.upload(&t.key, "nosy", version, &nosy).expect(201);
    }
    let (plugins, pages) = all_pages(&server, &t.key, "/plugins?", 3);
    let builtins = plugins.iter().filter(|p| p["builtin"] == true).count();
    assert_eq!(plugins.len(), builtins + 2);
    assert_eq!(pages, plugins.len().div_ceil(3));

    for n in 0..3 {
        server
            .patch(
                &format!("/policies/{}", t.policy),
                &t.key,
                json!({"name": format!("default {n}")}),
            )
            .expect(200);
        server
            .patch(
                &format!("/agents/{}", t.agent),
                &t.key,
                json!({"name": format!("agent {n}")}),
            )
            .expect(200);
        server.token(&t.key, &t.agent);
    }
    let (versions, _) = all_pages(
        &server,
        &t.key,
        &format!("/policies/{}/versions?", t.policy),
        2,
    );
    let numbers: Vec<i64> = versions
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    // Every listing is newest first.
    assert_eq!(numbers, [4, 3, 2, 1]);
    let (versions, _) = all_pages(
        &server,
        &t.key,
        &format!("/agents/{}/versions?", t.agent),
        3,
    );
    let numbers: Vec<i64> = versions
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [4, 3, 2, 1]);
    let (tokens, pages) = all_pages(&server, &t.key, &format!("/agents/{}/tokens?", t.agent), 3);
    assert_eq!((tokens.len(), pages), (4, 2));
    let created: Vec<&str> = tokens
        .iter()
        .map(|token| token["createdAt"].as_str().unwrap())
        .collect();
    assert!(created.is_sorted_by(|a, b| a >= b), "{created:?}");

    let recurring = server
        .post_text(
            "/intents",
            &t.key,
            &format!(
                r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"hosting","expectedAmountEuros":20,
                    "expectedMerchant":"hetzner.com","recurring":{{"cadence":"monthly"}}}}"#,
                t.agent
            ),
        )
        .expect(201);
    let charges = format!("/intents/{}/charges", recurring.str("id"));
    for amount in [20, 21, 22] {
        server
            .post(
                &charges,
                &t.key,
                json!({"amountEuros": amount, "merchant": "hetzner.com"}),
            )
            .expect(201);
    }
    let (listed, pages) = all_pages(&server, &t.key, &format!("{charges}?"), 2);
    let amounts: Vec<f64> = listed
        .iter()
        .map(|c| c["amountEuros"].as_f64().unwrap())
        .collect();
    assert_eq!((amounts, pages), (vec![22.0, 21.0, 20.0], 2));

    server
        .get(
            &format!("/policies/{}/versions?cursor=abc", t.policy),
            &t.key,
        )
        .expect_error(400, "E_VALIDATION");
}

// ---------------------------------------------------------------------
// An agent's own reports cannot lower what it spent.

/// A tenant whose policy is a daily budget of 100 EUR, its agent and the
/// agent's token.
fn on_a_budget(server: &Server) -> Tenant {
    let key = server.tenant("budgeted");
    let policy = server
        .post(
            "/policies",
            &key,
            json!({"name": "100 a day", "rules": [{"plugin": "budget", "config": {"maxDailyEuros": 100}}]}),
        )
        .expect(201)
        .str("id");
    let agent = server.agent(&key, &policy, "spender");
    let token = server.token(&key, &agent);
    Tenant {
        key,
        policy,
        agent,
        token,
    }
}

/// Today's spend and flagged settlements, as `/agents/:id/usage` shows.
fn today(server: &Server, t: &Tenant) -> (f64, u64) {
    let usage = server
        .get(&format!("/agents/{}/usage", t.agent), &t.token)
        .expect(200);
    let day = &usage.body["windows"]["calendarDay"];
    (
        day["spendEuros"].as_f64().unwrap(),
        day["flaggedCount"].as_u64().unwrap(),
    )
}

fn settle(server: &Server, key: &str, id: &str, step: &str, amount: &str) -> Value {
    server
        .post_text(
            &format!("/intents/{id}/{step}"),
            key,
            &format!(r#"{{"actualAmountEuros":{amount}}}"#),
        )
        .expect(200)
        .body
}

/// The reviewer's attack: on a budget of 100 EUR a day, declare 90 EUR,
/// complete it reporting 0, five times over: 450 EUR were approved and
/// the usage said 0. Now a report below the declared amount counts the
/// declared one, and the budget holds.
#[test]
fn an_agent_cannot_erase_its_spend_by_reporting_less() {
    let _shared = beside_others();
    let server = Server::start();
    let t = on_a_budget(&server);
    let mut approved = 0;
    for _ in 0..5 {
        let declared = server.intent(&t.token, &t.agent, "90").expect(201);
        if declared.str("status") == "approved" {
            approved += 1;
            let settlement = settle(&server, &t.token, &declared.str("id"), "complete", "0");
            assert_eq!(settlement["settlement"]["flagged"], true);
            assert_eq!(
                settlement["settlement"]["reportedBy"],
                format!("agent:{}", t.agent)
            );
        }
    }
    assert_eq!(approved, 1);
    assert_eq!(today(&server, &t), (90.0, 1));
    // Within the budget, the flagged settlement still sends the next
    // intent to a human, and says why.
    let next = server.intent(&t.token, &t.agent, "5").expect(201);
    assert_eq!(next.str("status"), "pending_approval", "{}", next.text);
    let rules = next.body["decision"]["rules"].as_array().unwrap();
    let review = rules.last().unwrap();
    assert_eq!(review["plugin"], "settlement-review");
    assert_eq!(review["code"], "flagged-settlement");
}

/// The variant: after an honest completion, `verify` with 0 lowered the
/// spend again. An agent's verification is recorded and flagged, and
/// never moves the spend; the tenant's confirms an amount, which then
/// counts, and clears the flag.
#[test]
fn an_agents_verification_never_lowers_its_spend() {
    let _shared = beside_others();
    let server = Server::start();
    let t = on_a_budget(&server);
    let declared = server.intent(&t.token, &t.agent, "90").expect(201);
    assert_eq!(declared.str("status"), "approved");
    let id = declared.str("id");
    let honest = settle(&server, &t.token, &id, "complete", "90");
    assert_eq!(honest["settlement"]["flagged"], false);
    assert_eq!(today(&server, &t), (90.0, 0));

    let lowered = settle(&server, &t.token, &id, "verify", "0");
    assert_eq!(lowered["settlement"]["flagged"], true);
    assert_eq!(today(&server, &t), (90.0, 1));
    // A clean report after it does not clear the flag, and replaces
    // nothing: every settlement is in the history, the latest is shown.
    let again = settle(&server, &t.token, &id, "verify", "90");
    assert_eq!(again["settlement"]["flagged"], false);
    assert_eq!(today(&server, &t), (90.0, 1));
    let settlements: Vec<(String, String, Value)> = again["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event.get("settlement").is_some())
        .map(|event| {
            (
                event["from"].as_str().unwrap().to_owned(),
                event["to"].as_str().unwrap().to_owned(),
                event["settlement"]["flagged"].clone(),
            )
        })
        .collect();
    let entry =
        |from: &str, to: &str, flagged: bool| (from.to_owned(), to.to_owned(), json!(flagged));
    assert_eq!(
        settlements,
        [
            entry("approved", "completed", false),
            entry("completed", "completed", true),
            entry("completed", "completed", false),
        ]
    );
    let held = server.intent(&t.token, &t.agent, "5").expect(201);
    assert_eq!(held.str("status"), "pending_approval");
    server
        .post(
            &format!("/intents/{}/cancel", held.str("id")),
            &t.key,
            json!({}),
        )
        .expect(200);

    // The tenant confirms that nothing was paid after all (a refund).
    let confirmed = settle(&server, &t.key, &id, "verify", "0");
    let by = confirmed["settlement"]["reportedBy"].as_str().unwrap();
    assert!(by.starts_with("key:ak_"), "{by}");
    assert_eq!(today(&server, &t), (0.0, 0));
    let next = server.intent(&t.token, &t.agent, "90").expect(201);
    assert_eq!(next.str("status"), "approved", "{}", next.text);
}

/// A policy can turn the settlement review off; the spend rule stays.
#[test]
fn the_settlement_review_can_be_turned_off_but_the_spend_still_counts() {
    let _shared = beside_others();
    let server = Server::start();
    let t = on_a_budget(&server);
    let policy = server
        .patch(
            &format!("/policies/{}", t.policy),
            &t.key,
            json!({"reviewFlaggedSettlements": false}),
        )
        .expect(200);
    assert_eq!(policy.body["reviewFlaggedSettlements"], false);
    let declared = server.intent(&t.token, &t.agent, "90").expect(201);
    settle(&server, &t.token, &declared.str("id"), "complete", "0");
    let next = server.intent(&t.token, &t.agent, "5").expect(201);
    assert_eq!(next.str("status"), "approved");
    assert_eq!(today(&server, &t), (95.0, 1));
}

// ---------------------------------------------------------------------
// Smaller findings.

/// `4.5099999999999999999999999999999e0` was rounded to 4.51 and taken,
/// while the same number without its exponent was refused.
#[test]
fn an_amount_with_an_exponent_is_read_exactly() {
    let _shared = beside_others();
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    for amount in [
        "4.5099999999999999999999999999999e0",
        "4.5099999999999999999999999999999",
        "451e-3",
    ] {
        let refused = server
            .intent(&t.token, &t.agent, amount)
            .expect_error(400, "E_VALIDATION");
        assert_eq!(refused.body["error"]["field"], "expectedAmountEuros");
    }
    let exact = server
        .intent(&t.token, &t.agent, "4.5100000000e0")
        .expect(201);
    assert!(
        exact.text.contains(r#""expectedAmountEuros":4.51"#),
        "{}",
        exact.text
    );
}

/// A read-only token replaying another token's `Idempotency-Key` got the
/// stored 200 of a cancellation it may not make; its permission is now
/// checked first.
#[test]
fn an_idempotent_replay_needs_the_permission_of_the_request() {
    let _shared = beside_others();
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let reader = server
        .post(
            &format!("/agents/{}/tokens", t.agent),
            &t.key,
            json!({"permissions": ["intents:read"]}),
        )
        .expect(201)
        .str("token");
    let id = server
        .intent(&t.token, &t.agent, "60")
        .expect(201)
        .str("id");
    let path = format!("/intents/{id}/cancel");
    server
        .post_once(&path, &t.token, "cancel-1", "{}")
        .expect(200);
    server
        .post_once(&path, &reader, "cancel-1", "{}")
        .expect_error(403, "E_FORBIDDEN");
    let settle = format!("/intents/{id}/verify");
    server
        .post_once(&settle, &reader, "verify-1", r#"{"actualAmountEuros":1}"#)
        .expect_error(403, "E_FORBIDDEN");
}

/// A token with `intents:read` could dry-run its policy as often as it
/// liked, probing its thresholds without a trace. Dry runs now take a
/// permission a token gets only when asked for, and each is recorded.
#[test]
fn a_dry_run_takes_its_own_permission_and_is_recorded() {
    let _shared = beside_others();
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let path = format!("/agents/{}/evaluate", t.agent);
    let body = dry_run_body(&t.agent);
    let token = |permissions: Value| {
        server
            .post(
                &format!("/agents/{}/tokens", t.agent),
                &t.key,
                json!({ "permissions": permissions }),
            )
            .expect(201)
            .str("token")
    };
    let reader = token(json!(["intents:read"]));
    for refused in [&reader, &t.token] {
        server
            .post_text(&path, refused, &body)
            .expect_error(403, "E_FORBIDDEN");
    }
    let prober = token(json!(["intents:evaluate"]));
    let probed = server.post_text(&path, &prober, &body).expect(200);
    assert_eq!(probed.body["dryRun"], true);
    server.post_text(&path, &t.key, &body).expect(200);

    let events = server
        .get(&format!("/agents/{}/events", t.agent), &t.key)
        .expect(200);
    let dry_runs: Vec<&Value> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "dry-run")
        .collect();
    assert_eq!(dry_runs.len(), 2, "{}", events.text);
    assert_eq!(dry_runs[1]["actor"], format!("agent:{}", t.agent));
    assert!(
        dry_runs[1]["message"]
            .as_str()
            .unwrap()
            .contains("5.00 EUR at shop.example would be approved"),
        "{}",
        events.text
    );
}

/// An admin key that looks like a tenant key or an agent token could
/// never authenticate: the server refuses to start with one.
#[test]
fn an_admin_key_that_could_never_authenticate_is_refused_at_start() {
    let _shared = beside_others();
    let dir = tempfile::tempdir().unwrap();
    for key in ["sk_0123456789abcdef0123", "at_0123456789abcdef0123"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_warrant"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("WARRANT_ADMIN_KEY", key)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("WARRANT_ADMIN_KEY") && stderr.contains(&key[..3]),
            "{stderr}"
        );
    }
}
