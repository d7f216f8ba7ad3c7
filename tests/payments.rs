//! From decision to money, end to end: cards that belong to one agent and
//! freeze with it, and secrets whose values no answer, log line, event or
//! database byte shows, revealed only to the agent's own token for its
//! approved intent at one of the secret's allowed hosts. Runs on SQLite,
//! and on PostgreSQL with `WARRANT_E2E_DATABASE=postgres`.

mod support;

use serde_json::{Value, json};
use support::Server;

/// A tenant with the quickstart policy (review above 50 EUR, at most 100)
/// and two agents without cards: its key and the agents.
fn tenant(server: &Server, name: &str) -> (String, String, String) {
    let key = server.tenant(name);
    let policy = server.policy(&key);
    let buyer = server.bare_agent(&key, &policy, "buyer");
    let other = server.bare_agent(&key, &policy, "other");
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
    server.card(&key, &buyer, "servers");
    assert_eq!(events(&server, &key, "card.closed").len(), 1);
}

/// An intent names one of its agent's cards, by id or by name, and shows
/// both; no other card is accepted, and a frozen one gets nothing declared.
/// An authorization finds the intent by its card, renamed since or not.
#[test]
fn an_intent_is_declared_on_a_card_of_its_agent() {
    let server = Server::start();
    let (key, buyer, other) = tenant(&server, "acme");
    let subs = server.card(&key, &buyer, "subscriptions");
    let theirs = server.card(&key, &other, "theirs");
    let body = |card: Value| {
        let mut body = json!({"agentId": buyer, "purpose": "renew the server",
                              "expectedAmountEuros": 20, "expectedMerchant": "hetzner.com"});
        body.as_object_mut()
            .unwrap()
            .extend(card.as_object().unwrap().clone());
        body
    };

    let mut declared = Vec::new();
    for card in [
        json!({"cardName": "subscriptions"}),
        json!({"cardId": subs}),
    ] {
        let intent = server.post("/intents", &key, body(card)).expect(201).body;
        assert_eq!(intent["cardId"], subs.as_str(), "{intent}");
        assert_eq!(intent["cardName"], "subscriptions", "{intent}");
        declared.push(intent["id"].as_str().unwrap().to_owned());
    }

    // No card of this agent's: 400 naming the field, nothing stored.
    let closed = server.card(&key, &buyer, "old");
    server.delete(&format!("/cards/{closed}"), &key).expect(200);
    for card in [
        json!({"cardName": "nope"}),
        json!({"cardId": "ca_nope"}),
        json!({"cardId": theirs}),
        json!({"cardName": "theirs"}),
        json!({"cardName": "old"}),
        json!({"cardName": "SUBSCRIPTIONS"}),
    ] {
        let field = card.as_object().unwrap().keys().next().unwrap().clone();
        let answer = server
            .post("/intents", &key, body(card.clone()))
            .expect_error(400, "E_VALIDATION");
        assert_eq!(answer.body["error"]["field"], field.as_str(), "{card}");
    }
    // A closed card named by its id is no card to pay with.
    server
        .post("/intents", &key, body(json!({"cardId": closed})))
        .expect_error(409, "E_CARD_FROZEN");
    let listed = server
        .get(&format!("/intents?agentId={buyer}"), &key)
        .expect(200)
        .body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2, "{listed}");

    // Frozen: nothing is declared on it until it is unfrozen.
    server
        .post(&format!("/cards/{subs}/freeze"), &key, json!({}))
        .expect(200);
    server
        .post("/intents", &key, body(json!({"cardName": "subscriptions"})))
        .expect_error(409, "E_CARD_FROZEN");
    server
        .post(&format!("/cards/{subs}/unfreeze"), &key, json!({}))
        .expect(200);

    // Renamed, the card still pays for what was declared on it; the intent
    // shows the name it was declared with.
    server
        .patch(&format!("/cards/{subs}"), &key, json!({"name": "servers"}))
        .expect(200);
    let approved = authorize(&server, &key, at_hetzner(&subs, 2000));
    assert_eq!(approved["approved"], true, "{approved}");
    assert_eq!(approved["intentId"], declared[0].as_str());
    let intent = server
        .get(&format!("/intents/{}", declared[0]), &key)
        .expect(200)
        .body;
    assert_eq!(intent["cardName"], "subscriptions");
    assert_eq!(intent["status"], "authorized");
    // Another agent's card authorizes none of them.
    let answer = authorize(&server, &key, at_hetzner(&theirs, 2000));
    assert_eq!(answer["code"], "E_NO_INTENT", "{answer}");
}

