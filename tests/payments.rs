//! From decision to money, end to end: cards that belong to one agent and
//! freeze with it, and secrets whose values no answer, log line, event or
//! database byte shows, revealed only to the agent's own token for its
//! approved intent at one of the secret's allowed hosts. Runs on SQLite,
//! and on PostgreSQL with `WARRANT_E2E_DATABASE=postgres`.

mod support;

use serde_json::{Value, json};
use support::Server;

/// A tenant with the quickstart policy (review above 50 EUR, at most 100)
/// and two agents: its key and the agents.
fn tenant(server: &Server, name: &str) -> (String, String, String) {
    let key = server.tenant(name);
    let policy = server.policy(&key);
    let buyer = server.agent(&key, &policy, "buyer");
    let other = server.agent(&key, &policy, "other");
    (key, buyer, other)
}

fn card(server: &Server, key: &str, body: Value) -> Value {
    server.post("/cards", key, body).expect(201).body
}

/// The events of the tenant's log of `event_type`, oldest first.
fn events(server: &Server, key: &str, event_type: &str) -> Vec<Value> {
    let mut found = server
        .get(&format!("/events?type={event_type}&limit=200"), key)
        .expect(200)
        .body["data"]
        .as_array()
        .unwrap()
        .clone();
    found.reverse();
    found
}

