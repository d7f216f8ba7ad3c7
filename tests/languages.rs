//! The promise "compile your policy from any language", checked language by
//! language: each reference policy of `examples/` is built by its own
//! `build.sh` (which installs its toolchain when missing), passes the
//! conformance suite, and gives the same decisions as every other language
//! when uploaded to a server; a project written by `warrant plugin new`
//! passes its suite unchanged.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::{Value, json};
use support::{Server, shared_cache, warrant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The languages with a reference policy in `examples/<folder>`.
const LANGUAGES: &[&str] = &["rust", "python", "javascript", "c", "zig", "go"];

/// One build at a time: each one alone keeps the machine's cores busy.
static BUILDS: Mutex<()> = Mutex::new(());

/// Runs a `build.sh` with `args` and `env` and returns the component it
/// prints last.
fn build_script(script: &Path, args: &[&str], env: &[(&str, &str)]) -> PathBuf {
    let _one_at_a_time = BUILDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let output = Command::new("bash")
        .arg(script)
        .args(args)
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}",
        script.display(),
        output.status
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let path = PathBuf::from(stdout.lines().last().unwrap_or_default());
    assert!(
        path.is_file(),
        "{} printed no component path last: {stdout}",
        script.display()
    );
    path
}

/// A plugin of `examples/<language>` (`reference-policy`, `risk-threshold`
/// or `recurring-match`) built for a version of the contract, once per test
/// run.
fn built(language: &str, plugin: &str, contract: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<(String, String, String), PathBuf>> = Mutex::new(BTreeMap::new());
    let key = (language.to_owned(), plugin.to_owned(), contract.to_owned());
    if let Some(path) = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
    {
        return path.clone();
    }
    let script = Path::new(ROOT)
        .join("examples")
        .join(language)
        .join("build.sh");
    let args: &[&str] = if plugin == "reference-policy" {
        &[]
    } else {
        &[plugin]
    };
    let path = build_script(&script, args, &[("WARRANT_CONTRACT", contract)]);
    // The component is of the contract asked for, and of no other.
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let versions: std::collections::BTreeSet<&str> = text
        .match_indices("warrant:policy/")
        .filter_map(|(at, prefix)| {
            let rest = &text[at + prefix.len()..];
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_lowercase() || c == '-');
            let version = rest.strip_prefix('@')?;
            let end = version
                .find(|c: char| !c.is_ascii_digit() && c != '.')
                .unwrap_or(version.len());
            Some(version[..end].trim_end_matches('.'))
        })
        .collect();
    assert_eq!(
        versions.into_iter().collect::<Vec<_>>(),
        [contract],
        "{language} {plugin} built for {contract}"
    );
    BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(key, path.clone());
    path
}

/// The newest contract a language's SDK targets: the Rust SDK's is 0.5.0
/// (log lines returned with the answer), the others' 0.3.0.
fn newest_contract(language: &str) -> &'static str {
    if language == "rust" { "0.5.0" } else { "0.3.0" }
}

/// The reference policy of one language, on its SDK's newest contract.
fn reference_policy(language: &str) -> PathBuf {
    built(language, "reference-policy", newest_contract(language))
}

/// `warrant test` passes every case of `examples/cases/<suite>.json`.
fn passes_the_suite(component: &Path, suite: &str) {
    let cases = Path::new(ROOT)
        .join("examples/cases")
        .join(suite)
        .with_extension("json");
    // Every case has one `expect` (the defaults have none). The file is not
    // read as JSON here: the reference suite holds a lone surrogate escape,
    // which serde_json refuses and `warrant test` keeps as written.
    let count = std::fs::read_to_string(&cases)
        .unwrap()
        .matches("\"expect\":")
        .count();
    assert!(count > 0, "{} has no cases", cases.display());
    // The servers' code cache: a component of many megabytes (Python,
    // JavaScript) is compiled once for every test that runs it.
    let output = warrant(
        &[
            "test",
            component.to_str().unwrap(),
            "--cases",
            cases.to_str().unwrap(),
        ],
        &shared_cache(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}: {stdout}{}",
        component.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("{count} passed, 0 failed")),
        "{stdout}"
    );
}

/// For each language: its reference policy passes the conformance suite,
/// built for the newest contract and for the first (a plugin written
/// before 0.2.0 keeps working), and its ports of the built-ins
/// `risk-threshold` and `recurring-match` pass theirs.
macro_rules! conformance {
    ($($module:ident: $language:literal,)*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn the_reference_policy_passes_the_conformance_suite() {
                passes_the_suite(&reference_policy($language), "reference-policy");
            }

            #[test]
            fn the_reference_policy_of_contract_0_1_0_passes_the_conformance_suite() {
                passes_the_suite(
                    &built($language, "reference-policy", "0.1.0"),
                    "reference-policy",
                );
            }

            #[test]
            fn its_risk_threshold_passes_the_built_ins_suite() {
                passes_the_suite(&built($language, "risk-threshold", "0.3.0"), "risk-threshold");
            }

            #[test]
            fn its_recurring_match_passes_the_built_ins_suite() {
                passes_the_suite(
                    &built($language, "recurring-match", "0.3.0"),
                    "recurring-match",
                );
            }
        }
    )*};
}

