//! `/policies`: ordered rules and risk steps, each a plugin with its
//! configuration; every change makes a new immutable version.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use warrant_domain::context::{Agent, Card, EvaluationContext, Intent, Usage};
use warrant_domain::money::{self, Money};
use warrant_domain::plugin::{Limits, Plugin, PluginMeta, World};
use warrant_domain::policy::{
    Mode, OnError, Policy, RiskRule, Rule, check_config_total, check_cost,
};
use warrant_store::{Page, PolicyRecord, StoreError};

use crate::AppState;
use crate::auth::Principal;
use crate::bounded::BoundedCache;
use crate::errors::{ApiError, Result};
use crate::http::{
    ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, checked_text, new_id, now_ms, once,
    rfc3339, time_of,
};
use crate::registry::check_world;

/// The longest policy name accepted.
const MAX_POLICY_NAME: usize = 200;
/// The most rules, or risk steps, in one policy.
const MAX_STEPS: usize = 64;

/// Policies already turned into runnable [`CompiledPolicy`] values, by id
/// and version. Versions are immutable, so an entry never goes stale.
pub(crate) type Compiled = BoundedCache<(String, i64), Arc<CompiledPolicy>>;

/// How many bytes of policy versions (their stored text) are kept
/// compiled; the ones used least recently beyond it are compiled again on
/// their next use.
const COMPILED_POLICY_BYTES: u64 = 64 << 20;

/// An empty cache of compiled policies.
pub(crate) fn compiled_cache() -> Compiled {
    BoundedCache::new(4096, COMPILED_POLICY_BYTES)
}

/// A policy version ready to run.
pub(crate) struct CompiledPolicy {
    /// Decides intents: risk plugins, then the rules.
    pub decide: Policy,
    /// `decide` with the built-in `settlement-review` after the rules, for
    /// an agent with flagged settlements in the last 30 days (for any
    /// other, the review would approve: it is not run); none when the
    /// policy turns the review off.
    pub decide_reviewing: Option<Policy>,
    /// Checks charges of recurring intents: the charge rules, or the
    /// built-in `recurring-match` when the policy names none.
    pub charges: Policy,
    /// The time zone of the calendar windows.
    pub zone: jiff::tz::TimeZone,
    /// Its IANA name.
    pub timezone: String,
}

/// The time zone the calendar windows of a policy without one are in.
pub(crate) const DEFAULT_TIMEZONE: &str = "UTC";

/// The IANA time zone called `name`, or a 400 naming `field`.
pub(crate) fn time_zone(field: &str, name: &str) -> Result<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).map_err(|_| {
        ApiError::validation(
            field,
            format!("`{name}` is not an IANA time zone (e.g. `Europe/Berlin`, `UTC`)"),
        )
    })
}

fn default_timezone() -> String {
    DEFAULT_TIMEZONE.to_owned()
}

/// A rule or risk step as a request gives it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StepBody {
    plugin: String,
    #[serde(default)]
    config: Option<Box<RawValue>>,
    #[serde(default)]
    on_error: OnError,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    limits: Option<Limits>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreatePolicy {
    name: String,
    rules: Vec<StepBody>,
    #[serde(default)]
    risk: Vec<StepBody>,
    #[serde(default)]
    charges: Vec<StepBody>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    amount_tolerance_percent: Option<Box<RawValue>>,
    #[serde(default)]
    review_flagged_settlements: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdatePolicy {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    rules: Option<Vec<StepBody>>,
    #[serde(default)]
    risk: Option<Vec<StepBody>>,
    #[serde(default)]
    charges: Option<Vec<StepBody>>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    amount_tolerance_percent: Option<Box<RawValue>>,
    #[serde(default)]
    review_flagged_settlements: Option<bool>,
}

/// A rule or risk step as stored: the plugin resolved to one exact
/// component.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Step {
    plugin: String,
    plugin_id: String,
    plugin_version: String,
    sha256: String,
    config: Box<RawValue>,
    on_error: OnError,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<Mode>,
    limits: Limits,
}

impl Step {
    /// The step's plugin, loaded.
    async fn plugin(&self, state: &AppState, world: World) -> Result<Arc<dyn Plugin>> {
        state
            .registry
            .get(state.store.as_ref(), &self.plugin_id, &self.meta(world))
            .await
    }

    /// The step as a rule of a runnable policy.
    async fn rule(&self, state: &AppState) -> Result<Rule> {
        Ok(Rule {
            plugin: self.plugin(state, World::Policy).await?,
            config: self.config.get().to_owned(),
            on_error: self.on_error,
            mode: self.mode.unwrap_or_default(),
            limits: self.limits,
        })
    }

