//! The API described: `/openapi.json` is an OpenAPI 3.1 document that
//! `openapi-spec-validator` (PyPI) accepts, lists every route the server
//! answers, and `/docs` shows it from embedded assets; then `schemathesis`
//! (PyPI), a property-based fuzzer, sends each operation a bounded number
//! of generated requests, valid and not, expecting no 5xx and every
//! answer as the document describes it (status, content type, headers,
//! body schema).

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{ADMIN_KEY, Server, python_tool};

/// Every (method, path) the document lists.
fn operations(document: &Value) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "post", "patch", "delete", "put"] {
            if item.get(method).is_some() {
                all.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    all
}

#[test]
fn the_document_is_valid_and_lists_every_route() {
    let server = Server::start();
    let answer = server
        .send("GET", "/openapi.json", None, &[], None)
        .expect(200);
    let document = answer.body.clone();
    assert_eq!(document["openapi"], "3.1.0");

    // A validator someone else wrote accepts it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &answer.text).unwrap();
    let checked = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .env("PYTHONPATH", python_tool("tools_openapi_spec_validator"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(said.contains("OK"), "{said}");

    // Every documented operation is a route (the fallback answers
    // `no such endpoint`, or 405, for anything else), with its schemas,
    // the bearer scheme and the error answers.
    let operations = operations(&document);
    assert!(operations.len() >= 55, "{operations:?}");
    for (method, path) in &operations {
        let concrete = path
            .replace("{token_id}", "tok_x")
            .replace("{asset}", "swagger-ui.css")
            .replace("{id}", "x");
        let answer = server.send(method, &concrete, Some("sk_nobody"), &[], None);
        assert_ne!(answer.status, 405, "{method} {path}");
        assert!(
            !answer.text.contains("no such endpoint"),
            "{method} {path} is documented but not routed"
        );
        let operation = &document["paths"][path][method.to_lowercase()];
        assert!(operation["operationId"].is_string(), "{method} {path}");
        assert!(operation["responses"]["401"].is_object(), "{method} {path}");
        assert!(operation["responses"]["500"].is_object(), "{method} {path}");
    }
    // The router is built from the handlers' annotations only: a route
    // added beside them would be missing from the document.
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("host/server/src/lib.rs"),
    )
    .unwrap();
    assert!(!source.contains(".route("), "a route outside `routes!`");
    let schemes = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(schemes["scheme"], "bearer");
    for schema in [
        "IntentView",
        "PolicyRequest",
        "IntentRequest",
        "Error",
        "KeyView",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "no schema {schema}"
        );
    }

    // The reference page and its assets come from the binary.
    let page = server.send("GET", "/docs", None, &[], None).expect(200);
    assert!(page.text.contains("/docs/swagger-ui-bundle.js"));
    assert!(page.text.contains("/openapi.json"));
    let script = server.send("GET", "/docs/swagger-ui-bundle.js", None, &[], None);
    assert_eq!(script.status, 200);
    assert!(script.text.len() > 100_000);
    server
        .send("GET", "/docs/index.html", None, &[], None)
        .expect_error(404, "E_NOT_FOUND");
}

/// Runs schemathesis against `server` with `key`, over the operations
/// `filters` pick; gives its exit status and output.
fn fuzz(server: &Server, key: &str, filters: &[&str]) -> (bool, String) {
    let lib = python_tool("tools_schemathesis");
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new("python3")
        .args(["-m", "schemathesis.cli", "run"])
        .arg(format!("{}/openapi.json", server.base))
        .args(["--header", &format!("Authorization: Bearer {key}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
            "--max-examples",
            "15",
            "--seed",
            "20261205",
            "--workers",
            "2",
            "--no-color",
            "--report-dir",
        ])
        .arg(dir.path())
        .args(filters)
        .current_dir(dir.path())
        .env("PYTHONPATH", lib)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn the_api_answers_its_fuzzer_as_documented_and_never_with_a_5xx() {
    let server = Server::start_with(&["--rate-limit", "0"]);
    let key = server.tenant("fuzzed");
    // Something to find: a policy, an agent, intents in several states.
    let policy = server.policy(&key);
    let agent = server.agent(&key, &policy, "fuzzed agent");
    for amount in ["10", "60", "500"] {
        server.intent(&key, &agent, amount).expect(201);
    }
    server
        .post(
            "/api-keys",
            &key,
            json!({"name": "reader", "role": "viewer"}),
        )
        .expect(201);

    // Everything but what would take the fuzzer's own key away: rolling
    // or revoking keys, which the next run covers with a key of its own.
    let (passed, report) = fuzz(
        &server,
        &key,
        &["--exclude-path-regex", "^/api-keys/\\{id\\}(/roll)?$"],
    );
    eprintln!("{report}");
    assert!(passed, "the fuzzer found failures");
    assert!(report.contains("passed"), "{report}");

    let spare = server.tenant("fuzzed keys");
    let (passed, report) = fuzz(
        &server,
        &spare,
        &["--include-path-regex", "^/api-keys/\\{id\\}(/roll)?$"],
    );
    eprintln!("{report}");
    assert!(passed, "the fuzzer found failures");

    // The server still serves.
    server.get("/agents", &key).expect(200);
    server
        .post("/tenants", ADMIN_KEY, json!({"name": "after"}))
        .expect(201);
}
