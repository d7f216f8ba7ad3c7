//! Named API keys with roles, end to end: what each role may do on each
//! class of endpoint, a roll's grace period, revocation seen at once by
//! another server on the same database, expiry, the last admin key kept,
//! four-eyes approvals, and the rate limit per key. Runs on SQLite, and on
//! PostgreSQL with `WARRANT_E2E_DATABASE=postgres`.

mod support;

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use support::{ADMIN_KEY, Answer, Server};

/// Makes a key of `role` named `name` with the admin key `admin`; gives
/// its secret.
fn key(server: &Server, admin: &str, name: &str, role: &str) -> String {
    let made = server
        .post("/api-keys", admin, json!({"name": name, "role": role}))
        .expect(201);
    assert_eq!(made.body["role"], role);
    assert!(made.str("id").starts_with("ak_"));
    let secret = made.str("key");
    assert!(secret.starts_with(&made.str("prefix")), "{}", made.text);
    secret
}

/// Whether an answer is a success, or a 403 that names the roles needed.
fn allowed(answer: &Answer, needed: &str) -> bool {
    if answer.status == 403 {
        assert_eq!(answer.code(), "E_FORBIDDEN", "{}", answer.text);
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needed), "{message}");
        return false;
    }
    assert!((200..300).contains(&answer.status), "{}", answer.text);
    true
}

