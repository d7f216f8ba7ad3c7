//! The MCP server, end to end, with a client that no one here wrote: the
//! official MCP Python SDK (`mcp` from PyPI) runs `tests/mcp/client.py`
//! over Streamable HTTP (`/mcp` on `warrant serve`), over stdio relayed to
//! the server (`warrant mcp` with `WARRANT_URL`), and over stdio on the
//! database itself (`warrant mcp --data-dir`). Each run declares an
//! intent of every verdict, reads, lists, cancels, completes and verifies,
//! hits the error cases (a bad amount, an unknown field, another tenant's
//! intent, an agent approving), and approves as the tenant; the REST API
//! then shows what the client did. Runs on SQLite, and on PostgreSQL with
//! `WARRANT_E2E_DATABASE=postgres`.

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{Server, Tenant};

/// The client's run on `transport` (`http` or `stdio`), with `env` for
/// the stdio server; what it saw.
fn run_client(server: &Server, transport: &str, env: &[(&str, String)]) -> (Tenant, Value) {
    let lib = support::python_tool("tools_mcp");
    let tenant = Tenant::new(server, &format!("mcp {transport} {}", env.len()));
    let other = Tenant::new(server, "someone else");
    let foreign = server
        .intent(&other.token, &other.agent, "60")
        .expect(201)
        .str("id");
    // Another agent of the same tenant, whose intent the agent's token
    // must not reach either.
    let sibling = server.agent(&tenant.key, &tenant.policy, "sibling");
    let sibling_token = server.token(&tenant.key, &sibling);
    let sibling_intent = server
        .intent(&sibling_token, &sibling, "60")
        .expect(201)
        .str("id");
    let mut command = Command::new("python3");
    command
        .arg("tests/mcp/client.py")
        .arg(transport)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PYTHONPATH", &lib)
        .env("AGENT_TOKEN", &tenant.token)
        .env("TENANT_KEY", &tenant.key)
        .env("FOREIGN_INTENT", &foreign)
        .env("SIBLING_INTENT", &sibling_intent)
        .env("WARRANT_BIN", env!("CARGO_BIN_EXE_warrant"));
    if transport == "http" {
        command.arg(format!("{}/mcp", server.base));
    }
    for (name, value) in env {
        command.env(format!("MCP_ENV_{name}"), value);
    }
    let output = command.output().expect("python3 runs");
    assert!(
        output.status.success(),
        "the MCP client failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("the client's report");

    // Nothing the client did went around the application: the other
    // tenant's intent still waits, untouched.
    let untouched = server
        .get(&format!("/intents/{foreign}"), &other.key)
        .expect(200);
    assert_eq!(untouched.str("status"), "pending_approval");
    assert_eq!(untouched.body["history"].as_array().unwrap().len(), 1);
    (tenant, seen)
}

/// What the REST API shows after a client's run.
fn check_through_rest(server: &Server, tenant: &Tenant, seen: &Value) {
    let intent = |key: &str| {
        server
            .get(
                &format!("/intents/{}", seen[key].as_str().unwrap()),
                &tenant.key,
            )
            .expect(200)
    };
    let completed = intent("approved");
    assert_eq!(completed.str("status"), "completed");
    assert_eq!(
        completed.body["settlement"]["actualAmountEuros"],
        json!(12.3)
    );
    let approved = intent("pending");
    assert_eq!(approved.str("status"), "approved");
    let history = approved.body["history"].as_array().unwrap();
    let approval = history.last().unwrap();
    assert_eq!(approval["from"], "pending_approval");
    assert_eq!(approval["reason"], "the yearly renewal");
    assert_eq!(approval["note"], "checked");
    assert!(approval["actor"].as_str().unwrap().starts_with("key:ak_"));
    assert_eq!(intent("denied").str("status"), "denied");
    let cancelled = intent("cancelled");
    assert_eq!(cancelled.str("status"), "cancelled");
    assert_eq!(cancelled.str("statusReason"), "bought elsewhere");
    // Freezing and unfreezing are in the audit log, as over REST.
    let events = server
        .get(&format!("/events?objectId={}", tenant.agent), &tenant.key)
        .expect(200);
    let kinds: Vec<&str> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"agent.frozen") && kinds.contains(&"agent.unfrozen"),
        "{kinds:?}"
    );
    assert_eq!(
        server
            .get(&format!("/agents/{}", tenant.agent), &tenant.key)
            .expect(200)
            .str("status"),
        "active"
    );
}

#[test]
fn a_python_mcp_client_over_streamable_http() {
    let server = Server::start();
    let (tenant, seen) = run_client(&server, "http", &[]);
    check_through_rest(&server, &tenant, &seen);
}

#[test]
fn a_python_mcp_client_over_stdio_relayed_to_a_server() {
    let server = Server::start();
    let (tenant, seen) = run_client(&server, "stdio", &[("WARRANT_URL", server.base.clone())]);
    check_through_rest(&server, &tenant, &seen);
}

#[test]
fn a_python_mcp_client_over_stdio_on_the_database() {
    let server = Server::start();
    let storage = server.storage_args();
    let env = match storage[0].as_str() {
        "--database-url" => ("DATABASE_URL", storage[1].clone()),
        _ => ("WARRANT_DATA_DIR", storage[1].clone()),
    };
    let cache = tempfile::tempdir().unwrap();
    let mut envs = vec![
        env,
        (
            "WARRANT_CACHE_DIR",
            cache.path().to_str().unwrap().to_owned(),
        ),
    ];
    // The key that seals the database's signing keys, on PostgreSQL (on
    // SQLite, the data directory holds it).
    if storage[0] == "--database-url" {
        envs.push((
            "WARRANT_KEY_ENCRYPTION_KEY",
            support::POSTGRES_KEK.to_owned(),
        ));
    }
    let (tenant, seen) = run_client(&server, "stdio", &envs);
    check_through_rest(&server, &tenant, &seen);
}

/// `/mcp` asks for a credential the way the protocol's authorization
/// does, refuses a browser's cross-origin request, and counts against the
/// credential's rate limit like any request.
#[test]
fn the_http_endpoint_is_guarded_like_the_rest_api() {
    let server = Server::start();
    let tenant = Tenant::new(&server, "guarded");
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "curl", "version": "1"}}
    })
    .to_string();
    let accept = ("accept", "application/json, text/event-stream");
    let json_type = ("content-type", "application/json");
    let none = server.send(
        "POST",
        "/mcp",
        None,
        &[accept, json_type],
        Some(initialize.as_bytes()),
    );
    assert_eq!(none.status, 401);
    assert_eq!(none.body["error"]["code"], "E_UNAUTHORIZED");
    let wrong = server.send(
        "POST",
        "/mcp",
        Some("at_nope"),
        &[accept, json_type],
        Some(initialize.as_bytes()),
    );
    assert_eq!(wrong.status, 401);
    let ok = server.send(
        "POST",
        "/mcp",
        Some(&tenant.token),
        &[accept, json_type],
        Some(initialize.as_bytes()),
    );
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["result"]["serverInfo"]["name"], "warrant");
    let browser = server.send(
        "POST",
        "/mcp",
        Some(&tenant.token),
        &[accept, json_type, ("origin", "https://evil.example")],
        Some(initialize.as_bytes()),
    );
    assert_eq!(browser.status, 403);
}
