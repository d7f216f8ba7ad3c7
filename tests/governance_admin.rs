//! Governance over REST: tenants' plans, agents' versions and rollback,
//! policy rollback, the emergency kill switch and agents' event log.

mod support;

use std::collections::HashSet;

use serde_json::{Value, json};
use support::{ADMIN_KEY, Answer, Server, Tenant, shared_cache, warrant};

fn tenant_on(server: &Server, name: &str, plan: &str) -> (String, String) {
    let created = server
        .post("/tenants", ADMIN_KEY, json!({"name": name, "plan": plan}))
        .expect(201);
    assert_eq!(created.str("plan"), plan);
    (created.str("id"), created.str("apiKey"))
}

fn agent_body(policy: &str, name: &str) -> Value {
    json!({"name": name, "policyId": policy, "profile": {"purpose": "pays for servers"}})
}

/// An agent's governance events: those of the kill switch, activation,
/// rollbacks, baselines and policies' actions. Its tokens' and its
/// status's own events (`token-issued`, `frozen`, …) are checked by
/// `tokens_and_status_changes_are_agent_events`.
fn events(server: &Server, key: &str, agent: &str) -> Vec<Value> {
    let lifecycle = [
        "token-issued",
        "token-revoked",
        "frozen",
        "unfrozen",
        "archived",
    ];
    server
        .get(&format!("/agents/{agent}/events"), key)
        .expect(200)
        .body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| !lifecycle.contains(&event["kind"].as_str().unwrap_or("")))
        .cloned()
        .collect()
}

#[test]
fn a_tenants_plan_caps_its_agents_and_only_the_admin_changes_it() {
    let server = Server::start();
    // Without a plan a tenant is on `enterprise`: no limit.
    let big = server
        .post("/tenants", ADMIN_KEY, json!({"name": "big"}))
        .expect(201);
    assert_eq!(big.str("plan"), "enterprise");
    let shown = server
        .get(&format!("/tenants/{}", big.str("id")), &big.str("apiKey"))
        .expect(200);
    assert_eq!(shown.str("plan"), "enterprise");
    assert_eq!(shown.body["agentLimit"], Value::Null);
    assert_eq!(shown.body["agents"], 0);
    assert_eq!(shown.str("name"), "big");
    assert!(shown.body["createdAt"].is_string());

    let (id, key) = tenant_on(&server, "small", "free");
    let policy = server.policy(&key);
    let first = server.agent(&key, &policy, "one");
    let refused = server
        .post("/agents", &key, agent_body(&policy, "two"))
        .expect_error(403, "E_PLAN_LIMIT");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "the `free` plan allows 1 agent that is not archived; archive one or move to a larger plan"
    );
    let tenant_path = format!("/tenants/{id}");
    let shown = server.get(&tenant_path, &key).expect(200);
    assert_eq!(
        (
            shown.body["agentLimit"].clone(),
            shown.body["agents"].clone()
        ),
        (json!(1), json!(1))
    );

    // An archived agent does not count.
    server.delete(&format!("/agents/{first}"), &key).expect(200);
    let second = server.agent(&key, &policy, "two");
    assert_eq!(
        server.get(&tenant_path, ADMIN_KEY).expect(200).body["agents"],
        1
    );

    // Only the admin changes a plan, to a known one.
    server
        .send(
            "PATCH",
            &tenant_path,
            Some(&key),
            &[],
            Some(br#"{"plan":"starter"}"#),
        )
        .expect_error(403, "E_FORBIDDEN");
    let unknown = server
        .patch(&tenant_path, ADMIN_KEY, json!({"plan": "gold"}))
        .expect_error(400, "E_VALIDATION");
    assert_eq!(unknown.body["error"]["field"], "plan");
    server
        .patch(&tenant_path, ADMIN_KEY, json!({}))
        .expect_error(400, "E_VALIDATION");
    server
        .patch("/tenants/tn_nobody", ADMIN_KEY, json!({"plan": "free"}))
        .expect_error(404, "E_NOT_FOUND");
    let starter = server
        .patch(&tenant_path, ADMIN_KEY, json!({"plan": "starter"}))
        .expect(200);
    assert_eq!(
        (starter.str("plan"), starter.body["agentLimit"].clone()),
        ("starter".into(), json!(5))
    );
    let mut agents = vec![second];
    for n in 0..4 {
        agents.push(server.agent(&key, &policy, &format!("a{n}")));
    }
    server
        .post("/agents", &key, agent_body(&policy, "sixth"))
        .expect_error(403, "E_PLAN_LIMIT");
    let business = server
        .patch(&tenant_path, ADMIN_KEY, json!({"plan": "business"}))
        .expect(200);
    assert_eq!(business.body["agentLimit"], 10);
    agents.push(server.agent(&key, &policy, "sixth"));

    // Down to `free` with six agents: they keep working, no new one.
    server
        .patch(&tenant_path, ADMIN_KEY, json!({"plan": "free"}))
        .expect(200);
    for agent in &agents {
        server.intent(&key, agent, "4.51").expect(201);
    }
    server
        .post("/agents", &key, agent_body(&policy, "seventh"))
        .expect_error(403, "E_PLAN_LIMIT");
    let shown = server.get(&tenant_path, &key).expect(200);
    assert_eq!(
        (shown.str("plan"), shown.body["agents"].clone()),
        ("free".into(), json!(6))
    );

    // A tenant's key sees only its own tenant; an agent token none.
    let other = server.tenant("other");
    server
        .get(&tenant_path, &other)
        .expect_error(404, "E_NOT_FOUND");
    let token = server.token(&key, &agents[0]);
    server
        .get(&tenant_path, &token)
        .expect_error(403, "E_FORBIDDEN");
    server
        .get("/tenants/tn_nobody", ADMIN_KEY)
        .expect_error(404, "E_NOT_FOUND");
    server
        .post(
            "/tenants",
            ADMIN_KEY,
            json!({"name": "x", "plan": "platinum"}),
        )
        .expect_error(400, "E_VALIDATION");
}

