//! Load generator: declares intents over HTTP against a real `warrant serve`
//! (embedded SQLite, every write fully synced) with a three-rule policy,
//! and reports throughput and latency percentiles.
//!
//! `cargo bench --bench intents` measures for 10 s per run with 1, 4 and 16
//! concurrent clients; `cargo test` runs it for a moment, so that it cannot
//! rot. `WARRANT_BENCH_SECONDS` overrides the duration.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN_KEY: &str = "bench-admin-key-0123456789";

struct Server {
    child: Child,
    base: String,
    http: ureq::Agent,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_warrant"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("WARRANT_ADMIN_KEY", ADMIN_KEY)
            .env("WARRANT_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the server says where").unwrap();
            if let Some(address) = line.strip_prefix("listening on ") {
                break address.to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base,
            http: agent(),
            _dir: dir,
        }
    }

    fn post(&self, path: &str, key: &str, body: &Value) -> Value {
        let mut response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {key}"))
            .send(body.to_string())
            .expect("request");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.body_mut().read_json().expect("JSON")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent()
}

struct Run {
    clients: usize,
    intents: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}

/// `clients` threads, each an agent with its own token and keep-alive
/// connection, declare intents for `duration`.
fn run(server: &Server, tenant_key: &str, policy: &str, clients: usize, duration: Duration) -> Run {
    let tokens: Vec<String> = (0..clients)
        .map(|i| {
            let agent = server.post(
                "/agents",
                tenant_key,
                &json!({"name": format!("bench {i}"), "policyId": policy,
                        "profile": {"purpose": "load"}}),
            );
            let id = agent["id"].as_str().unwrap();
            let token = server.post(&format!("/agents/{id}/tokens"), tenant_key, &json!({}));
            token["token"].as_str().unwrap().to_owned()
        })
        .collect();
    let start = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let workers: Vec<_> = tokens
            .iter()
            .map(|token| {
                let base = &server.base;
                s.spawn(move || {
                    let http = agent();
                    let mut latencies = Vec::new();
                    let mut n = 0u64;
                    while start.elapsed() < duration {
                        n += 1;
                        // Mostly approved, some pending, some denied.
                        let amount = [4.51, 12.0, 86.4, 33.3, 250.0][(n % 5) as usize];
                        let body = format!(
                            r#"{{"cardName":"subscriptions","purpose":"renew the server","expectedAmountEuros":{amount},"expectedMerchant":"hetzner.com"}}"#
                        );
                        let sent = Instant::now();
                        let response = http
                            .post(format!("{base}/intents"))
                            .header("Authorization", format!("Bearer {token}"))
                            .send(body)
                            .expect("request");
                        assert_eq!(response.status().as_u16(), 201);
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let elapsed = start.elapsed();
    latencies.sort();
    Run {
        clients,
        intents: latencies.len(),
        elapsed,
        latencies,
    }
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let seconds: f64 = std::env::var("WARRANT_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if measuring { 10.0 } else { 0.3 });
    let duration = Duration::from_secs_f64(seconds);
    let client_counts: &[usize] = if measuring { &[1, 4, 16] } else { &[2] };

    let server = Server::start();
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

    println!("POST /intents, 3-rule policy, SQLite WAL with synchronous=FULL");
    println!("clients  intents  seconds  intents/s  p50 ms  p99 ms  max ms");
    for &clients in client_counts {
        let run = run(&server, &key, &policy, clients, duration);
        assert!(run.intents > 0, "no intent was declared");
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:>7}  {:>7}  {:>7.1}  {:>9.0}  {:>6.2}  {:>6.2}  {:>6.2}",
            run.clients,
            run.intents,
            run.elapsed.as_secs_f64(),
            run.intents as f64 / run.elapsed.as_secs_f64(),
            ms(run.percentile(0.5)),
            ms(run.percentile(0.99)),
            ms(*run.latencies.last().unwrap()),
        );
    }
}