conformance! {
    python: "python",
    javascript: "javascript",
    c: "c",
    zig: "zig",
    go: "go",
}

/// What a decision is made of, whichever language made it: the intent's
/// status and, for the one rule, its verdict, codes and annotations. Reason
/// texts are each language's own.
fn outcome(answer: &Value) -> Value {
    let rule = &answer["decision"]["rules"][0];
    json!({
        "status": answer["status"],
        "verdict": rule["verdict"],
        "codes": rule["codes"],
        "annotations": rule["annotations"],
        "error": rule["error"],
    })
}

#[test]
fn every_language_gives_the_same_decisions_over_rest_and_replays_them() {
    let server = Server::start();
    let key = server.tenant("polyglot");
    let config = json!({"maxAmountEuros": 100, "reviewAboveEuros": 50, "allow": ["hetzner.com", "bücher.example"]});
    // (intent fields, the status every language must give)
    let intents = [
        (
            json!({"expectedAmountEuros": 4.51, "expectedMerchant": "hetzner.com"}),
            "approved",
        ),
        (
            json!({"expectedAmountEuros": 4.51, "expectedMerchant": "HETZNER.com"}),
            "approved",
        ),
        (
            json!({"expectedAmountEuros": 4.51, "expectedMerchant": "BüCHER.EXAMPLE"}),
            "approved",
        ),
        (
            json!({"expectedAmountEuros": 4.51, "expectedMerchant": "BÜCHER.example"}),
            "denied",
        ),
        (
            json!({"expectedAmountEuros": 50.01, "expectedMerchant": "hetzner.com"}),
            "pending_approval",
        ),
        (
            json!({"expectedAmountEuros": 100.01, "expectedMerchant": "hetzner.com"}),
            "denied",
        ),
        (
            json!({"expectedAmountEuros": 75, "expectedMerchant": "casino.example"}),
            "denied",
        ),
        (json!({"expectedAmountEuros": 4.51}), "pending_approval"),
        (
            json!({"expectedMerchant": "hetzner.com"}),
            "pending_approval",
        ),
        (
            json!({"expectedAmountEuros": 5000, "currency": "JPY", "expectedMerchant": "hetzner.com"}),
            "pending_approval",
        ),
        (
            json!({"expectedAmountEuros": 10_000_000_000_000_u64, "expectedMerchant": "hetzner.com"}),
            "denied",
        ),
    ];

    let mut outcomes: Vec<(&str, Vec<Value>)> = Vec::new();
    for &language in LANGUAGES {
        let wasm = std::fs::read(reference_policy(language)).unwrap();
        let name = format!("reference-{language}");
        server
            .send(
                "POST",
                &format!("/plugins?name={name}&version=1.0.0"),
                Some(&key),
                &[],
                Some(&wasm),
            )
            .expect(201);
        let policy = server
            .post(
                "/policies",
                &key,
                json!({"name": name, "rules": [{"plugin": name, "config": config}]}),
            )
            .expect(201)
            .str("id");
        let agent = server.agent(&key, &policy, &format!("{language} agent"));

        let mut answers = Vec::new();
        for (fields, status) in &intents {
            let mut body =
                json!({"agentId": agent, "cardName": "subscriptions", "purpose": "servers"});
            body.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            let answer = server.post("/intents", &key, body).expect(201);
            assert_eq!(
                answer.str("status"),
                *status,
                "{language}: {fields}: {}",
                answer.text
            );
            answers.push(outcome(&answer.body));
            // The decision, made again from its kept input, is the same.
            let replayed = server
                .post(
                    &format!("/intents/{}/replay", answer.str("id")),
                    &key,
                    json!({}),
                )
                .expect(200);
            assert_eq!(
                replayed.body["identical"], true,
                "{language}: {fields}: {}",
                replayed.text
            );
        }
        // An invalid configuration is each plugin's own error: the rule
        // fails closed when the policy is created.
        let refused = server.post(
            "/policies",
            &key,
            json!({"name": format!("{name}-bad"), "rules": [{"plugin": name, "config": {"maxAmountEuros": "100"}}]}),
        );
        let refused = refused.expect_error(400, "E_VALIDATION");
        assert!(
            refused.text.contains("E_PLUGIN_ERROR"),
            "{language}: {}",
            refused.text
        );
        outcomes.push((language, answers));
    }

    let (first, expected) = &outcomes[0];
    for (language, answers) in &outcomes[1..] {
        for ((fields, _), (theirs, ours)) in intents.iter().zip(answers.iter().zip(expected)) {
            assert_eq!(theirs, ours, "{language} and {first} disagree on {fields}");
        }
    }
}

/// The `sh` blocks of a README, in order.
fn sh_blocks(readme: &str) -> Vec<&str> {
    readme
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap())
        .collect()
}

