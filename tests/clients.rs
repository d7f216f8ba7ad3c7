//! The Python client SDK (`sdk/clients/python`), installed the way its
//! users install it (`pip install ./sdk/clients/python`), runs its live
//! tests against `warrant serve`: the intents quickstart blocking and
//! async, typed errors, exact money, the routes and fields it uses checked
//! against the OpenAPI document, and a connection killed mid-request
//! (through a proxy that lets the server act and drops the answer) retried
//! with the same Idempotency-Key so the server acts once. Runs on SQLite,
//! and on PostgreSQL with `WARRANT_E2E_DATABASE=postgres`.

mod support;

use std::process::Command;

use support::{Server, Tenant};

#[test]
fn the_python_client_passes_its_live_tests() {
    let server = Server::start();
    let tenant = Tenant::new(&server, "client");
    let other = Tenant::new(&server, "someone else");
    let foreign = server
        .intent(&other.token, &other.agent, "60")
        .expect(201)
        .str("id");
    let installed = tempfile::tempdir().unwrap();
    let pip = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
        ])
        .arg(installed.path())
        .arg("./sdk/clients/python")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("pip runs");
    assert!(
        pip.status.success(),
        "pip install ./sdk/clients/python: {}",
        String::from_utf8_lossy(&pip.stderr)
    );
    let path = format!(
        "{}:{}",
        installed.path().display(),
        support::python_tool("tools_httpx")
    );
    let output = Command::new("python3")
        .args([
            "-m",
            "unittest",
            "discover",
            "-v",
            "-s",
            "sdk/clients/python/tests",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PYTHONPATH", path)
        .env("WARRANT_URL", &server.base)
        .env("AGENT_TOKEN", &tenant.token)
        .env("TENANT_KEY", &tenant.key)
        .env("FOREIGN_INTENT", &foreign)
        .output()
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    assert!(report.contains("Ran 5 tests"), "{report}");
}