#[test]
fn a_secret_is_revealed_only_for_an_approved_intent_at_an_allowed_host() {
    const NUMBER: &str = "4000-0566-5566-5556 exp 12/30 cvc 737";
    const SIGNING: &str = "whsec_tenant_signing_value_7Qz";
    const UNREVEALED: &str = "sk_live_never_revealed_Xy91";
    let server = Server::start_with(&["--log-format", "json"]);
    let (key, buyer, other) = tenant(&server, "acme");
    server.card(&key, &buyer, "subscriptions");
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

/// An authorization's body for `amount` cents at hetzner.com.
fn at_hetzner(card: &str, amount: u64) -> Value {
    json!({"cardId": card, "amount": amount, "currency": "EUR",
           "merchant": {"name": "HETZNER ONLINE GMBH", "domain": "hetzner.com", "mcc": "4816", "country": "de"}})
}

fn declare(
    server: &Server,
    key: &str,
    agent: &str,
    card: &str,
    euros: &str,
    merchant: &str,
) -> Value {
    server
        .post_text(
            "/intents",
            key,
            &format!(
                r#"{{"agentId":"{agent}","cardName":"{card}","purpose":"renew the server","expectedAmountEuros":{euros},"expectedMerchant":"{merchant}"}}"#
            ),
        )
        .expect(201)
        .body
}

fn authorize(server: &Server, key: &str, body: Value) -> Value {
    server.post("/authorizations", key, body).expect(200).body
}

fn declined(server: &Server, key: &str, body: Value, code: &str) -> Value {
    let answer = authorize(server, key, body);
    assert_eq!(answer["approved"], false, "{answer}");
    assert_eq!(answer["code"], code, "{answer}");
    assert_eq!(answer["status"], "declined");
    answer
}

fn status(server: &Server, key: &str, intent: &str) -> String {
    server
        .get(&format!("/intents/{intent}"), key)
        .expect(200)
        .body["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn money_moves_only_against_an_approved_intent_and_lands_in_the_ledger() {
    let server = Server::start();
    let (key, buyer, other) = tenant(&server, "acme");
    let card_id = server.card(&key, &buyer, "subscriptions");

    // Nothing declared: declined, recorded, never an error.
    declined(&server, &key, at_hetzner(&card_id, 4510), "E_NO_INTENT");

    // Declared and approved; the agent gets the card's number for it.
    let intent = declare(
        &server,
        &key,
        &buyer,
        "subscriptions",
        "45.10",
        "hetzner.com",
    );
    assert_eq!(intent["status"], "approved");
    let intent = intent["id"].as_str().unwrap().to_owned();

    // Declines for what does not match, each with its code.
    let mut usd = at_hetzner(&card_id, 4510);
    usd["currency"] = json!("USD");
    declined(&server, &key, usd, "E_CURRENCY_MISMATCH");
    let mut aws = at_hetzner(&card_id, 4510);
    aws["merchant"] = json!({"name": "AWS EMEA", "domain": "aws.amazon.com"});
    let answer = declined(&server, &key, aws, "E_MERCHANT_MISMATCH");
    assert_eq!(
        answer["intentId"],
        intent.as_str(),
        "the closest intent is named"
    );
    declined(
        &server,
        &key,
        at_hetzner(&card_id, 4511),
        "E_AMOUNT_MISMATCH",
    );
    assert_eq!(status(&server, &key, &intent), "approved");

    // Approved: the intent is taken and its amount reserved.
    let approved = authorize(&server, &key, at_hetzner(&card_id, 4510));
    assert_eq!(approved["approved"], true, "{approved}");
    assert_eq!(approved["code"], "approved");
    assert_eq!(approved["status"], "pending");
    assert_eq!(approved["intentId"], intent.as_str());
    assert_eq!(approved["merchant"]["country"], "DE");
    let auth = approved["id"].as_str().unwrap().to_owned();
    assert!(auth.starts_with("auth_"));
    assert_eq!(status(&server, &key, &intent), "authorized");
    let usage = server
        .get(&format!("/agents/{buyer}/usage"), &key)
        .expect(200)
        .text;
    assert!(
        usage.contains(r#""lastDay":{"count":1,"spendEuros":45.10,"#),
        "{usage}"
    );
    // A one-off intent is consumed by its first approved authorization.
    declined(&server, &key, at_hetzner(&card_id, 4510), "E_NO_INTENT");
    // Nobody cancels an authorized intent from under its authorization.
    server
        .post(&format!("/intents/{intent}/cancel"), &key, json!({}))
        .expect_error(409, "E_INVALID_TRANSITION");

    // Captured for a little more: the intent completes, flagged as
    // `/verify` would flag it, and the ledger has the capture.
    let captured = server
        .post(
            &format!("/authorizations/{auth}/capture"),
            &key,
            json!({"amount": 4600}),
        )
        .expect(200)
        .body;
    assert_eq!(captured["authorization"]["status"], "captured");
    assert_eq!(captured["authorization"]["capturedAmount"], 4600);
    let capture = captured["transaction"].clone();
    assert_eq!(capture["kind"], "capture");
    assert_eq!(capture["amount"], 4600);
    assert_eq!(capture["intentId"], intent.as_str());
    let shown = server.get(&format!("/intents/{intent}"), &key).expect(200);
    assert_eq!(shown.body["status"], "completed");
    assert_eq!(
        shown.body["settlement"]["flags"],
        json!(["amount-deviation"]),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains(r#""actualAmountEuros":46.00"#),
        "{}",
        shown.text
    );
    server
        .post(&format!("/authorizations/{auth}/capture"), &key, json!({}))
        .expect_error(409, "E_CONFLICT");
    server
        .post(&format!("/authorizations/{auth}/reverse"), &key, json!({}))
        .expect_error(409, "E_CONFLICT");

    // Refunds, at most what was captured.
    let capture_id = capture["id"].as_str().unwrap();
    let refund = |amount: u64| {
        server.post(
            &format!("/transactions/{capture_id}/refund"),
            &key,
            json!({"amount": amount}),
        )
    };
    let first = refund(1000).expect(201).body;
    assert_eq!(
        (first["kind"].as_str(), first["refundOf"].as_str()),
        (Some("refund"), Some(capture_id))
    );
    let too_much = refund(3601).expect_error(409, "E_CONFLICT");
    assert!(
        too_much.text.contains("36.00 EUR left"),
        "{}",
        too_much.text
    );
    refund(3600).expect(201);
    refund(1).expect_error(409, "E_CONFLICT");
    let first_id = first["id"].as_str().unwrap();
    server
        .post(
            &format!("/transactions/{first_id}/refund"),
            &key,
            json!({"amount": 1}),
        )
        .expect_error(409, "E_CONFLICT");
    refund(0).expect_error(400, "E_VALIDATION");

    // The ledger, by intent, card and agent, exact.
    let ledger = server
        .get(&format!("/transactions?intentId={intent}"), &key)
        .expect(200)
        .body;
    let amounts: Vec<(String, u64)> = ledger["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_owned(),
                t["amount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        amounts,
        [
            ("refund".into(), 3600),
            ("refund".into(), 1000),
            ("capture".into(), 4600)
        ]
    );
    assert_eq!(
        server
            .get(&format!("/transactions?cardId={card_id}&limit=1"), &key)
            .expect(200)
            .body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        server
            .get(&format!("/transactions?agentId={other}"), &key)
            .expect(200)
            .body["data"],
        json!([])
    );
    assert_eq!(
        server
            .get(&format!("/transactions/{capture_id}"), &key)
            .expect(200)
            .body["amount"],
        4600
    );

    // A reversal releases the intent, which another authorization takes.
    let intent = declare(&server, &key, &buyer, "subscriptions", "20", "hetzner.com")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let auth = authorize(&server, &key, at_hetzner(&card_id, 2000))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reversed = server
        .post(&format!("/authorizations/{auth}/reverse"), &key, json!({}))
        .expect(200)
        .body;
    assert_eq!(reversed["status"], "reversed");
    assert_eq!(status(&server, &key, &intent), "approved");
    let again = authorize(&server, &key, at_hetzner(&card_id, 2000));
    assert_eq!(
        (again["approved"].as_bool(), again["intentId"].as_str()),
        (Some(true), Some(intent.as_str()))
    );
    server
        .get(&format!("/authorizations/{auth}"), &key)
        .expect(200);

    // The issuer's id makes a repeated authorization one.
    let declared = declare(&server, &key, &buyer, "subscriptions", "10", "hetzner.com");
    let mut once = at_hetzner(&card_id, 1000);
    once["externalId"] = json!("iauth_1");
    let first = authorize(&server, &key, once.clone());
    let second = authorize(&server, &key, once);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(first["approved"], true);
    assert_eq!(
        status(&server, &key, declared["id"].as_str().unwrap()),
        "authorized"
    );

    // A frozen card and an agent that is not active get nothing.
    declare(&server, &key, &buyer, "subscriptions", "5", "hetzner.com");
    let pending = declare(&server, &key, &buyer, "subscriptions", "60", "hetzner.com");
    assert_eq!(pending["status"], "pending_approval");
    server
        .post(&format!("/cards/{card_id}/freeze"), &key, json!({}))
        .expect(200);
    declined(&server, &key, at_hetzner(&card_id, 500), "E_CARD_FROZEN");
    server
        .post(
            &format!("/intents/{}/approve", pending["id"].as_str().unwrap()),
            &key,
            json!({}),
        )
        .expect_error(409, "E_CARD_FROZEN");
    server
        .post(&format!("/cards/{card_id}/unfreeze"), &key, json!({}))
        .expect(200);
    server
        .post(&format!("/agents/{buyer}/freeze"), &key, json!({}))
        .expect(200);
    declined(
        &server,
        &key,
        at_hetzner(&card_id, 500),
        "E_AGENT_NOT_ACTIVE",
    );
    server
        .post(&format!("/agents/{buyer}/unfreeze"), &key, json!({}))
        .expect(200);
    assert_eq!(
        authorize(&server, &key, at_hetzner(&card_id, 500))["approved"],
        true
    );

    // Bad input: 4xx naming the field, never a 5xx; nothing recorded.
    for (body, field) in [
        (
            json!({"amount": 100, "currency": "EUR", "merchant": {"name": "x"}}),
            "cardId",
        ),
        (
            json!({"cardId": card_id, "externalCardId": "x", "amount": 100, "currency": "EUR", "merchant": {"name": "x"}}),
            "cardId",
        ),
        (
            json!({"cardId": card_id, "amount": 0, "currency": "EUR", "merchant": {"name": "x"}}),
            "amount",
        ),
        (
            json!({"cardId": card_id, "amount": -5, "currency": "EUR", "merchant": {"name": "x"}}),
            "amount",
        ),
        (
            json!({"cardId": card_id, "amount": 1.5, "currency": "EUR", "merchant": {"name": "x"}}),
            "amount",
        ),
        (
            json!({"cardId": card_id, "amount": 100, "currency": "EURO", "merchant": {"name": "x"}}),
            "currency",
        ),
        (
            json!({"cardId": card_id, "amount": 100, "currency": "EUR", "merchant": {}}),
            "merchant.name",
        ),
        (
            json!({"cardId": card_id, "amount": 100, "currency": "EUR", "merchant": {"name": "x", "mcc": "1"}}),
            "merchant.mcc",
        ),
        (
            json!({"cardId": card_id, "amount": 100, "currency": "EUR"}),
            "merchant",
        ),
        (
            json!({"cardId": card_id, "amount": 100, "currency": "EUR", "merchant": {"name": "x"}, "tip": 1}),
            "tip",
        ),
    ] {
        let answer = server
            .post("/authorizations", &key, body.clone())
            .expect_error(400, "E_VALIDATION");
        assert_eq!(
            answer.body["error"]["field"], field,
            "{body}: {}",
            answer.text
        );
    }
    server
        .post_text("/authorizations", &key, "{")
        .expect_error(400, "E_VALIDATION");
    server
        .post("/authorizations", &key, at_hetzner("ca_nothing", 100))
        .expect_error(404, "E_NOT_FOUND");
    let mut external = at_hetzner(&card_id, 100);
    external.as_object_mut().unwrap().remove("cardId");
    external["externalCardId"] = json!("ic_unknown");
    server
        .post("/authorizations", &key, external)
        .expect_error(404, "E_NOT_FOUND");
    server
        .post(
            &format!("/authorizations/{auth}/capture"),
            &key,
            json!({"amount": "12"}),
        )
        .expect_error(400, "E_VALIDATION");

    // Isolation: an agent's token neither authorizes nor captures; another
    // tenant sees none of it.
    let token = server.token(&key, &buyer);
    server
        .post("/authorizations", &token, at_hetzner(&card_id, 100))
        .expect(403);
    server
        .post(
            &format!("/authorizations/{auth}/reverse"),
            &token,
            json!({}),
        )
        .expect(403);
    server
        .get(&format!("/authorizations/{auth}"), &token)
        .expect(200);
    let own = server.get("/transactions", &token).expect(200).body;
    assert_eq!(own["data"].as_array().unwrap().len(), 3);
    let (stranger, _, _) = tenant(&server, "globex");
    server
        .post("/authorizations", &stranger, at_hetzner(&card_id, 100))
        .expect_error(404, "E_NOT_FOUND");
    server
        .get(&format!("/authorizations/{auth}"), &stranger)
        .expect_error(404, "E_NOT_FOUND");
    server
        .post(
            &format!("/authorizations/{auth}/capture"),
            &stranger,
            json!({}),
        )
        .expect_error(404, "E_NOT_FOUND");
    server
        .get(&format!("/transactions/{capture_id}"), &stranger)
        .expect_error(404, "E_NOT_FOUND");
    server
        .post(
            &format!("/transactions/{capture_id}/refund"),
            &stranger,
            json!({"amount": 1}),
        )
        .expect_error(404, "E_NOT_FOUND");
    assert_eq!(
        server.get("/transactions", &stranger).expect(200).body["data"],
        json!([])
    );

    // Every step is an event and the receipts still chain.
    for (event_type, at_least) in [
        ("authorization.approved", 4),
        ("authorization.declined", 7),
        ("authorization.captured", 1),
        ("authorization.reversed", 1),
        ("transaction.captured", 1),
        ("transaction.refunded", 2),
        ("intent.authorized", 4),
    ] {
        let found = events(&server, &key, event_type).len();
        assert!(found >= at_least, "{event_type}: {found}");
    }
    assert_eq!(
        server.get("/receipts/verify", &key).expect(200).body["intact"],
        true
    );
}

#[test]
fn a_reservation_counts_in_the_budget_and_the_policys_tolerance_applies() {
    let server = Server::start();
    let key = server.tenant("acme");
    let policy = server
        .post(
            "/policies",
            &key,
            json!({"name": "budgeted", "amountTolerancePercent": 10,
                   "rules": [{"plugin": "budget", "config": {"maxDailyEuros": 100}}]}),
        )
        .expect(201)
        .str("id");
    let agent = server.bare_agent(&key, &policy, "buyer");
    let card_id = server.card(&key, &agent, "subscriptions");
    let first = declare(&server, &key, &agent, "subscriptions", "50", "hetzner.com");
    assert_eq!(first["status"], "approved");
    // 10 % over the declared 50 EUR is within the policy's tolerance; 55.01 is not.
    declined(
        &server,
        &key,
        at_hetzner(&card_id, 5501),
        "E_AMOUNT_MISMATCH",
    );
    let auth = authorize(&server, &key, at_hetzner(&card_id, 5500));
    assert_eq!(auth["approved"], true, "{auth}");
    // The reservation (55 EUR, not the declared 50) counts in the budget:
    // 46 more would be 101.
    let over = declare(&server, &key, &agent, "subscriptions", "46", "hetzner.com");
    assert_eq!(over["status"], "denied", "{over}");
    // Released, the intent counts its declared 50 again: 46 more fit.
    let auth = auth["id"].as_str().unwrap();
    server
        .post(&format!("/authorizations/{auth}/reverse"), &key, json!({}))
        .expect(200);
    let fits = declare(&server, &key, &agent, "subscriptions", "46", "hetzner.com");
    assert_eq!(fits["status"], "approved", "{fits}");
}

#[test]
fn of_twenty_concurrent_authorizations_of_one_intent_on_two_servers_one_is_approved() {
    let first = Server::start();
    let second = first.sibling();
    let (key, buyer, _) = tenant(&first, "acme");
    let card_id = first.card(&key, &buyer, "subscriptions");
    let intent = declare(
        &first,
        &key,
        &buyer,
        "subscriptions",
        "45.10",
        "hetzner.com",
    );
    assert_eq!(intent["status"], "approved");
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let server = if i % 2 == 0 { &first } else { &second };
                let (key, card_id) = (&key, &card_id);
                scope.spawn(move || authorize(server, key, at_hetzner(card_id, 4510)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let approved: Vec<&Value> = answers.iter().filter(|a| a["approved"] == true).collect();
    assert_eq!(approved.len(), 1, "{answers:?}");
    assert_eq!(approved[0]["intentId"], intent["id"]);
    for answer in answers.iter().filter(|a| a["approved"] == false) {
        assert_eq!(answer["code"], "E_NO_INTENT", "{answer}");
    }
    assert_eq!(
        status(&first, &key, intent["id"].as_str().unwrap()),
        "authorized"
    );
}

const STRIPE_SECRET: &str = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";

/// `Stripe-Signature` as Stripe makes it: HMAC-SHA256 of `t.payload` with
/// the endpoint's signing secret, hex, as `t=…,v1=…`.
fn stripe_signature(secret: &str, at: i64, payload: &str) -> String {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{at}.{payload}").as_bytes());
    format!("t={at},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An event shaped like Stripe's documented ones.
fn stripe_event(id: &str, event_type: &str, object: Value) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": unix_now(),
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": event_type,
        "data": {"object": object}
    })
    .to_string()
}

/// An `issuing.authorization` of `amount` cents on card `card` at Hetzner.
fn issuing_authorization(id: &str, card: &str, amount: u64, status: &str) -> Value {
    json!({
        "id": id,
        "object": "issuing.authorization",
        "amount": if status == "pending" { 0 } else { amount },
        "amount_details": {"atm_fee": null, "cashback_amount": null},
        "approved": false,
        "authorization_method": "online",
        "balance_transactions": [],
        "card": {"id": card, "object": "issuing.card", "brand": "Visa", "currency": "eur", "last4": "4242", "status": "active", "type": "virtual"},
        "cardholder": "ich_1MsKAB2eZvKYlo2C3eZ2BdvK",
        "created": unix_now(),
        "currency": "eur",
        "livemode": false,
        "merchant_amount": amount,
        "merchant_currency": "eur",
        "merchant_data": {
            "category": "computer_network_services", "category_code": "4816", "city": "Gunzenhausen",
            "country": "DE", "name": "HETZNER ONLINE GMBH", "network_id": "1234567890",
            "postal_code": "91710", "state": null, "terminal_id": null, "url": "https://www.hetzner.com"
        },
        "metadata": {},
        "pending_request": if status == "pending" {
            json!({"amount": amount, "amount_details": {"atm_fee": null}, "currency": "eur",
                   "is_amount_controllable": false, "merchant_amount": amount, "merchant_currency": "eur"})
        } else { Value::Null },
        "request_history": [],
        "status": status,
        "transactions": [],
        "verification_data": {"address_line1_check": "not_provided", "cvc_check": "match", "expiry_check": "match"},
        "wallet": null
    })
}

fn issuing_transaction(id: &str, authorization: &str, kind: &str, amount: i64) -> Value {
    json!({
        "id": id,
        "object": "issuing.transaction",
        "amount": amount,
        "authorization": authorization,
        "card": "ic_1JDmgz2eZvKYlo2CRXlTsXj6",
        "created": unix_now(),
        "currency": "eur",
        "merchant_amount": amount,
        "merchant_currency": "eur",
        "merchant_data": {"category": "computer_network_services", "category_code": "4816", "country": "DE", "name": "HETZNER ONLINE GMBH"},
        "type": kind
    })
}

#[test]
fn stripe_asks_at_payment_time_and_reports_what_settled_signed_with_the_tenants_secret() {
    let server = Server::start();
    let made = server
        .post("/tenants", support::ADMIN_KEY, json!({"name": "acme"}))
        .expect(201);
    let (tenant, key) = (made.str("id"), made.str("apiKey"));
    let policy = server.policy(&key);
    let buyer = server.bare_agent(&key, &policy, "buyer");
    let stripe_card = "ic_1JDmgz2eZvKYlo2CRXlTsXj6";
    card(
        &server,
        &key,
        json!({"agentId": buyer, "name": "subscriptions", "provider": "stripe", "externalId": stripe_card}),
    );
    server
        .send(
            "PUT",
            "/secrets/STRIPE_SIGNING_SECRET",
            Some(&key),
            &[],
            Some(json!({"value": STRIPE_SECRET}).to_string().as_bytes()),
        )
        .expect(201);
    let intent = declare(
        &server,
        &key,
        &buyer,
        "subscriptions",
        "45.10",
        "hetzner.com",
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ask = format!("/providers/stripe/{tenant}/authorizations");
    let post = |path: &str, payload: &str, signature: Option<String>| {
        let headers: Vec<(&str, &str)> = match &signature {
            Some(signature) => vec![
                ("Stripe-Signature", signature.as_str()),
                ("Content-Type", "application/json"),
            ],
            None => vec![("Content-Type", "application/json")],
        };
        server.send("POST", path, None, &headers, Some(payload.as_bytes()))
    };
    let request = stripe_event(
        "evt_1",
        "issuing_authorization.request",
        issuing_authorization("iauth_1", stripe_card, 4510, "pending"),
    );

    // Bad, missing, stale and forged signatures: 400, nothing recorded.
    let now = unix_now();
    for signature in [
        None,
        Some(stripe_signature("whsec_someone_else", now, &request)),
        Some(stripe_signature(STRIPE_SECRET, now - 301, &request)),
        Some(stripe_signature(
            STRIPE_SECRET,
            now,
            &request.replace("4510", "4511"),
        )),
        Some("t=abc,v1=zz".to_owned()),
    ] {
        post(&ask, &request, signature).expect_error(400, "E_VALIDATION");
    }
    post(
        "/providers/stripe/tn_nobody/authorizations",
        &request,
        Some(stripe_signature(STRIPE_SECRET, now, &request)),
    )
    .expect_error(400, "E_VALIDATION");
    assert_eq!(status(&server, &key, &intent), "approved");
    assert!(events(&server, &key, "authorization.approved").is_empty());

    // Signed as Stripe signs: approved, as Stripe reads a direct answer.
    let answer = post(
        &ask,
        &request,
        Some(stripe_signature(STRIPE_SECRET, now, &request)),
    )
    .expect(200);
    assert_eq!(answer.body, json!({"approved": true}));
    assert_eq!(answer.stripe_version.as_deref(), Some("2024-06-20"));
    assert_eq!(status(&server, &key, &intent), "authorized");
    // Replayed within the tolerance: the same answer, recorded once.
    let again = post(
        &ask,
        &request,
        Some(stripe_signature(STRIPE_SECRET, now + 1, &request)),
    )
    .expect(200);
    assert_eq!(again.body, json!({"approved": true}));
    let approved = events(&server, &key, "authorization.approved");
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["data"]["externalId"], "iauth_1");
    assert_eq!(approved[0]["data"]["merchant"]["domain"], "hetzner.com");

    // A second payment with nothing declared for it is declined; so is a
    // card Warrant does not know.
    for (id, card) in [("iauth_2", stripe_card), ("iauth_3", "ic_unknown")] {
        let request = stripe_event(
            "evt_x",
            "issuing_authorization.request",
            issuing_authorization(id, card, 999, "pending"),
        );
        let answer = post(
            &ask,
            &request,
            Some(stripe_signature(STRIPE_SECRET, unix_now(), &request)),
        )
        .expect(200);
        assert_eq!(answer.body, json!({"approved": false}));
    }

    // What settles comes as events, each recorded once.
    let events_path = format!("/providers/stripe/{tenant}/events");
    let send_event = |payload: String| {
        post(
            &events_path,
            &payload,
            Some(stripe_signature(STRIPE_SECRET, unix_now(), &payload)),
        )
        .expect(200)
        .body
    };
    let capture = stripe_event(
        "evt_capture",
        "issuing_transaction.created",
        issuing_transaction("ipi_1", "iauth_1", "capture", -4510),
    );
    assert_eq!(send_event(capture.clone())["recorded"], true);
    assert_eq!(send_event(capture)["recorded"], false);
    assert_eq!(status(&server, &key, &intent), "completed");
    let refund = stripe_event(
        "evt_refund",
        "issuing_transaction.created",
        issuing_transaction("ipi_2", "iauth_1", "refund", 1000),
    );
    assert_eq!(send_event(refund.clone())["recorded"], true);
    assert_eq!(send_event(refund)["recorded"], false);
    let ledger = server
        .get(&format!("/transactions?intentId={intent}"), &key)
        .expect(200)
        .body;
    let entries: Vec<(String, u64, String)> = ledger["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_owned(),
                t["amount"].as_u64().unwrap(),
                t["externalId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("refund".into(), 1000, "evt_refund".into()),
            ("capture".into(), 4510, "evt_capture".into())
        ]
    );
    // An event signed badly changes nothing.
    let forged = stripe_event(
        "evt_forged",
        "issuing_transaction.created",
        issuing_transaction("ipi_3", "iauth_1", "refund", 3000),
    );
    post(
        &events_path,
        &forged,
        Some(stripe_signature("whsec_someone_else", unix_now(), &forged)),
    )
    .expect_error(400, "E_VALIDATION");

    // A reversal Stripe reports releases the intent.
    let second = declare(&server, &key, &buyer, "subscriptions", "12", "hetzner.com")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let request = stripe_event(
        "evt_4",
        "issuing_authorization.request",
        issuing_authorization("iauth_4", stripe_card, 1200, "pending"),
    );
    let answer = post(
        &ask,
        &request,
        Some(stripe_signature(STRIPE_SECRET, unix_now(), &request)),
    )
    .expect(200);
    assert_eq!(answer.body, json!({"approved": true}));
    assert_eq!(status(&server, &key, &second), "authorized");
    let mut reversed = issuing_authorization("iauth_4", stripe_card, 0, "reversed");
    reversed["amount"] = json!(0);
    let updated = stripe_event("evt_reversed", "issuing_authorization.updated", reversed);
    assert_eq!(send_event(updated)["recorded"], true);
    assert_eq!(status(&server, &key, &second), "approved");
}

#[test]
fn a_recurring_intent_pays_once_per_window_and_stays_approved() {
    let server = Server::start();
    let (key, buyer, _) = tenant(&server, "acme");
    let card_id = server.card(&key, &buyer, "subscriptions");
    // Monthly, due from today, payable up to a day either side, 10 %.
    let intent = server
        .post_text(
            "/intents",
            &key,
            &format!(
                r#"{{"agentId":"{buyer}","cardName":"subscriptions","purpose":"the server, monthly","expectedAmountEuros":45.10,"expectedMerchant":"hetzner.com","recurring":{{"cadence":"monthly","windowStartDaysBefore":1,"windowEndDaysAfter":1,"amountTolerancePercent":10}}}}"#
            ),
        )
        .expect(201)
        .body;
    assert_eq!(intent["status"], "approved", "{intent}");
    let intent = intent["id"].as_str().unwrap().to_owned();

    // Beyond the series' tolerance: declined; within it: approved, and the
    // intent stays approved for the rest of its series.
    declined(
        &server,
        &key,
        at_hetzner(&card_id, 4962),
        "E_AMOUNT_MISMATCH",
    );
    let first = authorize(&server, &key, at_hetzner(&card_id, 4900));
    assert_eq!(first["approved"], true, "{first}");
    assert_eq!(first["intentId"], intent.as_str());
    assert_eq!(status(&server, &key, &intent), "approved");
    // The window is held: a second payment in it is declined.
    let second = declined(
        &server,
        &key,
        at_hetzner(&card_id, 4510),
        "E_OUTSIDE_WINDOW",
    );
    assert_eq!(second["intentId"], intent.as_str());
    // Reversed, the window is free again; captured, it is held for good.
    let first = first["id"].as_str().unwrap();
    server
        .post(&format!("/authorizations/{first}/reverse"), &key, json!({}))
        .expect(200);
    assert_eq!(status(&server, &key, &intent), "approved");
    let again = authorize(&server, &key, at_hetzner(&card_id, 4510));
    assert_eq!(again["approved"], true, "{again}");
    let again = again["id"].as_str().unwrap();
    let captured = server
        .post(&format!("/authorizations/{again}/capture"), &key, json!({}))
        .expect(200)
        .body;
    assert_eq!(captured["transaction"]["amount"], 4510);
    assert_eq!(status(&server, &key, &intent), "approved");
    declined(
        &server,
        &key,
        at_hetzner(&card_id, 4510),
        "E_OUTSIDE_WINDOW",
    );
    let ledger = server
        .get(&format!("/transactions?intentId={intent}"), &key)
        .expect(200)
        .body;
    assert_eq!(ledger["data"].as_array().unwrap().len(), 1);
}