#[test]
fn agents_created_at_once_never_pass_the_plan() {
    let server = Server::start();
    let (id, key) = tenant_on(&server, "small", "starter");
    let policy = server.policy(&key);
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|n| {
                let (server, key, policy) = (&server, &key, &policy);
                s.spawn(move || server.post("/agents", key, agent_body(policy, &format!("a{n}"))))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = answers.iter().filter(|a| a.status == 201).count();
    for answer in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(
            (answer.status, answer.code()),
            (403, "E_PLAN_LIMIT"),
            "{}",
            answer.text
        );
    }
    assert_eq!(created, 5);
    let shown = server.get(&format!("/tenants/{id}"), &key).expect(200);
    assert_eq!(shown.body["agents"], 5);
}

#[test]
fn the_cli_still_creates_tenants_on_the_enterprise_plan() {
    let server = Server::start();
    let mut args = vec![
        "tenant".to_owned(),
        "create".into(),
        "--name".into(),
        "cli".into(),
    ];
    args.extend(server.storage_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = warrant(&args, &shared_cache());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["plan"], "enterprise");
    let id = created["id"].as_str().unwrap();
    let key = created["apiKey"].as_str().unwrap();
    let shown = server.get(&format!("/tenants/{id}"), key).expect(200);
    assert_eq!(
        (shown.str("plan"), shown.body["agentLimit"].clone()),
        ("enterprise".into(), Value::Null)
    );
}

