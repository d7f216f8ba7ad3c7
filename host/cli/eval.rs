//! `warrant eval` and `warrant plugin inspect`.

use std::sync::Arc;

use anyhow::anyhow;
use serde::Serialize;
use time::OffsetDateTime;

use warrant_domain::context::{Agent, EvaluationContext, Usage};
use warrant_domain::intent::IntentRequest;
use warrant_domain::plugin::{Cancel, Limits, World};
use warrant_domain::policy::{OnError, Outcome, Policy, TraceEntry};
use warrant_runtime::{CodeSource, LoadReport, LoadedPlugin, Runtime, RuntimeConfig};

use crate::plugin_source::PluginSource;
use crate::{CacheArgs, Failure};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A `.wasm` component, or the name of a built-in plugin
    /// (`spend-limit`, `merchant-rules`).
    plugin: String,
    /// The intent, in the JSON shape of `POST /intents`
    /// (`{"cardName": "…", "purpose": "…", "expectedAmountEuros": 4.51, …}`);
    /// `@FILE` reads it from a file.
    #[arg(long)]
    intent: String,
    /// The rule's configuration as JSON; `@FILE` reads it from a file.
    #[arg(long, default_value = "{}")]
    config: String,
    /// The agent as JSON (`{"name", "status", "agentType", "profile", "tags",
    /// "metadata"}`); an active supervised agent when absent.
    #[arg(long)]
    agent: Option<String>,
    /// The agent's usage snapshot as JSON (`{"lastDay": {"count": 3,
    /// "spendMinor": 1500}, …}`: amounts in minor units, as plugins see
    /// them); zeros when absent.
    #[arg(long)]
    usage: Option<String>,
    /// The time of the decision, RFC 3339; the current time when absent.
    #[arg(long, value_parser = parse_time)]
    now: Option<OffsetDateTime>,
    /// What a failure of the plugin counts as.
    #[arg(long, value_enum, default_value = "deny")]
    on_error: OnErrorArg,
    /// Instruction budget of the call.
    #[arg(long, default_value_t = Limits::DEFAULT.fuel)]
    fuel: u64,
    /// Wall-clock budget of the call, in milliseconds.
    #[arg(long, default_value_t = Limits::DEFAULT.timeout_ms)]
    timeout_ms: u32,
    /// Largest linear memory of the call, in bytes.
    #[arg(long, default_value_t = Limits::DEFAULT.memory_bytes)]
    memory_bytes: u64,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OnErrorArg {
    Deny,
    Review,
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time such as 2026-11-23T10:00:00Z: {e}"))
}

/// What `warrant eval` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EvalOutput {
    /// The rule's trace entry: verdict, reason, code, error, cost, logs.
    #[serde(flatten)]
    entry: TraceEntry,
    /// What a one-rule policy would decide; none for a risk plugin, which
    /// scores and decides nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
    /// How the plugin was loaded.
    load: LoadOutput,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadOutput {
    /// `compiled` or `cache`.
    source: &'static str,
    duration_us: u128,
}

/// Reads `@FILE` arguments.
pub(crate) fn argument(name: &str, value: &str) -> Result<String, Failure> {
    match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("`--{name}`: cannot read `{path}`: {e}"))),
        None => Ok(value.to_owned()),
    }
}

fn json<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::Usage(format!("`--{name}` is not valid: {e}")))
}

pub fn run(args: EvalArgs) -> Result<(), Failure> {
    let intent = IntentRequest::from_json(&argument("intent", &args.intent)?)
        .and_then(|request| request.into_intent(String::new()))
        .map_err(|e| Failure::Usage(format!("`--intent`: {e}")))?;
    let config = argument("config", &args.config)?;
    serde_json::from_str::<serde_json::Value>(&config)
        .map_err(|e| Failure::Usage(format!("`--config` is not JSON: {e}")))?;
    let agent: Agent = match &args.agent {
        Some(text) => json("agent", &argument("agent", text)?)?,
        None => Agent::default(),
    };
    let usage: Usage = match &args.usage {
        Some(text) => json("usage", &argument("usage", text)?)?,
        None => Usage::default(),
    };
    let limits = Limits {
        fuel: args.fuel,
        timeout_ms: args.timeout_ms,
        memory_bytes: args.memory_bytes,
        ..Limits::default()
    };
    limits.check().map_err(|e| Failure::Usage(e.to_string()))?;
    let on_error = match args.on_error {
        OnErrorArg::Deny => OnError::Deny,
        OnErrorArg::Review => OnError::Review,
    };

    let (plugin, report) = load(&args.plugin, &args.cache)?;
    let world = warrant_domain::plugin::Plugin::meta(&plugin).world;
    let policy = Policy::of_one(Arc::new(plugin), config, on_error, limits);
    let context = EvaluationContext {
        intent,
        agent,
        usage,
        risk: None,
        now: args.now.unwrap_or_else(OffsetDateTime::now_utc),
        charge: None,
    };
    let mut decision = policy.evaluate(&context, &Cancel::NEVER);
    let output = EvalOutput {
        entry: decision.trace.remove(0),
        outcome: (world == World::Policy).then_some(decision.outcome),
        load: LoadOutput {
            source: match report.source {
                CodeSource::Compiled => "compiled",
                CodeSource::Cache => "cache",
            },
            duration_us: report.duration.as_micros(),
        },
    };
    print_json(&output)
}

pub fn inspect(plugin: &str) -> Result<(), Failure> {
    #[derive(Serialize)]
    struct Refused {
        code: &'static str,
        message: String,
    }
    #[derive(Serialize)]
    struct InspectOutput {
        world: Option<World>,
        sha256: String,
        size: usize,
        imports: Vec<String>,
        exports: Vec<String>,
        #[serde(rename = "coreInstances")]
        core_instances: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        refused: Option<Refused>,
    }

    let source = PluginSource::resolve(plugin)?;
    let runtime = Runtime::new(RuntimeConfig::default()).map_err(anyhow::Error::from)?;
    let info = runtime
        .inspect(&source.bytes)
        .map_err(|e| anyhow!("`{plugin}` is refused ({}): {e}", e.code()))?;
    let refused = info.refusal.as_ref().map(|e| Refused {
        code: e.code(),
        message: e.to_string(),
    });
    print_json(&InspectOutput {
        world: info.world,
        sha256: info.sha256,
        size: info.size,
        imports: info.imports,
        exports: info.exports,
        core_instances: info.core_instances,
        refused,
    })?;
    match info.refusal {
        None => Ok(()),
        Some(e) => Err(anyhow!("the server would refuse `{plugin}` ({}): {e}", e.code()).into()),
    }
}

/// Loads a plugin named on the command line: a `.wasm` file or a built-in.
pub(crate) fn load(plugin: &str, cache: &CacheArgs) -> Result<(LoadedPlugin, LoadReport), Failure> {
    let source = PluginSource::resolve(plugin)?;
    let loaded = runtime(cache)?
        .load(&source.name, &source.version, &source.bytes)
        .map_err(|e| anyhow!("plugin `{plugin}` is refused ({}): {e}", e.code()))?;
    Ok(loaded)
}

fn runtime(cache: &CacheArgs) -> Result<Runtime, Failure> {
    let config = RuntimeConfig {
        cache_dir: cache.dir(),
        ..RuntimeConfig::default()
    };
    Ok(Runtime::new(config).map_err(anyhow::Error::from)?)
}

fn print_json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?;
    println!("{text}");
    Ok(())
}
