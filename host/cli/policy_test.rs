//! `warrant policy test POLICY --cases FILE`: decides each case with a
//! whole policy exactly as the server would, offline. The policy goes
//! through the server's own services on a throwaway database: its plugins
//! uploaded (a `.wasm` path in place of an uploaded plugin's reference),
//! the policy created (so a configuration the server refuses is refused
//! here, with the plugin's own error), and each case decided by the
//! version the server would compile, with the chain it would pick.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use warrant_app::policies::PolicyRequest;
use warrant_app::tenants::create_tenant;
use warrant_app::{App, forget};
use warrant_domain::context::{Agent, Charge, EvaluationContext, RiskSummary, Usage};
use warrant_domain::intent::IntentRequest;
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::policy::record::DecisionRecord;
use warrant_runtime::{Runtime, RuntimeConfig};
use warrant_store::{SqliteStore, Store};

use crate::serve::tokio_runtime;
use crate::{CacheArgs, Failure};

#[derive(clap::Args)]
pub struct PolicyTestArgs {
    /// The policy: a JSON file with the body of `POST /policies`, in which
    /// a step's `plugin` may be a built-in's name or the path of a `.wasm`
    /// component (relative to the file).
    policy: PathBuf,
    /// The cases, a JSON file: `{"defaults": {…}, "cases": [{"name",
    /// "intent", "agent"?, "usage"?, "risk"?, "charge"?, "now"?,
    /// "expect": {"verdict", …}}, …]}`.
    #[arg(long)]
    cases: PathBuf,
    /// How the results are printed: a table, JSON, or JUnit XML (for CI).
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Junit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default)]
    defaults: Setting,
    cases: Vec<Case>,
}

/// What a case's intent is decided with, when the case does not say.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct Setting {
    /// The agent, with its profile, tags and baseline.
    #[serde(default)]
    agent: Option<Agent>,
    /// Its usage: counts and spend per window.
    #[serde(default)]
    usage: Option<Usage>,
    /// A risk summary, for a policy without risk plugins of its own (a
    /// policy's risk plugins make their own).
    #[serde(default)]
    risk: Option<RiskSummary>,
    /// The time of the decision; the Unix epoch when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    now: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The body of `POST /intents`.
    intent: Box<RawValue>,
    #[serde(default)]
    agent: Option<Agent>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    risk: Option<RiskSummary>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    now: Option<OffsetDateTime>,
    /// A charge of the (recurring) intent: decided by the policy's charge
    /// rules instead of its rules.
    #[serde(default)]
    charge: Option<Charge>,
    expect: Expect,
}

/// What the decision must be; only what is given is checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expect {
    /// `approved`, `pending_approval` or `denied`: what an intent would
    /// get.
    verdict: IntentStatus,
    /// Codes the decision must count (any rule's, in any order).
    #[serde(default)]
    codes: Vec<String>,
    /// Text one of the rules' reasons must contain.
    #[serde(default)]
    reason: Option<String>,
    /// The aggregated risk score.
    #[serde(default)]
    risk_score: Option<u8>,
}

/// One case's result.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    name: String,
    passed: bool,
    expected: IntentStatus,
    /// What the policy decided; none when the case could not be decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<IntentStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<DecisionRecord>,
}

pub fn run(args: PolicyTestArgs) -> Result<(), Failure> {
    let usage = |what: &Path, e: &dyn std::fmt::Display| {
        Failure::Usage(format!("cannot read `{}`: {e}", what.display()))
    };
    let policy_text = std::fs::read_to_string(&args.policy).map_err(|e| usage(&args.policy, &e))?;
    let cases_text = std::fs::read_to_string(&args.cases).map_err(|e| usage(&args.cases, &e))?;
    let de = &mut serde_json::Deserializer::from_str(&cases_text);
    let file: CaseFile = serde_path_to_error::deserialize(de).map_err(|e| {
        Failure::Usage(format!(
            "`{}` is not a file of cases: {e}",
            args.cases.display()
        ))
    })?;
    if file.cases.is_empty() {
        return Err(Failure::Usage(format!(
            "`{}` has no cases",
            args.cases.display()
        )));
    }
    let policy: Value = serde_json::from_str(&policy_text)
        .map_err(|e| Failure::Usage(format!("`{}` is not JSON: {e}", args.policy.display())))?;
    let base = args
        .policy
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let outcomes = tokio_runtime()?.block_on(decide_all(policy, &base, &file, &args.cache))?;
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    print(&outcomes, args.format);
    if failed > 0 {
        return Err(Failure::Other(anyhow!(
            "{failed} of {} cases failed",
            outcomes.len()
        )));
    }
    Ok(())
}

