//! The built-in plugins, run as the real components they ship as.

mod common;

use common::{builtin, context, runtime};
use warrant_domain::decision::{Decision, VerdictKind};
use warrant_domain::plugin::{Cancel, FailureKind, Limits, Plugin};
use warrant_domain::policy::{Mode, OnError, Outcome, Policy, Rule};

fn verdict(
    plugin: &dyn Plugin,
    cents: Option<u64>,
    merchant: Option<&str>,
    config: &str,
) -> Decision {
    plugin
        .evaluate(
            &context(cents, merchant),
            config,
            &Limits::default(),
            &Cancel::NEVER,
        )
        .outcome
        .unwrap_or_else(|e| panic!("the plugin answers: {e}"))
}

#[test]
fn spend_limit_approves_reviews_and_denies_by_amount() {
    let runtime = runtime();
    let plugin = builtin(&runtime, "spend-limit");
    let config = r#"{"maxAmountEuros": 100, "reviewAboveEuros": 50}"#;
    let cases = [
        (Some(451), VerdictKind::Approve, None),
        (Some(5000), VerdictKind::Approve, None),
        (
            Some(5001),
            VerdictKind::Review,
            Some("amount-over-review-threshold"),
        ),
        (Some(10_001), VerdictKind::Deny, Some("amount-over-max")),
        (Some(u64::MAX), VerdictKind::Deny, Some("amount-over-max")),
        (None, VerdictKind::Review, Some("no-amount")),
    ];
    for (cents, expected, code) in cases {
        let decision = verdict(plugin.as_ref(), cents, None, config);
        assert_eq!(decision.verdict.kind(), expected, "{cents:?}");
        assert_eq!(
            decision.codes.first().map(String::as_str),
            code,
            "{cents:?}"
        );
    }
}

#[test]
fn merchant_rules_match_domains_exactly_and_case_insensitively() {
    let runtime = runtime();
    let plugin = builtin(&runtime, "merchant-rules");
    let config = r#"{"allow": ["hetzner.com"], "block": ["casino.example"]}"#;
    let cases = [
        (Some("hetzner.com"), VerdictKind::Approve),
        (Some("HETZNER.com"), VerdictKind::Approve),
        (Some("evilhetzner.com"), VerdictKind::Deny),
        (Some("casino.example"), VerdictKind::Deny),
        (None, VerdictKind::Review),
    ];
    for (merchant, expected) in cases {
        let decision = verdict(plugin.as_ref(), Some(100), merchant, config);
        assert_eq!(decision.verdict.kind(), expected, "{merchant:?}");
    }
}

#[test]
fn an_invalid_config_is_the_plugins_own_error_and_never_an_approval() {
    let runtime = runtime();
    let plugin = builtin(&runtime, "spend-limit");
    let invocation = plugin.evaluate(
        &context(Some(1), None),
        r#"{"maxAmountEuro": 100}"#,
        &Limits::default(),
        &Cancel::NEVER,
    );
    let failure = invocation.outcome.unwrap_err();
    assert_eq!(
        failure.kind,
        FailureKind::Plugin {
            code: "invalid-config".into()
        }
    );
    assert!(
        failure.message.contains("maxAmountEuro"),
        "{}",
        failure.message
    );

    let policy = Policy {
        risk: Vec::new(),
        rules: vec![Rule {
            plugin,
            config: "{}".into(),
            on_error: OnError::Deny,
            mode: Mode::Enforce,
            limits: Limits::default(),
        }],
    };
    let decision = policy.evaluate(&context(Some(1), None), &Cancel::NEVER);
    assert_eq!(decision.outcome, Outcome::Denied);
    assert_eq!(decision.trace[0].code.as_deref(), Some("E_PLUGIN_ERROR"));
}

#[test]
fn the_component_decides_as_the_same_code_does_natively() {
    use warrant_sdk::testing;

    let runtime = runtime();
    let plugin = builtin(&runtime, "spend-limit");
    let config = r#"{"maxAmountEuros": 100.5, "reviewAboveEuros": 20}"#;
    for cents in [
        None,
        Some(0),
        Some(1999),
        Some(2000),
        Some(2001),
        Some(10_050),
        Some(10_051),
    ] {
        let component = verdict(plugin.as_ref(), cents, None, config);
        let mut cx = testing::context();
        cx.intent.amount = cents.map(warrant_sdk::Money::eur);
        let native =
            testing::evaluate_prepared(spend_limit::prepare, spend_limit::evaluate, &cx, config)
                .unwrap();
        assert_eq!(component.verdict.reason(), native.reason(), "{cents:?}");
        assert_eq!(component.codes, native.codes, "{cents:?}");
    }
}

