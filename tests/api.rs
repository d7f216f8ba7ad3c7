//! The REST API of `warrant serve`, driven over HTTP: every endpoint, the
//! intent lifecycle, isolation, idempotency and exact money.

mod support;

use std::collections::HashSet;
use std::process::Command;

use serde_json::{Value, json};
use support::{ADMIN_KEY, Answer, Server, Tenant};

fn intent_id(answer: &Answer) -> String {
    answer.str("id")
}

#[test]
fn the_quickstart_gives_approved_pending_and_denied_intents_and_approves_one() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");

    let approved = server.intent(&t.token, &t.agent, "4.51").expect(201);
    assert_eq!(approved.str("status"), "approved");
    assert_eq!(approved.body["decision"]["verdict"], "approved");
    assert_eq!(
        approved.body["decision"]["rules"].as_array().unwrap().len(),
        2
    );
    // Every trace entry has its codes, an approval's none.
    for rule in approved.body["decision"]["rules"].as_array().unwrap() {
        assert_eq!(rule["codes"], serde_json::json!([]), "{rule}");
    }

    let pending = server.intent(&t.token, &t.agent, "86.40").expect(201);
    assert_eq!(pending.str("status"), "pending_approval");
    assert_eq!(
        pending.body["decision"]["rules"][0]["code"],
        "amount-over-review-threshold"
    );

    let denied = server.intent(&t.token, &t.agent, "500").expect(201);
    assert_eq!(denied.str("status"), "denied");
    assert_eq!(
        denied.str("statusReason"),
        "500.00 EUR is over the limit of 100.00 EUR"
    );

    let blocked = server
        .post_text(
            "/intents",
            &t.token,
            r#"{"cardName":"subscriptions","purpose":"bet","expectedAmountEuros":5,"expectedMerchant":"Casino.example"}"#,
        )
        .expect(201);
    assert_eq!(blocked.str("status"), "denied");
    assert_eq!(
        blocked.body["decision"]["rules"][1]["code"],
        "merchant-blocked"
    );

    let id = intent_id(&pending);
    let done = server
        .post(&format!("/intents/{id}/approve"), &t.key, json!({}))
        .expect(200);
    assert_eq!(done.str("status"), "approved");
    let read = server.get(&format!("/intents/{id}"), &t.key).expect(200);
    assert_eq!(read.str("status"), "approved");
    let history = read.body["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["from"], "pending_approval");
    assert_eq!(history[1]["to"], "approved");
    // The acting key, by id and by name: the tenant's first key.
    assert!(history[1]["actor"].as_str().unwrap().starts_with("key:ak_"));
    assert_eq!(history[1]["actorName"], "admin");
}

#[test]
fn intents_list_by_the_time_they_were_declared() {
    let server = Server::start();
    let t = Tenant::new(&server, "dated");
    let id = intent_id(&server.intent(&t.token, &t.agent, "12").expect(201));
    let listed = |query: &str| -> Vec<String> {
        server
            .get(&format!("/intents?{query}"), &t.key)
            .expect(200)
            .body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        listed("createdFrom=2020-01-01T00:00:00Z"),
        std::slice::from_ref(&id)
    );
    assert_eq!(
        listed("createdBefore=2020-01-01T00:00:00Z"),
        Vec::<String>::new()
    );
    assert_eq!(
        listed("createdFrom=2020-01-01T00:00:00Z&createdBefore=2999-01-01T00:00:00%2B02:00"),
        [id]
    );
    assert!(listed("createdFrom=2999-01-01T00:00:00Z").is_empty());
    let wrong = server
        .get("/intents?createdFrom=yesterday", &t.key)
        .expect_error(400, "E_VALIDATION");
    assert_eq!(wrong.body["error"]["field"], "createdFrom");
}

#[test]
fn health_and_unknown_routes_answer_in_json() {
    let server = Server::start();
    server.send("GET", "/healthz", None, &[], None).expect(200);
    server
        .send("GET", "/nowhere", None, &[], None)
        .expect_error(404, "E_NOT_FOUND");
    server
        .send("PUT", "/intents", Some(ADMIN_KEY), &[], Some(b"{}"))
        .expect_error(405, "E_METHOD_NOT_ALLOWED");
}

#[test]
fn credentials_are_checked_on_every_endpoint() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    for (method, path) in [
        ("GET", "/agents"),
        ("POST", "/intents"),
        ("GET", "/plugins"),
        ("POST", "/policies"),
        ("POST", "/tenants"),
    ] {
        server
            .send(method, path, None, &[], Some(b"{}"))
            .expect_error(401, "E_UNAUTHORIZED");
        server
            .send(method, path, Some("sk_not-a-key"), &[], Some(b"{}"))
            .expect_error(401, "E_UNAUTHORIZED");
        server
            .send(method, path, Some("at_not-a-token"), &[], Some(b"{}"))
            .expect_error(401, "E_UNAUTHORIZED");
    }
    server
        .send(
            "GET",
            "/agents",
            None,
            &[("Authorization", "Basic abc")],
            None,
        )
        .expect_error(401, "E_UNAUTHORIZED");
    // The admin key manages tenants only; a tenant key cannot make tenants.
    server
        .get("/agents", ADMIN_KEY)
        .expect_error(403, "E_FORBIDDEN");
    server
        .post("/tenants", &t.key, json!({"name": "x"}))
        .expect_error(403, "E_FORBIDDEN");
    // An agent token cannot manage the tenant's resources.
    server
        .get("/agents", &t.token)
        .expect_error(403, "E_FORBIDDEN");
    server
        .get("/plugins", &t.token)
        .expect_error(403, "E_FORBIDDEN");
    server
        .post("/policies", &t.token, json!({}))
        .expect_error(403, "E_FORBIDDEN");
    server
        .post(&format!("/agents/{}/tokens", t.agent), &t.token, json!({}))
        .expect_error(403, "E_FORBIDDEN");
}

