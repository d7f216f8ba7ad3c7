//! One policy decided four ways on the same intents: in plain Rust, by
//! Warrant's built-in plugins (a fresh instance per rule and decision, as
//! the server decides), by Cedar and by Rego.
//!
//! The policy: at most 100 EUR, review above 50 EUR, and only the twenty
//! merchants of [`DOMAINS`]. In Warrant that is two rules, `spend-limit`
//! with `{"maxAmountEuros": 100, "reviewAboveEuros": 50}` and
//! `merchant-rules` with `{"allow": [...]}`, combined as every policy is:
//! any deny ⇒ denied, else any review ⇒ pending approval, else approved.
//! So a merchant off the list is denied whatever the amount, an amount
//! equal to a limit is within it, and merchants match ignoring letter case
//! and surrounding white space.
//!
//! - **native**: a Rust function over the amount and the merchant, the
//!   allow list a `HashSet` built once;
//! - **warrant-fresh-instance**: `Policy::evaluate` with both built-in
//!   plugins loaded once (compiled, linked, pre-instantiated); each rule
//!   of each decision gets a new store and instance from the pool, as in
//!   `warrant serve`;
//! - **warrant-reused-instance**: the same two components called on
//!   instances kept for every call, the verdicts combined the same way.
//!   Decisions never do this; it shows what instantiation costs;
//! - **cedar**: `cedar-policy`, policies parsed and validated against a
//!   schema, and the merchants (each a child of `MerchantList::"allowed"`)
//!   built once. Per decision the request (resource `Merchant::"<merchant
//!   in lower case>"`, context `{amountCents}`) is built and checked
//!   against the schema, and `is_authorized` called once. Cedar only
//!   permits or forbids, so review is a second `permit` policy:
//!   `forbid`s deny an unknown merchant and an amount over 100 EUR, one of
//!   the `permit`s `approve` (≤ 50 EUR) and `review` (above) applies, and
//!   an allow whose determining policy is `review` is pending approval;
//! - **rego**: `regorus`, the policy loaded once with the allow list as a
//!   data document; per decision the input is set and the rule
//!   `data.warrant.decision`, a string, evaluated.
//!
//! Every engine decides every intent of [`INPUTS`] in turn, from the same
//! amount and merchant, and each builds what it needs from them inside
//! the timed loop. All four must give the expected outcome for every
//! intent before anything is timed. `cargo bench --bench decision` then
//! prints criterion's means and their ratios; `cargo test` checks the
//! agreement and runs each engine once, so that the benchmark cannot rot.
//! Results are in BENCHMARKS.md.

// Amounts are written as euros_cents.
#![allow(clippy::inconsistent_digit_grouping)]

use std::collections::{BTreeMap, HashSet};
use std::hint::black_box;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use criterion::Criterion;
use warrant_domain::context::{Agent, Card, EvaluationContext, Intent, Usage};
use warrant_domain::decision::VerdictKind;
use warrant_domain::money::Money;
use warrant_domain::plugin::{Cancel, Limits};
use warrant_domain::policy::{Mode, OnError, Outcome, Policy, Rule};
use warrant_runtime::{ReusedInstance, Runtime, RuntimeConfig};

/// The merchants allowed.
const DOMAINS: [&str; 20] = [
    "hetzner.com",
    "github.com",
    "aws.amazon.com",
    "cloud.google.com",
    "azure.microsoft.com",
    "digitalocean.com",
    "cloudflare.com",
    "fastly.com",
    "stripe.com",
    "openai.com",
    "anthropic.com",
    "slack.com",
    "notion.so",
    "figma.com",
    "atlassian.com",
    "gitlab.com",
    "vercel.com",
    "netlify.com",
    "datadoghq.com",
    "sentry.io",
];
/// The largest amount, in euro cents.
const MAX_CENTS: u64 = 100_00;
/// Amounts above this, in euro cents, go to review.
const REVIEW_ABOVE_CENTS: u64 = 50_00;

/// What every engine decides from: an amount in euros and a merchant.
struct Input {
    cents: u64,
    merchant: &'static str,
}

