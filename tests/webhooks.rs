//! Events and webhooks, end to end: every change is an event of the
//! tenant's audit log; endpoints receive them signed the Standard Webhooks
//! way (checked by the reference Python library, not by our own code),
//! at least once, through a receiver that is down, a server killed with
//! SIGKILL, a secret's rotation, and two servers on one PostgreSQL
//! database; URLs that would reach inside the network are refused. Runs on
//! SQLite, and on PostgreSQL with `WARRANT_E2E_DATABASE=postgres`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{ADMIN_KEY, Server, Tenant, e2e_on_postgres, new_postgres_database};

/// Flags for a server that delivers to a local receiver quickly: `http`
/// and loopback allowed, the three-day retry schedule shrunk a
/// thousandfold, an attempt's time (and so a claim's lease) short.
const LOCAL: [&str; 5] = [
    "--allow-insecure-webhooks",
    "--webhook-retry-scale",
    "0.001",
    "--webhook-timeout-ms",
    "2000",
];

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: BTreeMap<String, String>,
    body: String,
    /// The status it answered.
    answered: u16,
}

impl Received {
    fn id(&self) -> &str {
        &self.headers["webhook-id"]
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver on a loopback port that records every request and
/// answers with the status it is set to.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (sink, answer) = (got.clone(), status.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (sink, answer) = (sink.clone(), answer.clone());
                std::thread::spawn(move || serve_one(stream, &sink, &answer));
            }
        });
        Receiver { url, got, status }
    }

    fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The requests it answered with a 2xx.
    fn delivered(&self) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    /// Waits until `done` holds of what it received, for up to a minute.
    #[track_caller]
    fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let all = self.all();
            if done(&all) {
                return all;
            }
            assert!(
                Instant::now() < until,
                "waited a minute for {what}: {all:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every event id in `ids` was delivered.
    #[track_caller]
    fn wait_delivered(&self, ids: &BTreeSet<String>) -> Vec<Received> {
        self.wait_for("the deliveries", |all| {
            let delivered: BTreeSet<&str> = all
                .iter()
                .filter(|r| (200..300).contains(&r.answered))
                .map(Received::id)
                .collect();
            ids.iter().all(|id| delivered.contains(id.as_str()))
        })
    }
}

fn serve_one(stream: std::net::TcpStream, sink: &Mutex<Vec<Received>>, answer: &AtomicU16) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut keep_alive = true;
    while keep_alive {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
        }
        let length: usize = headers
            .get("content-length")
            .map_or(0, |n| n.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        keep_alive = headers
            .get("connection")
            .is_none_or(|c| !c.eq_ignore_ascii_case("close"));
        let status = answer.load(Ordering::SeqCst);
        sink.lock().unwrap().push(Received {
            headers,
            body: String::from_utf8(body).unwrap(),
            answered: status,
        });
        let mut out = &stream;
        if out
            .write_all(format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n").as_bytes())
            .is_err()
        {
            return;
        }
    }
}