#[test]
fn every_agent_change_is_a_version_and_a_rollback_makes_a_new_one() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let path = format!("/agents/{}", t.agent);
    assert_eq!(server.get(&path, &t.key).expect(200).body["version"], 1);
    let second_policy = server.policy(&t.key);
    let changed = server
        .patch(
            &path,
            &t.key,
            json!({"name": "renamed", "tags": ["eu"], "policyId": second_policy,
                   "metadata": {"team": 7}, "agentType": "autonomous"}),
        )
        .expect(200);
    assert_eq!(changed.body["version"], 2);
    let frozen = server
        .patch(
            &path,
            &t.key,
            json!({"status": "frozen", "profile": {"purpose": "other things"}}),
        )
        .expect(200);
    assert_eq!(frozen.body["version"], 3);
    // A move of status alone is an event, not a version; nor is a PATCH
    // that changes nothing.
    for status in ["active", "frozen"] {
        let moved = server
            .patch(&path, &t.key, json!({"status": status}))
            .expect(200);
        assert_eq!(moved.body["version"], 3, "{status}");
    }
    let same = server
        .patch(&path, &t.key, json!({"name": "renamed"}))
        .expect(200);
    assert_eq!(same.body["version"], 3);
    let logged = server.get(&format!("{path}/events"), &t.key).expect(200);
    let kinds: Vec<&Value> = logged.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| &event["kind"])
        .collect();
    assert_eq!(
        kinds[..3],
        [&json!("frozen"), &json!("unfrozen"), &json!("frozen")]
    );

    let versions = server.get(&format!("{path}/versions"), &t.key).expect(200);
    // Newest first; oldest first below.
    let data: Vec<&Value> = versions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .collect();
    assert_eq!(data.len(), 3);
    let actor = data[0]["actor"].as_str().unwrap();
    assert!(actor.starts_with("key:ak_"), "{actor}");
    assert_eq!(
        data.iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(data[0]["name"], "acme agent");
    assert_eq!(data[0]["policyId"], t.policy.as_str());
    assert_eq!(data[0]["agentType"], "supervised");
    assert_eq!(data[0]["tags"], json!([]));
    assert_eq!(data[1]["name"], "renamed");
    assert_eq!(data[1]["policyId"], second_policy.as_str());
    assert_eq!(data[1]["metadata"], json!({"team": 7}));
    assert_eq!(data[2]["profile"]["purpose"], "other things");
    assert!(data[2].get("status").is_none());
    assert!(data[2]["createdAt"].is_string());

    // Back to version 1: a new version 4 with its configuration; the
    // agent stays frozen.
    let rolled = server
        .post(
            &format!("{path}/rollback"),
            &t.key,
            json!({"targetVersion": 1, "reason": "  the rename broke billing "}),
        )
        .expect(200);
    assert_eq!(rolled.body["version"], 4);
    assert_eq!(rolled.str("name"), "acme agent");
    assert_eq!(rolled.str("policyId"), t.policy);
    assert_eq!(rolled.str("status"), "frozen");
    assert_eq!(rolled.body["profile"]["purpose"], "pays for servers");
    assert_eq!(rolled.body["metadata"], json!({}));
    assert_eq!(rolled.str("agentType"), "supervised");
    let read = server.get(&path, &t.key).expect(200);
    assert_eq!(read.text, rolled.text);
    let versions = server.get(&format!("{path}/versions"), &t.key).expect(200);
    let last = &versions.body["data"][0];
    assert_eq!(
        (last["version"].clone(), last["name"].clone()),
        (json!(4), json!("acme agent"))
    );
    assert_eq!(
        last["reason"],
        "rolled back to version 1: the rename broke billing"
    );
    let logged = events(&server, &t.key, &t.agent);
    assert_eq!(logged[0]["kind"], "rollback");
    assert_eq!(
        logged[0]["message"],
        "rolled back to version 1: the rename broke billing"
    );
    assert_eq!(logged[0]["actor"], last["actor"]);
    assert!(logged[0]["id"].as_str().unwrap().starts_with("evt_"));

    // Unknown versions, bad input, other tenants.
    let rollback = format!("{path}/rollback");
    server
        .post(&rollback, &t.key, json!({"targetVersion": 9}))
        .expect_error(404, "E_NOT_FOUND");
    let field = |answer: Answer| answer.body["error"]["field"].clone();
    let bad = server
        .post(&rollback, &t.key, json!({"targetVersion": 0}))
        .expect_error(400, "E_VALIDATION");
    assert_eq!(field(bad), "targetVersion");
    let bad = server
        .post(&rollback, &t.key, json!({"targetVersion": "1"}))
        .expect_error(400, "E_VALIDATION");
    assert_eq!(field(bad), "targetVersion");
    let bad = server
        .post(
            &rollback,
            &t.key,
            json!({"targetVersion": 1, "reason": " "}),
        )
        .expect_error(400, "E_VALIDATION");
    assert_eq!(field(bad), "reason");
    server
        .post(&rollback, &t.key, json!({}))
        .expect_error(400, "E_VALIDATION");
    server
        .post(&rollback, &t.token, json!({"targetVersion": 1}))
        .expect_error(403, "E_FORBIDDEN");
    let b = Tenant::new(&server, "b");
    server
        .post(&rollback, &b.key, json!({"targetVersion": 1}))
        .expect_error(404, "E_NOT_FOUND");
    server
        .get(&format!("{path}/versions"), &b.key)
        .expect_error(404, "E_NOT_FOUND");
    assert_eq!(server.get(&path, &t.key).expect(200).body["version"], 4);

    // An archived agent cannot roll back.
    server.delete(&path, &t.key).expect(200);
    server
        .post(&rollback, &t.key, json!({"targetVersion": 2}))
        .expect_error(409, "E_AGENT_NOT_ACTIVE");
    let versions = server.get(&format!("{path}/versions"), &t.key).expect(200);
    assert_eq!(versions.body["data"].as_array().unwrap().len(), 4);
}

