//! The `warrant` binary, run as a user runs it.

mod support;

use std::path::Path;

use serde_json::Value;
use support::warrant;

/// Runs `warrant eval` and returns its JSON, requiring exit status 0.
fn eval(plugin: &str, intent: &str, config: &str, cache: &Path) -> Value {
    let output = warrant(
        &["eval", plugin, "--intent", intent, "--config", config],
        cache,
    );
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("eval prints JSON")
}

const LIMITS: &str = r#"{"maxAmountEuros": 100, "reviewAboveEuros": 50}"#;

fn intent(extra: &str) -> String {
    format!(r#"{{"cardName": "subscriptions", "purpose": "renew the server"{extra}}}"#)
}

#[test]
fn eval_spend_limit_approves_reviews_and_denies() {
    let cache = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#", "expectedAmountEuros": 4.51"#,
            "approve",
            Value::Null,
            "approved",
        ),
        (
            r#", "expectedAmountEuros": 75"#,
            "review",
            "amount-over-review-threshold".into(),
            "pending_approval",
        ),
        (
            r#", "expectedAmountEuros": 120"#,
            "deny",
            "amount-over-max".into(),
            "denied",
        ),
        ("", "review", "no-amount".into(), "pending_approval"),
    ];
    for (extra, verdict, code, outcome) in cases {
        let out = eval("spend-limit", &intent(extra), LIMITS, cache.path());
        assert_eq!(out["verdict"], verdict, "{extra}: {out}");
        assert_eq!(out["code"], code, "{extra}");
        assert_eq!(out["outcome"], outcome, "{extra}");
        assert_eq!(out["plugin"], "spend-limit");
    }
}

#[test]
fn eval_merchant_rules_allows_only_exact_matches() {
    let cache = tempfile::tempdir().unwrap();
    let config = r#"{"allow": ["hetzner.com"], "block": ["casino.example"]}"#;
    let cases = [
        (
            r#", "expectedMerchant": "Hetzner.com""#,
            "approve",
            Value::Null,
        ),
        (
            r#", "expectedMerchant": "evilhetzner.com""#,
            "deny",
            "merchant-not-allowed".into(),
        ),
        (
            r#", "expectedMerchant": "casino.example""#,
            "deny",
            "merchant-blocked".into(),
        ),
        ("", "review", "no-merchant".into()),
    ];
    for (extra, verdict, code) in cases {
        let out = eval("merchant-rules", &intent(extra), config, cache.path());
        assert_eq!(out["verdict"], verdict, "{extra}: {out}");
        assert_eq!(out["code"], code, "{extra}");
    }
}

#[test]
fn eval_reports_a_failing_plugin_as_a_fail_closed_verdict_and_exits_zero() {
    let cache = tempfile::tempdir().unwrap();
    let guest = warrant_fixtures::guest("loop-forever");
    let out = eval(guest.path, &intent(""), "{}", cache.path());
    assert_eq!(out["verdict"], "deny");
    assert_eq!(out["code"], "E_PLUGIN_FUEL");
    assert_eq!(out["error"]["code"], "E_PLUGIN_FUEL");

    let out = eval("spend-limit", &intent(""), r#"{"max": 1}"#, cache.path());
    assert_eq!(out["verdict"], "deny");
    assert_eq!(out["error"]["code"], "E_PLUGIN_ERROR");
    assert_eq!(out["error"]["pluginCode"], "invalid-config");
}

#[test]
fn eval_can_send_failures_to_review_instead() {
    let cache = tempfile::tempdir().unwrap();
    let output = warrant(
        &[
            "eval",
            warrant_fixtures::guest("panics").path,
            "--intent",
            &intent(""),
            "--on-error",
            "review",
        ],
        cache.path(),
    );
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["verdict"], "review");
    assert_eq!(out["code"], "E_PLUGIN_TRAP");
    assert_eq!(out["outcome"], "pending_approval");
}

#[test]
fn eval_runs_risk_plugins_too() {
    let cache = tempfile::tempdir().unwrap();
    let out = eval(
        warrant_fixtures::guest("risk-out-of-range").path,
        &intent(""),
        "{}",
        cache.path(),
    );
    assert_eq!(out["stage"], "risk");
    assert_eq!(out["error"]["code"], "E_PLUGIN_OUTPUT");
    // A risk plugin scores; it decides nothing.
    assert!(out.get("outcome").is_none(), "{out}");
}