/// Verifies each delivery with the Standard Webhooks reference library
/// (`standardwebhooks` from PyPI) and `secret`: gives, per delivery,
/// whether it verified.
fn verify_with_reference(deliveries: &[Received], secret: &str) -> Vec<bool> {
    let lib = support::python_tool("tools_standardwebhooks");
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
request = json.load(sys.stdin)
hook = Webhook(request["secret"])
results = []
for delivery in request["deliveries"]:
    try:
        payload = hook.verify(delivery["body"].encode(), delivery["headers"])
        results.append(payload["type"] == json.loads(delivery["body"])["type"])
    except WebhookVerificationError:
        results.append(False)
print(json.dumps(results))
"#;
    let request = json!({
        "secret": secret,
        "deliveries": deliveries
            .iter()
            .map(|d| json!({"headers": d.headers, "body": d.body}))
            .collect::<Vec<_>>(),
    });
    let mut python = Command::new("python3")
        .args(["-c", script])
        .env("PYTHONPATH", lib)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    python
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success(), "the verifier failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs the README's `verify` in `language` (`python` or `javascript`,
/// the block of the "Webhooks and audit log" section) on one delivery.
fn readme_verifies(language: &str, secret: &str, delivery: &Received) -> bool {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Webhooks and audit log")
        .nth(1)
        .expect("the README has the section");
    let code = section
        .split(&format!("```{language}\n"))
        .nth(1)
        .and_then(|block| block.split("\n```").next())
        .unwrap_or_else(|| panic!("no {language} block"));
    let input = json!({"secret": secret, "headers": delivery.headers, "body": delivery.body});
    let (program, harness) = match language {
        "python" => (
            "python3",
            "\nimport json, sys\nd = json.load(sys.stdin)\nprint(verify(d['secret'], d['headers'], d['body'].encode()))\n",
        ),
        _ => (
            "node",
            "\nlet text = '';\nprocess.stdin.on('data', (c) => (text += c)).on('end', () => {\n  const d = JSON.parse(text);\n  console.log(verify(d.secret, d.headers, Buffer.from(d.body)) ? 'True' : 'False');\n});\n",
        ),
    };
    let mut child = Command::new(program)
        .args([
            if program == "node" { "-e" } else { "-c" },
            &format!("{code}{harness}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the README's {language} failed");
    String::from_utf8(output.stdout).unwrap().trim() == "True"
}

/// Registers an endpoint for `events` at `url`: its id and secret.
fn endpoint(server: &Server, key: &str, url: &str, events: &[&str]) -> (String, String) {
    let made = server
        .post(
            "/webhook-endpoints",
            key,
            json!({"url": url, "events": events, "description": "tests"}),
        )
        .expect(201);
    let secret = made.str("secret");
    assert!(secret.starts_with("whsec_"), "{}", made.text);
    assert_eq!(made.body["enabled"], true);
    (made.str("id"), secret)
}

/// Every event of the tenant, oldest first.
fn events(server: &Server, key: &str, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = server
            .get(
                &format!("/events?order=oldest&limit=200{query}{cursor}"),
                key,
            )
            .expect(200);
        all.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return all,
        }
    }
}

fn types_of(events: &[Value]) -> BTreeSet<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

fn declare(server: &Server, key: &str, agent: &str, body: Value) -> Value {
    let mut body = body;
    body["agentId"] = json!(agent);
    body["purpose"] = json!("servers");
    body["cardName"] = json!("subscriptions");
    if body.get("expectedMerchant").is_none() {
        body["expectedMerchant"] = json!("hetzner.com");
    }
    server.post("/intents", key, body).expect(201).body
}

#[test]
fn every_change_is_an_event_logged_and_delivered_signed_once() {
    let server = Server::start_with(&LOCAL);
    let receiver = Receiver::start();
    let t = Tenant::new(&server, "events");
    let me = server
        .get("/events?type=agent.created&limit=1", &t.key)
        .expect(200)
        .body["data"][0]["tenantId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, secret) = endpoint(&server, &t.key, &receiver.url, &["*"]);

    // An intent that will expire: its time to live is a minute.
    let expiring = declare(
        &server,
        &t.key,
        &t.agent,
        json!({"expectedAmountEuros": 1, "expectedMerchant": "hetzner.com", "ttlMinutes": 1}),
    );
    let started = Instant::now();

    // Policies: created, updated, rolled back.
    let policy = server.policy(&t.key);
    server
        .patch(
            &format!("/policies/{policy}"),
            &t.key,
            json!({"amountTolerancePercent": 2}),
        )
        .expect(200);
    server
        .post(
            &format!("/policies/{policy}/rollback"),
            &t.key,
            json!({"targetVersion": 1}),
        )
        .expect(200);
    // Plugins: uploaded, deleted.
    let plugin = server
        .upload(
            &t.key,
            "nosy",
            "1.0.0",
            &warrant_fixtures::guest("nosy").wasm(),
        )
        .expect(201)
        .str("id");
    server
        .delete(&format!("/plugins/{plugin}"), &t.key)
        .expect(204);
    // Agents: created, updated, frozen, unfrozen, rolled back, suspended,
    // activated, archived; tokens issued and revoked.
    let agent = server.agent(&t.key, &policy, "second");
    server
        .patch(
            &format!("/agents/{agent}"),
            &t.key,
            json!({"name": "second, renamed"}),
        )
        .expect(200);
    for step in ["freeze", "unfreeze"] {
        server
            .post(&format!("/agents/{agent}/{step}"), &t.key, json!({}))
            .expect(200);
    }
    server
        .post(
            &format!("/agents/{agent}/rollback"),
            &t.key,
            json!({"targetVersion": 1}),
        )
        .expect(200);
    let token = server
        .post(&format!("/agents/{agent}/tokens"), &t.key, json!({}))
        .expect(201)
        .str("id");
    server
        .delete(&format!("/agents/{agent}/tokens/{token}"), &t.key)
        .expect(204);
    server
        .post(
            &format!("/agents/{agent}/emergency-suspend"),
            &t.key,
            json!({"reason": "drill"}),
        )
        .expect(200);
    server
        .post(&format!("/agents/{agent}/activate"), &t.key, json!({}))
        .expect(200);
    server.delete(&format!("/agents/{agent}"), &t.key);

    // Intents: approved, pending approval, denied; approved and denied by
    // a person, cancelled, completed, failed, flagged.
    let approved = declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 5, "expectedMerchant": "hetzner.com"}),
    );
    assert_eq!(approved["status"], "approved");
    let pending = declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 86.40}),
    );
    assert_eq!(pending["status"], "pending_approval");
    let denied = declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 500}),
    );
    assert_eq!(denied["status"], "denied");
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    server
        .post(
            &format!("/intents/{}/approve", id(&pending)),
            &t.key,
            json!({}),
        )
        .expect(200);
    let to_deny = declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 70}),
    );
    server
        .post(
            &format!("/intents/{}/deny", id(&to_deny)),
            &t.key,
            json!({"reason": "no"}),
        )
        .expect(200);
    let to_cancel = declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 3}),
    );
    server
        .post(
            &format!("/intents/{}/cancel", id(&to_cancel)),
            &t.token,
            json!({}),
        )
        .expect(200);
    let to_fail = declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 2}),
    );
    server
        .post(
            &format!("/intents/{}/fail", id(&to_fail)),
            &t.token,
            json!({"reason": "declined"}),
        )
        .expect(200);
    // A settlement that strays is flagged (and sends the agent's next
    // intents to a person).
    server
        .post(
            &format!("/intents/{}/complete", id(&approved)),
            &t.token,
            json!({"actualAmountEuros": 9.99, "actualMerchant": "elsewhere.example"}),
        )
        .expect(200);

    // A budget's alert, and its suspension of the agent.
    let budget = server
        .post(
            "/policies",
            &t.key,
            json!({"name": "budget", "rules": [{"plugin": "budget", "config":
                {"maxDailyEuros": 100, "alertThresholdPercent": 50, "autoSuspendOnExceeded": true}}]}),
        )
        .expect(201)
        .str("id");
    let spender = server.agent(&t.key, &budget, "spender");
    declare(
        &server,
        &t.key,
        &spender,
        json!({"expectedAmountEuros": 60}),
    );
    // The plan: changed by the admin key.
    server
        .patch(
            &format!("/tenants/{me}"),
            ADMIN_KEY,
            json!({"plan": "enterprise"}),
        )
        .expect(200);

    // The expiry, a minute after the declaration.
    let left = Duration::from_secs(62).saturating_sub(started.elapsed());
    std::thread::sleep(left);
    server
        .get(&format!("/intents/{}", id(&expiring)), &t.key)
        .expect(200);

    let logged = events(&server, &t.key, "");
    let types = types_of(&logged);
    for expected in [
        "intent.created",
        "intent.approved",
        "intent.pending_approval",
        "intent.denied",
        "intent.expired",
        "intent.cancelled",
        "intent.completed",
        "intent.failed",
        "intent.flagged",
        "agent.created",
        "agent.updated",
        "agent.frozen",
        "agent.unfrozen",
        "agent.suspended",
        "agent.activated",
        "agent.archived",
        "agent.rolled_back",
        "token.created",
        "token.revoked",
        "policy.created",
        "policy.updated",
        "policy.rolled_back",
        "plugin.uploaded",
        "plugin.deleted",
        "budget.alert",
        "tenant.plan_changed",
        "webhook_endpoint.created",
    ] {
        assert!(types.contains(expected), "no `{expected}` among {types:?}");
    }
    // The shape of one: who, what, the object as the API shows it.
    let approval = logged
        .iter()
        .find(|e| e["type"] == "intent.approved" && e["object"]["id"] == id(&pending))
        .expect("the approval is logged");
    // What an approver needs: agent, amount, merchant, purpose, reasons,
    // and where to approve.
    let waiting = logged
        .iter()
        .find(|e| e["type"] == "intent.pending_approval" && e["object"]["id"] == id(&pending))
        .expect("the wait for a person is logged");
    let data = &waiting["data"];
    assert_eq!(data["agentId"], t.agent.as_str());
    assert_eq!(data["expectedAmountEuros"], json!(86.40));
    assert_eq!(data["purpose"], "servers");
    assert!(data["decision"]["rules"].is_array(), "{data}");
    assert_eq!(
        data["approvePath"],
        format!("/intents/{}/approve", id(&pending))
    );
    assert!(approval["data"].get("approvePath").is_none());
    assert_eq!(approval["actor"]["kind"], "tenant_key");
    assert!(approval["actor"]["id"].as_str().unwrap().starts_with("ak_"));
    assert_eq!(approval["object"]["type"], "intent");
    assert_eq!(approval["data"]["status"], "approved");
    assert_eq!(approval["data"]["expectedAmountEuros"], json!(86.40));
    assert!(approval["requestId"].as_str().unwrap().starts_with("req_"));
    assert!(approval["id"].as_str().unwrap().starts_with("evt_"));
    let expired = logged
        .iter()
        .find(|e| e["type"] == "intent.expired")
        .unwrap();
    assert_eq!(expired["actor"]["kind"], "system");
    let alert = logged.iter().find(|e| e["type"] == "budget.alert").unwrap();
    assert_eq!(alert["actor"], json!({"kind": "policy", "id": "budget"}));
    // No secret in any event: not the endpoint's, not a token's, not a key's.
    let text = serde_json::to_string(&logged).unwrap();
    for secret_prefix in ["whsec_", "\"at_", "\"sk_"] {
        assert!(!text.contains(secret_prefix), "{secret_prefix} in {text}");
    }

    // Every event reaches the endpoint, once, verified by the reference
    // library; the body is `{"type","timestamp","data"}`.
    // (From the endpoint's own creation on: what came before it was
    // never sent to it.)
    let since_endpoint = logged
        .iter()
        .position(|e| e["type"] == "webhook_endpoint.created")
        .unwrap();
    let ids: BTreeSet<String> = logged[since_endpoint..]
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let received = receiver.wait_delivered(&ids);
    assert!(received.iter().all(|r| ids.contains(r.id())));
    let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &received {
        *per_id.entry(r.id()).or_default() += 1;
    }
    assert!(per_id.values().all(|n| *n == 1), "{per_id:?}");
    let verified = verify_with_reference(&received, &secret);
    assert!(verified.iter().all(|ok| *ok), "{verified:?}");
    let sample = received
        .iter()
        .find(|r| r.id() == approval["id"].as_str().unwrap())
        .unwrap();
    let body = sample.json();
    assert_eq!(body["type"], "intent.approved");
    assert_eq!(body["data"], approval["data"]);
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(sample.headers["content-type"], "application/json");
    // The wrong secret does not verify.
    let (_, other) = endpoint(&server, &t.key, &receiver.url, &["ping"]);
    assert_eq!(verify_with_reference(&received[..1], &other), [false]);
}