#[test]
fn cards_belong_to_one_agent_and_freeze_with_it() {
    let server = Server::start();
    let (key, buyer, other) = tenant(&server, "acme");

    let subs = card(
        &server,
        &key,
        json!({"agentId": buyer, "name": "subscriptions", "last4": "4242"}),
    );
    let id = subs["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ca_"), "{subs}");
    assert_eq!(subs["agentId"], buyer);
    assert_eq!(subs["currency"], "EUR");
    assert_eq!(subs["provider"], "generic");
    assert_eq!(subs["status"], "active");
    assert_eq!(subs["last4"], "4242");

    // A name is one card of its agent; another agent may use it.
    server
        .post(
            "/cards",
            &key,
            json!({"agentId": buyer, "name": "subscriptions"}),
        )
        .expect_error(409, "E_CONFLICT");
    let others = card(
        &server,
        &key,
        json!({"agentId": other, "name": "subscriptions", "currency": "USD"}),
    );
    assert_eq!(others["currency"], "USD");

    // Bad input names its field; nothing is made.
    for (body, field) in [
        (json!({"agentId": "ag_nobody", "name": "x"}), "agentId"),
        (json!({"agentId": buyer, "name": "  "}), "name"),
        (
            json!({"agentId": buyer, "name": "x", "last4": "42"}),
            "last4",
        ),
        (
            json!({"agentId": buyer, "name": "x", "currency": "EURO"}),
            "currency",
        ),
        (
            json!({"agentId": buyer, "name": "x", "provider": "stripe"}),
            "externalId",
        ),
        (
            json!({"agentId": buyer, "name": "x", "provider": "stripe", "externalId": "card_1"}),
            "externalId",
        ),
        (
            json!({"agentId": buyer, "name": "x", "provider": "visa"}),
            "provider",
        ),
        (
            json!({"agentId": buyer, "name": "x", "color": "red"}),
            "color",
        ),
        (json!({"name": "x"}), "agentId"),
    ] {
        let answer = server
            .post("/cards", &key, body.clone())
            .expect_error(400, "E_VALIDATION");
        assert_eq!(
            answer.body["error"]["field"], field,
            "{body}: {}",
            answer.text
        );
    }
    server
        .post_text("/cards", &key, "{\"agentId\":")
        .expect_error(400, "E_VALIDATION");
    let stripe = card(
        &server,
        &key,
        json!({"agentId": buyer, "name": "stripe", "provider": "stripe", "externalId": "ic_1Abc"}),
    );
    assert_eq!(stripe["externalId"], "ic_1Abc");
    // A provider's card is one card of the tenant.
    server
        .post(
            "/cards",
            &key,
            json!({"agentId": other, "name": "again", "provider": "stripe", "externalId": "ic_1Abc"}),
        )
        .expect_error(409, "E_CONFLICT");

    // Listing, filtered by agent, a page at a time.
    let listed = server
        .get(&format!("/cards?agentId={buyer}"), &key)
        .expect(200)
        .body;
    let names: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["stripe", "subscriptions"]);
    let first = server.get("/cards?limit=1", &key).expect(200).body;
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    let cursor = first["nextCursor"].as_str().unwrap();
    let rest = server
        .get(&format!("/cards?limit=5&cursor={cursor}"), &key)
        .expect(200)
        .body;
    assert_eq!(rest["data"].as_array().unwrap().len(), 2);

    // Renamed, frozen (twice is once), unfrozen.
    let renamed = server
        .patch(&format!("/cards/{id}"), &key, json!({"name": "servers"}))
        .expect(200)
        .body;
    assert_eq!(renamed["name"], "servers");
    server
        .patch(&format!("/cards/{id}"), &key, json!({"last4": "12345"}))
        .expect_error(400, "E_VALIDATION");
    for _ in 0..2 {
        let frozen = server
            .post(&format!("/cards/{id}/freeze"), &key, json!({}))
            .expect(200)
            .body;
        assert_eq!(frozen["status"], "frozen");
    }
    let active = server
        .post(&format!("/cards/{id}/unfreeze"), &key, json!({}))
        .expect(200)
        .body;
    assert_eq!(active["status"], "active");
    let frozen_events = events(&server, &key, "card.frozen");
    assert_eq!(frozen_events.len(), 1, "a second freeze changes nothing");
    assert_eq!(frozen_events[0]["data"]["id"], id.as_str());
    assert_eq!(events(&server, &key, "card.created").len(), 3);

    // An agent's token sees its own agent's cards alone; another tenant
    // sees none of them.
    let token = server.token(&key, &buyer);
    let own = server.get("/cards", &token).expect(200).body;
    assert_eq!(own["data"].as_array().unwrap().len(), 2);
    let others_id = others["id"].as_str().unwrap();
    server
        .get(&format!("/cards/{others_id}"), &token)
        .expect_error(404, "E_NOT_FOUND");
    server
        .get(&format!("/cards?agentId={other}"), &token)
        .expect(403);
    server
        .post(&format!("/cards/{id}/freeze"), &token, json!({}))
        .expect(403);
    let (stranger, _, _) = tenant(&server, "globex");
    server
        .get(&format!("/cards/{id}"), &stranger)
        .expect_error(404, "E_NOT_FOUND");
    server
        .post(&format!("/cards/{id}/freeze"), &stranger, json!({}))
        .expect_error(404, "E_NOT_FOUND");
    assert_eq!(
        server.get("/cards", &stranger).expect(200).body["data"],
        json!([])
    );

    // Suspending the agent freezes its cards; they stay frozen while it is.
    server
        .post(
            &format!("/agents/{buyer}/emergency-suspend"),
            &key,
            json!({"reason": "lost laptop"}),
        )
        .expect(200);
    for card in server
        .get(&format!("/cards?agentId={buyer}"), &key)
        .expect(200)
        .body["data"]
        .as_array()
        .unwrap()
    {
        assert_eq!(card["status"], "frozen", "{card}");
    }
    server
        .post(&format!("/cards/{id}/unfreeze"), &key, json!({}))
        .expect_error(409, "E_AGENT_NOT_ACTIVE");
    // Archiving does too.
    server.delete(&format!("/agents/{other}"), &key).expect(200);
    assert_eq!(
        server
            .get(&format!("/cards/{others_id}"), &key)
            .expect(200)
            .body["status"],
        "frozen"
    );
    server
        .post("/cards", &key, json!({"agentId": other, "name": "late"}))
        .expect_error(409, "E_AGENT_NOT_ACTIVE");

    // Closed is for good; its name is free again.
    let closed = server
        .delete(&format!("/cards/{id}"), &key)
        .expect(200)
        .body;
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        server
            .delete(&format!("/cards/{id}"), &key)
            .expect(200)
            .body["status"],
        "closed"
    );
    server
        .post(&format!("/cards/{id}/unfreeze"), &key, json!({}))
        .expect_error(409, "E_CONFLICT");
    server
        .post(&format!("/cards/{id}/freeze"), &key, json!({}))
        .expect_error(409, "E_CONFLICT");
    server
        .patch(&format!("/cards/{id}"), &key, json!({"name": "x"}))
        .expect_error(409, "E_CONFLICT");
    card(&server, &key, json!({"agentId": buyer, "name": "servers"}));
    assert_eq!(events(&server, &key, "card.closed").len(), 1);
}