/// The intents, cycled in this order by every engine, and what the policy
/// decides for each.
const INPUTS: [(Input, Outcome); 8] = [
    (input(45_10, "hetzner.com"), Outcome::Approved),
    (input(50_00, "GitHub.com"), Outcome::Approved),
    (input(50_01, "aws.amazon.com"), Outcome::PendingApproval),
    (input(100_00, "stripe.com"), Outcome::PendingApproval),
    (input(100_01, "cloudflare.com"), Outcome::Denied),
    (input(2500_00, "sentry.io"), Outcome::Denied),
    (input(20_00, "evilhetzner.com"), Outcome::Denied),
    (input(75_00, "casino.example"), Outcome::Denied),
];

const fn input(cents: u64, merchant: &'static str) -> Input {
    Input { cents, merchant }
}

/// How merchant-rules compares merchants.
fn merchant_key(merchant: &str) -> String {
    merchant.trim().to_lowercase()
}

/// (a) The policy as a Rust function.
struct Native {
    allow: HashSet<String>,
}

impl Native {
    fn new() -> Self {
        Native {
            allow: DOMAINS.iter().map(|d| merchant_key(d)).collect(),
        }
    }

    fn decide(&self, input: &Input) -> Outcome {
        if !self.allow.contains(&merchant_key(input.merchant)) || input.cents > MAX_CENTS {
            Outcome::Denied
        } else if input.cents > REVIEW_ABOVE_CENTS {
            Outcome::PendingApproval
        } else {
            Outcome::Approved
        }
    }
}

/// (b) The built-in plugins, as the server runs them.
struct Warrant {
    policy: Policy,
    /// Each plugin on a kept instance, with its configuration.
    reused: Vec<(ReusedInstance, String)>,
}

impl Warrant {
    fn new() -> Self {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        let allow = serde_json::json!({ "allow": DOMAINS }).to_string();
        let rules = [
            (
                "spend-limit",
                r#"{"maxAmountEuros": 100, "reviewAboveEuros": 50}"#,
            ),
            ("merchant-rules", allow.as_str()),
        ];
        let mut policy = Policy::default();
        let mut reused = Vec::new();
        for (name, config) in rules {
            let builtin = warrant_builtins::find(name).unwrap();
            let (plugin, _) = runtime
                .load(builtin.name, builtin.version, builtin.wasm)
                .unwrap();
            reused.push((plugin.reused_instance().unwrap(), config.to_owned()));
            policy.rules.push(Rule {
                plugin: Arc::new(plugin),
                config: config.to_owned(),
                on_error: OnError::Deny,
                mode: Mode::Enforce,
                limits: Limits::default(),
            });
        }
        Warrant { policy, reused }
    }

    fn context(input: &Input) -> EvaluationContext {
        EvaluationContext {
            intent: Intent {
                id: "int_bench".into(),
                amount: Some(Money::eur(input.cents)),
                merchant: Some(input.merchant.into()),
                card: Card::Name("subscriptions".into()),
                purpose: "pay for a service".into(),
                recurring: None,
                client_intent_id: None,
                ttl_minutes: 60,
                signed_by: None,
            },
            agent: Agent::default(),
            usage: Usage::default(),
            risk: None,
            now: time::macros::datetime!(2026-11-23 10:00 UTC),
            charge: None,
        }
    }

    fn decide(&self, input: &Input) -> Outcome {
        self.policy
            .evaluate(&Self::context(input), &Cancel::NEVER)
            .outcome
    }

    fn decide_reused(&mut self, input: &Input) -> Outcome {
        let cx = Self::context(input);
        let verdicts: Vec<VerdictKind> = self
            .reused
            .iter_mut()
            .map(|(instance, config)| {
                let decision = instance.evaluate(&cx, config).expect("the plugin answers");
                decision.verdict.kind()
            })
            .collect();
        if verdicts.contains(&VerdictKind::Deny) {
            Outcome::Denied
        } else if verdicts.contains(&VerdictKind::Review) {
            Outcome::PendingApproval
        } else {
            Outcome::Approved
        }
    }
}

/// (c) The policy in Cedar.
struct Cedar {
    schema: cedar_policy::Schema,
    policies: cedar_policy::PolicySet,
    entities: cedar_policy::Entities,
    authorizer: cedar_policy::Authorizer,
    principal: cedar_policy::EntityUid,
    action: cedar_policy::EntityUid,
    merchant: cedar_policy::EntityTypeName,
    review: cedar_policy::PolicyId,
}

const CEDAR_SCHEMA: &str = r#"
entity Agent;
entity MerchantList;
entity Merchant in [MerchantList];
action pay appliesTo {
    principal: Agent,
    resource: Merchant,
    context: { amountCents: Long },
};
"#;