#[test]
fn a_policy_rolls_back_to_an_earlier_version_as_a_new_one() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let path = format!("/policies/{}", t.policy);
    let v1 = server.get(&path, &t.key).expect(200);
    server
        .patch(
            &path,
            &t.key,
            json!({"name": "strict", "rules": [{"plugin": "spend-limit", "config": {"maxAmountEuros": 10}}],
                   "amountTolerancePercent": 5}),
        )
        .expect(200);
    let denied = server.intent(&t.token, &t.agent, "20").expect(201);
    assert_eq!(denied.str("status"), "denied");

    let rolled = server
        .post(
            &format!("{path}/rollback"),
            &t.key,
            json!({"targetVersion": 1}),
        )
        .expect(200);
    assert_eq!(rolled.body["version"], 3);
    assert_eq!(rolled.str("name"), "strict");
    assert_eq!(rolled.body["rules"], v1.body["rules"]);
    assert_eq!(rolled.body["risk"], v1.body["risk"]);
    assert_eq!(
        rolled.body["amountTolerancePercent"],
        v1.body["amountTolerancePercent"]
    );
    let current = server.get(&path, &t.key).expect(200);
    assert_eq!(current.text, rolled.text);
    let versions = server.get(&format!("{path}/versions"), &t.key).expect(200);
    assert_eq!(versions.body["data"].as_array().unwrap().len(), 3);
    // Intents are decided by the restored rules.
    let intent = server.intent(&t.token, &t.agent, "20").expect(201);
    assert_eq!(intent.str("status"), "approved");
    assert_eq!(
        intent.body["decision"]["rules"].as_array().unwrap().len(),
        2
    );

    // A replay makes no fourth version.
    let rollback = format!("{path}/rollback");
    let first = server
        .post_once(&rollback, &t.key, "rb-1", r#"{"targetVersion":2}"#)
        .expect(200);
    let again = server
        .post_once(&rollback, &t.key, "rb-1", r#"{"targetVersion":2}"#)
        .expect(200);
    assert!(again.replayed);
    assert_eq!(again.text, first.text);
    assert_eq!(first.body["version"], 4);
    assert_eq!(server.get(&path, &t.key).expect(200).body["version"], 4);

    server
        .post(&rollback, &t.key, json!({"targetVersion": 7}))
        .expect_error(404, "E_NOT_FOUND");
    server
        .post(&rollback, &t.key, json!({"targetVersion": -1}))
        .expect_error(400, "E_VALIDATION");
    server
        .post(&rollback, &t.key, json!({"targetVersion": 1, "name": "x"}))
        .expect_error(400, "E_VALIDATION");
    let b = Tenant::new(&server, "b");
    server
        .post(&rollback, &b.key, json!({"targetVersion": 1}))
        .expect_error(404, "E_NOT_FOUND");
    server
        .post(
            "/policies/pol_nothing/rollback",
            &t.key,
            json!({"targetVersion": 1}),
        )
        .expect_error(404, "E_NOT_FOUND");
    assert_eq!(server.get(&path, &t.key).expect(200).body["version"], 4);
}

#[test]
fn an_emergency_suspension_stops_the_agent_its_intents_and_its_tokens_at_once() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let second_token = server.token(&t.key, &t.agent);
    let approved = server.intent(&t.token, &t.agent, "4.51").expect(201);
    assert_eq!(approved.str("status"), "approved");
    let pending = server.intent(&t.token, &t.agent, "86.40").expect(201);
    assert_eq!(pending.str("status"), "pending_approval");
    let denied = server.intent(&t.token, &t.agent, "500").expect(201);
    let completed = server.intent(&t.token, &t.agent, "3").expect(201).str("id");
    server
        .post(
            &format!("/intents/{completed}/complete"),
            &t.token,
            json!({}),
        )
        .expect(200);
    // Another agent of the tenant is untouched.
    let bystander = server.agent(&t.key, &t.policy, "bystander");
    let bystander_token = server.token(&t.key, &bystander);
    let bystanders_intent = server
        .intent(&bystander_token, &bystander, "86.40")
        .expect(201);

    let path = format!("/agents/{}", t.agent);
    let stopped = server
        .post(
            &format!("{path}/emergency-suspend"),
            &t.key,
            json!({"reason": "  card number leaked in a prompt  "}),
        )
        .expect(200);
    assert_eq!(stopped.body["agent"]["status"], "suspended");
    assert_eq!(stopped.body["agent"]["id"], t.agent.as_str());
    let cancelled: HashSet<&str> = stopped.body["cancelledIntents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    let approved_id = approved.str("id");
    let pending_id = pending.str("id");
    assert_eq!(
        cancelled,
        HashSet::from([approved_id.as_str(), pending_id.as_str()])
    );
    assert_eq!(stopped.body["revokedTokens"], 2);

    for id in [&approved_id, &pending_id] {
        let read = server.get(&format!("/intents/{id}"), &t.key).expect(200);
        assert_eq!(read.str("status"), "cancelled");
        let last = read.body["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["to"], "cancelled");
        let actor = last["actor"].as_str().unwrap();
        assert!(actor.starts_with("key:ak_"), "{actor}");
        assert_eq!(
            last["reason"],
            "emergency suspension: card number leaked in a prompt"
        );
    }
    let read = |id: &str| {
        server
            .get(&format!("/intents/{id}"), &t.key)
            .expect(200)
            .str("status")
    };
    assert_eq!(read(&denied.str("id")), "denied");
    assert_eq!(read(&completed), "completed");
    assert_eq!(read(&bystanders_intent.str("id")), "pending_approval");
    server.intent(&bystander_token, &bystander, "1").expect(201);

    // Tokens are dead; the tenant key cannot declare for it either.
    for token in [&t.token, &second_token] {
        server.get(&path, token).expect_error(401, "E_UNAUTHORIZED");
    }
    server
        .intent(&t.key, &t.agent, "1")
        .expect_error(409, "E_AGENT_NOT_ACTIVE");
    let logged = events(&server, &t.key, &t.agent);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["kind"], "emergency-suspend");
    assert_eq!(logged[0]["message"], "card number leaked in a prompt");
    let actor = logged[0]["actor"].as_str().unwrap();
    assert!(actor.starts_with("key:ak_"), "{actor}");
    assert!(logged[0].get("intentId").is_none());
    assert!(logged[0]["at"].is_string());

    // Suspending again is allowed and records another event.
    let again = server
        .post(
            &format!("{path}/emergency-suspend"),
            &t.key,
            json!({"reason": "still"}),
        )
        .expect(200);
    assert_eq!(again.body["cancelledIntents"], json!([]));
    assert_eq!(again.body["revokedTokens"], 0);
    assert_eq!(events(&server, &t.key, &t.agent).len(), 2);
}

#[test]
fn only_activate_ends_a_suspension_and_it_thaws_nothing_else() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let path = format!("/agents/{}", t.agent);
    let activate = format!("{path}/activate");
    let refused = server
        .post(&activate, &t.key, json!({}))
        .expect_error(409, "E_INVALID_TRANSITION");
    assert_eq!(refused.body["error"]["status"], "active");

    // A frozen agent is not activated (it is unfrozen).
    server
        .post(&format!("{path}/freeze"), &t.key, json!({}))
        .expect(200);
    let refused = server
        .post(&activate, &t.key, json!({}))
        .expect_error(409, "E_INVALID_TRANSITION");
    assert_eq!(refused.body["error"]["status"], "frozen");
    assert_eq!(
        server.get(&path, &t.key).expect(200).str("status"),
        "frozen"
    );

    // Frozen to suspended; then neither unfreeze nor PATCH make it active.
    server
        .post(
            &format!("{path}/emergency-suspend"),
            &t.key,
            json!({"reason": "fraud"}),
        )
        .expect(200);
    server
        .post(&format!("{path}/unfreeze"), &t.key, json!({}))
        .expect_error(409, "E_CONFLICT");
    let patched = server
        .patch(&path, &t.key, json!({"status": "active"}))
        .expect_error(409, "E_INVALID_TRANSITION");
    assert_eq!(patched.body["error"]["status"], "suspended");
    server
        .patch(&path, &t.key, json!({"status": "frozen"}))
        .expect_error(409, "E_INVALID_TRANSITION");
    assert_eq!(
        server.get(&path, &t.key).expect(200).str("status"),
        "suspended"
    );
    // Other changes are still allowed while suspended.
    let renamed = server
        .patch(&path, &t.key, json!({"name": "quarantined"}))
        .expect(200);
    assert_eq!(renamed.str("status"), "suspended");

    let active = server
        .post(&activate, &t.key, json!({"reason": "card replaced"}))
        .expect(200);
    assert_eq!(active.str("status"), "active");
    assert_eq!(active.str("name"), "quarantined");
    // Its old token stays revoked: it needs a new one.
    server
        .get(&path, &t.token)
        .expect_error(401, "E_UNAUTHORIZED");
    let token = server.token(&t.key, &t.agent);
    // Its cards, frozen by the suspension, stay frozen until unfrozen.
    server
        .intent(&token, &t.agent, "4.51")
        .expect_error(409, "E_CARD_FROZEN");
    let card = server
        .get(&format!("/cards?agentId={}", t.agent), &t.key)
        .expect(200)
        .body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .post(&format!("/cards/{card}/unfreeze"), &t.key, json!({}))
        .expect(200);
    server.intent(&token, &t.agent, "4.51").expect(201);

    let logged = events(&server, &t.key, &t.agent);
    let kinds: Vec<&str> = logged.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["activated", "emergency-suspend"]);
    assert_eq!(logged[0]["message"], "card replaced");

    // PATCH does not suspend either: that is the kill switch's job.
    server
        .patch(&path, &t.key, json!({"status": "suspended"}))
        .expect_error(400, "E_VALIDATION");
    // Activation with no body records a plain message.
    server
        .post(
            &format!("{path}/emergency-suspend"),
            &t.key,
            json!({"reason": "again"}),
        )
        .expect(200);
    server
        .send("POST", &activate, Some(&t.key), &[], None)
        .expect(200);
    let mut messages: Vec<String> = events(&server, &t.key, &t.agent)
        .iter()
        .filter(|e| e["kind"] == "activated")
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    messages.sort();
    assert_eq!(messages, ["activated", "card replaced"]);

    // An archived agent is neither suspended nor activated.
    server.delete(&path, &t.key).expect(200);
    server
        .post(
            &format!("{path}/emergency-suspend"),
            &t.key,
            json!({"reason": "late"}),
        )
        .expect_error(409, "E_AGENT_NOT_ACTIVE");
    let refused = server
        .post(&activate, &t.key, json!({}))
        .expect_error(409, "E_INVALID_TRANSITION");
    assert_eq!(refused.body["error"]["status"], "archived");
}