/// Sets the policy up through the services on a throwaway database and
/// decides every case.
async fn decide_all(
    mut policy: Value,
    base: &Path,
    file: &CaseFile,
    cache: &CacheArgs,
) -> Result<Vec<Outcome>, Failure> {
    let scratch = tempfile::tempdir().map_err(anyhow::Error::from)?;
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&scratch.path().join("warrant.db"))
            .await
            .map_err(anyhow::Error::from)?,
    );
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: cache.dir(),
        ..RuntimeConfig::default()
    })
    .map_err(|e| anyhow!("cannot start the sandbox: {e}"))?;
    let app = App::new(store.clone(), runtime)
        .map_err(|e| anyhow!("a built-in plugin cannot be loaded: {e}"))?;
    let tenant = create_tenant(store.as_ref(), "policy test")
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let principal = app
        .authenticate(&tenant.api_key)
        .await
        .map_err(|e| anyhow!("{e}"))?;

    // Each component path becomes the plugin it uploads as.
    let mut uploaded = BTreeMap::new();
    for list in ["rules", "risk", "charges"] {
        let Some(Value::Array(steps)) = policy.get_mut(list) else {
            continue;
        };
        for (i, step) in steps.iter_mut().enumerate() {
            let Some(reference) = step.get("plugin").and_then(Value::as_str) else {
                continue;
            };
            if !reference.ends_with(".wasm") {
                continue;
            }
            let path = base.join(reference);
            let id = match uploaded.get(&path) {
                Some(id) => String::clone(id),
                None => {
                    let id = upload(&app, &principal, &path)
                        .await
                        .map_err(|e| Failure::Usage(format!("{list}[{i}].plugin: {e}")))?;
                    uploaded.insert(path.clone(), id.clone());
                    id
                }
            };
            step["plugin"] = Value::String(id);
        }
    }
    let request: PolicyRequest = serde_json::from_value(policy)
        .map_err(|e| Failure::Usage(format!("the policy is not a `POST /policies` body: {e}")))?;
    let version = app
        .policies()
        .create(&principal, request, &forget)
        .await
        .map_err(|e| Failure::Usage(format!("the policy is refused: {e}")))?;
    let timezone = version.definition.timezone.clone();

    let mut outcomes = Vec::with_capacity(file.cases.len());
    for case in &file.cases {
        let context = match context_of(case, &file.defaults, &timezone) {
            Ok(context) => context,
            Err(why) => {
                outcomes.push(Outcome {
                    name: case.name.clone(),
                    passed: false,
                    expected: case.expect.verdict,
                    verdict: None,
                    why: Some(why),
                    decision: None,
                });
                continue;
            }
        };
        let decision = app
            .policies()
            .decide_context(&principal, &version.record.id, context)
            .await
            .map_err(|e| anyhow!("case `{}` could not be decided: {e}", case.name))?;
        let record = DecisionRecord::of(&decision);
        let verdict = IntentStatus::from_outcome(decision.outcome);
        let why = compare(&case.expect, verdict, &record).err();
        outcomes.push(Outcome {
            name: case.name.clone(),
            passed: why.is_none(),
            expected: case.expect.verdict,
            verdict: Some(verdict),
            why,
            decision: Some(record),
        });
    }
    app.close().await;
    Ok(outcomes)
}