const CEDAR_POLICIES: [(&str, &str); 4] = [
    (
        "merchant-not-allowed",
        r#"forbid (principal, action == Action::"pay", resource)
           unless { resource in MerchantList::"allowed" };"#,
    ),
    (
        "amount-over-max",
        r#"forbid (principal, action == Action::"pay", resource)
           when { context.amountCents > 10000 };"#,
    ),
    (
        "approve",
        r#"permit (principal, action == Action::"pay", resource)
           when { context.amountCents <= 5000 };"#,
    ),
    (
        "review",
        r#"permit (principal, action == Action::"pay", resource)
           when { context.amountCents > 5000 };"#,
    ),
];

impl Cedar {
    fn new() -> Self {
        use cedar_policy::{
            Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy, PolicyId, PolicySet,
            Schema, ValidationMode, Validator,
        };

        let (schema, warnings) = Schema::from_cedarschema_str(CEDAR_SCHEMA).unwrap();
        assert_eq!(warnings.count(), 0);
        let mut policies = PolicySet::new();
        for (id, text) in CEDAR_POLICIES {
            policies
                .add(Policy::parse(Some(PolicyId::new(id)), text).unwrap())
                .unwrap();
        }
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        assert!(
            validation.validation_passed_without_warnings(),
            "{validation}"
        );

        let uid = |ty: &str, id: &str| {
            EntityUid::from_type_name_and_id(
                EntityTypeName::from_str(ty).unwrap(),
                EntityId::new(id),
            )
        };
        let allowed = uid("MerchantList", "allowed");
        let merchants = DOMAINS.iter().map(|domain| {
            Entity::new_no_attrs(
                uid("Merchant", &merchant_key(domain)),
                [allowed.clone()].into(),
            )
        });
        let list = Entity::new_no_attrs(allowed.clone(), HashSet::new());
        let entities = Entities::from_entities(merchants.chain([list]), Some(&schema)).unwrap();

        Cedar {
            schema,
            policies,
            entities,
            authorizer: cedar_policy::Authorizer::new(),
            principal: uid("Agent", "agent_bench"),
            action: uid("Action", "pay"),
            merchant: EntityTypeName::from_str("Merchant").unwrap(),
            review: PolicyId::new("review"),
        }
    }

    fn decide(&self, input: &Input) -> Outcome {
        use cedar_policy::{Context, Decision, EntityId, EntityUid, Request, RestrictedExpression};

        let resource = EntityUid::from_type_name_and_id(
            self.merchant.clone(),
            EntityId::new(merchant_key(input.merchant)),
        );
        let cents = i64::try_from(input.cents).expect("an amount Cedar can hold");
        let context = Context::from_pairs([(
            "amountCents".to_owned(),
            RestrictedExpression::new_long(cents),
        )])
        .unwrap();
        let request = Request::new(
            self.principal.clone(),
            self.action.clone(),
            resource,
            context,
            Some(&self.schema),
        )
        .unwrap();
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &self.entities);
        match response.decision() {
            Decision::Deny => Outcome::Denied,
            Decision::Allow if response.diagnostics().reason().any(|id| *id == self.review) => {
                Outcome::PendingApproval
            }
            Decision::Allow => Outcome::Approved,
        }
    }
}

/// (d) The policy in Rego.
struct Rego {
    engine: regorus::Engine,
}

const REGO_POLICY: &str = r#"
package warrant

merchant := lower(trim_space(input.merchant))

decision := "denied" if {
    not data.merchants.allowed[merchant]
} else := "denied" if {
    input.amountCents > 10000
} else := "pending_approval" if {
    input.amountCents > 5000
} else := "approved"
"#;

impl Rego {
    fn new() -> Self {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("warrant.rego".into(), REGO_POLICY.into())
            .unwrap();
        // The allow list as an object, the usual Rego shape for a set of
        // keys: a lookup rather than a scan.
        let allowed: serde_json::Map<String, serde_json::Value> = DOMAINS
            .iter()
            .map(|domain| (merchant_key(domain), true.into()))
            .collect();
        let data = serde_json::json!({ "merchants": { "allowed": allowed } });
        engine
            .add_data(regorus::Value::from_json_str(&data.to_string()).unwrap())
            .unwrap();
        Rego { engine }
    }