#[test]
fn governance_writes_replay_with_their_idempotency_key() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let path = format!("/agents/{}", t.agent);
    server.intent(&t.token, &t.agent, "86.40").expect(201);
    let suspend = format!("{path}/emergency-suspend");
    let body = r#"{"reason":"leak"}"#;
    let first = server
        .post_once(&suspend, &t.key, "kill-1", body)
        .expect(200);
    assert!(!first.replayed);
    assert_eq!(first.body["cancelledIntents"].as_array().unwrap().len(), 1);
    let again = server
        .post_once(&suspend, &t.key, "kill-1", body)
        .expect(200);
    assert!(again.replayed);
    assert_eq!(again.text, first.text);
    server
        .post_once(&suspend, &t.key, "kill-1", r#"{"reason":"other"}"#)
        .expect_error(422, "E_IDEMPOTENCY_MISMATCH");
    assert_eq!(events(&server, &t.key, &t.agent).len(), 1);

    // Concurrent replays of one key: one suspension.
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| server.post_once(&suspend, &t.key, "kill-2", body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let texts: HashSet<&str> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 200, "{}", a.text);
            a.text.as_str()
        })
        .collect();
    assert_eq!(texts.len(), 1);
    assert_eq!(events(&server, &t.key, &t.agent).len(), 2);

    let activate = format!("{path}/activate");
    let first = server
        .post_once(&activate, &t.key, "on-1", "{}")
        .expect(200);
    let again = server
        .post_once(&activate, &t.key, "on-1", "{}")
        .expect(200);
    assert!(again.replayed);
    assert_eq!(again.text, first.text);
    assert_eq!(events(&server, &t.key, &t.agent).len(), 3);

    let rollback = format!("{path}/rollback");
    server
        .patch(&path, &t.key, json!({"name": "two"}))
        .expect(200);
    let body = r#"{"targetVersion":1}"#;
    let first = server
        .post_once(&rollback, &t.key, "rb-1", body)
        .expect(200);
    let again = server
        .post_once(&rollback, &t.key, "rb-1", body)
        .expect(200);
    assert!(again.replayed);
    assert_eq!(again.text, first.text);
    assert_eq!(first.body["version"], 3);
    let versions = server.get(&format!("{path}/versions"), &t.key).expect(200);
    assert_eq!(versions.body["data"].as_array().unwrap().len(), 3);

    // Creating a tenant with a plan replays too.
    let body = r#"{"name":"n","plan":"business"}"#;
    let first = server
        .post_once("/tenants", ADMIN_KEY, "tn-1", body)
        .expect(201);
    let again = server
        .post_once("/tenants", ADMIN_KEY, "tn-1", body)
        .expect(201);
    assert!(again.replayed);
    assert_eq!(again.text, first.text);
}