#[test]
fn eval_refuses_bad_input_with_a_clear_message() {
    let cache = tempfile::tempdir().unwrap();
    let cases: [(&[&str], i32, &str); 6] = [
        (
            &[
                "eval",
                "spend-limit",
                "--intent",
                r#"{"cardName": "c", "purpose": "p", "expectedAmountEuros": 4.515}"#,
            ],
            2,
            "`expectedAmountEuros` has more decimals than EUR allows",
        ),
        (
            &["eval", "spend-limit", "--intent", r#"{"cardName": "c"}"#],
            2,
            "missing field `purpose`",
        ),
        (
            &["eval", "spend-limit", "--intent", "not json"],
            2,
            "--intent",
        ),
        (
            &[
                "eval",
                "spend-limit",
                "--intent",
                &intent(""),
                "--config",
                "{",
            ],
            2,
            "`--config` is not JSON",
        ),
        (
            &["eval", "no-such-plugin", "--intent", &intent("")],
            1,
            "neither a `.wasm` file nor a built-in plugin",
        ),
        (
            &["eval", "missing.wasm", "--intent", &intent("")],
            1,
            "cannot read plugin `missing.wasm`",
        ),
    ];
    for (args, status, message) in cases {
        let output = warrant(args, cache.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(status), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn eval_refuses_a_component_that_is_not_a_plugin() {
    let cache = tempfile::tempdir().unwrap();
    let output = warrant(
        &[
            "eval",
            warrant_fixtures::guest("wrong-world").path,
            "--intent",
            &intent(""),
        ],
        cache.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("E_PLUGIN_WORLD"));
}

#[test]
fn a_second_run_loads_the_compiled_plugin_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let first = eval("spend-limit", &intent(""), LIMITS, cache.path());
    assert_eq!(first["load"]["source"], "compiled");
    let second = eval("spend-limit", &intent(""), LIMITS, cache.path());
    assert_eq!(second["load"]["source"], "cache");
    assert_eq!(second["verdict"], first["verdict"]);
}

#[test]
fn plugin_inspect_describes_a_component() {
    let cache = tempfile::tempdir().unwrap();
    let output = warrant(&["plugin", "inspect", "merchant-rules"], cache.path());
    assert!(output.status.success());
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["world"], "policy");
    assert_eq!(out["exports"], serde_json::json!(["prepare", "evaluate"]));
    // A 0.5.0 built-in imports nothing through its memory: one core
    // instance per call.
    assert_eq!(out["coreInstances"], 1);
    assert_eq!(out["sha256"].as_str().unwrap().len(), 64);
    assert!(out["size"].as_u64().unwrap() > 1000);
    assert!(
        out["imports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.as_str().unwrap().starts_with("warrant:policy/"))
    );

    let output = warrant(
        &["plugin", "inspect", warrant_fixtures::guest("nosy").path],
        cache.path(),
    );
    assert!(output.status.success());
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        out["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("wasi:cli/"))
    );
    assert!(out.get("refused").is_none(), "{out}");

    // A component the server would refuse is described, with why, and
    // exits 1.
    let output = warrant(
        &[
            "plugin",
            "inspect",
            warrant_fixtures::guest("foreign-import").path,
        ],
        cache.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["refused"]["code"], "E_PLUGIN_IMPORT", "{out}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the server would refuse") && stderr.contains("E_PLUGIN_IMPORT"),
        "{stderr}"
    );
}

#[test]
fn warrant_test_passes_the_example_cases_of_spend_limit() {
    let cache = tempfile::tempdir().unwrap();
    let cases = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/cases/spend-limit.json"
    );
    let output = warrant(&["test", "spend-limit", "--cases", cases], cache.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("PASS  denies one cent above the maximum"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("12 passed, 0 failed"),
        "{stdout}"
    );
}

/// The built-ins that read a risk summary or a charge have suites of
/// their own, which `warrant test` runs with those in the cases.
#[test]
fn warrant_test_passes_the_risk_and_charge_suites() {
    let cache = tempfile::tempdir().unwrap();
    for (plugin, count) in [("risk-threshold", 9), ("recurring-match", 11)] {
        let cases = format!(
            "{}/examples/cases/{plugin}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let output = warrant(&["test", plugin, "--cases", &cases], cache.path());
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{plugin}: {stdout}");
        assert!(
            stdout
                .trim_end()
                .ends_with(&format!("{count} passed, 0 failed")),
            "{plugin}: {stdout}"
        );
    }
}

#[test]
fn warrant_test_reports_each_failing_case_and_exits_1() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.json");
    std::fs::write(
        &cases,
        r#"{"defaults": {"config": {"maxAmountEuros": 100}},
            "cases": [
              {"name": "right", "intent": {"cardName": "c", "purpose": "p", "expectedAmountEuros": 1},
               "expect": {"verdict": "approve"}},
              {"name": "wrong verdict", "intent": {"cardName": "c", "purpose": "p", "expectedAmountEuros": 500},
               "expect": {"verdict": "approve"}},
              {"name": "wrong code", "intent": {"cardName": "c", "purpose": "p"},
               "expect": {"verdict": "review", "code": "no-merchant"}},
              {"name": "expects an error", "intent": {"cardName": "c", "purpose": "p", "expectedAmountEuros": 1},
               "expect": {"error": "E_PLUGIN_ERROR"}},
              {"name": "bad intent", "intent": {"purpose": "p"}, "expect": {"verdict": "approve"}}
            ]}"#,
    )
    .unwrap();
    let output = warrant(
        &["test", "spend-limit", "--cases", cases.to_str().unwrap()],
        cache.path(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("PASS  right"), "{stdout}");
    assert!(
        stdout.contains("FAIL  wrong verdict\n      expected approve, got deny (500.00 EUR is over the limit of 100.00 EUR)"),
        "{stdout}"
    );
    assert!(stdout.contains("expected code `no-merchant`"), "{stdout}");
    assert!(
        stdout.contains("expected error E_PLUGIN_ERROR, got approve"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the case's intent is not valid"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("1 passed, 4 failed"),
        "{stdout}"
    );

    std::fs::write(&cases, r#"{"cases": [{"name": "x"}]}"#).unwrap();
    let output = warrant(
        &["test", "spend-limit", "--cases", cases.to_str().unwrap()],
        cache.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a file of cases"));
}

#[test]
fn the_rust_reference_policy_passes_the_conformance_suite() {
    let cache = tempfile::tempdir().unwrap();
    let cases = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/cases/reference-policy.json"
    );
    let output = warrant(
        &[
            "test",
            warrant_fixtures::REFERENCE_POLICY_RUST,
            "--cases",
            cases,
        ],
        cache.path(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("56 passed, 0 failed"),
        "{stdout}"
    );
}

/// `warrant serve` with `args` and the environment `env` (besides the
/// shared plugin cache, and nothing of the test's own Warrant settings):
/// the process, its base URL and the lines it printed before listening.
fn serve_process(
    args: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
) -> (std::process::Child, String, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_warrant"));
    command
        .arg("serve")
        .args(args)
        .arg("--cache-dir")
        .arg(support::shared_cache());
    for name in [
        "DATABASE_URL",
        "WARRANT_ADMIN_KEY",
        "WARRANT_LISTEN",
        "WARRANT_DATA_DIR",
        "WARRANT_CONFIG",
        "WARRANT_METRICS_TOKEN",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let base = loop {
        let line = lines.next().expect("the server starts").unwrap();
        if let Some(address) = line.strip_prefix("listening on ") {
            break address.to_owned();
        }
        printed.push(line);
    };
    std::thread::spawn(move || for _ in lines {});
    (child, base, printed)
}

/// `warrant serve` on `data` with `admin_key` as `WARRANT_ADMIN_KEY` (none:
/// unset).
fn serve_with_admin_key(
    data: &Path,
    admin_key: Option<&str>,
) -> (std::process::Child, String, Vec<String>) {
    let env: Vec<(&str, &str)> = admin_key
        .map(|key| ("WARRANT_ADMIN_KEY", key))
        .into_iter()
        .collect();
    serve_process(
        &[
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--data-dir".as_ref(),
            data.as_os_str(),
        ],
        &env,
    )
}

/// Whether `key` is the admin key of the server at `base`: it may read
/// tenants (an unknown one is 404), or it is not valid (401).
fn is_admin_key(base: &str, key: &str) -> bool {
    let http = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    let status = http
        .get(format!("{base}/tenants/tn_nobody"))
        .header("Authorization", format!("Bearer {key}"))
        .call()
        .unwrap()
        .status()
        .as_u16();
    assert!(status == 404 || status == 401, "{status}");
    status == 404
}

fn stop(mut child: std::process::Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// There is one admin key. `WARRANT_ADMIN_KEY` replaces it, says so, and
/// stays after a restart without the variable; `warrant admin rotate-key`
/// prints a new one and the one before stops working.
#[test]
fn there_is_one_admin_key_and_setting_one_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let shown = |lines: &[String]| -> String {
        let line = lines
            .iter()
            .find(|line| line.starts_with("admin key (shown once"))
            .unwrap_or_else(|| panic!("no key shown in {lines:?}"));
        line.rsplit(' ').next().unwrap().to_owned()
    };

    let (server, base, printed) = serve_with_admin_key(&data, None);
    let generated = shown(&printed);
    assert!(generated.starts_with("wak_"), "{generated}");
    assert!(is_admin_key(&base, &generated));
    stop(server);

    let chosen = "a-chosen-admin-key-of-some-length";
    let (server, base, printed) = serve_with_admin_key(&data, Some(chosen));
    assert_eq!(
        printed,
        ["admin key: the configured one replaced the stored admin key, which no longer works"]
    );
    assert!(is_admin_key(&base, chosen));
    assert!(!is_admin_key(&base, &generated));
    stop(server);

    // Without the variable, the chosen key stays; nothing new is made.
    let (server, base, printed) = serve_with_admin_key(&data, None);
    assert!(printed.is_empty(), "{printed:?}");
    assert!(is_admin_key(&base, chosen));
    assert!(!is_admin_key(&base, &generated));
    stop(server);
    // The same key again replaces nothing.
    let (server, _, printed) = serve_with_admin_key(&data, Some(chosen));
    assert_eq!(printed, ["admin key: the configured one"]);
    stop(server);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warrant"))
        .args(["admin", "rotate-key", "--data-dir"])
        .arg(&data)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let rotated = shown(&printed);
    let (server, base, printed) = serve_with_admin_key(&data, None);
    assert!(printed.is_empty(), "{printed:?}");
    assert!(is_admin_key(&base, &rotated));
    assert!(!is_admin_key(&base, chosen));
    stop(server);
}

/// `warrant serve --help` names every setting with its environment
/// variable, secrets included (their values never shown), and
/// `warrant completions` writes a script the shell accepts.
#[test]
fn serve_help_names_every_setting_and_completions_are_shell_scripts() {
    let cache = tempfile::tempdir().unwrap();
    let help = warrant(&["serve", "--help"], cache.path());
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    for setting in [
        "WARRANT_LISTEN",
        "WARRANT_DATA_DIR",
        "DATABASE_URL",
        "WARRANT_CACHE_DIR",
        "WARRANT_ADMIN_KEY",
        "WARRANT_METRICS_TOKEN",
        "WARRANT_REQUEST_TIMEOUT_MS",
        "WARRANT_LOG_FORMAT",
        "WARRANT_LOG_LEVEL",
    ] {
        assert!(help.contains(setting), "{setting} missing from:\n{help}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let output = warrant(&["completions", shell], cache.path());
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(
            script.contains("rotate-key") && script.contains("serve"),
            "{shell}"
        );
        if shell == "bash" {
            let checked = std::process::Command::new("bash")
                .args(["-n", "-c", &script])
                .status()
                .unwrap();
            assert!(checked.success(), "the bash completions do not parse");
        }
    }
}

/// `--config FILE` gives every setting of the command; the environment
/// wins over it, and the command line over both. A key that is no setting
/// is refused.
#[test]
fn settings_come_from_the_command_line_then_the_environment_then_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = support::free_port();
    let config = dir.path().join("warrant.toml");
    let token = "from-the-config-file-0123";
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\nmetrics-token = \"{token}\"\n\
             request-timeout-ms = 5000\nlog-format = \"json\"\n\
             allow-insecure-webhooks = true\nwebhook-retry-scale = 0.5\n"
        ),
    )
    .unwrap();
    let with_config = [
        "--config".as_ref(),
        config.as_os_str(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ];

    let (server, base, printed) = serve_process(&with_config, &[]);
    assert_eq!(base, format!("http://127.0.0.1:{port}"));
    let http = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    let status = http
        .get(format!("{base}/metrics"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap()
        .status();
    assert_eq!(status, 200);
    // A switch: insecure webhooks let an endpoint be `http` on loopback.
    let admin = printed
        .iter()
        .find_map(|line| line.split(": ").nth(1))
        .expect("the admin key is printed");
    let post = |path: &str, key: &str, body: &str| {
        http.post(format!("{base}{path}"))
            .header("Authorization", format!("Bearer {key}"))
            .send(body)
            .unwrap()
    };
    let mut tenant = post("/tenants", admin, r#"{"name":"config"}"#);
    let tenant: Value = serde_json::from_str(&tenant.body_mut().read_to_string().unwrap()).unwrap();
    let key = tenant["apiKey"].as_str().unwrap();
    let made = post(
        "/webhook-endpoints",
        key,
        r#"{"url":"http://127.0.0.1:9/hook","events":["*"]}"#,
    );
    assert_eq!(made.status(), 201);
    stop(server);

    let (server, base, _) = serve_process(&with_config, &[("WARRANT_LISTEN", "127.0.0.1:0")]);
    assert_ne!(base, format!("http://127.0.0.1:{port}"));
    stop(server);
    let mut flagged = with_config.to_vec();
    flagged.extend([
        std::ffi::OsStr::new("--listen"),
        std::ffi::OsStr::new("127.0.0.1:0"),
    ]);
    let (server, base, _) = serve_process(
        &flagged,
        &[("WARRANT_LISTEN", &format!("127.0.0.1:{port}"))],
    );
    assert_ne!(base, format!("http://127.0.0.1:{port}"));
    stop(server);

    std::fs::write(&config, "listne = \"127.0.0.1:0\"\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warrant"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("WARRANT_CONFIG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`listne`") && stderr.contains("listen"),
        "{stderr}"
    );
}

/// The example policy and its cases, as `warrant policy test` takes them.
fn buyer_policy() -> (&'static str, &'static str) {
    (
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/policies/buyer.json"),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/policies/buyer.cases.json"
        ),
    )
}

#[test]
fn policy_test_decides_a_whole_policy_as_the_server_would() {
    let cache = tempfile::tempdir().unwrap();
    let (policy, cases) = buyer_policy();
    let output = warrant(&["policy", "test", policy, "--cases", cases], cache.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("PASS  a deny wins over a review"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("11 passed, 0 failed"),
        "{stdout}"
    );

    // JSON: each case with the decision's trace.
    let output = warrant(
        &[
            "policy", "test", policy, "--cases", cases, "--format", "json",
        ],
        cache.path(),
    );
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["passed"], 11);
    let pending = &report["cases"][1];
    assert_eq!(pending["verdict"], "pending_approval");
    let plugins: Vec<&str> = pending["decision"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["plugin"].as_str().unwrap())
        .collect();
    assert_eq!(
        plugins,
        [
            "spend-limit",
            "merchant-rules",
            "rate-limit",
            "budget",
            "risk-threshold"
        ]
    );
    // The host's settlement review comes after the rules, as on the server.
    let reviewed = &report["cases"][8]["decision"]["rules"];
    assert_eq!(
        reviewed.as_array().unwrap().last().unwrap()["plugin"],
        "settlement-review"
    );
}

#[test]
fn policy_test_reports_failures_as_a_table_and_as_junit() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A component from a path stands in for an uploaded plugin.
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        serde_json::json!({
            "name": "reference",
            "rules": [{"plugin": warrant_fixtures::REFERENCE_POLICY_RUST,
                       "config": {"maxAmountEuros": 100, "reviewAboveEuros": 50}}]
        })
        .to_string(),
    )
    .unwrap();
    let cases = dir.path().join("cases.json");
    std::fs::write(
        &cases,
        r#"{"cases": [
            {"name": "small", "intent": {"cardName": "c", "purpose": "p", "expectedAmountEuros": 5},
             "expect": {"verdict": "approved"}},
            {"name": "wrongly <expected>", "intent": {"cardName": "c", "purpose": "p", "expectedAmountEuros": 500},
             "expect": {"verdict": "approved"}},
            {"name": "a bad intent", "intent": {"purpose": "p"}, "expect": {"verdict": "denied"}}
        ]}"#,
    )
    .unwrap();
    let args = |format: &str| {
        vec![
            "policy".to_owned(),
            "test".to_owned(),
            policy.to_str().unwrap().to_owned(),
            "--cases".to_owned(),
            cases.to_str().unwrap().to_owned(),
            "--format".to_owned(),
            format.to_owned(),
        ]
    };
    let run = |format: &str| {
        let args = args(format);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        warrant(&args, cache.path())
    };
    let table = run("table");
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert_eq!(table.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("PASS  small"), "{stdout}");
    assert!(
        stdout.contains("FAIL  wrongly <expected>\n      expected approved, got denied"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL  a bad intent\n      the case's intent is not valid"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("1 passed, 2 failed"),
        "{stdout}"
    );

    // JUnit XML that an XML parser reads, with the failures in it.
    let junit = run("junit");
    assert_eq!(junit.status.code(), Some(1));
    let parsed = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E; s = E.fromstring(sys.stdin.read()); \
             print(s.get('tests'), s.get('failures'), [c.get('name') for c in s if c.find('failure') is not None])",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&junit.stdout)?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout).trim(),
        "3 2 ['wrongly <expected>', 'a bad intent']",
        "{}",
        String::from_utf8_lossy(&junit.stdout)
    );
}

#[test]
fn policy_test_refuses_a_policy_the_server_would_refuse() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, cases) = buyer_policy();
    for (policy, said) in [
        (
            r#"{"name": "x", "rules": [{"plugin": "spend-limit", "config": {"maxAmountEuros": "lots"}}]}"#,
            "rules[0].config",
        ),
        (
            r#"{"name": "x", "rules": [{"plugin": "no-such-plugin"}]}"#,
            "rules[0].plugin",
        ),
        (
            r#"{"name": "x", "rules": [{"plugin": "missing.wasm"}]}"#,
            "cannot read",
        ),
        (
            r#"{"name": "x", "rules": 3}"#,
            "not a `POST /policies` body",
        ),
    ] {
        let path = dir.path().join("policy.json");
        std::fs::write(&path, policy).unwrap();
        let output = warrant(
            &["policy", "test", path.to_str().unwrap(), "--cases", cases],
            cache.path(),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{policy}: {stderr}");
        assert!(stderr.contains(said), "{policy}: {stderr}");
    }
}

/// Three chained receipts of one tenant, signed with the key `k1` (from a
/// fixed seed), and the JWK Set that publishes it.
fn signed_chain() -> (Vec<String>, Value) {
    use warrant_domain::receipt::{self, Jwk, Jwks, PolicyRef, Receipt, RuleRecord};
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let mut chain: Vec<String> = Vec::new();
    for (sequence, (event, to)) in [
        ("intent.pending_approval", "pending_approval"),
        ("intent.approved", "approved"),
        ("intent.completed", "completed"),
    ]
    .into_iter()
    .enumerate()
    {
        let sequence = sequence as u64 + 1;
        let receipt = Receipt {
            format: receipt::FORMAT.into(),
            tenant_id: "ten_01KB".into(),
            sequence,
            previous: chain.last().map(|last| receipt::digest(last)),
            intent_id: "int_01KB".into(),
            agent_id: "ag_01KB".into(),
            event: event.into(),
            from: (sequence > 1).then(|| "pending_approval".into()),
            to: to.into(),
            verdict: (sequence == 1).then(|| "pending_approval".into()),
            policy: Some(PolicyRef {
                id: "pol_01KB".into(),
                version: 2,
            }),
            rules: vec![RuleRecord {
                stage: "rule".into(),
                plugin: "spend-limit".into(),
                plugin_sha256: "6c".repeat(32),
                config_sha256: receipt::json_sha256(&serde_json::json!({"maxAmountEuros": 100})),
                verdict: Some("review".into()),
                score: None,
                codes: vec!["amount-over-review-threshold".into()],
            }],
            input_sha256: Some("9f".repeat(32)),
            at: format!("2026-12-05T10:0{sequence}:00.000Z"),
        };
        chain.push(receipt::sign(&receipt, "k1", &key));
    }
    let jwks = Jwks {
        keys: vec![Jwk::ed25519("k1", &key.verifying_key())],
    };
    (chain, serde_json::to_value(jwks).unwrap())
}

#[test]
fn receipts_verify_offline_and_a_tampered_chain_says_where_it_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, jwks) = signed_chain();
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(&jwks_path, jwks.to_string()).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let verify = |path: &str, keys: &str| {
        let output = warrant(&["receipt", "verify", path, "--jwks", keys], dir.path());
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let keys = jwks_path.to_str().unwrap();

    let one = write("one.jws", format!("{}\n", chain[0]));
    let (code, stdout, stderr) = verify(&one, keys);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("verified: receipt 1 of tenant ten_01KB: int_01KB intent.pending_approval"),
        "{stdout}"
    );

    let objects: Vec<Value> = chain
        .iter()
        .enumerate()
        .map(|(i, jws)| serde_json::json!({"sequence": i + 1, "jws": jws}))
        .collect();
    let all = write("chain.json", Value::Array(objects.clone()).to_string());
    let (code, stdout, stderr) = verify(&all, keys);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("verified: 3 receipts of tenant ten_01KB, 1 to 3"),
        "{stdout}"
    );

    // A receipt deleted from the middle.
    let deleted = write(
        "deleted.json",
        Value::Array(vec![objects[0].clone(), objects[2].clone()]).to_string(),
    );
    let (code, _, stderr) = verify(&deleted, keys);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("not verified: receipt 3 (number 2 of the file): its sequence is 3"),
        "{stderr}"
    );

    // A verdict changed in the signed payload.
    let parts: Vec<&str> = chain[0].split('.').collect();
    let payload = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
            .unwrap(),
    )
    .unwrap()
    .replace(
        "\"verdict\":\"pending_approval\"",
        "\"verdict\":\"approved\"",
    );
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload),
        parts[2]
    );
    let forged = write("forged.jws", forged);
    let (code, _, stderr) = verify(&forged, keys);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("the signature does not match the receipt"),
        "{stderr}"
    );

    // Keys that do not hold the signer's.
    let other = write("other.json", r#"{"keys": []}"#.into());
    let (code, _, stderr) = verify(&one, &other);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no published key has the id `k1`"),
        "{stderr}"
    );

    // Not a key set, not a receipt: the caller's mistake.
    let (code, _, _) = verify(&one, &one);
    assert_eq!(code, Some(2));
    let (code, _, _) = verify(&write("empty.json", "[]".into()), keys);
    assert_eq!(code, Some(2));

    // The keys fetched from an address.
    let port = support::free_port();
    let mut server = std::process::Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/jwks.json");
    let mut answer = verify(&all, &url);
    for _ in 0..50 {
        if answer.0 == Some(0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        answer = verify(&all, &url);
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(answer.0, Some(0), "{}", answer.2);
}

/// The receipts verify with another implementation of Ed25519 than
/// Warrant's: PyCA's `cryptography` (from PyPI), given only the JWK Set,
/// which also re-derives each payload as canonical JSON.
#[test]
fn receipts_verify_with_an_independent_ed25519_implementation() {
    let (chain, jwks) = signed_chain();
    let lib = support::python_tool("tools_cryptography");
    let script = r#"
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

def b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

given = json.load(sys.stdin)
keys = {key["kid"]: key for key in given["jwks"]["keys"]}
previous = None
for jws in given["chain"]:
    header, payload, signature = jws.split(".")
    kid = json.loads(b64(header))["kid"]
    public = Ed25519PublicKey.from_public_bytes(b64(keys[kid]["x"]))
    public.verify(b64(signature), f"{header}.{payload}".encode())
    receipt = json.loads(b64(payload))
    canonical = json.dumps(receipt, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical.encode() == b64(payload), "not canonical"
    assert receipt["previous"] == previous, (receipt["sequence"], "chain")
    previous = hashlib.sha256(jws.encode()).hexdigest()
    print("ok", receipt["sequence"], receipt["event"])
tampered = given["chain"][1].split(".")
tampered[1] = tampered[1][:-2] + ("AA" if tampered[1][-2:] != "AA" else "BA")
try:
    public.verify(b64(tampered[2]), f"{tampered[0]}.{tampered[1]}".encode())
    print("tampered receipt verified")
except Exception:
    print("tampered refused")
"#;
    let output = support::python_with_input(
        &["-c", script],
        &lib,
        serde_json::json!({"jwks": jwks, "chain": chain})
            .to_string()
            .as_bytes(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "ok 1 intent.pending_approval",
            "ok 2 intent.approved",
            "ok 3 intent.completed",
            "tampered refused"
        ]
    );
}