#[test]
fn the_audit_log_filters_pages_and_is_scoped() {
    let server = Server::start_with(&LOCAL);
    let t = Tenant::new(&server, "filters");
    let other = Tenant::new(&server, "other");
    let mine = declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 5}),
    );
    let intent_id = mine["id"].as_str().unwrap();
    server
        .post(&format!("/intents/{intent_id}/cancel"), &t.token, json!({}))
        .expect(200);

    // By type, with a prefix, by object, since a time; oldest or newest first.
    let by_type = events(&server, &t.key, "&type=intent.cancelled");
    assert_eq!(
        types_of(&by_type),
        BTreeSet::from(["intent.cancelled".into()])
    );
    let by_prefix = events(&server, &t.key, "&type=intent.*");
    assert_eq!(
        types_of(&by_prefix),
        BTreeSet::from([
            "intent.approved".into(),
            "intent.cancelled".into(),
            "intent.created".into()
        ])
    );
    let by_object = events(&server, &t.key, &format!("&objectId={intent_id}"));
    assert_eq!(by_object.len(), 3);
    assert_eq!(by_object[0]["type"], "intent.created");
    let newest = server.get("/events?limit=1", &t.key).expect(200);
    assert_eq!(newest.body["data"][0]["type"], "intent.cancelled");
    assert!(newest.body["nextCursor"].is_string());
    let future = events(&server, &t.key, "&since=2999-01-01T00:00:00Z");
    assert!(future.is_empty());
    server
        .get("/events?type=Intent%20!", &t.key)
        .expect_error(400, "E_VALIDATION");
    server
        .get("/events?order=sideways", &t.key)
        .expect_error(400, "E_VALIDATION");
    server
        .get("/events?since=yesterday", &t.key)
        .expect_error(400, "E_VALIDATION");
    let one = by_object[2]["id"].as_str().unwrap();
    server.get(&format!("/events/{one}"), &t.key).expect(200);

    // Another tenant sees none of it; its events are its own.
    server
        .get(&format!("/events/{one}"), &other.key)
        .expect_error(404, "E_NOT_FOUND");
    let theirs = events(&server, &other.key, "");
    assert!(
        theirs
            .iter()
            .all(|e| e["tenantId"] != by_object[0]["tenantId"])
    );
    assert!(!theirs.is_empty());

    // An agent token sees its own agent's intent events only.
    let seen = events(&server, &t.token, "");
    assert_eq!(types_of(&seen), types_of(&by_prefix));
    assert!(events(&server, &t.token, "&type=agent.*").is_empty());
    let agent_event = events(&server, &t.key, "&type=token.created")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .get(&format!("/events/{agent_event}"), &t.token)
        .expect_error(404, "E_NOT_FOUND");
    // …and manages no endpoints.
    server
        .post(
            "/webhook-endpoints",
            &t.token,
            json!({"url": "http://127.0.0.1:9/x", "events": ["*"]}),
        )
        .expect_error(403, "E_FORBIDDEN");
    server
        .get("/webhook-endpoints", &t.token)
        .expect_error(403, "E_FORBIDDEN");
    let (endpoint_id, _) = endpoint(&server, &t.key, "http://127.0.0.1:9/x", &["intent.*"]);
    server
        .get(&format!("/webhook-endpoints/{endpoint_id}"), &other.key)
        .expect_error(404, "E_NOT_FOUND");
    server
        .delete(&format!("/webhook-endpoints/{endpoint_id}"), &other.key)
        .expect_error(404, "E_NOT_FOUND");

    // The agent's own events read from the same log.
    let agent_events = server
        .get(&format!("/agents/{}/events", t.agent), &t.key)
        .expect(200);
    assert_eq!(agent_events.body["data"][0]["kind"], "token-issued");
    let log_id = events(&server, &t.key, "&type=token.created")
        .into_iter()
        .find(|e| e["data"]["agentId"] == t.agent.as_str())
        .unwrap()["id"]
        .clone();
    assert_eq!(agent_events.body["data"][0]["id"], log_id);

    // A request's id is on the events it caused and in its error body.
    let answered = server.send(
        "POST",
        &format!("/intents/{intent_id}/approve"),
        Some(&t.key),
        &[("Request-Id", "trace-webhooks-1")],
        Some(b"{}"),
    );
    assert_eq!(answered.status, 409);
    assert_eq!(answered.body["error"]["requestId"], "trace-webhooks-1");
    let declared = server.send(
        "POST",
        "/intents",
        Some(&t.token),
        &[("Request-Id", "trace-webhooks-2")],
        Some(br#"{"cardName":"subscriptions","purpose":"x","expectedAmountEuros":1}"#),
    );
    assert_eq!(declared.status, 201, "{}", declared.text);
    let caused = events(
        &server,
        &t.key,
        &format!("&objectId={}", declared.str("id")),
    );
    assert_eq!(caused.len(), 2);
    assert!(caused.iter().all(|e| e["requestId"] == "trace-webhooks-2"));
}

