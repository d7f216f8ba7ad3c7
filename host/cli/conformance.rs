//! `warrant test PLUGIN --cases FILE`: runs a plugin on a file of cases
//! (intent, configuration, expected answer) and prints a pass/fail table.

use anyhow::anyhow;
use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use warrant_domain::context::{Agent, Charge, EvaluationContext, RiskSummary, Usage};
use warrant_domain::decision::{Annotation, VerdictKind};
use warrant_domain::intent::IntentRequest;
use warrant_domain::plugin::{Cancel, FailureKind, Limits, Plugin, PluginFailure, World};

use crate::eval::{argument, load};
use crate::{CacheArgs, Failure};

#[derive(clap::Args)]
pub struct TestArgs {
    /// A `.wasm` component, or the name of a built-in plugin.
    plugin: String,
    /// The cases, a JSON file: `{"defaults": {…}, "cases": [{"name",
    /// "intent", "config", "agent"?, "usage"?, "risk"?, "charge"?, "now"?,
    /// "expect"}, …]}`.
    #[arg(long)]
    cases: String,
    #[command(flatten)]
    cache: CacheArgs,
}

/// A file of cases.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// What the cases check, for the reader.
    #[serde(default, rename = "description")]
    _description: Option<String>,
    /// Values every case starts from.
    #[serde(default)]
    defaults: Defaults,
    cases: Vec<Case>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default, deserialize_with = "present")]
    config: Option<Box<RawValue>>,
    #[serde(default)]
    agent: Option<Agent>,
    #[serde(default)]
    usage: Option<Usage>,
    /// The policy's risk summary, as a rule sees it.
    #[serde(default)]
    risk: Option<RiskSummary>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    now: Option<OffsetDateTime>,
}

/// One case: an intent (the body of `POST /intents`), the rule's
/// configuration and what the plugin must answer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    intent: Box<RawValue>,
    #[serde(default, deserialize_with = "present")]
    config: Option<Box<RawValue>>,
    #[serde(default)]
    agent: Option<Agent>,
    #[serde(default)]
    usage: Option<Usage>,
    /// The policy's risk summary, as a rule sees it.
    #[serde(default)]
    risk: Option<RiskSummary>,
    /// A charge of the (recurring) intent being checked.
    #[serde(default)]
    charge: Option<Charge>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    now: Option<OffsetDateTime>,
    expect: Expect,
}

/// What the plugin must answer. Only what is given is checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expect {
    /// `approve`, `deny` or `review` (policy plugins).
    #[serde(default)]
    verdict: Option<VerdictKind>,
    /// The first reason code.
    #[serde(default)]
    code: Option<String>,
    /// Every reason code, in order.
    #[serde(default)]
    codes: Option<Vec<String>>,
    /// Annotations that must be among the plugin's.
    #[serde(default)]
    annotations: Vec<Annotation>,
    /// The score (risk plugins).
    #[serde(default)]
    score: Option<u8>,
    /// The call must fail with this code, e.g. `E_PLUGIN_ERROR`.
    #[serde(default)]
    error: Option<String>,
    /// For `E_PLUGIN_ERROR`, the plugin's own code, e.g. `invalid-config`.
    #[serde(default)]
    plugin_code: Option<String>,
}

/// What the plugin answered, reduced to what cases can check.
struct Answer {
    verdict: Option<VerdictKind>,
    reason: Option<String>,
    codes: Vec<String>,
    annotations: Vec<Annotation>,
    score: Option<u8>,
}

/// A configuration that is given, even as `null`: only a missing one
/// falls back to the defaults.
fn present<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(de).map(Some)
}

pub fn run(args: TestArgs) -> Result<(), Failure> {
    let text = argument("cases", &format!("@{}", args.cases))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let file: CaseFile = serde_path_to_error::deserialize(de)
        .map_err(|e| Failure::Usage(format!("`{}` is not a file of cases: {e}", args.cases)))?;
    if file.cases.is_empty() {
        return Err(Failure::Usage(format!("`{}` has no cases", args.cases)));
    }

    let (plugin, _) = load(&args.plugin, &args.cache)?;
    let mut failed = 0;
    for case in &file.cases {
        match check(&plugin, &file.defaults, case) {
            Ok(()) => println!("PASS  {}", case.name),
            Err(why) => {
                failed += 1;
                println!("FAIL  {}\n      {why}", case.name);
            }
        }
    }
    let passed = file.cases.len() - failed;
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        return Err(Failure::Other(anyhow!(
            "{failed} of {} cases failed",
            file.cases.len()
        )));
    }
    Ok(())
}