#[test]
fn tenant_create_on_the_command_line_prints_a_working_key() {
    let server = Server::start();
    let output = Command::new(env!("CARGO_BIN_EXE_warrant"))
        .args(["tenant", "create", "--name", "from the shell"])
        .args(server.storage_args())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(created["id"].as_str().unwrap().starts_with("tn_"));
    assert_eq!(created["name"], "from the shell");
    let key = created["apiKey"].as_str().unwrap();
    assert!(key.starts_with("sk_"));
    let listed = server.get("/agents", key).expect(200);
    assert_eq!(listed.body["data"], json!([]));
    // Keys are stored only as hashes.
    let stored = server.stored_bytes();
    assert!(!stored.windows(key.len()).any(|w| w == key.as_bytes()));
}

#[test]
fn another_tenants_objects_do_not_exist() {
    let server = Server::start();
    let a = Tenant::new(&server, "a");
    let b = Tenant::new(&server, "b");
    let intent = intent_id(&server.intent(&a.key, &a.agent, "86.40").expect(201));
    let nosy = warrant_fixtures::guest("nosy").wasm();
    let plugin = server
        .send(
            "POST",
            "/plugins?name=nosy&version=1.0.0",
            Some(&a.key),
            &[],
            Some(&nosy),
        )
        .expect(201)
        .str("id");

    for path in [
        format!("/agents/{}", a.agent),
        format!("/intents/{intent}"),
        format!("/policies/{}", a.policy),
        format!("/policies/{}/versions", a.policy),
        format!("/plugins/{plugin}"),
        format!("/agents/{}/tokens", a.agent),
    ] {
        server.get(&path, &b.key).expect_error(404, "E_NOT_FOUND");
    }
    for action in ["approve", "deny", "cancel"] {
        server
            .post(&format!("/intents/{intent}/{action}"), &b.key, json!({}))
            .expect_error(404, "E_NOT_FOUND");
    }
    server
        .post(&format!("/agents/{}/freeze", a.agent), &b.key, json!({}))
        .expect_error(404, "E_NOT_FOUND");
    server
        .delete(&format!("/plugins/{plugin}"), &b.key)
        .expect_error(404, "E_NOT_FOUND");
    server
        .delete(&format!("/agents/{}", a.agent), &b.key)
        .expect_error(404, "E_NOT_FOUND");
    server
        .patch(
            &format!("/policies/{}", a.policy),
            &b.key,
            json!({"name": "x"}),
        )
        .expect_error(404, "E_NOT_FOUND");
    // Referring to another tenant's objects in a body is as if they did not exist.
    server
        .intent(&b.key, &a.agent, "1")
        .expect_error(400, "E_VALIDATION");
    server
        .post(
            "/agents",
            &b.key,
            json!({"name": "x", "policyId": a.policy, "profile": {"purpose": "x"}}),
        )
        .expect_error(400, "E_VALIDATION");
    server
        .post(
            "/policies",
            &b.key,
            json!({"name": "x", "rules": [{"plugin": plugin}]}),
        )
        .expect_error(400, "E_VALIDATION");
    // An agent token of tenant B sees nothing of tenant A either.
    server
        .get(&format!("/intents/{intent}"), &b.token)
        .expect_error(404, "E_NOT_FOUND");

    let listed = server.get("/intents", &b.key).expect(200);
    assert_eq!(listed.body["data"], json!([]));
    let plugins = server.get("/plugins", &b.key).expect(200);
    let ids: Vec<&str> = plugins.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&plugin.as_str()), "{ids:?}");
}

#[test]
fn an_agent_token_acts_only_on_its_own_agent() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let other = server.agent(&t.key, &t.policy, "other");
    let theirs = intent_id(&server.intent(&t.key, &other, "86.40").expect(201));
    let mine = intent_id(&server.intent(&t.token, &t.agent, "86.40").expect(201));

    server
        .get(&format!("/intents/{theirs}"), &t.token)
        .expect_error(403, "E_AGENT_ISOLATION");
    server
        .get(&format!("/agents/{other}"), &t.token)
        .expect_error(403, "E_AGENT_ISOLATION");
    server
        .intent(&t.token, &other, "1")
        .expect_error(403, "E_AGENT_ISOLATION");
    server
        .get(&format!("/intents?agentId={other}"), &t.token)
        .expect_error(403, "E_AGENT_ISOLATION");
    for action in ["cancel", "complete", "fail"] {
        server
            .post(
                &format!("/intents/{theirs}/{action}"),
                &t.token,
                body_for(action),
            )
            .expect_error(403, "E_AGENT_ISOLATION");
    }
    // Its own: readable, listable; approval needs the tenant key.
    server
        .get(&format!("/intents/{mine}"), &t.token)
        .expect(200);
    server
        .get(&format!("/agents/{}", t.agent), &t.token)
        .expect(200);
    let listed = server.get("/intents", &t.token).expect(200);
    let ids: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
    for action in ["approve", "deny"] {
        server
            .post(&format!("/intents/{mine}/{action}"), &t.token, json!({}))
            .expect_error(403, "E_FORBIDDEN");
    }
    let cancelled = server
        .post(&format!("/intents/{mine}/cancel"), &t.token, json!({}))
        .expect(200);
    assert_eq!(
        cancelled.body["history"][1]["actor"],
        format!("agent:{}", t.agent)
    );

    // A token with fewer permissions can do less.
    let read_only = server
        .post(
            &format!("/agents/{}/tokens", t.agent),
            &t.key,
            json!({"permissions": ["intents:read"]}),
        )
        .expect(201)
        .str("token");
    server
        .get(&format!("/intents/{mine}"), &read_only)
        .expect(200);
    server
        .intent(&read_only, &t.agent, "1")
        .expect_error(403, "E_FORBIDDEN");
}