    fn decide(&mut self, input: &Input) -> Outcome {
        use regorus::Value;

        let fields = BTreeMap::from([
            (Value::from("amountCents"), Value::from(input.cents)),
            (Value::from("merchant"), Value::from(input.merchant)),
        ]);
        self.engine.set_input(Value::from(fields));
        let decision = self
            .engine
            .eval_rule("data.warrant.decision".to_owned())
            .unwrap();
        match decision.as_string().map(|s| s.as_ref()) {
            Ok("approved") => Outcome::Approved,
            Ok("pending_approval") => Outcome::PendingApproval,
            Ok("denied") => Outcome::Denied,
            other => panic!("rego decided {other:?}"),
        }
    }
}

/// The next intent of the cycle.
fn next(i: &mut usize) -> &'static Input {
    let input = &INPUTS[*i].0;
    *i = (*i + 1) % INPUTS.len();
    input
}

/// The engines, in the order of the table.
const ENGINES: [&str; 5] = [
    "native",
    "warrant-fresh-instance",
    "warrant-reused-instance",
    "cedar",
    "rego",
];

fn main() {
    let native = Native::new();
    let mut warrant = Warrant::new();
    let cedar = Cedar::new();
    let mut rego = Rego::new();

    // Every engine must decide every intent as expected before its speed
    // means anything.
    for (input, expected) in &INPUTS {
        let what = format!("{} cents to {}", input.cents, input.merchant);
        assert_eq!(native.decide(input), *expected, "native, {what}");
        assert_eq!(warrant.decide(input), *expected, "warrant, {what}");
        assert_eq!(
            warrant.decide_reused(input),
            *expected,
            "warrant reused, {what}"
        );
        assert_eq!(cedar.decide(input), *expected, "cedar, {what}");
        assert_eq!(rego.decide(input), *expected, "rego, {what}");
    }

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("decision");
    let mut i = 0;
    group.bench_function(ENGINES[0], |b| {
        b.iter(|| native.decide(black_box(next(&mut i))))
    });
    let mut i = 0;
    group.bench_function(ENGINES[1], |b| {
        b.iter(|| warrant.decide(black_box(next(&mut i))))
    });
    let mut i = 0;
    group.bench_function(ENGINES[2], |b| {
        b.iter(|| warrant.decide_reused(black_box(next(&mut i))))
    });
    let mut i = 0;
    group.bench_function(ENGINES[3], |b| {
        b.iter(|| cedar.decide(black_box(next(&mut i))))
    });
    let mut i = 0;
    group.bench_function(ENGINES[4], |b| {
        b.iter(|| rego.decide(black_box(next(&mut i))))
    });
    group.finish();

    // The kept instances must still answer as they did: their timings are
    // of decisions, not of failures.
    for (input, expected) in &INPUTS {
        assert_eq!(warrant.decide_reused(input), *expected);
    }

    c.final_summary();
    // Criterion measured (rather than tested, listed or profiled) only
    // under `cargo bench` without `--test`, `--list` or `--profile-time`.
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|arg| arg == "--bench")
        && !args
            .iter()
            .any(|arg| arg == "--test" || arg == "--list" || arg.starts_with("--profile-time"));
    if measuring {
        summary();
    }
}

/// Criterion's mean (and median) for each engine, read back from its
/// estimates, with the mean's ratios to native and to Warrant's fresh
/// instances.
fn summary() {
    let dir = criterion_dir().join("decision");
    let estimates: Vec<Option<(f64, f64)>> = ENGINES
        .iter()
        .map(|engine| {
            let path = dir.join(engine).join("new").join("estimates.json");
            let text = std::fs::read_to_string(path).ok()?;
            let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
            let ns = |name: &str| estimates[name]["point_estimate"].as_f64();
            Some((ns("mean")?, ns("median")?))
        })
        .collect();
    let (Some((native, _)), Some((warrant, _))) = (estimates[0], estimates[1]) else {
        println!("(no summary: run every engine to get one)");
        return;
    };
    println!();
    println!("| engine | ns/decision (mean) | median | ÷ native | ÷ warrant fresh instance |");
    println!("|---|---|---|---|---|");
    for (engine, estimate) in ENGINES.iter().zip(&estimates) {
        if let Some((mean, median)) = estimate {
            println!(
                "| {engine} | {mean:.0} | {median:.0} | {:.1}× | {:.3}× |",
                mean / native,
                mean / warrant
            );
        }
    }
}

/// Where criterion keeps its results, found as criterion finds it.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    // The benchmark runs as <target>/<profile>/deps/decision-<hash>.
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("criterion"))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}