fn rfc3339_in(seconds: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn each_role_may_do_what_it_is_for_and_nothing_else() {
    let server = Server::start();
    let admin = server.tenant("roles");
    let policy = server.policy(&admin);
    let agent = server.agent(&admin, &policy, "buyer");
    let roles = [
        ("admin", admin.clone()),
        ("developer", key(&server, &admin, "ci", "developer")),
        ("approver", key(&server, &admin, "finance", "approver")),
        ("viewer", key(&server, &admin, "auditor", "viewer")),
    ];
    // (role, reads, configures, approves, cancels, manages keys)
    let expected = [
        ("admin", true, true, true, true, true),
        ("developer", true, true, false, true, false),
        ("approver", true, false, true, true, false),
        ("viewer", true, false, false, false, false),
    ];
    for ((role, secret), (same, reads, configures, approves, cancels, manages)) in
        roles.iter().zip(expected)
    {
        assert_eq!(*role, same);
        let got = (
            allowed(&server.get("/agents", secret), ""),
            allowed(
                &server.get(&format!("/intents?agentId={agent}"), secret),
                "",
            ),
            allowed(
                &server.post(
                    "/policies",
                    secret,
                    json!({"name": format!("by {role}"),
                           "rules": [{"plugin": "spend-limit", "config": {"maxAmountEuros": 10}}]}),
                ),
                "`admin` or `developer`",
            ),
            allowed(
                &server.post(&format!("/agents/{agent}/tokens"), secret, json!({})),
                "`admin` or `developer`",
            ),
            allowed(
                &server.post(&format!("/agents/{agent}/freeze"), secret, json!({})),
                "`admin` or `developer`",
            ),
        );
        // Unfreeze for the next role, with the admin key.
        server
            .post(&format!("/agents/{agent}/unfreeze"), &admin, json!({}))
            .expect(200);
        assert_eq!(
            got,
            (reads, reads, configures, configures, configures),
            "{role}"
        );

        let pending = |amount: &str| {
            let answer = server.intent(&admin, &agent, amount).expect(201);
            assert_eq!(answer.str("status"), "pending_approval");
            answer.str("id")
        };
        let (to_approve, to_deny, to_cancel) = (pending("60"), pending("70"), pending("80"));
        let approve = server.post(
            &format!("/intents/{to_approve}/approve"),
            secret,
            json!({"note": format!("looked at by {role}")}),
        );
        assert_eq!(
            allowed(&approve, "`admin` or `approver`"),
            approves,
            "{role}"
        );
        let deny = server.post(&format!("/intents/{to_deny}/deny"), secret, json!({}));
        assert_eq!(allowed(&deny, "`admin` or `approver`"), approves, "{role}");
        let cancel = server.post(&format!("/intents/{to_cancel}/cancel"), secret, json!({}));
        assert_eq!(
            allowed(&cancel, "`admin` or `developer` or `approver`"),
            cancels,
            "{role}"
        );
        // Declaring an intent and reporting its settlement configure.
        assert_eq!(
            allowed(
                &server.intent(secret, &agent, "10"),
                "`admin` or `developer`"
            ),
            configures,
            "{role}"
        );
        let keys = server.get("/api-keys", secret);
        assert_eq!(allowed(&keys, "`admin`"), manages, "{role}");
        if approves {
            // The approval names the key that gave it, and its note.
            let history = approve.body["history"].as_array().unwrap();
            let last = history.last().unwrap();
            assert!(last["actor"].as_str().unwrap().starts_with("key:ak_"));
            assert_eq!(
                last["actorName"],
                match *role {
                    "admin" => "admin",
                    _ => "finance",
                }
            );
            assert_eq!(last["note"], format!("looked at by {role}"));
        }
    }

    // A note is an approver's: refused on a move that is not a decision.
    let id = server.intent(&admin, &agent, "60").expect(201).str("id");
    server
        .post(
            &format!("/intents/{id}/cancel"),
            &admin,
            json!({"note": "not here"}),
        )
        .expect_error(400, "E_VALIDATION");

    // Neither the server's admin key nor an agent token manages a
    // tenant's keys.
    server
        .get("/api-keys", ADMIN_KEY)
        .expect_error(403, "E_FORBIDDEN");
    let token = server.token(&admin, &agent);
    server
        .get("/api-keys", &token)
        .expect_error(403, "E_FORBIDDEN");
    server
        .post(
            "/api-keys",
            &token,
            json!({"name": "mine", "role": "admin"}),
        )
        .expect_error(403, "E_FORBIDDEN");
}

#[test]
fn keys_are_listed_without_secrets_and_checked() {
    let server = Server::start();
    let admin = server.tenant("listing");
    let dev = key(&server, &admin, "ci", "developer");
    server.get("/agents", &dev).expect(200);

    // Names are unique among live keys; roles and times are checked.
    server
        .post("/api-keys", &admin, json!({"name": "ci", "role": "viewer"}))
        .expect_error(409, "E_CONFLICT");
    server
        .post("/api-keys", &admin, json!({"name": "x", "role": "owner"}))
        .expect_error(400, "E_VALIDATION");
    let past = server
        .post(
            "/api-keys",
            &admin,
            json!({"name": "late", "role": "viewer", "expiresAt": rfc3339_in(-60)}),
        )
        .expect_error(400, "E_VALIDATION");
    assert_eq!(past.body["error"]["field"], "expiresAt");
    server
        .post(
            "/api-keys",
            &admin,
            json!({"name": "late", "role": "viewer", "expiresAt": "tomorrow"}),
        )
        .expect_error(400, "E_VALIDATION");

    // The listing: newest first, the key made with the tenant among them,
    // no secret anywhere; a used key shows when (written within a moment).
    let deadline = SystemTime::now() + Duration::from_secs(10);
    let listed = loop {
        let listed = server.get("/api-keys", &admin).expect(200);
        let ci = listed.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == "ci")
            .cloned()
            .unwrap();
        if ci.get("lastUsedAt").is_some() || SystemTime::now() > deadline {
            break listed;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let data = listed.body["data"].as_array().unwrap();
    let names: Vec<&str> = data.iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ci", "admin"]);
    assert!(data[0]["lastUsedAt"].is_string(), "{}", listed.text);
    assert_eq!(data[1]["role"], "admin");
    assert!(!listed.text.contains(&dev[4..]), "a secret is listed");
    assert!(!listed.text.contains(&admin[4..]), "a secret is listed");
    let id = data[0]["id"].as_str().unwrap();
    let shown = server.get(&format!("/api-keys/{id}"), &admin).expect(200);
    assert_eq!(shown.body["name"], "ci");
    assert!(shown.body.get("key").is_none());
    server
        .get("/api-keys/ak_nothing", &admin)
        .expect_error(404, "E_NOT_FOUND");

    // A key that expires works until then, and not after.
    let brief = server
        .post(
            "/api-keys",
            &admin,
            json!({"name": "brief", "role": "viewer", "expiresAt": rfc3339_in(2)}),
        )
        .expect(201)
        .str("key");
    server.get("/agents", &brief).expect(200);
    std::thread::sleep(Duration::from_millis(2_500));
    server
        .get("/agents", &brief)
        .expect_error(401, "E_UNAUTHORIZED");
}

#[test]
fn a_rolled_key_keeps_its_old_secret_for_the_grace_period() {
    let server = Server::start();
    let admin = server.tenant("rolling");
    let old = key(&server, &admin, "ci", "developer");
    let id = server.get("/api-keys", &admin).body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The default grace period is a day.
    let rolled = server
        .post(&format!("/api-keys/{id}/roll"), &admin, json!({}))
        .expect(200);
    let until = rolled.str("previousKeyValidUntil");
    let until = time::OffsetDateTime::parse(&until, &time::format_description::well_known::Rfc3339)
        .unwrap();
    let left = until - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::hours(23), "{left}");
    let new = rolled.str("key");
    assert_ne!(new, old);
    server.get("/agents", &old).expect(200);
    server.get("/agents", &new).expect(200);

    // Rolled again, with a second of grace: the first secret stops at
    // once, the second after its second, the newest works on.
    let newest = server
        .post(
            &format!("/api-keys/{id}/roll"),
            &admin,
            json!({"graceSeconds": 1}),
        )
        .expect(200)
        .str("key");
    server
        .get("/agents", &old)
        .expect_error(401, "E_UNAUTHORIZED");
    server.get("/agents", &new).expect(200);
    server.get("/agents", &newest).expect(200);
    std::thread::sleep(Duration::from_millis(1_500));
    server
        .get("/agents", &new)
        .expect_error(401, "E_UNAUTHORIZED");
    server.get("/agents", &newest).expect(200);

    let too_long = server
        .post(
            &format!("/api-keys/{id}/roll"),
            &admin,
            json!({"graceSeconds": 8 * 86_400}),
        )
        .expect_error(400, "E_VALIDATION");
    assert_eq!(too_long.body["error"]["field"], "graceSeconds");
}

#[test]
fn a_revoked_key_stops_at_once_on_every_server() {
    let a = Server::start();
    let b = a.sibling();
    let admin = a.tenant("revoking");
    let ci = key(&a, &admin, "ci", "developer");
    b.get("/agents", &ci).expect(200);
    let id = a.get("/api-keys", &admin).body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = a.delete(&format!("/api-keys/{id}"), &admin).expect(200);
    assert!(revoked.body["revokedAt"].is_string());
    b.get("/agents", &ci).expect_error(401, "E_UNAUTHORIZED");
    a.get("/agents", &ci).expect_error(401, "E_UNAUTHORIZED");
    // Revoking again answers the key as it is; a revoked key cannot be
    // rolled back to life, and its name is free again.
    a.delete(&format!("/api-keys/{id}"), &admin).expect(200);
    a.post(&format!("/api-keys/{id}/roll"), &admin, json!({}))
        .expect_error(409, "E_CONFLICT");
    key(&a, &admin, "ci", "developer");

    // The tenant's last admin key is kept; with another, it can go.
    let first = a.get("/api-keys", &admin).body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.delete(&format!("/api-keys/{first}"), &admin)
        .expect_error(409, "E_CONFLICT");
    let second = key(&a, &admin, "second admin", "admin");
    b.delete(&format!("/api-keys/{first}"), &second).expect(200);
    a.get("/agents", &admin).expect_error(401, "E_UNAUTHORIZED");
    a.get("/agents", &second).expect(200);
}

#[test]
fn four_eyes_need_approvals_from_different_keys() {
    let server = Server::start();
    let admin = server.tenant("four eyes");
    let first = key(&server, &admin, "first approver", "approver");
    let second = key(&server, &admin, "second approver", "approver");
    let policy = server
        .post(
            "/policies",
            &admin,
            json!({"name": "four eyes",
                   "rules": [{"plugin": "spend-limit",
                              "config": {"maxAmountEuros": 100, "reviewAboveEuros": 50}}],
                   "approvalsRequired": {"count": 2, "aboveEuros": 80.00, "currency": "EUR"}}),
        )
        .expect(201);
    assert_eq!(
        policy.body["approvalsRequired"],
        json!({"count": 2, "aboveEuros": 80.00, "currency": "EUR"})
    );
    // Each version of a policy names the key that made it.
    assert!(policy.str("actor").starts_with("key:ak_"));
    assert_eq!(policy.body["actorName"], "admin");
    let policy = policy.str("id");
    let agent = server.agent(&admin, &policy, "buyer");

    // Above 80 euros: two approvals, from two keys.
    let big = server.intent(&admin, &agent, "90").expect(201);
    assert_eq!(big.body["approvals"], json!({"required": 2, "given": 0}));
    let id = big.str("id");
    let once = server
        .post(
            &format!("/intents/{id}/approve"),
            &first,
            json!({"note": "the invoice matches"}),
        )
        .expect(200);
    assert_eq!(once.str("status"), "pending_approval");
    assert_eq!(once.body["approvals"], json!({"required": 2, "given": 1}));
    let again = server
        .post(&format!("/intents/{id}/approve"), &first, json!({}))
        .expect_error(409, "E_CONFLICT");
    assert!(again.text.contains("already"), "{}", again.text);
    let twice = server
        .post(
            &format!("/intents/{id}/approve"),
            &second,
            json!({"note": "agreed"}),
        )
        .expect(200);
    assert_eq!(twice.str("status"), "approved");
    let history: Vec<(Value, Value, Value, Value)> = twice.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].clone(),
                e["to"].clone(),
                e.get("actorName").cloned().unwrap_or(Value::Null),
                e.get("note").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (
                json!(null),
                json!("pending_approval"),
                json!(null),
                json!(null)
            ),
            (
                json!("pending_approval"),
                json!("pending_approval"),
                json!("first approver"),
                json!("the invoice matches")
            ),
            (
                json!("pending_approval"),
                json!("approved"),
                json!("second approver"),
                json!("agreed")
            ),
        ]
    );

    // One approval is enough to deny, and at or below 80 euros one
    // approval approves.
    let denied = server.intent(&admin, &agent, "95").expect(201).str("id");
    server
        .post(&format!("/intents/{denied}/approve"), &first, json!({}))
        .expect(200);
    let answer = server
        .post(
            &format!("/intents/{denied}/deny"),
            &second,
            json!({"note": "not this month"}),
        )
        .expect(200);
    assert_eq!(answer.str("status"), "denied");
    let small = server.intent(&admin, &agent, "80").expect(201);
    assert!(small.body.get("approvals").is_none(), "{}", small.text);
    let small = small.str("id");
    let approved = server
        .post(&format!("/intents/{small}/approve"), &first, json!({}))
        .expect(200);
    assert_eq!(approved.str("status"), "approved");

    // The setting is checked, and a count of 1 turns it off.
    let wrong = server
        .patch(
            &format!("/policies/{policy}"),
            &admin,
            json!({"approvalsRequired": {"count": 9}}),
        )
        .expect_error(400, "E_VALIDATION");
    assert_eq!(wrong.body["error"]["field"], "approvalsRequired.count");
    let off = server
        .patch(
            &format!("/policies/{policy}"),
            &admin,
            json!({"approvalsRequired": {"count": 1}}),
        )
        .expect(200);
    assert!(off.body.get("approvalsRequired").is_none(), "{}", off.text);
    assert_eq!(off.body["version"], 2);
    assert_eq!(off.body["actorName"], "admin");
    let now_one = server.intent(&admin, &agent, "90").expect(201).str("id");
    let approved = server
        .post(&format!("/intents/{now_one}/approve"), &first, json!({}))
        .expect(200);
    assert_eq!(approved.str("status"), "approved");
}

#[test]
fn each_key_has_its_own_rate_limit() {
    let server = Server::start_with(&["--rate-limit", "1", "--rate-limit-burst", "3"]);
    let admin = server.tenant("limited");
    let viewer = key(&server, &admin, "dashboard", "viewer");
    for _ in 0..3 {
        server.get("/agents", &viewer).expect(200);
    }
    let refused = server
        .get("/agents", &viewer)
        .expect_error(429, "E_RATE_LIMITED");
    let wait: u64 = refused
        .retry_after
        .as_deref()
        .expect("a Retry-After header")
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    // Another key is not held back by this one.
    server.get("/agents", &admin).expect(200);
    std::thread::sleep(Duration::from_secs(wait));
    server.get("/agents", &viewer).expect(200);
}