    fn meta(&self, world: World) -> PluginMeta {
        PluginMeta {
            name: self.plugin.clone(),
            version: self.plugin_version.clone(),
            sha256: self.sha256.clone(),
            world,
        }
    }
}

/// A version's body as stored.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyDoc {
    rules: Vec<Step>,
    risk: Vec<Step>,
    /// Rules run for each charge reported against a recurring intent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    charges: Vec<Step>,
    /// The IANA time zone of the calendar windows.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// How far a settled amount may deviate from the expected one before
    /// verification flags it, for intents without recurring terms.
    pub amount_tolerance_bps: u32,
    /// Whether the built-in `settlement-review` runs after the rules:
    /// while the agent has flagged settlements the tenant has not
    /// confirmed, its intents go to a human. On unless turned off.
    #[serde(default = "on")]
    pub review_flagged_settlements: bool,
}

fn on() -> bool {
    true
}

impl PolicyDoc {
    pub(crate) fn parse(record: &PolicyRecord) -> Result<Self> {
        serde_json::from_str(&record.body).map_err(ApiError::internal)
    }

    /// The configurations of the enforced rules that run the plugin
    /// `plugin_id`, in order.
    pub(crate) fn enforced_configs(&self, plugin_id: &str) -> Vec<&RawValue> {
        self.rules
            .iter()
            .filter(|step| step.plugin_id == plugin_id && step.mode != Some(Mode::Monitor))
            .map(|step| step.config.as_ref())
            .collect()
    }

    /// Whether a risk step runs the plugin `plugin_id`.
    pub(crate) fn assesses_with(&self, plugin_id: &str) -> bool {
        self.risk.iter().any(|step| step.plugin_id == plugin_id)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyView<'a> {
    id: &'a str,
    name: &'a str,
    version: i64,
    rules: Vec<Step>,
    risk: Vec<Step>,
    charges: Vec<Step>,
    timezone: String,
    amount_tolerance_percent: Box<RawValue>,
    review_flagged_settlements: bool,
    created_at: String,
}

pub(crate) fn view(record: &PolicyRecord, doc: PolicyDoc) -> Result<PolicyView<'_>> {
    let tolerance = RawValue::from_string(money::format_percent_bps(doc.amount_tolerance_bps))
        .map_err(ApiError::internal)?;
    Ok(PolicyView {
        id: &record.id,
        name: &record.name,
        version: record.version,
        rules: doc.rules,
        risk: doc.risk,
        charges: doc.charges,
        timezone: doc.timezone,
        amount_tolerance_percent: tolerance,
        review_flagged_settlements: doc.review_flagged_settlements,
        created_at: rfc3339(record.created_ms),
    })
}

fn stored_view(record: &PolicyRecord) -> Result<PolicyView<'_>> {
    view(record, PolicyDoc::parse(record)?)
}

fn tolerance_bps(raw: &RawValue) -> Result<u32> {
    money::parse_percent_bps(raw.get())
        .map_err(|e| ApiError::validation("amountTolerancePercent", e))
}

/// Finds the plugin a step names: a built-in by name or id, `name@version`,
/// a `plg_…` id, or a name alone (the tenant's highest version).
async fn resolve(
    state: &AppState,
    tenant_id: &str,
    field: &str,
    reference: &str,
) -> Result<(String, PluginMeta)> {
    let registry = &state.registry;
    if let Some(entry) = registry.builtin(reference) {
        return Ok((entry.id.clone(), entry.meta.clone()));
    }
    let missing = || ApiError::validation(field, format!("no plugin `{reference}`"));
    let record = if reference.starts_with("plg_") {
        state.store.plugin(tenant_id, reference).await?
    } else if let Some((name, version)) = reference.split_once('@') {
        if let Some(entry) = registry
            .builtin(name)
            .filter(|entry| entry.meta.version == version)
        {
            return Ok((entry.id.clone(), entry.meta.clone()));
        }
        state
            .store
            .plugin_by_version(tenant_id, name, version)
            .await?
    } else {
        // Every version of the name: no plan allows this many plugins.
        let all = Page {
            after: None,
            limit: 10_000,
        };
        let versions = state
            .store
            .plugins(tenant_id, Some(reference), &all)
            .await?;
        versions
            .into_iter()
            .filter_map(|p| Some((semver::Version::parse(&p.version).ok()?, p)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, p)| p)
    };
    let record = record.ok_or_else(missing)?;
    let meta = PluginMeta {
        name: record.name,
        version: record.version,
        sha256: record.sha256,
        world: record.world,
    };
    Ok((record.id, meta))
}