/// Runs one case; the error says what differs.
fn check(plugin: &dyn Plugin, defaults: &Defaults, case: &Case) -> Result<(), String> {
    let intent = IntentRequest::from_json(case.intent.get())
        .and_then(|request| request.into_intent("int_test".into()))
        .map_err(|e| format!("the case's intent is not valid: {e}"))?;
    let context = EvaluationContext {
        intent,
        agent: case
            .agent
            .clone()
            .or_else(|| defaults.agent.clone())
            .unwrap_or_default(),
        usage: case
            .usage
            .clone()
            .or_else(|| defaults.usage.clone())
            .unwrap_or_default(),
        risk: case.risk.clone().or_else(|| defaults.risk.clone()),
        now: case
            .now
            .or(defaults.now)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        charge: case.charge.clone(),
    };
    let config = case
        .config
        .as_deref()
        .or(defaults.config.as_deref())
        .map_or("{}", RawValue::get);
    let limits = Limits::default();
    let outcome: Result<Answer, PluginFailure> = match plugin.meta().world {
        World::Policy => plugin
            .evaluate(&context, config, &limits, &Cancel::NEVER)
            .outcome
            .map(|d| Answer {
                verdict: Some(d.verdict.kind()),
                reason: d.verdict.reason().map(str::to_owned),
                codes: d.codes,
                annotations: d.annotations,
                score: None,
            }),
        World::Risk => plugin
            .assess(&context, config, &limits, &Cancel::NEVER)
            .outcome
            .map(|a| Answer {
                verdict: None,
                reason: None,
                codes: a.signals.iter().map(|s| s.name.clone()).collect(),
                annotations: Vec::new(),
                score: Some(a.score),
            }),
    };
    compare(&case.expect, outcome)
}

fn compare(expect: &Expect, outcome: Result<Answer, PluginFailure>) -> Result<(), String> {
    let answer = match (outcome, &expect.error) {
        (Err(failure), Some(code)) => {
            if failure.kind.code() != code {
                return Err(format!(
                    "expected error {code}, got {}: {}",
                    failure.kind.code(),
                    failure.message
                ));
            }
            if let (Some(want), FailureKind::Plugin { code: got }) =
                (&expect.plugin_code, &failure.kind)
                && want != got
            {
                return Err(format!("expected plugin code `{want}`, got `{got}`"));
            }
            return Ok(());
        }
        (Err(failure), None) => return Err(format!("the call failed: {failure}")),
        (Ok(answer), Some(code)) => {
            return Err(format!(
                "expected error {code}, got {}",
                answer.verdict.map_or("an assessment", VerdictKind::as_str)
            ));
        }
        (Ok(answer), None) => answer,
    };
    if let Some(want) = expect.verdict
        && answer.verdict != Some(want)
    {
        return Err(format!(
            "expected {}, got {}{}",
            want.as_str(),
            answer.verdict.map_or("no verdict", VerdictKind::as_str),
            answer
                .reason
                .as_deref()
                .map_or(String::new(), |r| format!(" ({r})"))
        ));
    }
    if let Some(want) = &expect.code
        && answer.codes.first() != Some(want)
    {
        return Err(format!(
            "expected code `{want}`, got {:?}",
            answer.codes.first()
        ));
    }
    if let Some(want) = &expect.codes
        && &answer.codes != want
    {
        return Err(format!("expected codes {want:?}, got {:?}", answer.codes));
    }
    for want in &expect.annotations {
        if !answer.annotations.contains(want) {
            return Err(format!(
                "expected annotation {}={:?}, got {:?}",
                want.key,
                want.value,
                answer
                    .annotations
                    .iter()
                    .map(|a| format!("{}={}", a.key, a.value))
                    .collect::<Vec<_>>()
            ));
        }
    }
    if let Some(want) = expect.score
        && answer.score != Some(want)
    {
        return Err(format!("expected score {want}, got {:?}", answer.score));
    }
    Ok(())
}