#[test]
fn the_same_inputs_give_the_same_decision_every_time() {
    let runtime = runtime();
    let plugin = builtin(&runtime, "spend-limit");
    let config = r#"{"maxAmountEuros": 100, "reviewAboveEuros": 50}"#;
    let first = verdict(plugin.as_ref(), Some(7777), None, config);
    for _ in 0..20 {
        assert_eq!(verdict(plugin.as_ref(), Some(7777), None, config), first);
    }
}

#[test]
fn a_chain_of_built_ins_combines_into_one_outcome() {
    let runtime = runtime();
    let rule = |name: &str, config: &str| Rule {
        plugin: builtin(&runtime, name),
        config: config.into(),
        on_error: OnError::Deny,
        mode: Mode::Enforce,
        limits: Limits::default(),
    };
    let policy = Policy {
        risk: Vec::new(),
        rules: vec![
            rule(
                "spend-limit",
                r#"{"maxAmountEuros": 100, "reviewAboveEuros": 50}"#,
            ),
            rule("merchant-rules", r#"{"allow": ["hetzner.com"]}"#),
        ],
    };
    let outcome =
        |cents, merchant| policy.evaluate(&context(Some(cents), Some(merchant)), &Cancel::NEVER);
    assert_eq!(outcome(451, "hetzner.com").outcome, Outcome::Approved);
    assert_eq!(
        outcome(6000, "hetzner.com").outcome,
        Outcome::PendingApproval
    );
    assert_eq!(outcome(6000, "evil.com").outcome, Outcome::Denied);
    let decision = outcome(20_000, "hetzner.com");
    assert_eq!(decision.outcome, Outcome::Denied);
    let entry = &decision.trace[0];
    assert_eq!(entry.plugin, "spend-limit");
    assert_eq!(entry.sha256.len(), 64);
    assert!(entry.fuel_used > 0);
    assert_eq!(decision.trace[1].verdict, Some(VerdictKind::Approve));
}

/// A 0.5.0 plugin prepares each configuration once, by its first call, and
/// keeps what it made, a refusal included; every later call of the same
/// configuration decides as the first did.
#[test]
fn each_configuration_is_prepared_once() {
    let runtime = runtime();
    let spend_limit = warrant_builtins::find("spend-limit").unwrap();
    let (plugin, _) = runtime
        .load(spend_limit.name, spend_limit.version, spend_limit.wasm)
        .unwrap();
    assert_eq!(plugin.prepared_configs(), 0);
    let decide = |cents: u64, config: &str| {
        plugin
            .evaluate(
                &context(Some(cents), None),
                config,
                &Limits::default(),
                &Cancel::NEVER,
            )
            .outcome
    };
    let limits = r#"{"maxAmountEuros": 100, "reviewAboveEuros": 50}"#;
    for _ in 0..3 {
        assert_eq!(
            decide(4_000, limits).unwrap().verdict.kind(),
            VerdictKind::Approve
        );
        assert_eq!(
            decide(6_000, limits).unwrap().verdict.kind(),
            VerdictKind::Review
        );
        assert_eq!(
            decide(20_000, limits).unwrap().verdict.kind(),
            VerdictKind::Deny
        );
    }
    assert_eq!(plugin.prepared_configs(), 1);

    // The same limits written otherwise are another configuration.
    let tighter = r#"{"maxAmountEuros": 30}"#;
    assert!(decide(4_000, tighter).unwrap().verdict.kind() == VerdictKind::Deny);
    assert_eq!(plugin.prepared_configs(), 2);

    // The plugin's refusal is kept too, and is the same every time.
    let wrong = r#"{"maxAmountEuros": 10, "reviewAboveEuros": 50}"#;
    for _ in 0..2 {
        let failure = decide(100, wrong).unwrap_err();
        assert_eq!(
            failure.kind,
            FailureKind::Plugin {
                code: "invalid-config".into()
            }
        );
        assert!(
            failure.message.contains("reviewAboveEuros"),
            "{}",
            failure.message
        );
    }
    assert_eq!(plugin.prepared_configs(), 3);
    // And the clones of the plugin share what it prepared.
    assert_eq!(plugin.clone().prepared_configs(), 3);
}