/// A step as [`check_cost`] reads it: its place, configuration and limits.
type StepCost<'a> = (String, &'a str, Limits);

fn body_costs<'a>(list: &str, steps: &'a [StepBody]) -> Vec<StepCost<'a>> {
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            (
                format!("{list}[{i}]"),
                step.config.as_deref().map_or("{}", RawValue::get),
                step.limits.unwrap_or_default(),
            )
        })
        .collect()
}

/// The costs of a list an update gives, or else of the stored one.
fn costs<'a>(
    list: &str,
    given: &'a Option<Vec<StepBody>>,
    stored: &'a [Step],
) -> Vec<StepCost<'a>> {
    match given {
        Some(steps) => body_costs(list, steps),
        None => stored_costs(list, stored),
    }
}

fn stored_costs<'a>(list: &str, steps: &'a [Step]) -> Vec<StepCost<'a>> {
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| (format!("{list}[{i}]"), step.config.get(), step.limits))
        .collect()
}

/// Refuses, before anything runs, a policy whose steps would cost more
/// than a decision may: configurations too large, memory over the cap,
/// deadlines that add up past [`MAX_DECISION_TIMEOUT_MS`].
///
/// [`MAX_DECISION_TIMEOUT_MS`]: warrant_domain::policy::MAX_DECISION_TIMEOUT_MS
fn check_costs(
    risk: Vec<StepCost<'_>>,
    rules: Vec<StepCost<'_>>,
    charges: Vec<StepCost<'_>>,
) -> Result<()> {
    let decide = check_cost(risk.into_iter().chain(rules))?;
    decide.check_timeout("rules")?;
    let charges = check_cost(charges)?;
    charges.check_timeout("charges")?;
    check_config_total(&[decide, charges])?;
    Ok(())
}

/// A policy must have a rule whose verdict counts: Warrant approves
/// nothing on its own.
fn check_enforced(rules: &[Step]) -> Result<()> {
    if rules.iter().any(|rule| rule.mode != Some(Mode::Monitor)) {
        return Ok(());
    }
    Err(ApiError::validation(
        "rules",
        "must have at least one rule in `enforce` mode: monitored rules alone would approve everything",
    ))
}

/// The context of a dry evaluation: a plain 1.00 EUR intent.
fn dry_context() -> EvaluationContext {
    EvaluationContext {
        intent: Intent {
            id: "int_dry_run".into(),
            amount: Some(Money::eur(100)),
            merchant: Some("example.com".into()),
            card: Card::Name("dry-run".into()),
            purpose: "configuration check".into(),
            recurring: None,
            client_intent_id: None,
            ttl_minutes: 60,
        },
        agent: Agent::default(),
        usage: Usage::default(),
        risk: None,
        now: time_of(now_ms()),
        charge: None,
    }
}

/// Resolves the steps of a request, checks each plugin's world and limits,
/// and runs each once on a dry context: a configuration the plugin refuses
/// is a 400 naming the step.
async fn resolve_steps(
    state: &AppState,
    tenant_id: &str,
    list: &str,
    steps: Vec<StepBody>,
    world: World,
) -> Result<Vec<Step>> {
    if steps.len() > MAX_STEPS {
        return Err(ApiError::validation(
            list,
            format!("must have at most {MAX_STEPS} entries"),
        ));
    }
    let mut resolved = Vec::with_capacity(steps.len());
    for (i, step) in steps.into_iter().enumerate() {
        let at = |field: &str| format!("{list}[{i}].{field}");
        let (plugin_id, meta) = resolve(state, tenant_id, &at("plugin"), &step.plugin).await?;
        check_world(&at("plugin"), &meta, world)?;
        let limits = step.limits.unwrap_or_default();
        limits
            .check()
            .map_err(|e| ApiError::validation(&at("limits"), e))?;
        if world == World::Risk && step.mode.is_some() {
            return Err(ApiError::validation(
                &at("mode"),
                "risk steps always count; `mode` applies to rules",
            ));
        }
        let config = match step.config {
            Some(config) => config,
            None => RawValue::from_string("{}".into()).map_err(ApiError::internal)?,
        };
        let plugin = state
            .registry
            .get(state.store.as_ref(), &plugin_id, &meta)
            .await?;
        if let Err(failure) = dry_run(
            state,
            tenant_id,
            plugin,
            world,
            config.get().to_owned(),
            limits,
        )
        .await?
        {
            return Err(ApiError::validation(
                &at("config"),
                format!(
                    "`{}@{}` fails with this configuration ({}): {}",
                    meta.name,
                    meta.version,
                    failure.kind.code(),
                    failure.message
                ),
            ));
        }
        resolved.push(Step {
            plugin: meta.name,
            plugin_id,
            plugin_version: meta.version,
            sha256: meta.sha256,
            config,
            on_error: step.on_error,
            mode: match world {
                World::Policy => Some(step.mode.unwrap_or_default()),
                World::Risk => None,
            },
            limits,
        });
    }
    Ok(resolved)
}

