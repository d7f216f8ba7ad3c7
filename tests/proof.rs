//! Proof, end to end: every decision and change of an intent is a signed
//! receipt, chained per tenant, written with the change; the keys are
//! published and rotate; receipts verify with `warrant receipt verify`,
//! with the server's walk of the chain and with PyCA's Ed25519 (Python);
//! a receipt changed, deleted or reordered in the database file is found.
//! Runs on SQLite, and on PostgreSQL with `WARRANT_E2E_DATABASE=postgres`
//! (the tampering with the file on SQLite alone).

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{Answer, Server};

/// The decoded payload of a compact JWS.
fn claims(jws: &str) -> Value {
    use base64::Engine as _;
    let payload = jws.split('.').nth(1).expect("a compact JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

fn kid(jws: &str) -> String {
    use base64::Engine as _;
    let header = jws.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The receipts of an intent, oldest first.
fn receipts(server: &Server, key: &str, intent: &str) -> Vec<String> {
    server
        .get(&format!("/intents/{intent}/receipts"), key)
        .expect(200)
        .body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["jws"].as_str().unwrap().to_owned())
        .collect()
}

/// A GET without credentials.
fn public_get(server: &Server, path: &str) -> Answer {
    server.send("GET", path, None, &[], None).expect(200)
}

fn walk(server: &Server, key: &str, query: &str) -> Value {
    server
        .get(&format!("/receipts/verify{query}"), key)
        .expect(200)
        .body
}

/// A tenant with the quickstart policy and an agent: its key and agent.
fn tenant(server: &Server) -> (String, String) {
    let key = server.tenant("acme");
    let policy = server.policy(&key);
    let agent = server.agent(&key, &policy, "buyer");
    (key, agent)
}

#[test]
fn every_change_of_an_intent_is_a_signed_chained_receipt() {
    let server = Server::start();
    let (key, agent) = tenant(&server);
    // No key before the first receipt.
    assert_eq!(
        server.get("/signing-keys", &key).expect(200).body["data"],
        json!([])
    );

    // Pending approval (above 50), approved, completed: three receipts.
    let body = format!(
        r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"a server","expectedAmountEuros":70,"expectedMerchant":"hetzner.com"}}"#
    );
    let declared = server
        .post_once("/intents", &key, "declare-1", &body)
        .expect(201);
    let intent = declared.str("id");
    let decided = declared.str("receipt");
    // The idempotent replay answers the same receipt.
    let replayed = server
        .post_once("/intents", &key, "declare-1", &body)
        .expect(201);
    assert_eq!(replayed.str("receipt"), decided);
    let first = claims(&decided);
    assert_eq!(first["event"], "intent.decided");
    assert_eq!(first["verdict"], "pending_approval");
    assert_eq!(first["sequence"], 1);
    assert_eq!(first["previous"], Value::Null);
    assert_eq!(first["intentId"], intent.as_str());
    assert_eq!(first["agentId"], agent.as_str());
    assert_eq!(first["policy"]["version"], 1);
    let rules = first["rules"].as_array().unwrap();
    assert_eq!(
        rules
            .iter()
            .map(|r| (
                r["plugin"].as_str().unwrap(),
                r["verdict"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("spend-limit", "review"), ("merchant-rules", "approve")]
    );
    for rule in rules {
        assert_eq!(rule["pluginSha256"].as_str().unwrap().len(), 64);
        assert_eq!(rule["configSha256"].as_str().unwrap().len(), 64);
    }
    assert_eq!(first["inputSha256"].as_str().unwrap().len(), 64);

    let approved = server
        .post(&format!("/intents/{intent}/approve"), &key, json!({}))
        .expect(200);
    let completed = server
        .post(
            &format!("/intents/{intent}/complete"),
            &key,
            json!({"actualAmountEuros": 70}),
        )
        .expect(200);
    let shown = server.get(&format!("/intents/{intent}"), &key).expect(200);
    assert_eq!(shown.str("receipt"), completed.str("receipt"));
    let chain = receipts(&server, &key, &intent);
    assert_eq!(
        chain,
        [
            decided.clone(),
            approved.str("receipt"),
            completed.str("receipt")
        ]
    );
    let events: Vec<Value> = chain
        .iter()
        .map(|jws| claims(jws)["event"].clone())
        .collect();
    assert_eq!(
        events,
        [
            json!("intent.decided"),
            json!("intent.approved"),
            json!("intent.completed")
        ]
    );
    assert_eq!(claims(&chain[2])["from"], "approved");

    // The keys: the tenant's one key, published with every tenant's.
    let keys = server.get("/signing-keys", &key).expect(200).body["data"].clone();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["active"], true);
    assert_eq!(keys[0]["kid"], kid(&decided).as_str());
    let tenant_id = first["tenantId"].as_str().unwrap().to_owned();
    let public = public_get(&server, &format!("/tenants/{tenant_id}/jwks.json"));
    assert_eq!(public.body["keys"][0]["kty"], "OKP");
    assert_eq!(public.body["keys"][0]["crv"], "Ed25519");
    let everyone = public_get(&server, "/.well-known/jwks.json");
    assert!(
        everyone.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == keys[0]["kid"])
    );

    // Rotation: the next receipts are signed by the new key; the old one
    // stays published and its receipts still verify.
    let rotated = server
        .post("/signing-keys/rotate", &key, json!({}))
        .expect(200);
    assert_ne!(rotated.str("kid"), kid(&decided));
    let later = server.intent(&key, &agent, "10").expect(201);
    assert_eq!(kid(&later.str("receipt")), rotated.str("kid"));
    assert_eq!(claims(&later.str("receipt"))["sequence"], 4);
    let keys = server.get("/signing-keys", &key).expect(200).body["data"].clone();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert_eq!(keys[0]["active"], false);
    assert!(keys[0]["retiredAt"].is_string());

    let report = walk(&server, &key, "");
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(
        (report["verified"].clone(), report["head"].clone()),
        (json!(4), json!(4))
    );
    let part = walk(&server, &key, "?from=2&to=3");
    assert_eq!(
        (part["intact"].clone(), part["verified"].clone()),
        (json!(true), json!(2))
    );
    // A range past the head walks up to it, and finds nothing missing.
    let past = walk(&server, &key, "?from=3&to=40");
    assert_eq!(
        (
            past["intact"].clone(),
            past["verified"].clone(),
            past["to"].clone()
        ),
        (json!(true), json!(2), json!(4)),
        "{past}"
    );
    let beyond = walk(&server, &key, "?from=9");
    assert_eq!(
        (beyond["intact"].clone(), beyond["verified"].clone()),
        (json!(true), json!(0)),
        "{beyond}"
    );
    server
        .get("/receipts/verify?from=0", &key)
        .expect_error(400, "E_VALIDATION");
    server
        .get("/receipts/verify?from=3&to=1", &key)
        .expect_error(400, "E_VALIDATION");

    // Another tenant sees none of them, and has a chain of its own.
    let (other_key, other_agent) = tenant(&server);
    server
        .get(&format!("/intents/{intent}/receipts"), &other_key)
        .expect(404);
    let theirs = server.intent(&other_key, &other_agent, "10").expect(201);
    assert_eq!(claims(&theirs.str("receipt"))["sequence"], 1);
    assert_ne!(kid(&theirs.str("receipt")), rotated.str("kid"));

    // `warrant receipt verify` checks the run against the published keys.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipts.txt");
    let mut all = chain.clone();
    all.push(later.str("receipt"));
    std::fs::write(&file, all.join("\n")).unwrap();
    let jwks_url = format!("{}/.well-known/jwks.json", server.base);
    let verified = support::warrant(
        &[
            "receipt",
            "verify",
            file.to_str().unwrap(),
            "--jwks",
            &jwks_url,
        ],
        &support::shared_cache(),
    );
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );

    // And so does PyCA's Ed25519, with the README's script.
    let lib = support::python_tool("tools_cryptography");
    let output = support::python_with_input(
        &[
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/receipts/verify.py"),
            &jwks_url,
        ],
        &lib,
        all.join("\n").as_bytes(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "1 intent.decided pending_approval verified",
            "2 intent.approved approved verified",
            "3 intent.completed completed verified",
            "4 intent.decided approved verified",
        ]
    );
}

