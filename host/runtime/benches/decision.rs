//! One decision of each built-in plugin: the same Rust code called natively
//! through the SDK, called on a reused WebAssembly instance, and called the
//! way Warrant decides, on a fresh instance. Results are in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use warrant_domain::context::{Agent, Card, EvaluationContext, Intent, Usage};
use warrant_domain::money::Money;
use warrant_domain::plugin::{Cancel, Limits, Plugin};
use warrant_runtime::{Runtime, RuntimeConfig};
use warrant_sdk::{Context, Decision, PluginError};

struct Case {
    plugin: &'static str,
    config: &'static str,
    native: fn(&Context, &str) -> Result<Decision, PluginError>,
}

const CASES: [Case; 2] = [
    Case {
        plugin: "spend-limit",
        config: r#"{"maxAmountEuros": 100, "reviewAboveEuros": 50}"#,
        native: |cx, config| {
            warrant_sdk::testing::evaluate_prepared(
                spend_limit::prepare,
                spend_limit::evaluate,
                cx,
                config,
            )
        },
    },
    Case {
        plugin: "merchant-rules",
        config: r#"{"allow": ["hetzner.com", "github.com", "aws.amazon.com"], "block": ["casino.example"]}"#,
        native: |cx, config| {
            warrant_sdk::testing::evaluate_prepared(
                merchant_rules::prepare,
                merchant_rules::evaluate,
                cx,
                config,
            )
        },
    },
];

/// A typical intent: 45.10 EUR to an allowed merchant, approved by both.
fn domain_context() -> EvaluationContext {
    EvaluationContext {
        intent: Intent {
            id: "int_bench".into(),
            amount: Some(Money::eur(4510)),
            merchant: Some("hetzner.com".into()),
            card: Card::Name("subscriptions".into()),
            purpose: "renew the monthly server".into(),
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

fn sdk_context() -> Context {
    let mut cx = warrant_sdk::testing::context();
    cx.intent.amount = Some(warrant_sdk::Money::eur(4510));
    cx.intent.merchant = Some("hetzner.com".into());
    cx.intent.purpose = "renew the monthly server".into();
    cx
}

fn decisions(c: &mut Criterion) {
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let domain_cx = domain_context();
    let sdk_cx = sdk_context();
    let limits = Limits::default();
    for case in CASES {
        let builtin = warrant_builtins::find(case.plugin).unwrap();
        let (plugin, _) = runtime
            .load(builtin.name, builtin.version, builtin.wasm)
            .unwrap();
        let mut reused = plugin.reused_instance().unwrap();

        // All three must agree before their speed means anything.
        let native = (case.native)(&sdk_cx, case.config).unwrap();
        let fresh = plugin
            .evaluate(&domain_cx, case.config, &limits, &Cancel::NEVER)
            .outcome
            .unwrap();
        let kept = reused.evaluate(&domain_cx, case.config).unwrap();
        assert!(native.is_approve() && fresh == kept, "{}", case.plugin);

        let mut group = c.benchmark_group(case.plugin);
        group.bench_function("native", |b| {
            b.iter(|| (case.native)(black_box(&sdk_cx), black_box(case.config)))
        });
        group.bench_function("wasm-reused-instance", |b| {
            b.iter(|| reused.evaluate(black_box(&domain_cx), black_box(case.config)))
        });
        group.bench_function("wasm-instantiate-only", |b| {
            b.iter(|| plugin.reused_instance().unwrap())
        });
        group.bench_function("wasm-fresh-instance", |b| {
            b.iter(|| {
                plugin.evaluate(
                    black_box(&domain_cx),
                    black_box(case.config),
                    &limits,
                    &Cancel::NEVER,
                )
            })
        });
        group.finish();
        // The kept instance must still answer as it did: its timings are of
        // decisions, not of failures.
        assert_eq!(
            reused.evaluate(&domain_cx, case.config).as_ref(),
            Some(&kept),
            "{}",
            case.plugin
        );
    }
}

criterion_group!(benches, decisions);
criterion_main!(benches);
