//! What an operator expects of a running server: liveness and readiness
//! without credentials, a request id on every answer, a deadline per
//! request, one JSON log line per request with no secret in it, the
//! bearer scheme in any letter case, Prometheus metrics that move with
//! traffic, and traces sent over OTLP when asked.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{ADMIN_KEY, Server, Tenant};

#[test]
fn liveness_and_readiness_need_no_credentials() {
    let server = Server::start();
    for path in ["/livez", "/healthz"] {
        let live = server.send("GET", path, None, &[], None);
        assert_eq!((live.status, live.text.as_str()), (200, "ok"), "{path}");
    }
    let ready = server.send("GET", "/readyz", None, &[], None);
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.body["status"], "ready");
}

#[test]
fn every_answer_has_a_request_id_and_a_usable_one_is_kept() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    let mine = server.send(
        "GET",
        &format!("/agents/{}", t.agent),
        Some(&t.key),
        &[("Request-Id", "trace-7f3a")],
        None,
    );
    assert_eq!(mine.status, 200);
    assert_eq!(mine.request_id.as_deref(), Some("trace-7f3a"));
    // A refusal and an unknown route have one too, made by the server.
    for answer in [
        server.send("GET", "/agents", None, &[], None),
        server.send("GET", "/nowhere", Some(&t.key), &[], None),
    ] {
        let id = answer.request_id.expect("a request id");
        assert!(id.starts_with("req_"), "{id}");
    }
}

#[test]
fn the_bearer_scheme_is_read_in_any_letter_case() {
    let server = Server::start();
    let t = Tenant::new(&server, "acme");
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let header = format!("{scheme} {}", t.key);
        let answer = server.send(
            "GET",
            &format!("/agents/{}", t.agent),
            None,
            &[("Authorization", header.as_str())],
            None,
        );
        assert_eq!(answer.status, 200, "{scheme}: {}", answer.text);
    }
    let answer = server.send(
        "GET",
        "/agents",
        None,
        &[("Authorization", &format!("Basic {}", t.key))],
        None,
    );
    assert_eq!(answer.code(), "E_UNAUTHORIZED");
}