#[test]
fn bad_input_is_a_4xx_naming_the_field_and_writes_nothing() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let agent = &t.agent;
    let cases: Vec<(&str, String, &str)> = vec![
        ("/intents", "{".into(), ""),
        ("/intents", "[]".into(), ""),
        ("/intents", "".into(), ""),
        ("/intents", r#"{"cardName":"subscriptions",,}"#.into(), ""),
        ("/intents", r#"{"cardName": }"#.into(), "cardName"),
        ("/intents", format!(r#"{{"agentId":"{agent}","purpose":"x"}}"#), "cardName"),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","cardId":"d","purpose":"x"}}"#),
            "cardId",
        ),
        ("/intents", format!(r#"{{"agentId":"{agent}","cardName":"c"}}"#), "purpose"),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":"4.51"}}"#),
            "expectedAmountEuros",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":4.515}}"#),
            "expectedAmountEuros",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":-1}}"#),
            "expectedAmountEuros",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":1e30}}"#),
            "expectedAmountEuros",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":20000000000000}}"#),
            "expectedAmountEuros",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","currency":"XYZ"}}"#),
            "currency",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","ttlMinutes":43201}}"#),
            "ttlMinutes",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","ttlMinutes":-5}}"#),
            "ttlMinutes",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","recurring":{{"cadence":"hourly"}}}}"#),
            "recurring.cadence",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"x","colour":"red"}}"#),
            "colour",
        ),
        (
            "/intents",
            format!(r#"{{"agentId":"{agent}","cardName":"c\u0000","purpose":"x"}}"#),
            "cardName",
        ),
        ("/intents", r#"{"cardName":"subscriptions","purpose":"x"}"#.into(), "agentId"),
        (
            "/intents",
            r#"{"agentId":"ag_nobody","cardName":"subscriptions","purpose":"x"}"#.into(),
            "agentId",
        ),
        ("/agents", r#"{"name":"x","profile":{"purpose":"x"}}"#.into(), "policyId"),
        (
            "/agents",
            format!(r#"{{"name":"x","policyId":"{}","profile":{{}}}}"#, t.policy),
            "profile.purpose",
        ),
        (
            "/agents",
            format!(r#"{{"name":"x","policyId":"{}","profile":{{"purpose":"x"}},"agentType":"robot"}}"#, t.policy),
            "agentType",
        ),
        (
            "/agents",
            format!(r#"{{"name":"x","policyId":"{}","profile":{{"purpose":"x"}},"tags":"a"}}"#, t.policy),
            "tags",
        ),
        ("/policies", r#"{"name":"x","rules":[]}"#.into(), "rules"),
        ("/policies", r#"{"name":"x"}"#.into(), "rules"),
        (
            "/policies",
            r#"{"name":"x","rules":[{"plugin":"nope"}]}"#.into(),
            "rules[0].plugin",
        ),
        (
            "/policies",
            r#"{"name":"x","rules":[{"plugin":"spend-limit","config":{"maxAmountEuros":"lots"}}]}"#.into(),
            "rules[0].config",
        ),
        (
            "/policies",
            r#"{"name":"x","rules":[{"plugin":"spend-limit","config":{"maxAmountEuros":1},"onError":"allow"}]}"#.into(),
            "rules[0].onError",
        ),
        (
            "/policies",
            r#"{"name":"x","rules":[{"plugin":"spend-limit","config":{"maxAmountEuros":1},"limits":{"fuel":0}}]}"#.into(),
            "rules[0].limits",
        ),
        (
            "/policies",
            r#"{"name":"x","rules":[{"plugin":"spend-limit","config":{"maxAmountEuros":1}}],"amountTolerancePercent":101}"#.into(),
            "amountTolerancePercent",
        ),
        (
            format!("/agents/{agent}/tokens").leak(),
            r#"{"permissions":["intents:everything"]}"#.into(),
            "permissions[0]",
        ),
        ("/tenants", r#"{"name":""}"#.into(), "name"),
    ];
    for (path, body, field) in &cases {
        let key = if *path == "/tenants" {
            ADMIN_KEY
        } else {
            &t.key
        };
        let answer = server.post_text(path, key, body);
        assert_eq!(answer.status, 400, "{path} {body}: {}", answer.text);
        assert_eq!(answer.code(), "E_VALIDATION", "{path} {body}");
        assert!(!answer.body["error"]["message"].as_str().unwrap().is_empty());
        if field.is_empty() {
            // A mistake with no field to name names none.
            assert!(
                answer.body["error"].get("field").is_none(),
                "{path} {body}: {}",
                answer.text
            );
        } else {
            assert_eq!(
                answer.body["error"]["field"], *field,
                "{path} {body}: {}",
                answer.text
            );
        }
    }
    // Not UTF-8, too large, a bad query.
    server
        .send(
            "POST",
            "/intents",
            Some(&t.key),
            &[],
            Some(&[0xff, 0xfe, b'{']),
        )
        .expect_error(400, "E_VALIDATION");
    let huge = format!(
        r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"{}"}}"#,
        "x".repeat(2 << 20)
    );
    server
        .post_text("/intents", &t.key, &huge)
        .expect_error(413, "E_TOO_LARGE");
    server
        .get("/intents?status=open", &t.key)
        .expect_error(400, "E_VALIDATION");
    server
        .get("/agents?limit=0", &t.key)
        .expect_error(400, "E_VALIDATION");
    server
        .get("/agents?limit=lots", &t.key)
        .expect_error(400, "E_VALIDATION");
    server
        .send(
            "POST",
            "/intents",
            Some(&t.key),
            &[("Idempotency-Key", "")],
            Some(b"{}"),
        )
        .expect_error(400, "E_VALIDATION");

    // Nothing was written: the tenant still has one agent and no intents.
    assert_eq!(
        server.get("/intents", &t.key).expect(200).body["data"],
        json!([])
    );
    let agents = server.get("/agents", &t.key).expect(200);
    assert_eq!(agents.body["data"].as_array().unwrap().len(), 1);
    let policies = server.get("/policies", &t.key).expect(200);
    assert_eq!(policies.body["data"].as_array().unwrap().len(), 1);
}

#[test]
fn amounts_are_exact_decimals_in_the_currencys_minor_units() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    for (written, shown) in [
        ("4.51", "4.51"),
        ("4.510", "4.51"),
        ("0.1", "0.10"),
        ("1e1", "10.00"),
        ("49.99", "49.99"),
    ] {
        let answer = server.intent(&t.key, &t.agent, written).expect(201);
        assert!(
            answer
                .text
                .contains(&format!(r#""expectedAmountEuros":{shown},"#)),
            "{written}: {}",
            answer.text
        );
    }
    let yen = server
        .post_text(
            "/intents",
            &t.key,
            &format!(
                r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"x","currency":"jpy","expectedAmountEuros":5000}}"#,
                t.agent
            ),
        )
        .expect(201);
    assert!(
        yen.text.contains(r#""expectedAmountEuros":5000,"#),
        "{}",
        yen.text
    );
    assert_eq!(yen.str("currency"), "JPY");
    server
        .post_text(
            "/intents",
            &t.key,
            &format!(
                r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"x","currency":"JPY","expectedAmountEuros":5000.5}}"#,
                t.agent
            ),
        )
        .expect_error(400, "E_VALIDATION");
    // 50.00 is not above the review threshold of 50; 50.01 is.
    let at = server.intent(&t.key, &t.agent, "50.00").expect(201);
    assert_eq!(at.str("status"), "approved");
    let above = server.intent(&t.key, &t.agent, "50.01").expect(201);
    assert_eq!(above.str("status"), "pending_approval");
}

/// A valid body for a transition: `complete` takes the settlement, the
/// others a reason.
fn body_for(action: &str) -> Value {
    match action {
        "complete" => json!({"actualAmountEuros": 4.51}),
        _ => json!({"reason": "because"}),
    }
}

/// Brings a new intent into `status`.
fn intent_in(server: &Server, t: &Tenant, status: &str) -> String {
    let (amount, step) = match status {
        "pending_approval" => ("86.40", None),
        "approved" => ("4.51", None),
        "denied" => ("500", None),
        "completed" => ("4.51", Some("complete")),
        "failed" => ("4.51", Some("fail")),
        "cancelled" => ("4.51", Some("cancel")),
        other => panic!("{other}"),
    };
    let id = intent_id(&server.intent(&t.key, &t.agent, amount).expect(201));
    if let Some(step) = step {
        server
            .post(&format!("/intents/{id}/{step}"), &t.key, body_for(step))
            .expect(200);
    }
    id
}

#[test]
fn every_transition_of_the_fsm_is_allowed_or_refused_as_specified() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let allowed = [
        ("pending_approval", "approve", "approved"),
        ("pending_approval", "deny", "denied"),
        ("pending_approval", "cancel", "cancelled"),
        ("approved", "complete", "completed"),
        ("approved", "fail", "failed"),
        ("approved", "cancel", "cancelled"),
    ];
    let statuses = [
        "pending_approval",
        "approved",
        "denied",
        "completed",
        "failed",
        "cancelled",
    ];
    for from in statuses {
        for action in ["approve", "deny", "cancel", "complete", "fail"] {
            let id = intent_in(&server, &t, from);
            let answer = server.post(&format!("/intents/{id}/{action}"), &t.key, body_for(action));
            match allowed.iter().find(|(f, a, _)| *f == from && *a == action) {
                Some((_, _, to)) => {
                    assert_eq!(answer.status, 200, "{action} from {from}: {}", answer.text);
                    assert_eq!(answer.str("status"), *to);
                    let read = server.get(&format!("/intents/{id}"), &t.key).expect(200);
                    assert_eq!(read.str("status"), *to);
                }
                None => {
                    assert_eq!(
                        (answer.status, answer.code()),
                        (409, "E_INVALID_TRANSITION"),
                        "{action} from {from}: {}",
                        answer.text
                    );
                    assert_eq!(answer.body["error"]["status"], from);
                    let read = server.get(&format!("/intents/{id}"), &t.key).expect(200);
                    assert_eq!(read.str("status"), from, "{action} changed it");
                }
            }
        }
    }
    // `fail` needs a reason.
    let id = intent_in(&server, &t, "approved");
    server
        .post(&format!("/intents/{id}/fail"), &t.key, json!({}))
        .expect_error(400, "E_VALIDATION");
}

#[test]
fn of_concurrent_transitions_on_one_intent_exactly_one_wins() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    for _ in 0..3 {
        let id = intent_in(&server, &t, "pending_approval");
        let answers: Vec<Answer> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    // Both start only from pending_approval: one must lose.
                    let action = ["approve", "deny"][i % 2];
                    let (server, t, id) = (&server, &t, &id);
                    s.spawn(move || {
                        server.post(&format!("/intents/{id}/{action}"), &t.key, json!({}))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
        assert_eq!(winners.len(), 1, "{answers:#?}");
        for loser in answers.iter().filter(|a| a.status != 200) {
            assert_eq!(loser.code(), "E_INVALID_TRANSITION", "{}", loser.text);
        }
        let read = server.get(&format!("/intents/{id}"), &t.key).expect(200);
        assert_eq!(read.body["history"].as_array().unwrap().len(), 2);
        assert_eq!(read.body["status"], winners[0].body["status"]);
    }
}

#[test]
fn an_idempotency_key_replays_the_first_response_and_refuses_another_body() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let body = format!(
        r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":86.40}}"#,
        t.agent
    );
    let first = server
        .post_once("/intents", &t.key, "key-1", &body)
        .expect(201);
    assert!(!first.replayed);
    let again = server
        .post_once("/intents", &t.key, "key-1", &body)
        .expect(201);
    assert!(again.replayed);
    assert_eq!(again.text, first.text);
    let other = body.replace("86.40", "86.41");
    server
        .post_once("/intents", &t.key, "key-1", &other)
        .expect_error(422, "E_IDEMPOTENCY_MISMATCH");
    // Keys are per tenant: another tenant may use the same key.
    let b = Tenant::new(&server, "b");
    let body_b = body.replace(&t.agent, &b.agent);
    server
        .post_once("/intents", &b.key, "key-1", &body_b)
        .expect(201);
    assert_eq!(
        server.get("/intents", &t.key).expect(200).body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Transitions too: the same approval replays; without a key the
    // second is refused.
    let id = first.str("id");
    let path = format!("/intents/{id}/approve");
    let approved = server
        .post_once(&path, &t.key, "approve-1", "{}")
        .expect(200);
    let replay = server
        .post_once(&path, &t.key, "approve-1", "{}")
        .expect(200);
    assert_eq!(replay.text, approved.text);
    server
        .post(&path, &t.key, json!({}))
        .expect_error(409, "E_INVALID_TRANSITION");

    // And the other POSTs.
    let agent_body = format!(
        r#"{{"name":"twin","policyId":"{}","profile":{{"purpose":"x"}}}}"#,
        t.policy
    );
    let a1 = server
        .post_once("/agents", &t.key, "agent-1", &agent_body)
        .expect(201);
    let a2 = server
        .post_once("/agents", &t.key, "agent-1", &agent_body)
        .expect(201);
    assert_eq!(a1.str("id"), a2.str("id"));
    let tenant_body = r#"{"name":"once"}"#;
    let t1 = server
        .post_once("/tenants", ADMIN_KEY, "tenant-1", tenant_body)
        .expect(201);
    let t2 = server
        .post_once("/tenants", ADMIN_KEY, "tenant-1", tenant_body)
        .expect(201);
    assert_eq!(t1.text, t2.text);
}

#[test]
fn concurrent_requests_with_one_idempotency_key_create_one_intent() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let body = format!(
        r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":12}}"#,
        t.agent
    );
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| server.post_once("/intents", &t.key, "same", &body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: HashSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.text);
            a.str("id")
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let listed = server.get("/intents", &t.key).expect(200);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
}

#[test]
fn a_repeated_client_intent_id_returns_the_existing_intent() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let body = format!(
        r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"x","expectedAmountEuros":3,"clientIntentId":"order-7"}}"#,
        t.agent
    );
    let first = server.post_text("/intents", &t.token, &body).expect(201);
    let second = server.post_text("/intents", &t.token, &body).expect(200);
    assert_eq!(first.str("id"), second.str("id"));
    assert_eq!(second.str("clientIntentId"), "order-7");
    // Another agent may use the same client id.
    let other = server.agent(&t.key, &t.policy, "other");
    let theirs = body.replace(&t.agent, &other);
    let third = server.post_text("/intents", &t.key, &theirs).expect(201);
    assert_ne!(third.str("id"), first.str("id"));
}

#[test]
fn plugins_are_uploaded_versioned_listed_used_and_deleted() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let nosy = warrant_fixtures::guest("nosy").wasm();
    let upload = |query: &str, bytes: &[u8]| {
        server.send(
            "POST",
            &format!("/plugins?{query}"),
            Some(&t.key),
            &[("Content-Type", "application/wasm")],
            Some(bytes),
        )
    };
    let created = upload("name=nosy&version=1.0.0", &nosy).expect(201);
    let id = created.str("id");
    assert!(id.starts_with("plg_"));
    assert_eq!(created.str("world"), "policy");
    assert_eq!(created.body["size"], nosy.len());
    assert_eq!(created.str("sha256").len(), 64);
    let same = upload("name=nosy&version=1.0.0", &nosy).expect(200);
    assert_eq!(same.str("id"), id);
    let panics = warrant_fixtures::guest("panics").wasm();
    upload("name=nosy&version=1.0.0", &panics).expect_error(409, "E_CONFLICT");

    for (query, bytes, code) in [
        (
            "name=bad&version=1.0.0",
            warrant_fixtures::core_module(),
            "E_PLUGIN_CORE_MODULE",
        ),
        (
            "name=bad&version=1.0.0",
            warrant_fixtures::garbage(),
            "E_PLUGIN_NOT_WASM",
        ),
        ("name=bad&version=1.0.0", Vec::new(), "E_PLUGIN_NOT_WASM"),
        (
            "name=bad&version=1.0.0",
            warrant_fixtures::guest("wrong-world").wasm(),
            "E_PLUGIN_WORLD",
        ),
        (
            "name=bad&version=1.0.0",
            warrant_fixtures::guest("foreign-import").wasm(),
            "E_PLUGIN_IMPORT",
        ),
        ("version=1.0.0", nosy.clone(), "E_VALIDATION"),
        ("name=nosy", nosy.clone(), "E_VALIDATION"),
        ("name=nosy&version=one", nosy.clone(), "E_VALIDATION"),
        ("name=Nosy!&version=1.0.0", nosy.clone(), "E_VALIDATION"),
        (
            "name=spend-limit&version=9.0.0",
            nosy.clone(),
            "E_VALIDATION",
        ),
        (
            "name=nosy&version=1.0.0&colour=red",
            nosy.clone(),
            "E_VALIDATION",
        ),
        // Larger than a JSON body may be, yet within the plugin limit.
        (
            "name=big&version=1.0.0",
            vec![7u8; 3 << 20],
            "E_PLUGIN_NOT_WASM",
        ),
    ] {
        upload(query, &bytes).expect_error(400, code);
    }

    let listed = server.get("/plugins", &t.key).expect(200);
    let names: Vec<(String, bool)> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["builtin"].as_bool().unwrap(),
            )
        })
        .collect();
    // The tenant's uploads, newest first, then the built-ins.
    assert_eq!(
        names,
        [("nosy".to_owned(), false)]
            .into_iter()
            .chain(
                [
                    "anomaly",
                    "budget",
                    "merchant-rules",
                    "rate-limit",
                    "recurring-match",
                    "risk-threshold",
                    "settlement-review",
                    "spend-limit",
                    "time-window"
                ]
                .map(|name| (name.to_owned(), true))
            )
            .collect::<Vec<_>>()
    );
    server.get(&format!("/plugins/{id}"), &t.key).expect(200);
    let builtin = server
        .get("/plugins/plg_builtin_spend-limit", &t.key)
        .expect(200);
    assert_eq!(builtin.str("name"), "spend-limit");

    // A policy may name it by name, name@version or id; it then decides.
    let mut nosy_policy = String::new();
    for reference in ["nosy", "nosy@1.0.0", id.as_str()] {
        let policy = server
            .post(
                "/policies",
                &t.key,
                json!({"name": "nosy", "rules": [{"plugin": reference}]}),
            )
            .expect(201);
        assert_eq!(policy.body["rules"][0]["pluginId"], id.as_str());
        nosy_policy = policy.str("id");
    }
    let nosy_agent = server.agent(&t.key, &nosy_policy, "nosy agent");
    server
        .post(
            "/policies",
            &t.key,
            json!({"name": "x", "rules": [{"plugin": "nosy@2.0.0"}]}),
        )
        .expect_error(400, "E_VALIDATION");
    let upload_v2 = upload("name=nosy&version=1.10.0", &panics).expect(201);
    // The highest version wins when only the name is given; this one
    // panics on every intent, so the dry evaluation refuses it.
    let refused = server
        .post(
            "/policies",
            &t.key,
            json!({"name": "x", "rules": [{"plugin": "nosy"}]}),
        )
        .expect_error(400, "E_VALIDATION");
    assert!(refused.text.contains("E_PLUGIN_TRAP"), "{}", refused.text);

    // Deleting one a policy version uses hides it: gone from the API and
    // from new policies, still deciding for that version, its decisions
    // still replayed on its bytes. Built-ins stay.
    let before = server.intent(&t.key, &nosy_agent, "10").expect(201);
    server.delete(&format!("/plugins/{id}"), &t.key).expect(204);
    server
        .get(&format!("/plugins/{id}"), &t.key)
        .expect_error(404, "E_NOT_FOUND");
    server
        .delete(&format!("/plugins/{id}"), &t.key)
        .expect_error(404, "E_NOT_FOUND");
    let listed = server.get("/plugins?limit=200", &t.key).expect(200);
    assert!(!listed.text.contains(id.as_str()), "{}", listed.text);
    for reference in ["nosy@1.0.0", id.as_str()] {
        let refused = server
            .post(
                "/policies",
                &t.key,
                json!({"name": "x", "rules": [{"plugin": reference}]}),
            )
            .expect_error(400, "E_VALIDATION");
        assert!(refused.text.contains("was deleted"), "{}", refused.text);
    }
    let after = server.intent(&t.key, &nosy_agent, "10").expect(201);
    let ran = |answer: &Answer| answer.body["decision"]["rules"][0].clone();
    assert_eq!(ran(&after)["plugin"], "nosy", "{}", after.text);
    assert!(ran(&after)["sha256"].is_string());
    assert_eq!(ran(&after)["sha256"], ran(&before)["sha256"]);
    assert_eq!(after.str("status"), before.str("status"));
    let replay = server
        .post(
            &format!("/intents/{}/replay", before.str("id")),
            &t.key,
            json!({}),
        )
        .expect(200);
    assert_eq!(replay.body["identical"], true, "{}", replay.text);
    let unused = upload_v2.str("id");
    server
        .delete(&format!("/plugins/{unused}"), &t.key)
        .expect(204);
    server
        .get(&format!("/plugins/{unused}"), &t.key)
        .expect_error(404, "E_NOT_FOUND");
    server
        .delete("/plugins/plg_builtin_spend-limit", &t.key)
        .expect_error(409, "E_CONFLICT");
}