#[test]
fn endpoint_urls_that_reach_inside_the_network_are_refused() {
    let strict = Server::start();
    let key = strict.tenant("ssrf");
    for url in [
        "http://127.0.0.1/hook",
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://user:pass@example.com/hook",
        "ftp://example.com/hook",
        "not a url",
    ] {
        let refused = strict
            .post(
                "/webhook-endpoints",
                &key,
                json!({"url": url, "events": ["*"]}),
            )
            .expect_error(400, "E_VALIDATION");
        assert_eq!(refused.body["error"]["field"], "url", "{url}");
    }
    // A pattern must be a type, a prefix, or everything.
    for events in [
        json!([]),
        json!(["Intent"]),
        json!(["intent*"]),
        json!(["a b"]),
    ] {
        strict
            .post(
                "/webhook-endpoints",
                &key,
                json!({"url": "https://127.0.0.1/x", "events": events}),
            )
            .expect_error(400, "E_VALIDATION");
    }

    // With the flag (tests and local development), loopback `http` is
    // allowed, and the server says so when it starts.
    let local = Server::start_with(&["--allow-insecure-webhooks", "--log-format", "json"]);
    let key = local.tenant("local");
    endpoint(&local, &key, "http://127.0.0.1:9/hook", &["*"]);
    assert!(
        local
            .log_lines()
            .iter()
            .any(|line| line.contains("insecure webhooks allowed")),
        "{:?}",
        local.log_lines()
    );
}