/// Uploads a component as the server would; gives its plugin id. Its
/// name is the file's, its version made of its sha256, so that two files
/// never collide.
async fn upload(
    app: &App,
    principal: &warrant_app::Principal,
    path: &Path,
) -> Result<String, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let name: String = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("plugin")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let version = format!(
        "0.0.0-local.h{}",
        &hex::encode(Sha256::digest(&bytes))[..12]
    );
    let uploaded = app
        .plugins()
        .upload(principal, Some(name), Some(version), bytes, None, &forget)
        .await
        .map_err(|e| format!("`{}` is refused: {e}", path.display()))?;
    Ok(match uploaded {
        warrant_app::plugins::Uploaded::Created(entry)
        | warrant_app::plugins::Uploaded::Existing(entry) => entry.id,
    })
}

/// The context a case's intent is decided in.
fn context_of(
    case: &Case,
    defaults: &Setting,
    timezone: &str,
) -> Result<EvaluationContext, String> {
    let intent = IntentRequest::from_json(case.intent.get())
        .and_then(|request| request.into_intent("int_test".into()))
        .map_err(|e| format!("the case's intent is not valid: {e}"))?;
    let usage = case
        .usage
        .clone()
        .or_else(|| defaults.usage.clone())
        .unwrap_or_else(|| Usage {
            currency: intent.currency(),
            timezone: timezone.to_owned(),
            ..Usage::default()
        });
    Ok(EvaluationContext {
        agent: case
            .agent
            .clone()
            .or_else(|| defaults.agent.clone())
            .unwrap_or_default(),
        usage,
        risk: case.risk.clone().or_else(|| defaults.risk.clone()),
        now: case
            .now
            .or(defaults.now)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        charge: case.charge.clone(),
        intent,
    })
}

fn compare(expect: &Expect, verdict: IntentStatus, record: &DecisionRecord) -> Result<(), String> {
    let reasons: Vec<&str> = record
        .rules
        .iter()
        .filter_map(|entry| entry.reason.as_deref())
        .collect();
    if verdict != expect.verdict {
        return Err(format!(
            "expected {}, got {}{}",
            expect.verdict.as_str(),
            verdict.as_str(),
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join("; "))
            }
        ));
    }
    let codes = record.counted_codes();
    let missing: Vec<&String> = expect
        .codes
        .iter()
        .filter(|want| !codes.iter().any(|code| code == *want))
        .collect();
    if !missing.is_empty() {
        return Err(format!("expected codes {missing:?} among {codes:?}"));
    }
    if let Some(want) = &expect.reason
        && !reasons.iter().any(|reason| reason.contains(want.as_str()))
    {
        return Err(format!("expected a reason with `{want}`, got {reasons:?}"));
    }
    if let Some(want) = expect.risk_score
        && record.risk_score != Some(want)
    {
        return Err(format!(
            "expected risk score {want}, got {:?}",
            record.risk_score
        ));
    }
    Ok(())
}

fn print(outcomes: &[Outcome], format: Format) {
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let passed = outcomes.len() - failed;
    match format {
        Format::Table => {
            for outcome in outcomes {
                if outcome.passed {
                    println!("PASS  {}", outcome.name);
                } else {
                    println!(
                        "FAIL  {}\n      {}",
                        outcome.name,
                        outcome.why.as_deref().unwrap_or("")
                    );
                }
            }
            println!("{passed} passed, {failed} failed");
        }
        Format::Json => {
            let report = serde_json::json!({
                "passed": passed,
                "failed": failed,
                "cases": outcomes,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
        Format::Junit => {
            println!(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
            println!(
                r#"<testsuite name="warrant policy test" tests="{}" failures="{failed}" errors="0">"#,
                outcomes.len()
            );
            for outcome in outcomes {
                let name = xml(&outcome.name);
                match &outcome.why {
                    None => println!(r#"  <testcase classname="policy" name="{name}"/>"#),
                    Some(why) => {
                        println!(r#"  <testcase classname="policy" name="{name}">"#);
                        println!(
                            r#"    <failure message="{}">{}</failure>"#,
                            xml(why),
                            xml(why)
                        );
                        println!("  </testcase>");
                    }
                }
            }
            println!("</testsuite>");
        }
    }
}

/// Text as XML writes it in an attribute or an element.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn xml_escapes_what_would_break_a_report() {
        assert_eq!(
            xml("a < b & \"c\" > 'd'\u{1}"),
            "a &lt; b &amp; &quot;c&quot; &gt; &apos;d&apos; "
        );
    }
}