#[test]
fn a_policy_change_makes_a_new_version_used_by_new_intents() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let before = server.intent(&t.key, &t.agent, "86.40").expect(201);
    assert_eq!(before.str("status"), "pending_approval");
    assert_eq!(before.body["policyVersion"], 1);

    let path = format!("/policies/{}", t.policy);
    let patched = server
        .patch(
            &path,
            &t.key,
            json!({"rules": [{"plugin": "spend-limit", "config": {"maxAmountEuros": 1000}}],
                   "amountTolerancePercent": 2.5}),
        )
        .expect(200);
    assert_eq!(patched.body["version"], 2);
    assert_eq!(patched.body["name"], "default");
    assert!(
        patched.text.contains(r#""amountTolerancePercent":2.50"#),
        "{}",
        patched.text
    );
    assert_eq!(server.get(&path, &t.key).expect(200).body["version"], 2);
    let versions = server.get(&format!("{path}/versions"), &t.key).expect(200);
    let rules: Vec<usize> = versions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rules"].as_array().unwrap().len())
        .collect();
    assert_eq!(rules, [1, 2]);

    let after = server.intent(&t.key, &t.agent, "86.40").expect(201);
    assert_eq!(after.str("status"), "approved");
    assert_eq!(after.body["policyVersion"], 2);
    // The earlier intent keeps the version that decided it.
    let read = server
        .get(&format!("/intents/{}", before.str("id")), &t.key)
        .expect(200);
    assert_eq!(read.body["policyVersion"], 1);

    server
        .patch(
            &path,
            &t.key,
            json!({"rules": [{"plugin": "spend-limit", "config": {}}]}),
        )
        .expect_error(400, "E_VALIDATION");
    assert_eq!(server.get(&path, &t.key).expect(200).body["version"], 2);

    // A monitored rule is traced but does not count.
    let monitored = server
        .post(
            "/policies",
            &t.key,
            json!({"name": "watch", "rules": [
                {"plugin": "spend-limit", "config": {"maxAmountEuros": 1}, "mode": "monitor"},
                {"plugin": "merchant-rules", "config": {}}
            ]}),
        )
        .expect(201)
        .str("id");
    let watched = server.agent(&t.key, &monitored, "watched");
    let answer = server.intent(&t.key, &watched, "50").expect(201);
    assert_eq!(answer.str("status"), "approved");
    assert_eq!(answer.body["decision"]["rules"][0]["verdict"], "deny");
}