#[test]
fn a_receiver_that_is_down_gets_every_event_once_it_is_back() {
    let server = Server::start_with(&LOCAL);
    let receiver = Receiver::start();
    // Down, first as a redirect (which is not followed, and is no
    // delivery), then as a failure.
    receiver.set_status(302);
    let t = Tenant::new(&server, "down");
    let (endpoint_id, secret) = endpoint(&server, &t.key, &receiver.url, &["intent.*"]);
    let ids: BTreeSet<String> = (0..5)
        .map(|n| {
            declare(
                &server,
                &t.token,
                &t.agent,
                json!({"expectedAmountEuros": n + 1}),
            )["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    // Refused a few times each…
    receiver.wait_for("a redirect for each event", |all| {
        let redirected: BTreeSet<&str> = all
            .iter()
            .filter(|r| r.answered == 302)
            .map(Received::id)
            .collect();
        redirected.len() == 10
    });
    receiver.set_status(503);
    receiver.wait_for("retries", |all| {
        all.iter().filter(|r| r.answered == 503).count() >= 10
    });
    let deliveries = server
        .get(
            &format!("/webhook-endpoints/{endpoint_id}/deliveries"),
            &t.key,
        )
        .expect(200);
    let first = &deliveries.body["data"][0];
    assert_eq!(first["status"], "pending");
    assert_eq!(first["attempts"][0]["responseStatus"], 302);
    assert!(first["nextAttemptAt"].is_string(), "{first}");
    // …then up: every event arrives, and is taken once (by `webhook-id`).
    receiver.set_status(204);
    let logged: BTreeSet<String> = events(&server, &t.key, "&type=intent.*")
        .iter()
        .filter(|e| ids.contains(e["object"]["id"].as_str().unwrap()))
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(logged.len(), 10, "created and approved, five times");
    let received = receiver.wait_delivered(&logged);
    let delivered = receiver.delivered();
    let unique: BTreeSet<&str> = delivered.iter().map(Received::id).collect();
    assert_eq!(unique.len(), delivered.len(), "each delivered once");
    // The same event keeps its id across attempts.
    let attempts_of_one = received
        .iter()
        .filter(|r| r.id() == delivered[0].id())
        .count();
    assert!(attempts_of_one >= 2, "{attempts_of_one}");
    assert!(
        verify_with_reference(&delivered, &secret)
            .iter()
            .all(|ok| *ok)
    );
    let after = server
        .get(
            &format!("/webhook-endpoints/{endpoint_id}/deliveries"),
            &t.key,
        )
        .expect(200);
    assert!(
        after.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "delivered"),
        "{}",
        after.text
    );

    // Sent again on request: the same event, the same id.
    let again = logged.iter().next().unwrap();
    let queued = server
        .post(&format!("/events/{again}/redeliver"), &t.key, json!({}))
        .expect(202);
    assert_eq!(queued.body["endpoints"], 1);
    receiver.wait_for("the redelivery", |all| {
        all.iter()
            .filter(|r| r.id() == again && (200..300).contains(&r.answered))
            .count()
            == 2
    });
    // A ping goes to the endpoint whatever it receives.
    let ping = server
        .post(
            &format!("/webhook-endpoints/{endpoint_id}/test"),
            &t.key,
            json!({}),
        )
        .expect(202)
        .str("eventId");
    let got = receiver.wait_for("the ping", |all| all.iter().any(|r| r.id() == ping));
    let pinged = got.iter().find(|r| r.id() == ping).unwrap();
    assert_eq!(pinged.json()["type"], "ping");
}

#[test]
fn a_secret_rotation_signs_with_both_secrets_for_a_day() {
    let server = Server::start_with(&LOCAL);
    let receiver = Receiver::start();
    let t = Tenant::new(&server, "rotation");
    let (endpoint_id, old) = endpoint(&server, &t.key, &receiver.url, &["intent.created"]);
    let rotated = server
        .post(
            &format!("/webhook-endpoints/{endpoint_id}/rotate-secret"),
            &t.key,
            json!({}),
        )
        .expect(200);
    let new = rotated.str("secret");
    assert_ne!(new, old);
    assert!(rotated.body["previousSecretValidUntil"].is_string());
    let shown = server
        .get(&format!("/webhook-endpoints/{endpoint_id}"), &t.key)
        .expect(200);
    assert!(shown.body.get("secret").is_none(), "{}", shown.text);

    let declared = declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 1}),
    );
    let got = receiver.wait_for("the delivery", |all| !all.is_empty());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers["webhook-signature"].split(' ').count(), 2);
    assert_eq!(verify_with_reference(&got, &old), [true]);
    assert_eq!(verify_with_reference(&got, &new), [true]);
    // The README's few lines of standard library verify it too, and
    // refuse a body that was changed.
    let mut tampered = got[0].clone();
    tampered.body = tampered.body.replacen("intent.", "intent.x", 1);
    for language in ["python", "javascript"] {
        assert!(readme_verifies(language, &old, &got[0]), "{language}");
        assert!(readme_verifies(language, &new, &got[0]), "{language}");
        assert!(!readme_verifies(language, &old, &tampered), "{language}");
    }
    assert_eq!(got[0].json()["data"]["id"], declared["id"]);

    // Disabled, it receives nothing; enabled, it does again.
    server
        .patch(
            &format!("/webhook-endpoints/{endpoint_id}"),
            &t.key,
            json!({"enabled": false}),
        )
        .expect(200);
    declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 2}),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.all().len(), 1);
    let enabled = server
        .patch(
            &format!("/webhook-endpoints/{endpoint_id}"),
            &t.key,
            json!({"enabled": true, "events": ["intent.*"]}),
        )
        .expect(200);
    assert_eq!(enabled.body["events"], json!(["intent.*"]));
    declare(
        &server,
        &t.token,
        &t.agent,
        json!({"expectedAmountEuros": 3}),
    );
    receiver.wait_for("deliveries after enabling", |all| all.len() == 3);
    server
        .delete(&format!("/webhook-endpoints/{endpoint_id}"), &t.key)
        .expect(204);
    server
        .get(&format!("/webhook-endpoints/{endpoint_id}"), &t.key)
        .expect_error(404, "E_NOT_FOUND");
}