/// Runs `sql` on the server's SQLite file with Python's `sqlite3`, the
/// server stopped, then starts it again.
fn edit_database(server: &mut Server, sql: &str) {
    assert!(server.stop());
    let script = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript(sys.argv[2])
db.commit()
db.close()
"#;
    let path = server.data_dir().join("warrant.db");
    let done = Command::new("python3")
        .args(["-c", script, path.to_str().unwrap(), sql])
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    server.restart();
}

/// A receipt's JWS with its payload's `to` replaced, its signature kept.
fn forged(jws: &str, to: &str) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims = claims(jws);
    claims["to"] = json!(to);
    let parts: Vec<&str> = jws.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    )
}

#[test]
fn a_receipt_changed_deleted_or_reordered_in_the_database_file_is_found() {
    if support::e2e_on_postgres() {
        return;
    }
    let mut server = Server::start();
    let (key, agent) = tenant(&server);
    for amount in ["10", "20", "70", "30"] {
        server.intent(&key, &agent, amount).expect(201);
    }
    let intact = walk(&server, &key, "");
    assert_eq!(
        (intact["intact"].clone(), intact["verified"].clone()),
        (json!(true), json!(4))
    );
    // The tenant's receipts, by sequence.
    let mut all = Vec::new();
    let listed = server.get("/intents?limit=100", &key).expect(200);
    for intent in listed.body["data"].as_array().unwrap() {
        all.extend(receipts(&server, &key, intent["id"].as_str().unwrap()));
    }
    all.sort_by_key(|jws| claims(jws)["sequence"].as_u64().unwrap());
    assert_eq!(all.len(), 4);
    let (second, third) = (all[1].clone(), all[2].clone());
    let broken_at = |server: &Server| -> (Value, String) {
        let report = walk(server, &key, "");
        assert_eq!(report["intact"], false, "{report}");
        (
            report["broken"]["sequence"].clone(),
            report["broken"]["reason"].as_str().unwrap().to_owned(),
        )
    };

    // A changed verdict: the signature no longer matches.
    edit_database(
        &mut server,
        &format!(
            "UPDATE receipts SET jws = '{}' WHERE sequence = 2",
            forged(&second, "denied")
        ),
    );
    let (at, reason) = broken_at(&server);
    assert_eq!(at, 2);
    assert!(reason.contains("signature"), "{reason}");
    // `warrant receipt verify` refuses it too, offline.
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, public_get(&server, "/.well-known/jwks.json").text).unwrap();
    let file = dir.path().join("receipt.txt");
    std::fs::write(&file, forged(&second, "denied")).unwrap();
    let refused = support::warrant(
        &[
            "receipt",
            "verify",
            file.to_str().unwrap(),
            "--jwks",
            jwks.to_str().unwrap(),
        ],
        &support::shared_cache(),
    );
    assert_eq!(refused.status.code(), Some(1));

    // Deleted: the chain misses a link.
    edit_database(
        &mut server,
        &format!(
            "UPDATE receipts SET jws = '{second}' WHERE sequence = 2;
             DELETE FROM receipts WHERE sequence = 3;"
        ),
    );
    let (at, reason) = broken_at(&server);
    assert_eq!(at, 3, "{reason}");

    // Reordered: two receipts swapped.
    edit_database(
        &mut server,
        &format!(
            "INSERT INTO receipts (tenant_id, sequence, intent_id, event_id, jws, created_ms)
             SELECT tenant_id, 3, intent_id, event_id, '{second}', created_ms FROM receipts
             WHERE sequence = 2;
             UPDATE receipts SET jws = '{third}' WHERE sequence = 2;"
        ),
    );
    let (at, _) = broken_at(&server);
    assert_eq!(at, 2);

    // Put back, the chain holds again; the last one deleted, the head
    // names a receipt that is gone.
    edit_database(
        &mut server,
        &format!(
            "UPDATE receipts SET jws = '{second}' WHERE sequence = 2;
             UPDATE receipts SET jws = '{third}' WHERE sequence = 3;"
        ),
    );
    assert_eq!(walk(&server, &key, "")["intact"], true);
    edit_database(&mut server, "DELETE FROM receipts WHERE sequence = 4;");
    let (at, reason) = broken_at(&server);
    assert_eq!(at, 4, "{reason}");
}