async fn dry_run(
    state: &AppState,
    tenant_id: &str,
    plugin: Arc<dyn Plugin>,
    world: World,
    config: String,
    limits: Limits,
) -> Result<Result<(), warrant_domain::plugin::PluginFailure>> {
    state
        .evaluations
        .run(tenant_id, move |cancel| {
            let context = dry_context();
            match world {
                World::Policy => plugin
                    .evaluate(&context, &config, &limits, cancel)
                    .outcome
                    .map(drop),
                World::Risk => plugin
                    .assess(&context, &config, &limits, cancel)
                    .outcome
                    .map(drop),
            }
        })
        .await
}

pub(crate) fn plugin_ids(doc: &PolicyDoc) -> Vec<String> {
    doc.rules
        .iter()
        .chain(&doc.risk)
        .chain(&doc.charges)
        .map(|step| step.plugin_id.clone())
        .collect()
}

pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let body: CreatePolicy = submission.json()?;
    let name = checked_text("name", &body.name, MAX_POLICY_NAME)?;
    if body.rules.is_empty() {
        return Err(ApiError::validation(
            "rules",
            "must have at least one rule: Warrant approves nothing on its own",
        ));
    }
    let amount_tolerance_bps = body
        .amount_tolerance_percent
        .as_deref()
        .map(tolerance_bps)
        .transpose()?
        .unwrap_or(0);
    let timezone = match &body.timezone {
        Some(name) => {
            time_zone("timezone", name)?;
            name.clone()
        }
        None => default_timezone(),
    };
    check_costs(
        body_costs("risk", &body.risk),
        body_costs("rules", &body.rules),
        body_costs("charges", &body.charges),
    )?;
    once(&state, &principal, &submission, async |ticket| {
        let doc = PolicyDoc {
            rules: resolve_steps(&state, &tenant_id, "rules", body.rules, World::Policy).await?,
            risk: resolve_steps(&state, &tenant_id, "risk", body.risk, World::Risk).await?,
            charges: resolve_steps(&state, &tenant_id, "charges", body.charges, World::Policy)
                .await?,
            timezone,
            amount_tolerance_bps,
            review_flagged_settlements: body.review_flagged_settlements.unwrap_or(true),
        };
        check_enforced(&doc.rules)?;
        let record = PolicyRecord {
            id: new_id("pol"),
            tenant_id: tenant_id.clone(),
            name,
            version: 1,
            body: serde_json::to_string(&doc).map_err(ApiError::internal)?,
            created_ms: now_ms(),
        };
        let reply = Reply::json(StatusCode::CREATED, &view(&record, doc.clone())?)?;
        state
            .store
            .insert_policy(&record, &plugin_ids(&doc), ticket.record(&reply).as_ref())
            .await?;
        Ok(reply)
    })
    .await
}

pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let body: UpdatePolicy = submission.json()?;
    let current = state
        .store
        .policy(&tenant_id, &id, None)
        .await?
        .ok_or_else(|| ApiError::not_found("policy", &id))?;
    let mut doc = PolicyDoc::parse(&current)?;
    let name = match &body.name {
        Some(name) => checked_text("name", name, MAX_POLICY_NAME)?,
        None => current.name.clone(),
    };
    if let Some(raw) = &body.amount_tolerance_percent {
        doc.amount_tolerance_bps = tolerance_bps(raw)?;
    }
    check_costs(
        costs("risk", &body.risk, &doc.risk),
        costs("rules", &body.rules, &doc.rules),
        costs("charges", &body.charges, &doc.charges),
    )?;
    if let Some(rules) = body.rules {
        if rules.is_empty() {
            return Err(ApiError::validation("rules", "must have at least one rule"));
        }
        doc.rules = resolve_steps(&state, &tenant_id, "rules", rules, World::Policy).await?;
        check_enforced(&doc.rules)?;
    }
    if let Some(risk) = body.risk {
        doc.risk = resolve_steps(&state, &tenant_id, "risk", risk, World::Risk).await?;
    }
    if let Some(charges) = body.charges {
        doc.charges = resolve_steps(&state, &tenant_id, "charges", charges, World::Policy).await?;
    }
    if let Some(name) = &body.timezone {
        time_zone("timezone", name)?;
        doc.timezone = name.clone();
    }
    if let Some(review) = body.review_flagged_settlements {
        doc.review_flagged_settlements = review;
    }
    let record = PolicyRecord {
        version: current.version + 1,
        name,
        body: serde_json::to_string(&doc).map_err(ApiError::internal)?,
        created_ms: now_ms(),
        ..current
    };
    let reply = Reply::ok(&view(&record, doc.clone())?)?;
    match state
        .store
        .add_policy_version(&record, &plugin_ids(&doc), None)
        .await
    {
        Ok(()) => Ok(reply),
        Err(StoreError::Duplicate) => Err(ApiError::conflict(
            "the policy changed while this update was made; read it again and retry",
        )),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let record = state
        .store
        .policy(tenant_id, &id, None)
        .await?
        .ok_or_else(|| ApiError::not_found("policy", &id))?;
    Reply::ok(&stored_view(&record)?)
}

pub(crate) async fn versions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let page = query.version_page()?;
    if state.store.policy(tenant_id, &id, None).await?.is_none() {
        return Err(ApiError::not_found("policy", &id));
    }
    let records = state.store.policy_versions(tenant_id, &id, &page).await?;
    let listing = Listing::new(records, &page, |r| r.version.to_string());
    listing.reply(stored_view)
}

pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let page = query.page()?;
    let records = state.store.policies(tenant_id, &page).await?;
    let listing = Listing::new(records, &page, |r| r.id.clone());
    listing.reply(stored_view)
}

/// The runnable policy of a stored version.
pub(crate) async fn compiled(
    state: &AppState,
    record: &PolicyRecord,
) -> Result<Arc<CompiledPolicy>> {
    let key = (record.id.clone(), record.version);
    if let Some(policy) = state.policies.get(&key) {
        return Ok(policy);
    }
    let doc = PolicyDoc::parse(record)?;
    let mut decide = Policy::default();
    for step in &doc.risk {
        decide.risk.push(RiskRule {
            plugin: step.plugin(state, World::Risk).await?,
            config: step.config.get().to_owned(),
            on_error: step.on_error,
            limits: step.limits,
        });
    }
    for step in &doc.rules {
        decide.rules.push(step.rule(state).await?);
    }
    let decide_reviewing = if doc.review_flagged_settlements {
        let mut reviewing = decide.clone();
        reviewing
            .rules
            .push(builtin_rule(state, SETTLEMENT_REVIEW, OnError::Review).await?);
        Some(reviewing)
    } else {
        None
    };
    let mut charges = Policy::default();
    for step in &doc.charges {
        charges.rules.push(step.rule(state).await?);
    }
    if charges.rules.is_empty() {
        charges
            .rules
            .push(builtin_rule(state, RECURRING_MATCH, OnError::Deny).await?);
    }
    let policy = Arc::new(CompiledPolicy {
        decide,
        decide_reviewing,
        charges,
        zone: time_zone("timezone", &doc.timezone)?,
        timezone: doc.timezone,
    });
    // A compiled policy stands for its text, and a little for itself.
    let bytes = record.body.len() as u64 + 1024;
    state.policies.insert(key, policy.clone(), bytes);
    Ok(policy)
}

/// The built-in that checks charges when a policy names no charge rules.
const RECURRING_MATCH: &str = "recurring-match";
/// The built-in that runs after the rules unless a policy turns it off.
const SETTLEMENT_REVIEW: &str = "settlement-review";

/// A rule the host adds of its own: the built-in `name` with its default
/// configuration, enforced.
async fn builtin_rule(state: &AppState, name: &str, on_error: OnError) -> Result<Rule> {
    let entry = state
        .registry
        .builtin(name)
        .ok_or_else(|| ApiError::internal(format!("the built-in `{name}` is missing")))?;
    let plugin = state
        .registry
        .get(state.store.as_ref(), &entry.id, &entry.meta)
        .await?;
    Ok(Rule {
        plugin,
        config: "{}".to_owned(),
        on_error,
        mode: Mode::Enforce,
        limits: Limits::default(),
    })
}