#[test]
fn a_server_killed_before_it_delivers_delivers_after_its_restart() {
    let mut server = Server::start_with(&LOCAL);
    let receiver = Receiver::start();
    receiver.set_status(503);
    let t = Tenant::new(&server, "crash");
    let (_, secret) = endpoint(&server, &t.key, &receiver.url, &["intent.*"]);
    for n in 0..5 {
        declare(
            &server,
            &t.token,
            &t.agent,
            json!({"expectedAmountEuros": n + 1}),
        );
    }
    receiver.wait_for("a first attempt", |all| !all.is_empty());
    // Killed: every event committed, none delivered.
    server.kill9_in_place();
    server.terminate_wait();
    receiver.set_status(200);
    server.restart();
    let logged: BTreeSet<String> = events(&server, &t.key, "&type=intent.*")
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(logged.len(), 10);
    receiver.wait_delivered(&logged);
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), 10, "once each");
    assert!(
        verify_with_reference(&delivered, &secret)
            .iter()
            .all(|ok| *ok)
    );
}

#[test]
fn two_servers_on_one_postgresql_database_deliver_each_attempt_once() {
    if !e2e_on_postgres() {
        eprintln!("PostgreSQL only (WARRANT_E2E_DATABASE=postgres)");
        return;
    }
    let url = new_postgres_database("warrant_webhooks");
    let first = Server::start_node_with(&url, &LOCAL);
    let second = Server::start_node_with(&url, &LOCAL);
    let receiver = Receiver::start();
    let t = Tenant::new(&first, "nodes");
    endpoint(&first, &t.key, &receiver.url, &["intent.*"]);
    let ids: Vec<String> = (0..40)
        .map(|n| {
            let server = if n % 2 == 0 { &first } else { &second };
            declare(
                server,
                &t.token,
                &t.agent,
                json!({"expectedAmountEuros": 1}),
            )["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let logged: BTreeSet<String> = events(&second, &t.key, "&type=intent.*")
        .iter()
        .filter(|e| ids.contains(&e["object"]["id"].as_str().unwrap().to_owned()))
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(logged.len(), 80);
    receiver.wait_delivered(&logged);
    std::thread::sleep(Duration::from_millis(500));
    let all = receiver.all();
    let unique: BTreeSet<&str> = all.iter().map(Received::id).collect();
    assert_eq!(all.len(), unique.len(), "no attempt made twice");
    assert_eq!(all.len(), 80);
}