#[test]
fn the_kill_switch_refuses_bad_input_other_tenants_and_agent_tokens() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let suspend = format!("/agents/{}/emergency-suspend", t.agent);
    let field = |answer: Answer| answer.body["error"]["field"].clone();
    for body in [
        json!({}),
        json!({"reason": "   "}),
        json!({"reason": 7}),
        json!({"reason": "x".repeat(2001)}),
    ] {
        let refused = server
            .post(&suspend, &t.key, body)
            .expect_error(400, "E_VALIDATION");
        assert_eq!(field(refused), "reason");
    }
    let refused = server
        .send("POST", &suspend, Some(&t.key), &[], None)
        .expect_error(400, "E_VALIDATION");
    assert_eq!(field(refused), "reason");
    server
        .post(&suspend, &t.key, json!({"reason": "x", "force": true}))
        .expect_error(400, "E_VALIDATION");
    server
        .post(&suspend, &t.token, json!({"reason": "x"}))
        .expect_error(403, "E_FORBIDDEN");
    server
        .post(&suspend, ADMIN_KEY, json!({"reason": "x"}))
        .expect_error(403, "E_FORBIDDEN");
    let b = Tenant::new(&server, "b");
    server
        .post(&suspend, &b.key, json!({"reason": "x"}))
        .expect_error(404, "E_NOT_FOUND");
    let agent_path = format!("/agents/{}", t.agent);
    for (path, body) in [
        (format!("{agent_path}/activate"), json!({})),
        (
            format!("{agent_path}/rollback"),
            json!({"targetVersion": 1}),
        ),
    ] {
        server
            .post(&path, &b.key, body)
            .expect_error(404, "E_NOT_FOUND");
    }
    server
        .get(&format!("{agent_path}/events"), &b.key)
        .expect_error(404, "E_NOT_FOUND");
    server
        .get(&format!("{agent_path}/events"), &t.token)
        .expect_error(403, "E_FORBIDDEN");
    server
        .post(
            "/agents/ag_nobody/emergency-suspend",
            &t.key,
            json!({"reason": "x"}),
        )
        .expect_error(404, "E_NOT_FOUND");
    // Nothing was written.
    assert_eq!(
        server.get(&agent_path, &t.key).expect(200).str("status"),
        "active"
    );
    assert!(events(&server, &t.key, &t.agent).is_empty());
    server.intent(&t.token, &t.agent, "1").expect(201);
}