/// A client that stops sending its body mid-way is answered 408 once the
/// request's time is up, instead of holding a connection (and a graceful
/// shutdown) forever.
#[test]
fn a_stalled_request_is_answered_408_at_its_deadline() {
    let server = Server::start_with(&["--request-timeout-ms", "500"]);
    let t = Tenant::new(&server, "acme");
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let started = Instant::now();
    write!(
        stream,
        "POST /intents HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"purpose\":",
        t.key
    )
    .unwrap();
    stream.flush().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("E_TIMEOUT") {
        let n = stream.read(&mut chunk).expect("an answer before 30 s");
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&chunk[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[test]
fn json_logs_have_one_line_per_request_and_no_secret() {
    let server = Server::start_with(&[
        "--log-format",
        "json",
        "--log-level",
        "warn,warrant::request=info",
    ]);
    let tenant = server
        .post("/tenants", ADMIN_KEY, serde_json::json!({"name": "acme"}))
        .expect(201);
    let (tenant_id, key) = (tenant.str("id"), tenant.str("apiKey"));
    let policy = server.policy(&key);
    let agent = server.agent(&key, &policy, "logged");
    let token = server.token(&key, &agent);
    server.get(&format!("/agents/{agent}"), &key).expect(200);
    let declared = server.intent(&token, &agent, "4.51").expect(201);
    let request_id = declared.request_id.clone().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let lines = server.log_lines();
        let found = lines
            .iter()
            .find(|line| line.contains(&request_id))
            .cloned();
        if let Some(line) = found {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "no log line for {request_id}: {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let logged: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(logged["target"], "warrant::request", "{line}");
    assert_eq!(logged["method"], "POST");
    assert_eq!(logged["route"], "/intents");
    assert_eq!(logged["status"], 201);
    assert_eq!(logged["tenant_id"], tenant_id.as_str());
    assert!(logged["duration_ms"].as_f64().unwrap() > 0.0, "{line}");

    let lines = server.log_lines();
    for line in &lines {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not JSON: {line}");
        for secret in [ADMIN_KEY, key.as_str(), token.as_str()] {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
    }
    // The tenant, the policy, the agent, its token, a read, the intent.
    let requests = lines
        .iter()
        .filter(|line| line.contains(r#""target":"warrant::request""#))
        .count();
    assert!(requests >= 6, "{lines:?}");
}

/// Every sample of a `/metrics` answer, as Prometheus' own Python client
/// parses it: `name{label="value",…}` (labels sorted) → value.
fn scrape(server: &Server, token: &str) -> BTreeMap<String, f64> {
    let answer = server.get("/metrics", token).expect(200);
    let lib = support::python_tool("tools_prometheus_client");
    let parse = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        samples[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(samples))
"#;
    let mut python = Command::new("python3")
        .args(["-c", parse])
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
        .write_all(answer.text.as_bytes())
        .unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "not Prometheus text: {}",
        answer.text
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn metrics_are_prometheus_text_for_their_token_and_move_with_traffic() {
    let token = "metrics-token-0123456789";
    let server = Server::start_with(&["--metrics-token", token]);
    let t = Tenant::new(&server, "acme");
    // Only the metrics token reads them; without one they are off.
    for key in [t.key.as_str(), ADMIN_KEY, "metrics-token-wrong"] {
        server
            .get("/metrics", key)
            .expect_error(401, "E_UNAUTHORIZED");
    }
    Server::start()
        .get("/metrics", token)
        .expect_error(404, "E_NOT_FOUND");

    let before = scrape(&server, token);
    for amount in ["4.51", "5.00", "6.00"] {
        server.intent(&t.token, &t.agent, amount).expect(201);
    }
    server.intent(&t.token, &t.agent, "86.40").expect(201);
    let after = scrape(&server, token);
    let moved = |sample: &str| {
        after
            .get(sample)
            .copied()
            .unwrap_or_else(|| panic!("no {sample} in {after:?}"))
            - before.get(sample).copied().unwrap_or(0.0)
    };
    assert_eq!(
        moved(r#"warrant_http_requests_total{method="POST",route="/intents",status="201"}"#),
        4.0
    );
    assert_eq!(moved(r#"warrant_decisions_total{outcome="approved"}"#), 3.0);
    assert_eq!(
        moved(r#"warrant_decisions_total{outcome="pending_approval"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"warrant_intent_transitions_total{from="none",to="approved"}"#),
        3.0
    );
    assert_eq!(
        moved(r#"warrant_plugin_evaluation_seconds_count{plugin="spend-limit"}"#),
        4.0
    );
    assert_eq!(
        moved(r#"warrant_plugin_fuel_count{plugin="spend-limit"}"#),
        4.0
    );
    assert_eq!(
        moved(r#"warrant_http_request_duration_seconds_count{method="POST",route="/intents"}"#),
        4.0
    );
    assert!(after.contains_key(r#"warrant_pool_busy_slots{pool="evaluations"}"#));
    // Every commit is timed, on either database; SQLite's group commit
    // also counts the writes of each group.
    assert!(moved("warrant_store_commit_seconds_count{}") >= 1.0);
    if server.database_url().is_none() {
        assert!(moved("warrant_store_commit_group_size_count{}") >= 1.0);
    }
    // The store's connections, sampled by the sweeper (every second).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !scrape(&server, token).contains_key(r#"warrant_store_connections{state="idle"}"#) {
        assert!(Instant::now() < deadline, "no warrant_store_connections");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What the stand-in collector received: each request's path and body.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A stand-in OpenTelemetry collector: answers every OTLP/HTTP request
/// with an empty success and keeps each (path, body).
fn collector() -> (u16, Received) {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        if header.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    sink.lock().unwrap().push((path, body));
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if writer.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, received)
}

#[test]
fn traces_go_to_an_otlp_collector_when_asked() {
    let (port, received) = collector();
    let mut server = Server::start_with(&["--otlp-endpoint", &format!("http://127.0.0.1:{port}")]);
    let t = Tenant::new(&server, "traced");
    server.intent(&t.token, &t.agent, "5").expect(201);
    // The spans still waiting are sent when the server stops.
    assert!(server.stop(), "the server stops cleanly");
    let received = received.lock().unwrap().clone();
    assert!(!received.is_empty(), "nothing reached the collector");
    assert!(received.iter().all(|(path, _)| path == "/v1/traces"));

    // OpenTelemetry's own protobuf messages read what was sent.
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = received
        .iter()
        .enumerate()
        .map(|(n, (_, body))| {
            let file = dir.path().join(format!("{n}.pb"));
            std::fs::write(&file, body).unwrap();
            file.to_str().unwrap().to_owned()
        })
        .collect();
    let lib = support::python_tool("tools_opentelemetry_proto");
    let read = r#"
import json, sys
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
spans = []
for path in sys.argv[1:]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(open(path, "rb").read())
    for resource in request.resource_spans:
        service = [a.value.string_value for a in resource.resource.attributes if a.key == "service.name"]
        for scope in resource.scope_spans:
            for span in scope.spans:
                attributes = {}
                for a in span.attributes:
                    kind = a.value.WhichOneof("value")
                    attributes[a.key] = getattr(a.value, kind)
                spans.append({"service": service, "name": span.name, "trace": span.trace_id.hex(),
                              "id": span.span_id.hex(), "parent": span.parent_span_id.hex(),
                              "attributes": attributes})
print(json.dumps(spans))
"#;
    let output = Command::new("python3")
        .args(["-c", read])
        .args(&files)
        .env("PYTHONPATH", &lib)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let spans: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let declared = spans
        .iter()
        .find(|s| s["name"] == "POST /intents")
        .unwrap_or_else(|| panic!("no span of the declaration: {spans:?}"));
    assert_eq!(declared["service"][0], "warrant");
    assert_eq!(declared["attributes"]["http.route"], "/intents");
    assert_eq!(declared["attributes"]["http.response.status_code"], 201);
    assert!(
        declared["attributes"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    // The decision is a span within the request's.
    let decision = spans
        .iter()
        .find(|s| s["name"] == "decision")
        .unwrap_or_else(|| panic!("no span of the decision: {spans:?}"));
    assert_eq!(decision["trace"], declared["trace"]);
    assert_eq!(decision["parent"], declared["id"]);
    assert_eq!(decision["attributes"]["agent_id"], t.agent.as_str());
    // No secret in any span.
    let text = serde_json::to_string(&spans).unwrap();
    assert!(!text.contains(&t.key) && !text.contains(&t.token));
}

/// A request refused before its body is looked at keeps its connection
/// usable for the next one, also when its body comes chunked and late
/// (as some HTTP clients send even an empty body): the server reads it
/// first, instead of answering and then closing a connection it left
/// unread data on.
#[test]
fn a_refused_chunked_request_leaves_its_connection_usable() {
    let server = Server::start();
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /agents HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer sk_nobody\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(b"2\r\n{}\r\n0\r\n\r\n").unwrap();
    let first = read_answer(&mut stream);
    assert!(first.starts_with("HTTP/1.1 401"), "{first}");
    write!(stream, "GET /livez HTTP/1.1\r\nhost: {address}\r\n\r\n").unwrap();
    let second = read_answer(&mut stream);
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    assert!(second.ends_with("ok"), "{second}");

    // A chunked body larger than what is read first (a component) still
    // reaches its handler whole.
    let key = server.tenant("chunked");
    let wasm = warrant_builtins::find("spend-limit").unwrap().wasm;
    assert!(wasm.len() > 64 << 10, "{}", wasm.len());
    write!(
        stream,
        "POST /plugins?name=chunked&version=1.0.0 HTTP/1.1\r\nhost: {address}\r\n\
         authorization: Bearer {key}\r\ncontent-type: application/wasm\r\n\
         transfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    for chunk in wasm.chunks(10_000) {
        write!(stream, "{:x}\r\n", chunk.len()).unwrap();
        stream.write_all(chunk).unwrap();
        stream.write_all(b"\r\n").unwrap();
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
    let uploaded = read_answer(&mut stream);
    assert!(uploaded.starts_with("HTTP/1.1 201"), "{uploaded}");
    assert!(
        uploaded.contains(&format!(r#""size":{}"#, wasm.len())),
        "{uploaded}"
    );
}

/// One HTTP/1.1 answer with a `content-length`, read from `stream`.
fn read_answer(stream: &mut std::net::TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => bytes.push(byte[0]),
            other => panic!("the connection ended: {other:?} after {bytes:?}"),
        }
    }
    let head = String::from_utf8(bytes).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    head + &String::from_utf8(body).unwrap()
}