#[test]
fn a_server_with_another_key_encryption_key_refuses_to_start() {
    if support::e2e_on_postgres() {
        return;
    }
    let mut server = Server::start();
    let (key, agent) = tenant(&server);
    server.intent(&key, &agent, "10").expect(201);
    assert!(server.stop());
    let kek = std::fs::read_to_string(server.data_dir().join("key-encryption-key")).unwrap();
    assert_eq!(kek.trim().len(), 64);
    let other = Command::new(env!("CARGO_BIN_EXE_warrant"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(server.data_dir())
        .args(["--key-encryption-key", &"ab".repeat(32)])
        .output()
        .unwrap();
    assert!(!other.status.success());
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(stderr.contains("another key-encryption key"), "{stderr}");
    // The same key, given, is accepted.
    server.restart();
    let answer: Answer = server.intent(&key, &agent, "10");
    answer.expect(201);
}

#[test]
fn a_decision_of_every_built_in_replays_identically() {
    let server = Server::start();
    let key = server.tenant("acme");
    let policy = server
        .post(
            "/policies",
            &key,
            json!({
                "name": "every built-in",
                "risk": [{"plugin": "anomaly"}],
                "rules": [
                    {"plugin": "spend-limit", "config": {"maxAmountEuros": 100, "reviewAboveEuros": 50}},
                    {"plugin": "merchant-rules", "config": {"block": ["casino.example"]}},
                    {"plugin": "rate-limit", "config": {"perMinute": 20, "perDay": 400}},
                    {"plugin": "budget", "config": {"maxDailyEuros": 1000}},
                    {"plugin": "time-window", "mode": "monitor",
                     "config": {"start": "06:00", "end": "22:00", "timezone": "Europe/Berlin"}},
                    {"plugin": "risk-threshold"}
                ]
            }),
        )
        .expect(201)
        .str("id");
    let agent = server.agent(&key, &policy, "buyer");
    let replay = |intent: &str| {
        server
            .post(&format!("/intents/{intent}/replay"), &key, json!({}))
            .expect(200)
            .body
    };

    // A settlement that strays flags the agent: its next decisions run
    // the built-in settlement review as well.
    let first = server.intent(&key, &agent, "30").expect(201);
    let first_id = first.str("id");
    assert_eq!(
        replay(&first_id)["identical"],
        true,
        "{}",
        replay(&first_id)
    );
    // A new merchant is a risk of 30: a person approves.
    assert_eq!(first.str("status"), "pending_approval", "{}", first.text);
    server
        .post(&format!("/intents/{first_id}/approve"), &key, json!({}))
        .expect(200);
    // The agent reports more than it declared.
    let token = server.token(&key, &agent);
    let completed = server
        .post(
            &format!("/intents/{first_id}/complete"),
            &token,
            json!({"actualAmountEuros": 45}),
        )
        .expect(200);
    assert_eq!(
        completed.body["settlement"]["flagged"], true,
        "{}",
        completed.text
    );
    let second = server.intent(&key, &agent, "20").expect(201);
    let plugins: Vec<String> = second.body["decision"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["plugin"].as_str().unwrap().to_owned())
        .collect();
    let report = replay(&second.str("id"));
    assert_eq!(report["identical"], true, "{report}");
    assert_eq!(report["recorded"], report["replayed"]);
    assert_eq!(report["differences"], json!([]));
    for expected in [
        "settlement-review",
        "anomaly",
        "spend-limit",
        "merchant-rules",
        "rate-limit",
        "budget",
        "time-window",
        "risk-threshold",
    ] {
        assert!(
            plugins.iter().any(|p| p == expected),
            "{expected} in {plugins:?}"
        );
    }
    // Replays store nothing: the chain did not grow.
    let head = walk(&server, &key, "")["head"].clone();
    replay(&second.str("id"));
    assert_eq!(walk(&server, &key, "")["head"], head);
    // Another tenant's intent is not found.
    let other = server.tenant("other");
    server
        .post(
            &format!("/intents/{}/replay", second.str("id")),
            &other,
            json!({}),
        )
        .expect(404);
}

/// The verdict of the quickstart policy (max 100, review above 50) on an
/// amount in whole euros, and of the candidate (max 60, review above 30).
fn verdicts(amount: u32) -> (&'static str, &'static str) {
    let of = |max: u32, review: u32| match amount {
        a if a > max => "denied",
        a if a > review => "pending_approval",
        _ => "approved",
    };
    (of(100, 50), of(60, 30))
}

#[test]
fn a_backtest_over_ten_thousand_decisions_counts_what_a_candidate_changes() {
    const DECISIONS: u32 = 10_000;
    const THREADS: u32 = 4;
    let server = Server::start_with(&["--rate-limit", "100000", "--rate-limit-burst", "100000"]);
    let key = server.tenant("acme");
    let policy = server.policy(&key);
    let agents: Vec<String> = (0..THREADS)
        .map(|n| server.agent(&key, &policy, &format!("buyer {n}")))
        .collect();
    let amount = |n: u32| n % 120 + 1;
    std::thread::scope(|scope| {
        for (t, agent) in agents.iter().enumerate() {
            let (server, key) = (&server, &key);
            scope.spawn(move || {
                for n in (t as u32..DECISIONS).step_by(THREADS as usize) {
                    let answer = server
                        .intent(key, agent, &amount(n).to_string())
                        .expect(201);
                    assert_eq!(
                        answer.str("status"),
                        verdicts(amount(n)).0,
                        "{}",
                        answer.text
                    );
                }
            });
        }
    });
    // Another policy's decisions are not counted.
    let other_policy = server.policy(&key);
    let other = server.agent(&key, &other_policy, "elsewhere");
    server.intent(&key, &other, "10").expect(201);

    let mut expected: std::collections::BTreeMap<(&str, &str), u64> = Default::default();
    let (mut approved, mut denied) = (0u64, 0u64);
    for n in 0..DECISIONS {
        let (was, is) = verdicts(amount(n));
        *expected.entry((was, is)).or_default() += 1;
        if was != is && is == "approved" {
            approved += u64::from(amount(n));
        }
        if was != is && is == "denied" {
            denied += u64::from(amount(n));
        }
    }
    let candidate = json!({"candidate": {"rules": [
        {"plugin": "spend-limit", "config": {"maxAmountEuros": 60, "reviewAboveEuros": 30}},
        {"plugin": "merchant-rules", "config": {"block": ["casino.example"]}}
    ]}, "limit": 3});
    let started = std::time::Instant::now();
    let found = server
        .post(
            &format!("/policies/{policy}/backtest"),
            &key,
            candidate.clone(),
        )
        .expect(200);
    eprintln!(
        "back-test: {DECISIONS} decisions in {:?}",
        started.elapsed()
    );
    let found = found.body;
    assert_eq!(found["evaluated"], DECISIONS, "{found}");
    assert_eq!(found["skipped"], 0);
    let transitions: std::collections::BTreeMap<(String, String), u64> = found["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                (
                    t["from"].as_str().unwrap().to_owned(),
                    t["to"].as_str().unwrap().to_owned(),
                ),
                t["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected_text: std::collections::BTreeMap<(String, String), u64> = expected
        .iter()
        .map(|((a, b), n)| ((a.to_string(), b.to_string()), *n))
        .collect();
    assert_eq!(transitions, expected_text);
    let changed: u64 = expected
        .iter()
        .filter(|((a, b), _)| a != b)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(found["changed"], changed);
    assert_eq!(
        found["newlyApproved"],
        json!([]),
        "nothing newly approved: {approved}"
    );
    assert_eq!(
        found["newlyDenied"],
        json!([{"currency": "EUR", "amount": denied as f64}])
    );
    let examples = found["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 3);
    for example in examples {
        assert_ne!(
            example["recorded"]["verdict"],
            example["candidate"]["verdict"]
        );
        assert_eq!(example["candidate"]["rules"][0]["plugin"], "spend-limit");
    }

    // The version itself changes nothing; a range and an agent narrow it.
    let same = server
        .post(
            &format!("/policies/{policy}/backtest"),
            &key,
            json!({"version": 1}),
        )
        .expect(200);
    assert_eq!(
        (same.body["evaluated"].clone(), same.body["changed"].clone()),
        (json!(DECISIONS), json!(0))
    );
    let one_agent = server
        .post(
            &format!("/policies/{policy}/backtest"),
            &key,
            json!({"version": 1, "agentId": agents[0], "to": "2000-01-01T00:00:00Z"}),
        )
        .expect(200);
    assert_eq!(one_agent.body["evaluated"], 0);

    // Streamed: progress lines, then the result.
    let streamed = server.send(
        "POST",
        &format!("/policies/{policy}/backtest"),
        Some(&key),
        &[
            ("accept", "application/x-ndjson"),
            ("content-type", "application/json"),
        ],
        Some(candidate.to_string().as_bytes()),
    );
    assert_eq!(streamed.status, 200, "{}", streamed.text);
    let lines: Vec<Value> = streamed
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let (result, progress) = lines.split_last().unwrap();
    assert_eq!(result["result"]["changed"], changed, "{result}");
    // A line per 500 intents read, the count rising to all of them.
    assert!(progress.len() >= 20, "{}", streamed.text);
    let counts: Vec<u64> = progress
        .iter()
        .map(|l| l["evaluated"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert_eq!(counts.last(), Some(&u64::from(DECISIONS)));

    // Nothing was stored: no receipt, no intent.
    let head = walk(&server, &key, &format!("?from={}", DECISIONS + 1));
    assert_eq!(
        (head["head"].clone(), head["intact"].clone()),
        (json!(DECISIONS + 1), json!(true))
    );

    // What a back-test is asked for is checked first.
    for bad in [
        json!({}),
        json!({"version": 1, "candidate": {"rules": []}}),
        json!({"version": 9}),
        json!({"version": 1, "from": "yesterday"}),
        json!({"version": 1, "limit": 1000}),
        json!({"candidate": {"rules": [{"plugin": "spend-limit", "config": {"maxAmountEuros": "x"}}]}}),
    ] {
        server
            .post(&format!("/policies/{policy}/backtest"), &key, bad)
            .expect_error(400, "E_VALIDATION");
    }
}

/// Uploads `wasm` as `name@version`, with a `Warrant-Plugin-Signature`
/// when given.
fn upload_signed(
    server: &Server,
    key: &str,
    name: &str,
    wasm: &[u8],
    signature: Option<&str>,
) -> Answer {
    let mut headers = vec![("Content-Type", "application/wasm")];
    if let Some(signature) = signature {
        headers.push(("Warrant-Plugin-Signature", signature));
    }
    server.send(
        "POST",
        &format!("/plugins?name={name}&version=1.0.0"),
        Some(key),
        &headers,
        Some(wasm),
    )
}

#[test]
fn a_tenant_that_requires_signed_plugins_stores_only_those_its_publishers_signed() {
    let server = Server::start();
    let key = server.tenant("acme");
    let dir = tempfile::tempdir().unwrap();
    let cache = support::shared_cache();
    let run = |args: &[&str]| {
        let done = support::warrant(args, &cache);
        assert!(
            done.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        String::from_utf8(done.stdout).unwrap().trim().to_owned()
    };
    let secret = dir.path().join("publisher.jwk");
    let made: Value = serde_json::from_str(&run(&[
        "plugin",
        "keygen",
        "--out",
        secret.to_str().unwrap(),
    ]))
    .unwrap();
    // The secret key is its owner's alone, and never replaced.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(
        !support::warrant(
            &["plugin", "keygen", "--out", secret.to_str().unwrap()],
            &cache
        )
        .status
        .success()
    );

    let wasm = warrant_fixtures::guest("nosy").wasm();
    let component = dir.path().join("nosy.wasm");
    std::fs::write(&component, &wasm).unwrap();
    let signature = run(&[
        "plugin",
        "sign",
        component.to_str().unwrap(),
        "--key",
        secret.to_str().unwrap(),
    ]);
    assert!(
        signature.starts_with(&format!("keyid={},sig=", made["kid"].as_str().unwrap())),
        "{signature}"
    );

    // Not required yet: an unsigned upload is stored; a signature that
    // does not verify never is.
    assert_eq!(
        server.get("/settings", &key).expect(200).body,
        json!({"requireSignedPlugins": false})
    );
    upload_signed(&server, &key, "unsigned", &wasm, None).expect(201);
    upload_signed(&server, &key, "unknown-key", &wasm, Some(&signature))
        .expect_error(400, "E_PLUGIN_SIGNATURE");

    let registered = server
        .post(
            "/publisher-keys",
            &key,
            json!({"name": "Acme plugins", "publicKey": made["publicKey"]}),
        )
        .expect(201);
    assert_eq!(registered.body["kid"], made["kid"]);
    server
        .post(
            "/publisher-keys",
            &key,
            json!({"name": "again", "publicKey": made["publicKey"]}),
        )
        .expect(409);
    server
        .post(
            "/publisher-keys",
            &key,
            json!({"name": "bad", "publicKey": "AAAA"}),
        )
        .expect_error(400, "E_VALIDATION");
    assert_eq!(
        server.get("/publisher-keys", &key).expect(200).body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let settings = server
        .patch("/settings", &key, json!({"requireSignedPlugins": true}))
        .expect(200);
    assert_eq!(settings.body, json!({"requireSignedPlugins": true}));
    let before = server.get("/plugins?limit=100", &key).expect(200).body["data"]
        .as_array()
        .unwrap()
        .len();

    // Required: missing, malformed, or another component's signature are
    // refused, and nothing is stored.
    upload_signed(&server, &key, "missing", &wasm, None).expect_error(400, "E_PLUGIN_SIGNATURE");
    upload_signed(&server, &key, "malformed", &wasm, Some("keyid=x"))
        .expect_error(400, "E_PLUGIN_SIGNATURE");
    let other = warrant_fixtures::guest("panics").wasm();
    upload_signed(&server, &key, "other-bytes", &other, Some(&signature))
        .expect_error(400, "E_PLUGIN_SIGNATURE");
    let mut forged = signature.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    upload_signed(&server, &key, "forged", &wasm, Some(&forged))
        .expect_error(400, "E_PLUGIN_SIGNATURE");
    let after = server.get("/plugins?limit=100", &key).expect(200).body["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before, "nothing stored");

    // Signed by a registered publisher: stored, and the record says who.
    let stored = upload_signed(&server, &key, "signed", &wasm, Some(&signature)).expect(201);
    assert_eq!(stored.body["signedBy"], made["kid"]);
    let shown = server
        .get(&format!("/plugins/{}", stored.str("id")), &key)
        .expect(200);
    assert_eq!(shown.body["signedBy"], made["kid"]);

    // Only an admin key changes who is trusted.
    let developer = server
        .post(
            "/api-keys",
            &key,
            json!({"name": "dev", "role": "developer"}),
        )
        .expect(201)
        .str("key");
    server
        .patch(
            "/settings",
            &developer,
            json!({"requireSignedPlugins": false}),
        )
        .expect(403);
    server
        .post(
            "/publisher-keys",
            &developer,
            json!({"name": "mine", "publicKey": made["publicKey"]}),
        )
        .expect(403);
}

/// The `Warrant-Agent-Signature` of `body` by the secret JWK `secret`.
fn agent_signature(secret: &Value, body: &str) -> String {
    use sha2::Digest as _;
    let jwk: warrant_domain::signature::SecretJwk = serde_json::from_value(secret.clone()).unwrap();
    let sha256 = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    warrant_domain::signature::DigestSignature::sign(&sha256, &jwk.signing_key().unwrap())
        .unwrap()
        .header()
}

fn declare_signed(server: &Server, key: &str, body: &str, signature: &str) -> Answer {
    server.send(
        "POST",
        "/intents",
        Some(key),
        &[("Warrant-Agent-Signature", signature)],
        Some(body.as_bytes()),
    )
}

#[test]
fn an_agent_signs_its_intents_with_its_own_key_and_a_policy_can_require_it() {
    let server = Server::start();
    let key = server.tenant("acme");
    let policy = server
        .post(
            "/policies",
            &key,
            json!({"name": "signed above 20", "rules": [{"plugin": "spend-limit",
                   "config": {"maxAmountEuros": 100, "signedAboveEuros": 20}}]}),
        )
        .expect(201)
        .str("id");

    // An agent is made with a key: the secret half is in the first answer
    // only, the public half in the agent and its JWK Set (public).
    let request = json!({"name": "buyer", "policyId": policy,
                         "profile": {"purpose": "pays for servers"}})
    .to_string();
    let created = server
        .post_once("/agents", &key, "agent-1", &request)
        .expect(201);
    let agent = created.str("id");
    server.card(&key, &agent, "ops");
    let secret = created.body["secretKey"].clone();
    let public = created.body["signingKey"].clone();
    assert_eq!(
        (secret["kty"].as_str(), secret["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert_eq!(secret["kid"], public["kid"]);
    assert_eq!(secret["x"], public["x"]);
    assert!(public.get("d").is_none());
    let replayed = server
        .post_once("/agents", &key, "agent-1", &request)
        .expect(201);
    assert!(
        replayed.body.get("secretKey").is_none(),
        "{}",
        replayed.text
    );
    assert_eq!(replayed.body["signingKey"], public);
    let shown = server.get(&format!("/agents/{agent}"), &key).expect(200);
    assert_eq!(shown.body["signingKey"], public);
    assert!(!shown.text.contains(secret["d"].as_str().unwrap()));
    let jwks = public_get(&server, &format!("/agents/{agent}/jwks.json"));
    assert_eq!(jwks.body["keys"], json!([public]));
    server
        .send("GET", "/agents/ag_nobody/jwks.json", None, &[], None)
        .expect_error(404, "E_NOT_FOUND");

    // Above 20 EUR the policy wants the agent's signature.
    let body = |amount: u32, purpose: &str| {
        format!(
            r#"{{"agentId":"{agent}","cardName":"ops","purpose":"{purpose}","expectedAmountEuros":{amount},"expectedMerchant":"hetzner.com"}}"#
        )
    };
    let unsigned = server.post_text("/intents", &key, &body(50, "unsigned"));
    let unsigned = unsigned.expect(201);
    assert_eq!(unsigned.str("status"), "denied");
    assert!(
        unsigned.text.contains("unsigned-over-limit"),
        "{}",
        unsigned.text
    );
    assert!(unsigned.body.get("signedBy").is_none());

    let signed_body = body(50, "signed");
    let signed = declare_signed(
        &server,
        &key,
        &signed_body,
        &agent_signature(&secret, &signed_body),
    )
    .expect(201);
    assert_eq!(signed.str("status"), "approved", "{}", signed.text);
    assert_eq!(signed.body["signedBy"], public["kid"]);
    // The signature is part of what the plugins saw: the replay agrees.
    let replay = server
        .post(
            &format!("/intents/{}/replay", signed.str("id")),
            &key,
            json!({}),
        )
        .expect(200);
    assert_eq!(replay.body["identical"], true, "{}", replay.text);

    // An agent's token signs the same way; PyCA's Ed25519 signs as well
    // (the README's script).
    let token = server.token(&key, &agent);
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("agent.jwk");
    std::fs::write(&secret_file, secret.to_string()).unwrap();
    let by_python = body(60, "signed by python");
    let output = support::python_with_input(
        &[
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/agents/sign.py"),
            secret_file.to_str().unwrap(),
        ],
        &support::python_tool("tools_cryptography"),
        by_python.as_bytes(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let header = String::from_utf8(output.stdout).unwrap();
    let python_signed = declare_signed(&server, &token, &by_python, header.trim()).expect(201);
    assert_eq!(
        python_signed.str("status"),
        "approved",
        "{}",
        python_signed.text
    );

    // A signature that does not hold is refused, and nothing is stored.
    let before = server
        .get(&format!("/intents?agentId={agent}"), &key)
        .expect(200)
        .body["data"]
        .as_array()
        .unwrap()
        .len();
    let other_body = body(51, "signed");
    for bad in [
        agent_signature(&secret, &signed_body), // another body's
        "keyid=nope,sig=AAAA".to_owned(),
        "not a signature".to_owned(),
        agent_signature(&secret, &other_body).replace("keyid=", "keyid=x"),
    ] {
        declare_signed(&server, &key, &other_body, &bad).expect_error(400, "E_AGENT_SIGNATURE");
    }
    let after = server
        .get(&format!("/intents?agentId={agent}"), &key)
        .expect(200)
        .body["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);

    // The tenant registers a key of the agent's own; the old one is
    // retired (still published) and no longer signs.
    server
        .post(&format!("/agents/{agent}/keys"), &token, json!({}))
        .expect_error(403, "E_FORBIDDEN");
    let own = warrant_domain::receipt::SigningKey::from_bytes(&[7; 32]);
    let own_secret = serde_json::to_value(warrant_domain::signature::SecretJwk::of(&own)).unwrap();
    let registered = server
        .post(
            &format!("/agents/{agent}/keys"),
            &key,
            json!({"publicKey": own_secret["x"]}),
        )
        .expect(201);
    assert!(registered.body.get("secretKey").is_none());
    assert_eq!(registered.body["signingKey"]["kid"], own_secret["kid"]);
    server
        .post(
            &format!("/agents/{agent}/keys"),
            &key,
            json!({"publicKey": own_secret["x"]}),
        )
        .expect_error(409, "E_CONFLICT");
    let events = server
        .get(&format!("/agents/{agent}/events"), &key)
        .expect(200);
    let added = &events.body["data"][0];
    assert_eq!(added["kind"], "key-added", "{}", events.text);
    assert!(
        added["message"]
            .as_str()
            .unwrap()
            .contains(own_secret["kid"].as_str().unwrap())
    );
    let jwks = public_get(&server, &format!("/agents/{agent}/jwks.json"));
    let kids: Vec<&Value> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert_eq!(kids, [&public["kid"], &own_secret["kid"]]);
    let later = body(40, "later");
    declare_signed(&server, &key, &later, &agent_signature(&secret, &later))
        .expect_error(400, "E_AGENT_SIGNATURE");
    let now_signed =
        declare_signed(&server, &key, &later, &agent_signature(&own_secret, &later)).expect(201);
    assert_eq!(now_signed.body["signedBy"], own_secret["kid"]);
    // A new pair made by Warrant answers its secret once.
    let made = server
        .post_text(&format!("/agents/{agent}/keys"), &key, "")
        .expect(201);
    assert!(made.body["secretKey"]["d"].is_string());
    server
        .post(
            &format!("/agents/{agent}/keys"),
            &key,
            json!({"publicKey": "short"}),
        )
        .expect_error(400, "E_VALIDATION");
    server
        .post("/agents/ag_nobody/keys", &key, json!({}))
        .expect_error(404, "E_NOT_FOUND");
}

#[test]
fn each_charge_of_a_recurring_intent_is_a_receipt_with_the_input_its_rules_saw() {
    let server = Server::start();
    let (key, agent) = tenant(&server);
    let declared = server
        .post_text(
            "/intents",
            &key,
            &format!(
                r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"hosting","expectedAmountEuros":20,
                    "expectedMerchant":"hetzner.com","recurring":{{"cadence":"monthly",
                    "windowStartDaysBefore":3,"windowEndDaysAfter":3,"amountTolerancePercent":10}}}}"#
            ),
        )
        .expect(201);
    let intent = declared.str("id");
    let charges = format!("/intents/{intent}/charges");
    let accepted = server
        .post(
            &charges,
            &key,
            json!({"amountEuros": 21, "merchant": "hetzner.com"}),
        )
        .expect(201);
    assert_eq!(accepted.str("status"), "accepted");
    let flagged = server
        .post(
            &charges,
            &key,
            json!({"amountEuros": 30, "merchant": "other.example"}),
        )
        .expect(201);
    assert_eq!(flagged.str("status"), "flagged");

    let chain = receipts(&server, &key, &intent);
    let said: Vec<Value> = chain.iter().map(|jws| claims(jws)).collect();
    let events: Vec<(&str, &str, &str)> = said
        .iter()
        .map(|r| {
            (
                r["event"].as_str().unwrap(),
                r["to"].as_str().unwrap(),
                r["verdict"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("intent.decided", "approved", "approved"),
            ("charge.accepted", "approved", "approved"),
            ("charge.flagged", "approved", "denied"),
        ]
    );
    // Each names the charge rules it ran and the input they saw, which
    // differs from charge to charge.
    for charge in &said[1..] {
        assert_eq!(charge["from"], "approved");
        assert_eq!(charge["rules"][0]["plugin"], "recurring-match", "{charge}");
        assert!(charge["rules"][0]["pluginSha256"].is_string());
    }
    assert_eq!(said[2]["rules"][0]["codes"][0], "duplicate-charge");
    let inputs: std::collections::BTreeSet<&str> = said
        .iter()
        .map(|r| r["inputSha256"].as_str().unwrap())
        .collect();
    assert_eq!(inputs.len(), 3);
    assert_eq!(walk(&server, &key, "")["intact"], true);
}
