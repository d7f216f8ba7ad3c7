//! End-to-end load: `POST /intents` over HTTP against a real `warrant serve`
//! with a three-rule policy, on SQLite (every commit flushed to disk) and,
//! when `WARRANT_TEST_POSTGRES` names a PostgreSQL server (as under
//! `scripts/with-postgres`), on PostgreSQL.
//!
//! For each database:
//! 1. saturation: 64 keep-alive connections, each an agent of its own,
//!    send back to back (a closed loop); intents per second; then the same
//!    from Debian's `wrk` when it is installed (`WARRANT_BENCH_WRK` names
//!    another), so that this program's own cost shows;
//! 2. latency at half of that: the same connections send on a fixed
//!    schedule (an open loop; a request's latency counts from when it was
//!    due, so a stall is not hidden by the requests it delays); p50, p99;
//! 3. payments: each connection's agent declares an intent and the issuer
//!    then authorizes it (`POST /authorizations`, the tenant's key), back
//!    to back and at half that rate; the authorizations' latency;
//! 4. growth: that latency again with 10 k, 100 k and 1 M intents stored
//!    (filled directly into the database, spread over the agents and the
//!    last 30 days);
//! 5. start: `warrant serve` restarted with 100 uploaded plugins, time to
//!    listening, then the first decisions of two policies that run all 100
//!    (fifty rules each, a policy's most is 64);
//! 6. the outbox: saturation again with a webhook endpoint that receives
//!    every event (two per intent: created, and its decision) on a local
//!    receiver; intents per second, and how fast the deliverer sends.
//!
//! `cargo bench --bench intents` measures (`WARRANT_BENCH_SECONDS` per run,
//! default 10; `WARRANT_BENCH_GROWTH`, default `10000,100000,1000000`;
//! `WARRANT_BENCH_ONLY=sqlite` or `postgres` for one database;
//! `WARRANT_BENCH_SERVER`, another build's `warrant` to measure instead);
//! `cargo test` runs every part for a moment on a small store, so that it
//! cannot rot. Nothing here asserts a speed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use warrant_domain::context::{Card, Intent};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_store::{IntentRecord, PostgresStore, SqliteStore};

const ADMIN_KEY: &str = "bench-admin-key-0123456789";
const CONNECTIONS: usize = 64;

/// Where the server keeps its data.
#[derive(Clone)]
enum Database {
    Sqlite,
    Postgres(String),
}

impl Database {
    fn name(&self) -> &'static str {
        match self {
            Database::Sqlite => "SQLite",
            Database::Postgres(_) => "PostgreSQL",
        }
    }
}

struct Server {
    child: Option<Child>,
    base: String,
    dir: tempfile::TempDir,
    database: Database,
    http: ureq::Agent,
}