#[test]
fn an_agents_events_page_newest_first() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let path = format!("/agents/{}", t.agent);
    for n in 0..3 {
        server
            .post(
                &format!("{path}/emergency-suspend"),
                &t.key,
                json!({"reason": format!("r{n}")}),
            )
            .expect(200);
        server
            .post(&format!("{path}/activate"), &t.key, json!({}))
            .expect(200);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = server
            .get(&format!("{path}/events?limit=4&cursor={cursor}"), &t.key)
            .expect(200);
        for event in page.body["data"].as_array().unwrap() {
            let text = |key: &str| event[key].as_str().unwrap().to_owned();
            seen.push((text("id"), text("at"), text("kind")));
        }
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    // The agent's token, issued with it, is an event too.
    seen.retain(|event| event.2 != "token-issued");
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().map(|e| &e.0).collect::<HashSet<_>>().len(), 6);
    let kinds: Vec<&str> = seen.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "activated").count(), 3);
    assert_eq!(
        kinds.iter().filter(|k| **k == "emergency-suspend").count(),
        3
    );
    // Newest first (ids are time-ordered, to the millisecond).
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let times: Vec<time::OffsetDateTime> = seen
        .iter()
        .map(|e| time::OffsetDateTime::parse(&e.1, rfc3339).unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    server
        .get(&format!("{path}/events?limit=0"), &t.key)
        .expect_error(400, "E_VALIDATION");
}