#[test]
fn agents_are_created_listed_changed_frozen_and_archived() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let created = server
        .post(
            "/agents",
            &t.key,
            json!({"name": "buyer", "policyId": t.policy,
                   "profile": {"purpose": "buys", "framework": "langgraph", "capabilities": ["pay"],
                               "department": "ops", "ownerContact": "ops@example.com"},
                   "tags": ["prod"], "metadata": {"team": 7}}),
        )
        .expect(201);
    let id = created.str("id");
    assert!(id.starts_with("ag_"));
    server.card(&t.key, &id, "subscriptions");
    assert_eq!(created.str("status"), "active");
    assert_eq!(created.body["profile"]["framework"], "langgraph");
    assert_eq!(created.body["metadata"]["team"], 7);

    // Cursor pagination: every agent exactly once.
    for i in 0..4 {
        server.agent(&t.key, &t.policy, &format!("a{i}"));
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = server
            .get(&format!("/agents?limit=2&cursor={cursor}"), &t.key)
            .expect(200);
        for agent in page.body["data"].as_array().unwrap() {
            seen.push(agent["id"].as_str().unwrap().to_owned());
        }
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 6);

    let path = format!("/agents/{id}");
    let changed = server
        .patch(
            &path,
            &t.key,
            json!({"name": "buyer 2", "tags": ["prod", "eu"]}),
        )
        .expect(200);
    assert_eq!(changed.str("name"), "buyer 2");
    assert_eq!(changed.body["profile"]["purpose"], "buys");
    server
        .patch(&path, &t.key, json!({"profile": {"purpose": ""}}))
        .expect_error(400, "E_VALIDATION");

    // Frozen: no new intents, no approvals; unfrozen: both again.
    let token = server.token(&t.key, &id);
    let pending = intent_id(&server.intent(&token, &id, "86.40").expect(201));
    let frozen = server
        .post(&format!("{path}/freeze"), &t.key, json!({}))
        .expect(200);
    assert_eq!(frozen.str("status"), "frozen");
    server
        .post(&format!("{path}/freeze"), &t.key, json!({}))
        .expect(200);
    server
        .intent(&token, &id, "1")
        .expect_error(409, "E_AGENT_NOT_ACTIVE");
    server
        .post(&format!("/intents/{pending}/approve"), &t.key, json!({}))
        .expect_error(409, "E_AGENT_NOT_ACTIVE");
    let thawed = server
        .post(&format!("{path}/unfreeze"), &t.key, json!({}))
        .expect(200);
    assert_eq!(thawed.str("status"), "active");
    server.intent(&token, &id, "1").expect(201);
    server
        .post(&format!("/intents/{pending}/approve"), &t.key, json!({}))
        .expect(200);

    // Tokens: listed without secrets, revoked one by one.
    let second = server
        .post(
            &format!("{path}/tokens"),
            &t.key,
            json!({"permissions": ["intents:read"]}),
        )
        .expect(201);
    let tokens = server.get(&format!("{path}/tokens"), &t.key).expect(200);
    assert_eq!(tokens.body["data"].as_array().unwrap().len(), 2);
    assert!(!tokens.text.contains(&token));
    server
        .delete(&format!("{path}/tokens/{}", second.str("id")), &t.key)
        .expect(204);
    server
        .get(&path, &second.str("token"))
        .expect_error(401, "E_UNAUTHORIZED");
    server
        .delete(&format!("{path}/tokens/{}", second.str("id")), &t.key)
        .expect_error(404, "E_NOT_FOUND");

    // Archived: its tokens stop working and it cannot change.
    let archived = server.delete(&path, &t.key).expect(200);
    assert_eq!(archived.str("status"), "archived");
    server
        .get(&path, &token)
        .expect_error(401, "E_UNAUTHORIZED");
    server
        .intent(&t.key, &id, "1")
        .expect_error(409, "E_AGENT_NOT_ACTIVE");
    server
        .patch(&path, &t.key, json!({"name": "again"}))
        .expect_error(409, "E_CONFLICT");
    server
        .post(&format!("{path}/unfreeze"), &t.key, json!({}))
        .expect_error(409, "E_CONFLICT");
    server
        .post(&format!("{path}/tokens"), &t.key, json!({}))
        .expect_error(409, "E_CONFLICT");
    assert_eq!(
        server.get(&path, &t.key).expect(200).str("status"),
        "archived"
    );
}