impl Server {
    fn start(database: Database) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (base, child) = spawn(dir.path(), &database);
        Server {
            child: Some(child),
            base,
            dir,
            database,
            http: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .proxy(None)
                .build()
                .new_agent(),
        }
    }

    /// Stops the server and starts it again on the same data; gives how
    /// long until it listened.
    fn restart(&mut self) -> Duration {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        let started = Instant::now();
        let (base, child) = spawn(self.dir.path(), &self.database);
        let elapsed = started.elapsed();
        self.base = base;
        self.child = Some(child);
        elapsed
    }

    fn send(&self, path: &str, key: &str, body: Vec<u8>) -> Value {
        let mut response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {key}"))
            .send(body)
            .expect("request");
        let status = response.status();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    fn post(&self, path: &str, key: &str, body: &Value) -> Value {
        self.send(path, key, body.to_string().into_bytes())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(dir: &std::path::Path, database: &Database) -> (String, Child) {
    // Another build of the server may be compared with this one's.
    let binary = std::env::var_os("WARRANT_BENCH_SERVER")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_warrant").into());
    let mut command = Command::new(binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir);
    if let Database::Postgres(url) = database {
        command.args(["--database-url", url]);
    }
    let mut child = command
        .env("WARRANT_ADMIN_KEY", ADMIN_KEY)
        .env("WARRANT_LOG", "error")
        // The benchmark's webhook receiver listens on loopback.
        .env("WARRANT_ALLOW_INSECURE_WEBHOOKS", "1")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the server says where").unwrap();
        if let Some(address) = line.strip_prefix("listening on ") {
            break address.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (base, child)
}

/// A webhook receiver on loopback that answers every request 200 and
/// counts them.
struct Receiver {
    url: String,
    count: Arc<std::sync::atomic::AtomicUsize>,
}

impl Receiver {
    fn start() -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut out = stream;
                    loop {
                        let mut length = 0;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line.trim_end().is_empty() {
                                break;
                            }
                            if let Some((name, value)) = line.split_once(':')
                                && name.eq_ignore_ascii_case("content-length")
                            {
                                length = value.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if out
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        Receiver { url, count }
    }

    fn received(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A tenant with the three-rule policy and one agent (and token) per
/// connection.
struct Setup {
    tenant_id: String,
    key: String,
    policy: String,
    agents: Vec<(String, String)>,
}

fn setup(server: &Server) -> Setup {
    let tenant = server.post("/tenants", ADMIN_KEY, &json!({"name": "bench"}));
    let key = tenant["apiKey"].as_str().unwrap().to_owned();
    let policy = server.post(
        "/policies",
        &key,
        &json!({"name": "three rules", "rules": [
            {"plugin": "spend-limit", "config": {"maxAmountEuros": 100, "reviewAboveEuros": 50}},
            {"plugin": "merchant-rules", "config": {"block": ["casino.example"]}},
            {"plugin": "spend-limit", "config": {"maxAmountEuros": 1000}}
        ]}),
    );
    let policy = policy["id"].as_str().unwrap().to_owned();
    let agents = (0..CONNECTIONS)
        .map(|i| {
            let agent = server.post(
                "/agents",
                &key,
                &json!({"name": format!("bench {i}"), "policyId": policy,
                        "profile": {"purpose": "load"}}),
            );
            let id = agent["id"].as_str().unwrap().to_owned();
            server.post(
                "/cards",
                &key,
                &json!({"agentId": id, "name": "subscriptions"}),
            );
            let token = server.post(&format!("/agents/{id}/tokens"), &key, &json!({}));
            (id, token["token"].as_str().unwrap().to_owned())
        })
        .collect();
    Setup {
        tenant_id: tenant["id"].as_str().unwrap().to_owned(),
        key,
        policy,
        agents,
    }
}

/// Payers: an agent of its own per connection (so that each has only the
/// intents it declares to pay), its token, its card `subscriptions` and an
/// issuer's key (`developer`; a key may make 100 requests a second by
/// default).
fn payers(server: &Server, setup: &Setup) -> Vec<(String, String, String)> {
    (0..CONNECTIONS)
        .map(|i| {
            let agent = server.post(
                "/agents",
                &setup.key,
                &json!({"name": format!("payer {i}"), "policyId": setup.policy,
                        "profile": {"purpose": "pays"}}),
            );
            let agent = agent["id"].as_str().unwrap();
            let token = server.post(&format!("/agents/{agent}/tokens"), &setup.key, &json!({}));
            let card = server.post(
                "/cards",
                &setup.key,
                &json!({"agentId": agent, "name": "subscriptions"}),
            );
            let issuer = server.post(
                "/api-keys",
                &setup.key,
                &json!({"name": format!("issuer {i}"), "role": "developer"}),
            );
            (
                token["token"].as_str().unwrap().to_owned(),
                card["id"].as_str().unwrap().to_owned(),
                issuer["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// What a run measured.
struct Run {
    intents: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.intents as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}

/// One keep-alive HTTP/1.1 connection.
async fn connect(base: &str) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let address = base.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    stream.set_nodelay(true).unwrap();
    let io = hyper_util::rt::TokioIo::new(stream);
    let (sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender
}

/// Each connection, with its agent's token, declares intents for
/// `duration`: back to back when `rate` is none (closed loop), else on a
/// schedule that totals `rate` per second over all connections, each
/// latency counted from when its request was due.
async fn load(base: &str, tokens: &[String], duration: Duration, rate: Option<f64>) -> Run {
    let start = Instant::now() + Duration::from_millis(50);
    let interval = rate.map(|rate| Duration::from_secs_f64(tokens.len() as f64 / rate));
    let connections = tokens.len() as f64;
    let tasks: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(index, token)| {
            let base = base.to_owned();
            let authorization = format!("Bearer {token}");
            tokio::spawn(async move {
                let mut sender = connect(&base).await;
                let mut latencies = Vec::new();
                // Spread the connections' schedules over one interval.
                let offset =
                    interval.map_or(Duration::ZERO, |i| i.mul_f64(index as f64 / connections));
                let mut due = start + offset;
                let mut n = index as u64;
                loop {
                    if interval.is_some() {
                        tokio::time::sleep_until(due.into()).await;
                    } else {
                        due = Instant::now();
                    }
                    if due.duration_since(start) >= duration {
                        break;
                    }
                    n += 1;
                    let body = intent_body(n);
                    let request = hyper::Request::post("/intents")
                        .header("host", "bench")
                        .header("authorization", &authorization)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body)))
                        .unwrap();
                    let response = sender.send_request(request).await.expect("answer");
                    let status = response.status();
                    let body = response.into_body().collect().await.expect("body");
                    assert_eq!(status.as_u16(), 201, "{:?}", body.to_bytes());
                    latencies.push(due.elapsed());
                    if let Some(interval) = interval {
                        due += interval;
                    }
                }
                latencies
            })
        })
        .collect();
    run_of(tasks, start).await
}

/// The `n`th intent a connection declares: mostly approved, some pending,
/// some denied, in a cycle of [`AMOUNTS`].
fn intent_body(n: u64) -> String {
    let amount = AMOUNTS[(n % AMOUNTS.len() as u64) as usize];
    format!(
        r#"{{"cardName":"subscriptions","purpose":"renew the server","expectedAmountEuros":{amount},"expectedMerchant":"hetzner.com"}}"#
    )
}

const AMOUNTS: [&str; 5] = ["4.51", "12", "86.40", "33.30", "250"];

/// Saturation measured by Debian's `wrk` instead of this program: the
/// same requests on as many connections, each request with the next
/// agent's token; `None` without `wrk`.
fn wrk(base: &str, tokens: &[String], duration: Duration) -> Option<String> {
    let binary = std::env::var("WARRANT_BENCH_WRK").unwrap_or_else(|_| "wrk".to_owned());
    // Absent, it cannot even say its version.
    Command::new(&binary).arg("--version").output().ok()?;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("intents.lua");
    // Lua reads Rust's quoted strings, escaped quotes and all, as its own.
    let quoted = |texts: &[String]| {
        let quoted: Vec<String> = texts.iter().map(|t| format!("{t:?}")).collect();
        quoted.join(", ")
    };
    let bodies: Vec<String> = (0..AMOUNTS.len() as u64).map(intent_body).collect();
    std::fs::write(
        &script,
        format!(
            r#"local tokens = {{ {} }}
local bodies = {{ {} }}
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/intents", {{
    ["authorization"] = "Bearer " .. tokens[n % #tokens + 1],
    ["content-type"] = "application/json",
  }}, bodies[n % #bodies + 1])
end
"#,
            quoted(tokens),
            quoted(&bodies),
        ),
    )
    .unwrap();
    let seconds = duration.as_secs_f64().round().max(1.0);
    let output = Command::new(&binary)
        .args(["-t1", &format!("-c{CONNECTIONS}"), &format!("-d{seconds}s")])
        .args(["--latency", "-s"])
        .arg(&script)
        .arg(base)
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}");
    let field = |prefix: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .map(|rest| rest.trim().to_owned())
    };
    // Every answer must be a new intent.
    assert_eq!(field("Non-2xx or 3xx responses:"), None, "{text}");
    let per_second = field("Requests/sec:").expect("wrk's rate");
    let requests = text
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .map(|(n, _)| n.to_owned())
        .expect("wrk's count");
    Some(format!(
        "wrk, the same load: {per_second} intents/s ({requests} in {seconds:.0} s), p50 {}, p99 {}",
        field("50%").expect("wrk's median"),
        field("99%").expect("wrk's 99th percentile"),
    ))
}

/// Payments: each connection's agent declares an intent of 12 EUR at
/// hetzner.com with its token, then the issuer asks `POST /authorizations`
/// for it on the agent's card with its own key, for `duration`, back to
/// back or `rate` pairs a second in all. Only the authorization is timed,
/// from when it is sent; every one must be approved.
async fn authorize_load(
    base: &str,
    payers: &[(String, String, String)],
    duration: Duration,
    rate: Option<f64>,
) -> Run {
    let start = Instant::now() + Duration::from_millis(50);
    let interval = rate.map(|rate| Duration::from_secs_f64(payers.len() as f64 / rate));
    let connections = payers.len() as f64;
    let tasks: Vec<_> = payers
        .iter()
        .enumerate()
        .map(|(index, (token, card, key))| {
            let base = base.to_owned();
            let agent = format!("Bearer {token}");
            let issuer = format!("Bearer {key}");
            let authorization = format!(
                r#"{{"cardId":"{card}","amount":1200,"currency":"EUR","merchant":{{"name":"HETZNER ONLINE GMBH","domain":"hetzner.com","mcc":"4816","country":"DE"}}}}"#
            );
            tokio::spawn(async move {
                let mut sender = connect(&base).await;
                let mut latencies = Vec::new();
                let offset =
                    interval.map_or(Duration::ZERO, |i| i.mul_f64(index as f64 / connections));
                let mut due = start + offset;
                loop {
                    if interval.is_some() {
                        tokio::time::sleep_until(due.into()).await;
                    } else {
                        due = Instant::now();
                    }
                    if due.duration_since(start) >= duration {
                        break;
                    }
                    let declare = hyper::Request::post("/intents")
                        .header("host", "bench")
                        .header("authorization", &agent)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(
                            br#"{"cardName":"subscriptions","purpose":"renew the server","expectedAmountEuros":12,"expectedMerchant":"hetzner.com"}"#,
                        )))
                        .unwrap();
                    let response = sender.send_request(declare).await.expect("answer");
                    let body = response.into_body().collect().await.expect("body").to_bytes();
                    assert!(body.windows(19).any(|w| w == br#""status":"approved""#), "{body:?}");
                    let sent = Instant::now();
                    let ask = hyper::Request::post("/authorizations")
                        .header("host", "bench")
                        .header("authorization", &issuer)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(authorization.clone())))
                        .unwrap();
                    let response = sender.send_request(ask).await.expect("answer");
                    let status = response.status();
                    let body = response.into_body().collect().await.expect("body").to_bytes();
                    assert_eq!(status.as_u16(), 200, "{body:?}");
                    assert!(body.windows(15).any(|w| w == br#""approved":true"#), "{body:?}");
                    latencies.push(sent.elapsed());
                    if let Some(interval) = interval {
                        due += interval;
                    }
                }
                latencies
            })
        })
        .collect();
    run_of(tasks, start).await
}

/// What the load tasks started at `start` measured, once all are done.
async fn run_of(tasks: Vec<tokio::task::JoinHandle<Vec<Duration>>>, start: Instant) -> Run {
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a load task"));
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Run {
        intents: latencies.len(),
        elapsed,
        latencies,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Stores `count` more decided intents, spread over the agents and the 30
/// days before now, as the request path records them.
async fn fill(server: &Server, setup: &Setup, from: usize, count: usize) {
    const DAY: i64 = 86_400_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let records: Vec<IntentRecord> = (from..from + count)
        .map(|n| {
            let (agent, _) = &setup.agents[n % setup.agents.len()];
            let at = now - 30 * DAY + (n as i64 * 7_919) % (30 * DAY);
            let id = format!("int_fill{n:010}");
            let status = if n % 7 == 0 {
                IntentStatus::Denied
            } else {
                IntentStatus::Completed
            };
            IntentRecord {
                id: id.clone(),
                tenant_id: setup.tenant_id.clone(),
                agent_id: agent.clone(),
                status,
                intent: Intent {
                    id,
                    amount: Some(Money::new(100 + (n as u64 % 9_000), Currency::EUR)),
                    merchant: Some(format!("m{}.example", n % 50)),
                    card: Card::Name("subscriptions".into()),
                    purpose: "history".into(),
                    recurring: None,
                    client_intent_id: None,
                    ttl_minutes: 60,
                    signed_by: None,
                },
                card: None,
                decision: r#"{"outcome":"approved"}"#.into(),
                policy_id: setup.policy.clone(),
                policy_version: 1,
                status_reason: None,
                settlement: None,
                approvals_required: 1,
                created_ms: at,
                updated_ms: at,
                expires_ms: at + 60 * 60_000,
                input_sha256: None,
            }
        })
        .collect();
    match &server.database {
        Database::Sqlite => {
            let store = SqliteStore::open(&server.dir.path().join("warrant.db"))
                .await
                .unwrap();
            for chunk in records.chunks(5_000) {
                store.bulk_insert_intents(chunk).await.unwrap();
            }
            warrant_store::Store::close(&store).await;
        }
        Database::Postgres(url) => {
            let store = PostgresStore::connect_with(url, 2).await.unwrap();
            for chunk in records.chunks(5_000) {
                store.bulk_insert_intents(chunk).await.unwrap();
            }
            // What autovacuum and spread checkpoints do as a database grows
            // by requests: a bulk fill outruns them (it updates each
            // counter row hundreds of times in one transaction, and leaves
            // gigabytes of log to checkpoint) and leaves plans made for
            // small tables. `WARRANT_BENCH_VACUUM=0` measures without it.
            if !std::env::var("WARRANT_BENCH_VACUUM").is_ok_and(|v| v == "0") {
                store.vacuum().await.unwrap();
            }
            warrant_store::Store::close(&store).await;
        }
    }
}

/// Uploads `count` distinct plugins (the built-in spend limit, each with a
/// custom section of its own, so each is compiled and cached apart) and
/// policies that run them all, fifty rules each; gives an agent on each.
fn many_plugins(server: &Server, setup: &Setup, count: usize) -> Vec<String> {
    let base = warrant_builtins::find("spend-limit").unwrap().wasm;
    let mut rules = Vec::new();
    for n in 0..count {
        let mut wasm = base.to_vec();
        let name = b"bench";
        let payload = format!("plugin {n}");
        // A custom section: id 0, size, name, payload.
        let size = 1 + name.len() + payload.len();
        wasm.push(0);
        wasm.push(u8::try_from(size).expect("a short section"));
        wasm.push(u8::try_from(name.len()).unwrap());
        wasm.extend_from_slice(name);
        wasm.extend_from_slice(payload.as_bytes());
        server.send(
            &format!("/plugins?name=limit-{n}&version=1.0.0"),
            &setup.key,
            wasm,
        );
        // Fifty rules to a policy share its 2 s of plugin deadlines.
        rules.push(json!({"plugin": format!("limit-{n}@1.0.0"),
                          "config": {"maxAmountEuros": 1000},
                          "limits": {"timeoutMs": 40}}));
    }
    rules
        .chunks(50)
        .map(|rules| {
            let policy = server.post(
                "/policies",
                &setup.key,
                &json!({"name": "many plugins", "rules": rules}),
            );
            let agent = server.post(
                "/agents",
                &setup.key,
                &json!({"name": "many rules", "policyId": policy["id"],
                        "profile": {"purpose": "start"}}),
            );
            let agent = agent["id"].as_str().unwrap().to_owned();
            server.post(
                "/cards",
                &setup.key,
                &json!({"agentId": agent, "name": "c"}),
            );
            agent
        })
        .collect()
}

/// How long the first decision of each agent takes, in all.
fn first_decisions(server: &Server, key: &str, agents: &[String]) -> Duration {
    agents
        .iter()
        .map(|agent| first_decision(server, key, agent))
        .sum()
}

fn first_decision(server: &Server, key: &str, agent: &str) -> Duration {
    let started = Instant::now();
    let answer = server.post(
        "/intents",
        key,
        &json!({"agentId": agent, "cardName": "c", "purpose": "start",
                "expectedAmountEuros": 5, "expectedMerchant": "hetzner.com"}),
    );
    assert_eq!(answer["status"], "approved", "{answer}");
    started.elapsed()
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let seconds: f64 = std::env::var("WARRANT_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if measuring { 10.0 } else { 0.3 });
    let duration = Duration::from_secs_f64(seconds);
    let growth: Vec<usize> = std::env::var("WARRANT_BENCH_GROWTH")
        .ok()
        .map(|list| {
            list.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().parse().expect("a number of intents"))
                .collect()
        })
        .unwrap_or(if measuring {
            vec![10_000, 100_000, 1_000_000]
        } else {
            vec![200, 400]
        });
    let plugins = if measuring { 100 } else { 3 };

    let only = std::env::var("WARRANT_BENCH_ONLY").unwrap_or_default();
    let mut databases = Vec::new();
    if only != "postgres" {
        databases.push(Database::Sqlite);
    }
    if only == "sqlite" {
        println!("(PostgreSQL skipped: WARRANT_BENCH_ONLY=sqlite)");
    } else if let Ok(server) = std::env::var("WARRANT_TEST_POSTGRES") {
        let name = format!("warrant_bench_{}", std::process::id());
        databases.push(Database::Postgres(format!(
            "{}/{name}",
            server.trim_end_matches('/')
        )));
    } else {
        println!("(PostgreSQL skipped: WARRANT_TEST_POSTGRES is not set)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();

    for database in databases {
        let mut server = Server::start(database.clone());
        let setup = Arc::new(setup(&server));
        let tokens: Vec<String> = setup.agents.iter().map(|(_, t)| t.clone()).collect();
        let name = database.name();
        println!("\n{name}: POST /intents, 3-rule policy, {CONNECTIONS} connections");

        // Warm up (compiles nothing: the built-ins are loaded at start).
        runtime.block_on(load(&server.base, &tokens, duration / 5, None));
        let saturated = runtime.block_on(load(&server.base, &tokens, duration, None));
        assert!(saturated.intents > 0, "no intent was declared");
        println!(
            "saturation: {:.0} intents/s ({} in {:.1} s), p50 {:.2} ms, p99 {:.2} ms",
            saturated.per_second(),
            saturated.intents,
            saturated.elapsed.as_secs_f64(),
            ms(saturated.percentile(0.5)),
            ms(saturated.percentile(0.99)),
        );
        // The same, from a load generator someone else wrote.
        match wrk(&server.base, &tokens, duration) {
            Some(external) => println!("{external}"),
            None => println!("(wrk skipped: it is not installed)"),
        }
        let half = saturated.per_second() / 2.0;
        let at_half = runtime.block_on(load(&server.base, &tokens, duration, Some(half)));
        println!(
            "at {half:.0}/s (half): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} intents)",
            ms(at_half.percentile(0.5)),
            ms(at_half.percentile(0.99)),
            ms(*at_half.latencies.last().unwrap()),
            at_half.intents,
        );

        // Payments: an intent declared, then its authorization.
        let payers = payers(&server, &setup);
        let paying = runtime.block_on(authorize_load(&server.base, &payers, duration, None));
        println!(
            "authorizations, each after its intent: {:.0} pairs/s ({} in {:.1} s), authorization p50 {:.2} ms, p99 {:.2} ms",
            paying.per_second(),
            paying.intents,
            paying.elapsed.as_secs_f64(),
            ms(paying.percentile(0.5)),
            ms(paying.percentile(0.99)),
        );
        let half_pairs = paying.per_second() / 2.0;
        let paying = runtime.block_on(authorize_load(
            &server.base,
            &payers,
            duration,
            Some(half_pairs),
        ));
        println!(
            "authorizations at {half_pairs:.0} pairs/s (half): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} authorizations)",
            ms(paying.percentile(0.5)),
            ms(paying.percentile(0.99)),
            ms(*paying.latencies.last().unwrap()),
            paying.intents,
        );

        // Growth: the same rate with more intents stored.
        let mut stored = 0;
        for &target in &growth {
            if target > stored {
                let filling = Instant::now();
                runtime.block_on(fill(&server, &setup, stored, target - stored));
                println!(
                    "filled to {target} intents in {:.0} s",
                    filling.elapsed().as_secs_f64()
                );
                stored = target;
            }
            let run = runtime.block_on(load(&server.base, &tokens, duration, Some(half)));
            println!(
                "{target:>9} stored, at {half:.0}/s: p50 {:.2} ms, p99 {:.2} ms",
                ms(run.percentile(0.5)),
                ms(run.percentile(0.99)),
            );
        }

        // Start with many plugins: restart, then the first decision that
        // runs them all (each loaded from the compiled cache, none
        // recompiled).
        let agents = many_plugins(&server, &setup, plugins);
        let warm = first_decisions(&server, &setup.key, &agents);
        let listening = server.restart();
        let first = first_decisions(&server, &setup.key, &agents);
        let again = first_decisions(&server, &setup.key, &agents);
        println!(
            "start with {plugins} plugins: listening after {:.0} ms; first decisions running all {plugins} {:.0} ms (the same before the restart, all loaded: {:.0} ms), the next ones {:.1} ms",
            ms(listening),
            ms(first),
            ms(warm),
            ms(again),
        );

        // The outbox: every intent's two events written with it, and sent,
        // after the endpoint's own `webhook_endpoint.created`, which its
        // `*` subscribes it to.
        let receiver = Receiver::start();
        let before = receiver.received();
        server.post(
            "/webhook-endpoints",
            &setup.key,
            &json!({"url": receiver.url, "events": ["*"]}),
        );
        let with_endpoint = runtime.block_on(load(&server.base, &tokens, duration, None));
        let during = receiver.received() - before;
        let written = with_endpoint.intents * 2 + 1;
        let draining = Instant::now();
        while receiver.received() - before < written
            && draining.elapsed() < Duration::from_secs(600)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let sent = receiver.received() - before;
        let total = with_endpoint.elapsed + draining.elapsed();
        println!(
            "with a webhook endpoint: {:.0} intents/s ({} in {:.1} s), p50 {:.2} ms, p99 {:.2} ms; \
             {sent} of {written} events delivered, {during} during the run ({:.0}/s), \
             the rest {:.1} s after it ({:.0} deliveries/s overall)",
            with_endpoint.per_second(),
            with_endpoint.intents,
            with_endpoint.elapsed.as_secs_f64(),
            ms(with_endpoint.percentile(0.5)),
            ms(with_endpoint.percentile(0.99)),
            during as f64 / with_endpoint.elapsed.as_secs_f64(),
            draining.elapsed().as_secs_f64(),
            sent as f64 / total.as_secs_f64(),
        );
        assert!(sent >= written, "every event is delivered");
    }
}