/// Writes a project with `warrant plugin new` and runs the commands of its
/// README in order, in the project, as a user would (the server of the
/// quick start being `server`, `$KEY` its tenant's key): build, test,
/// upload. The suite must pass unchanged and the server accept the plugin.
fn template_as_its_readme_says(language: &str) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("travel-policy");
    let output = warrant(
        &[
            "plugin",
            "new",
            "--lang",
            language,
            project.to_str().unwrap(),
        ],
        &shared_cache(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    let commands = sh_blocks(&readme);
    assert_eq!(commands.len(), 3, "build, test, upload: {readme}");
    let contract = readme
        .split("The contract it implements is `")
        .nth(1)
        .unwrap();
    let contract = contract.split('`').next().unwrap();
    assert!(
        project.join(contract).is_file(),
        "{contract} is not in the project"
    );

    let server = Server::start();
    let key = server.tenant("authors");
    let script = format!("set -euo pipefail\n{}\n", commands.join("\n"))
        .replace("localhost:8080", &server.base);
    let warrant_dir = Path::new(env!("CARGO_BIN_EXE_warrant")).parent().unwrap();
    let path = format!(
        "{}:{}",
        warrant_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let _one_at_a_time = BUILDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let output = Command::new("bash")
        .args(["-c", &script])
        .current_dir(&project)
        .env("KEY", &key)
        .env("PATH", path)
        .env("WARRANT_CACHE_DIR", shared_cache())
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{script}: {stdout}");
    assert!(stdout.contains("56 passed, 0 failed"), "{stdout}");
    let uploaded: Value = serde_json::from_str(stdout.lines().last().unwrap())
        .unwrap_or_else(|e| panic!("the upload printed no JSON ({e}): {stdout}"));
    assert_eq!(uploaded["name"], "travel-policy", "{uploaded}");
    assert!(
        uploaded["id"].as_str().unwrap().starts_with("plg_"),
        "{uploaded}"
    );
}

macro_rules! templates {
    ($($test:ident: $language:literal,)*) => {$(
        #[test]
        fn $test() {
            template_as_its_readme_says($language);
        }
    )*};
}

templates! {
    a_rust_template_works_as_its_readme_says: "rust",
    a_python_template_works_as_its_readme_says: "python",
    a_js_template_works_as_its_readme_says: "js",
    a_c_template_works_as_its_readme_says: "c",
    a_zig_template_works_as_its_readme_says: "zig",
    a_go_template_works_as_its_readme_says: "go",
}

/// Runs a shell command in the repository; it must succeed.
fn succeeds(script: &str) {
    let output = Command::new("bash")
        .args(["-c", script])
        .current_dir(ROOT)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{script}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_python_sdk_passes_its_unit_tests() {
    // With mypy in strict mode.
    succeeds("sdk/python/test.sh");
}

#[test]
fn the_javascript_sdk_passes_its_unit_tests() {
    // Also checks its type declarations with tsc and installs it with npm.
    succeeds("node --test sdk/js/warrant.test.mjs");
}

#[test]
fn the_go_sdk_passes_its_unit_tests() {
    // For both contracts, with gofmt and go vet.
    succeeds("sdk/go/test.sh");
}

#[test]
fn the_c_sdk_passes_its_unit_tests() {
    // Natively, against the bindings of both contracts.
    succeeds("sdk/c/tests/run.sh");
}

#[test]
fn the_zig_sdk_passes_its_unit_tests() {
    // Natively, against the bindings of both contracts.
    succeeds(
        ". examples/tools.sh && wit_bindgen=\"$(tools_wit_bindgen)\" && zig=\"$(tools_zig)\" && \
         cd sdk/zig && ZIG_GLOBAL_CACHE_DIR=\"$WARRANT_TOOLS/zig-cache\" \
         \"$zig\" build test --summary all -Dwit-bindgen=\"$wit_bindgen\"",
    );
}

/// The ports of the built-ins carry the built-ins' own unit tests, where
/// the language runs them natively.
#[test]
fn the_ports_of_the_built_ins_pass_their_unit_tests() {
    succeeds(
        ". examples/tools.sh && tzdata=\"$(tools_tzdata)\" && \
         PYTHONPATH=\"sdk/python:$tzdata\" python3 -m unittest discover --quiet \
         -s examples/python -t examples/python",
    );
    succeeds(
        ". examples/tools.sh && go=\"$(tools_go)\" && cd examples/go && \
         GOENV=off GOWORK=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local \
         GOCACHE=\"$WARRANT_TOOLS/go-cache\" \"$go\" test ./...",
    );
    for plugin in ["risk-threshold", "recurring-match"] {
        succeeds(&format!(
            ". examples/tools.sh && wit_bindgen=\"$(tools_wit_bindgen)\" && zig=\"$(tools_zig)\" && \
             cd examples/zig && ZIG_GLOBAL_CACHE_DIR=\"$WARRANT_TOOLS/zig-cache\" \
             ZIG_LOCAL_CACHE_DIR=target/.zig-cache \"$zig\" build test --summary all \
             -Dplugin={plugin} -Dwit-bindgen=\"$wit_bindgen\""
        ));
    }
}