#[test]
fn intents_are_listed_by_agent_and_status_page_by_page() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let other = server.agent(&t.key, &t.policy, "other");
    for amount in ["1", "2", "86.40", "500", "3"] {
        server.intent(&t.key, &t.agent, amount).expect(201);
    }
    server.intent(&t.key, &other, "4").expect(201);

    let count = |query: &str| {
        server
            .get(&format!("/intents?{query}"), &t.key)
            .expect(200)
            .body["data"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(""), 6);
    assert_eq!(count(&format!("agentId={}", t.agent)), 5);
    assert_eq!(count("status=approved"), 4);
    assert_eq!(count(&format!("agentId={other}&status=approved")), 1);
    assert_eq!(count("status=denied"), 1);
    let first = server.get("/intents?limit=4", &t.key).expect(200);
    assert_eq!(first.body["data"].as_array().unwrap().len(), 4);
    let cursor = first.str("nextCursor");
    let rest = server
        .get(&format!("/intents?limit=4&cursor={cursor}"), &t.key)
        .expect(200);
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(rest.body["nextCursor"], Value::Null);
}

#[test]
fn settlement_is_verified_against_the_tolerance() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    // The policy tolerates 2 %.
    server
        .patch(
            &format!("/policies/{}", t.policy),
            &t.key,
            json!({"amountTolerancePercent": 2}),
        )
        .expect(200);
    let id = intent_in(&server, &t, "approved");
    let completed = server
        .post_text(
            &format!("/intents/{id}/complete"),
            &t.token,
            r#"{"actualAmountEuros":4.55,"actualMerchant":"HETZNER.com"}"#,
        )
        .expect(200);
    assert_eq!(completed.str("status"), "completed");
    assert_eq!(completed.body["settlement"]["flagged"], false);
    assert!(completed.text.contains(r#""actualAmountEuros":4.55"#));

    let verified = server
        .post_text(
            &format!("/intents/{id}/verify"),
            &t.token,
            r#"{"actualAmountEuros":4.61,"actualMerchant":"evilhetzner.com"}"#,
        )
        .expect(200);
    assert_eq!(verified.str("status"), "completed");
    assert_eq!(verified.body["settlement"]["flagged"], true);
    assert_eq!(
        verified.body["settlement"]["flags"],
        json!(["amount-deviation", "merchant-mismatch"])
    );
    // The tenant confirms what was paid; until then, the agent's intents
    // would go to a human.
    server
        .post_text(
            &format!("/intents/{id}/verify"),
            &t.key,
            r#"{"actualAmountEuros":4.55,"actualMerchant":"hetzner.com"}"#,
        )
        .expect(200);

    // Recurring terms bring their own tolerance.
    let recurring = server
        .post_text(
            "/intents",
            &t.key,
            &format!(
                r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"monthly","expectedAmountEuros":10,
                    "expectedMerchant":"hetzner.com","recurring":{{"cadence":"monthly","amountTolerancePercent":10}}}}"#,
                t.agent
            ),
        )
        .expect(201);
    let rid = recurring.str("id");
    let ok = server
        .post_text(
            &format!("/intents/{rid}/verify"),
            &t.key,
            r#"{"actualAmountEuros":10.99}"#,
        )
        .expect(200);
    assert_eq!(ok.body["settlement"]["flagged"], false);
    let over = server
        .post_text(
            &format!("/intents/{rid}/verify"),
            &t.key,
            r#"{"actualAmountEuros":11.01}"#,
        )
        .expect(200);
    assert_eq!(
        over.body["settlement"]["flags"],
        json!(["amount-deviation"])
    );

    // Only approved or completed intents are verified.
    let pending = intent_in(&server, &t, "pending_approval");
    server
        .post_text(
            &format!("/intents/{pending}/verify"),
            &t.key,
            r#"{"actualAmountEuros":1}"#,
        )
        .expect_error(409, "E_INVALID_TRANSITION");
    server
        .post_text(
            &format!("/intents/{rid}/verify"),
            &t.key,
            r#"{"actualAmountEuros":1.001}"#,
        )
        .expect_error(400, "E_VALIDATION");
    server
        .post_text(&format!("/intents/{rid}/verify"), &t.key, r#"{}"#)
        .expect_error(400, "E_VALIDATION");
}

