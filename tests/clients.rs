//! The client SDKs, installed the way their users install them (`pip
//! install ./sdk/clients/python`; the TypeScript package built by its
//! `tsc` and `npm install`ed into a project), run their live tests against
//! `warrant serve`: the intents quickstart, typed errors, exact money, the
//! routes and fields each uses checked against the OpenAPI document, and a
//! connection killed mid-request (through a proxy that lets the server act
//! and drops the answer) retried with the same Idempotency-Key so the
//! server acts once. Runs on SQLite, and on PostgreSQL with
//! `WARRANT_E2E_DATABASE=postgres`.

mod support;

use std::process::Command;

use support::{Server, Tenant};

/// A server with a tenant whose agent declares, and another tenant's
/// intent.
fn setup() -> (Server, Tenant, String) {
    let server = Server::start();
    let tenant = Tenant::new(&server, "client");
    let other = Tenant::new(&server, "someone else");
    let foreign = server
        .intent(&other.token, &other.agent, "60")
        .expect(201)
        .str("id");
    (server, tenant, foreign)
}

#[test]
fn the_python_client_passes_its_live_tests() {
    let (server, tenant, foreign) = setup();
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

#[test]
fn the_typescript_client_passes_its_live_tests() {
    let (server, tenant, foreign) = setup();
    let root = env!("CARGO_MANIFEST_DIR");
    let package = format!("{root}/sdk/clients/typescript");
    let tsc = support::python_tool("tools_typescript");
    let built = Command::new("node")
        .args([tsc.as_str(), "-p", package.as_str()])
        .output()
        .expect("node runs");
    assert!(
        built.status.success(),
        "tsc: {}",
        String::from_utf8_lossy(&built.stdout)
    );
    // A project of its own installs the package from its path.
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("package.json"),
        r#"{"private": true, "type": "module"}"#,
    )
    .unwrap();
    let npm = Command::new("npm")
        .args([
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            package.as_str(),
        ])
        .current_dir(project.path())
        .output()
        .expect("npm runs");
    assert!(
        npm.status.success(),
        "npm install: {}",
        String::from_utf8_lossy(&npm.stderr)
    );
    std::fs::copy(
        format!("{package}/test/live.test.mjs"),
        project.path().join("live.test.mjs"),
    )
    .unwrap();
    let output = Command::new("node")
        .args(["--test", "live.test.mjs"])
        .current_dir(project.path())
        .env("WARRANT_URL", &server.base)
        .env("AGENT_TOKEN", &tenant.token)
        .env("TENANT_KEY", &tenant.key)
        .env("FOREIGN_INTENT", &foreign)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.contains("# pass 4") && report.contains("# fail 0"),
        "{report}"
    );
}