#[test]
fn a_secret_is_revealed_only_for_an_approved_intent_at_an_allowed_host() {
    const NUMBER: &str = "4000-0566-5566-5556 exp 12/30 cvc 737";
    const SIGNING: &str = "whsec_tenant_signing_value_7Qz";
    const UNREVEALED: &str = "sk_live_never_revealed_Xy91";
    let server = Server::start_with(&["--log-format", "json"]);
    let (key, buyer, other) = tenant(&server, "acme");
    let secrets = format!("/agents/{buyer}/secrets");

    // Set: 201, then 200 when replaced; never the value.
    let set = server
        .send(
            "PUT",
            &format!("{secrets}/CARD_NUMBER"),
            Some(&key),
            &[],
            Some(
                json!({"value": "old", "allowedHosts": ["Hetzner.com"]})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .expect(201);
    assert_eq!(set.body["key"], "CARD_NUMBER");
    assert_eq!(set.body["allowedHosts"], json!(["hetzner.com"]));
    assert!(set.body.get("value").is_none(), "{}", set.text);
    let put = |path: &str, body: Value| {
        server.send(
            "PUT",
            path,
            Some(&key),
            &[],
            Some(body.to_string().as_bytes()),
        )
    };
    put(
        &format!("{secrets}/CARD_NUMBER"),
        json!({"value": NUMBER, "allowedHosts": ["hetzner.com"]}),
    )
    .expect(200);
    put(&format!("{secrets}/API_KEY"), json!({"value": UNREVEALED})).expect(201);
    put("/secrets/STRIPE_SIGNING_SECRET", json!({"value": SIGNING})).expect(201);

    // Bad input: 400 naming the field; nothing set.
    for (path, body, field) in [
        (format!("{secrets}/bad%20key"), json!({"value": "v"}), "key"),
        (format!("{secrets}/K"), json!({"value": ""}), "value"),
        (
            format!("{secrets}/K"),
            json!({"value": "v", "allowedHosts": ["https://shop.example"]}),
            "allowedHosts[0]",
        ),
        (
            format!("{secrets}/K"),
            json!({"value": "x".repeat(8 * 1024 + 1)}),
            "value",
        ),
        (format!("{secrets}/K"), json!({"allowedHosts": []}), "value"),
        (format!("{secrets}/K"), json!({"value": 4}), "value"),
    ] {
        let answer = put(&path, body).expect_error(400, "E_VALIDATION");
        assert_eq!(
            answer.body["error"]["field"], field,
            "{path}: {}",
            answer.text
        );
    }
    put("/agents/ag_nobody/secrets/K", json!({"value": "v"})).expect_error(404, "E_NOT_FOUND");

    // Metadata only.
    let listed = server.get(&secrets, &key).expect(200);
    let keys: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["API_KEY", "CARD_NUMBER"]);
    assert_eq!(
        server.get("/secrets", &key).expect(200).body["data"][0]["key"],
        "STRIPE_SIGNING_SECRET"
    );

    // Tokens: one that may reveal, one that may not, and another agent's.
    let token = |agent: &str, permissions: Value| {
        server
            .post(
                &format!("/agents/{agent}/tokens"),
                &key,
                json!({"permissions": permissions}),
            )
            .expect(201)
            .str("token")
    };
    let revealer = token(
        &buyer,
        json!(["intents:create", "intents:read", "secrets:reveal"]),
    );
    let plain = server.token(&key, &buyer);
    let stranger = token(
        &other,
        json!(["intents:create", "intents:read", "secrets:reveal"]),
    );
    assert_eq!(
        server.get(&secrets, &revealer).expect(200).body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    server
        .get(&secrets, &stranger)
        .expect_error(403, "E_AGENT_ISOLATION");
    put(
        &format!("/agents/{other}/secrets/CARD_NUMBER"),
        json!({"value": "other's", "allowedHosts": ["hetzner.com"]}),
    )
    .expect(201);

    let declare = |token: &str, amount: &str, merchant: &str| {
        server
            .post(
                "/intents",
                token,
                json!({"cardName": "subscriptions", "purpose": "renew the server",
                       "expectedAmountEuros": amount.parse::<f64>().unwrap(), "expectedMerchant": merchant}),
            )
            .expect(201)
            .body
    };
    let approved = declare(&revealer, "20", "hetzner.com");
    assert_eq!(approved["status"], "approved");
    let intent = approved["id"].as_str().unwrap().to_owned();
    let reveal = |token: &str, intent: &str, secret: &str| {
        server.post(
            &format!("/intents/{intent}/secrets/{secret}/reveal"),
            token,
            json!({}),
        )
    };

    // Revealed, and on the intent's history by its key.
    let revealed = reveal(&revealer, &intent, "CARD_NUMBER").expect(200);
    assert_eq!(revealed.body["value"], NUMBER);
    assert_eq!(revealed.body["intentId"], intent.as_str());
    let shown = server
        .get(&format!("/intents/{intent}"), &key)
        .expect(200)
        .body;
    let history = shown["history"].as_array().unwrap();
    let entry = history.last().unwrap();
    assert_eq!(entry["kind"], "secret_revealed", "{shown}");
    assert_eq!(
        (entry["from"].as_str(), entry["to"].as_str()),
        (Some("approved"), Some("approved"))
    );
    assert!(entry["reason"].as_str().unwrap().contains("CARD_NUMBER"));
    assert_eq!(shown["status"], "approved");
    assert_eq!(events(&server, &key, "intent.secret_revealed").len(), 1);
    let receipts = server
        .get(&format!("/intents/{intent}/receipts"), &key)
        .expect(200)
        .body;
    assert_eq!(receipts["data"].as_array().unwrap().len(), history.len());
    assert_eq!(
        server.get("/receipts/verify", &key).expect(200).body["intact"],
        true
    );

    // Refused: without the permission, to the tenant's key, to another
    // agent, for a secret without hosts, for a key that is not there,
    // for another merchant, and for an intent not approved.
    reveal(&plain, &intent, "CARD_NUMBER").expect_error(403, "E_FORBIDDEN");
    reveal(&key, &intent, "CARD_NUMBER").expect_error(403, "E_FORBIDDEN");
    reveal(&stranger, &intent, "CARD_NUMBER").expect_error(403, "E_AGENT_ISOLATION");
    reveal(&revealer, &intent, "API_KEY").expect_error(403, "E_FORBIDDEN");
    reveal(&revealer, &intent, "STRIPE_SIGNING_SECRET").expect_error(404, "E_NOT_FOUND");
    reveal(&revealer, &intent, "bad%20key").expect_error(400, "E_VALIDATION");
    reveal(&revealer, "int_nothing", "CARD_NUMBER").expect_error(404, "E_NOT_FOUND");
    let elsewhere = declare(&revealer, "20", "api.hetzner.com");
    reveal(&revealer, elsewhere["id"].as_str().unwrap(), "CARD_NUMBER")
        .expect_error(403, "E_FORBIDDEN");
    let pending = declare(&revealer, "70", "hetzner.com");
    assert_eq!(pending["status"], "pending_approval");
    let refused = reveal(&revealer, pending["id"].as_str().unwrap(), "CARD_NUMBER")
        .expect_error(409, "E_INVALID_TRANSITION");
    assert_eq!(
        refused.body["error"]["status"], "pending_approval",
        "{}",
        refused.text
    );
    server
        .post(&format!("/intents/{intent}/cancel"), &key, json!({}))
        .expect(200);
    reveal(&revealer, &intent, "CARD_NUMBER").expect_error(409, "E_INVALID_TRANSITION");
    server
        .delete("/secrets/STRIPE_SIGNING_SECRET", &revealer)
        .expect_error(403, "E_FORBIDDEN");
    // A suspended agent's approved intents are cancelled: nothing left.
    let again = declare(&revealer, "10", "hetzner.com");
    reveal(&revealer, again["id"].as_str().unwrap(), "CARD_NUMBER").expect(200);
    server
        .post(
            &format!("/agents/{buyer}/emergency-suspend"),
            &key,
            json!({"reason": "test"}),
        )
        .expect(200);

    // Deleted: gone, and once.
    server
        .delete(&format!("{secrets}/API_KEY"), &key)
        .expect(204);
    server
        .delete(&format!("{secrets}/API_KEY"), &key)
        .expect_error(404, "E_NOT_FOUND");
    assert_eq!(events(&server, &key, "secret.set").len(), 5);
    assert_eq!(events(&server, &key, "secret.deleted").len(), 1);

    // No value in any event, log line, or byte of the database.
    let log = server.get("/events?limit=200", &key).expect(200).text;
    let lines = server.log_lines().join("\n");
    let stored = server.stored_bytes();
    for value in [NUMBER, SIGNING, UNREVEALED] {
        assert!(!log.contains(value), "an event shows a secret");
        assert!(!lines.contains(value), "a log line shows a secret");
        assert!(
            !stored.windows(value.len()).any(|w| w == value.as_bytes()),
            "the database holds a secret in clear"
        );
    }
}