#[test]
fn idempotency_keys_belong_to_their_caller_and_keep_no_secret_in_the_clear() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let other = server.agent(&t.key, &t.policy, "other");
    let other_token = server.token(&t.key, &other);
    // Two agents, one key, one body: two intents, each its own.
    let body = r#"{"cardName":"subscriptions","purpose":"x","expectedAmountEuros":2}"#;
    let mine = server
        .post_once("/intents", &t.token, "k", body)
        .expect(201);
    let theirs = server
        .post_once("/intents", &other_token, "k", body)
        .expect(201);
    assert!(!theirs.replayed);
    assert_ne!(mine.str("id"), theirs.str("id"));
    assert_eq!(theirs.str("agentId"), other);

    // Responses that show a secret once replay it, yet the database holds
    // neither the secret nor the key in the clear.
    let tenant = server
        .post_once(
            "/tenants",
            ADMIN_KEY,
            "tenant-key-1",
            r#"{"name":"sealed"}"#,
        )
        .expect(201);
    let again = server
        .post_once(
            "/tenants",
            ADMIN_KEY,
            "tenant-key-1",
            r#"{"name":"sealed"}"#,
        )
        .expect(201);
    assert_eq!(again.text, tenant.text);
    let path = format!("/agents/{}/tokens", t.agent);
    let token = server
        .post_once(&path, &t.key, "token-key-1", "{}")
        .expect(201);
    let replayed = server
        .post_once(&path, &t.key, "token-key-1", "{}")
        .expect(201);
    assert_eq!(replayed.str("token"), token.str("token"));
    let stored = server.stored_bytes();
    for secret in [
        tenant.str("apiKey"),
        token.str("token"),
        "tenant-key-1".into(),
        t.key.clone(),
    ] {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "`{secret}` is stored in the clear"
        );
    }
}