/// An archived agent holds nothing payable: archiving cancels its pending
/// and approved intents and revokes its tokens, in one write.
#[test]
fn archiving_an_agent_cancels_what_it_could_still_pay() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let pending = server.intent(&t.token, &t.agent, "60").expect(201);
    let approved = server.intent(&t.token, &t.agent, "5").expect(201);
    assert_eq!(pending.str("status"), "pending_approval");
    assert_eq!(approved.str("status"), "approved");
    let archived = server
        .delete(&format!("/agents/{}", t.agent), &t.key)
        .expect(200);
    assert_eq!(archived.str("status"), "archived");
    for id in [pending.str("id"), approved.str("id")] {
        let intent = server.get(&format!("/intents/{id}"), &t.key).expect(200);
        assert_eq!(intent.str("status"), "cancelled", "{}", intent.text);
        let last = intent.body["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert!(
            last["actor"].as_str().unwrap().starts_with("key:ak_"),
            "{last}"
        );
        assert_eq!(last["reason"], "its agent was archived");
    }
    server
        .get(&format!("/intents/{}", pending.str("id")), &t.token)
        .expect_error(401, "E_UNAUTHORIZED");
    // Archiving again answers the agent as it is.
    server
        .delete(&format!("/agents/{}", t.agent), &t.key)
        .expect(200);
}

/// Every change of an agent's status, and every token issued or revoked,
/// is among the agent's events, newest first, with who did it.
#[test]
fn tokens_and_status_changes_are_agent_events() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let path = format!("/agents/{}", t.agent);
    let second = server
        .post(
            &format!("{path}/tokens"),
            &t.key,
            json!({"permissions": ["intents:read"]}),
        )
        .expect(201);
    server
        .delete(&format!("{path}/tokens/{}", second.str("id")), &t.key)
        .expect(204);
    server
        .post(&format!("{path}/freeze"), &t.key, json!({}))
        .expect(200);
    server
        .post(&format!("{path}/unfreeze"), &t.key, json!({}))
        .expect(200);
    // A `PATCH` that moves the status is logged as the calls are; one that
    // leaves it is not.
    server
        .patch(&path, &t.key, json!({"status": "frozen"}))
        .expect(200);
    server
        .patch(
            &path,
            &t.key,
            json!({"status": "frozen", "name": "renamed"}),
        )
        .expect(200);
    server
        .patch(&path, &t.key, json!({"status": "active"}))
        .expect(200);
    server.delete(&path, &t.key).expect(200);
    let events = server.get(&format!("{path}/events"), &t.key).expect(200);
    let logged: Vec<(&str, &str)> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    let kinds: Vec<&str> = logged.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        [
            "archived",
            "unfrozen",
            "frozen",
            "unfrozen",
            "frozen",
            "token-revoked",
            "token-issued",
            "token-issued"
        ]
    );
    assert!(logged[5].1.contains(&second.str("id")), "{logged:?}");
    assert!(
        logged[6].1.ends_with("issued with intents:read"),
        "{logged:?}"
    );
    for event in events.body["data"].as_array().unwrap() {
        assert!(
            event["actor"].as_str().unwrap().starts_with("key:ak_"),
            "{event}"
        );
    }
}

/// Agents are listed by status and by type, as the registry lists them.
#[test]
fn agents_are_listed_by_status_and_type() {
    let server = Server::start();
    let key = server.tenant("acme");
    let policy = server.policy(&key);
    let agent = |name: &str, agent_type: &str| {
        let mut body = agent_body(&policy, name);
        body["agentType"] = json!(agent_type);
        server.post("/agents", &key, body).expect(201).str("id")
    };
    let autonomous = agent("a", "autonomous");
    let frozen = agent("b", "supervised");
    let archived = agent("c", "autonomous");
    server
        .post(&format!("/agents/{frozen}/freeze"), &key, json!({}))
        .expect(200);
    server
        .delete(&format!("/agents/{archived}"), &key)
        .expect(200);
    let listed = |query: &str| -> Vec<String> {
        let mut ids: Vec<String> = server
            .get(&format!("/agents?{query}"), &key)
            .expect(200)
            .body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(listed("status=frozen"), [frozen]);
    assert_eq!(
        listed("agentType=autonomous"),
        sorted(vec![autonomous.clone(), archived.clone()])
    );
    assert_eq!(listed("agentType=autonomous&status=active"), [autonomous]);
    assert_eq!(listed("status=archived&limit=1"), [archived]);
    server
        .get("/agents?status=sleeping", &key)
        .expect_error(400, "E_VALIDATION");
    server
        .get("/agents?agentType=robot", &key)
        .expect_error(400, "E_VALIDATION");
}