#[test]
fn concurrent_transitions_with_one_idempotency_key_all_answer_the_winner() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let id = intent_in(&server, &t, "pending_approval");
    let path = format!("/intents/{id}/approve");
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| server.post_once(&path, &t.key, "approve-once", "{}")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.text, answers[0].text);
    }
    let read = server.get(&format!("/intents/{id}"), &t.key).expect(200);
    assert_eq!(read.body["history"].as_array().unwrap().len(), 2);
}

#[test]
fn a_client_intent_id_reused_for_another_intent_is_a_conflict() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let body = r#"{"cardName":"subscriptions","purpose":"x","expectedAmountEuros":3,"clientIntentId":"order-8"}"#;
    server.post_text("/intents", &t.token, body).expect(201);
    let other = body.replace(":3,", ":30,");
    server
        .post_text("/intents", &t.token, &other)
        .expect_error(409, "E_CONFLICT");
}

#[test]
fn a_policy_of_monitored_rules_alone_is_refused() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let monitored = json!({"name": "watch only", "rules": [
        {"plugin": "spend-limit", "config": {"maxAmountEuros": 1}, "mode": "monitor"}
    ]});
    let refused = server
        .post("/policies", &t.key, monitored.clone())
        .expect_error(400, "E_VALIDATION");
    assert_eq!(refused.body["error"]["field"], "rules");
    server
        .patch(
            &format!("/policies/{}", t.policy),
            &t.key,
            json!({"rules": monitored["rules"]}),
        )
        .expect_error(400, "E_VALIDATION");
}

#[test]
fn patching_an_agents_status_freezes_it() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let path = format!("/agents/{}", t.agent);
    let frozen = server
        .patch(&path, &t.key, json!({"status": "frozen", "name": "paused"}))
        .expect(200);
    assert_eq!(
        (frozen.str("status"), frozen.str("name")),
        ("frozen".into(), "paused".into())
    );
    server
        .intent(&t.token, &t.agent, "1")
        .expect_error(409, "E_AGENT_NOT_ACTIVE");
    server
        .patch(&path, &t.key, json!({"status": "archived"}))
        .expect_error(400, "E_VALIDATION");
    server
        .patch(&path, &t.key, json!({"status": "active"}))
        .expect(200);
    server.intent(&t.token, &t.agent, "1").expect(201);
}
