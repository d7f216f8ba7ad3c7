//! Plugins of older contracts keep working: components built against
//! `warrant:policy@0.1.0` (`wit/warrant.wit`) and `@0.3.0`
//! (`wit/0.3.0`) directly, without the SDK, load and decide as they did,
//! their codes and annotations intact, and a 0.4.0 one logs through the
//! host; and a plugin of the newest contract, 0.5.0, is one core instance.

mod common;

use common::{builtin, context, guest, runtime};
use warrant_domain::decision::VerdictKind;
use warrant_domain::plugin::{Cancel, Limits, Plugin};

#[test]
fn a_plugin_of_the_first_contract_still_decides() {
    let runtime = runtime();
    let info = runtime
        .inspect(&warrant_fixtures::guest("contract-0-1-0").wasm())
        .unwrap();
    assert!(
        info.imports
            .iter()
            .any(|import| import.starts_with("warrant:policy/") && import.ends_with("@0.1.0")),
        "{:?}",
        info.imports
    );
    let plugin = guest(&runtime, "contract-0-1-0");

    let over = plugin.evaluate(
        &context(Some(51), None),
        "{}",
        &Limits::default(),
        &Cancel::NEVER,
    );
    let decision = over.outcome.unwrap();
    assert_eq!(decision.verdict.kind(), VerdictKind::Deny);
    assert_eq!(
        decision.verdict.reason(),
        Some("51 minor units of EUR is over 50")
    );
    assert_eq!(decision.codes, ["over-limit"]);
    assert_eq!(decision.annotations[0].key, "contract");
    assert_eq!(decision.annotations[0].value, "0.1.0");
    assert!(decision.actions.is_empty());

    let within = plugin.evaluate(
        &context(Some(50), None),
        "{}",
        &Limits::default(),
        &Cancel::NEVER,
    );
    assert_eq!(within.outcome.unwrap().verdict.kind(), VerdictKind::Approve);
    let without = plugin.evaluate(
        &context(None, None),
        "{}",
        &Limits::default(),
        &Cancel::NEVER,
    );
    assert_eq!(without.outcome.unwrap().verdict.kind(), VerdictKind::Review);
}

#[test]
fn a_plugin_of_contract_0_3_0_still_decides_and_sees_its_fields() {
    let runtime = runtime();
    let info = runtime
        .inspect(&warrant_fixtures::guest("contract-0-3-0").wasm())
        .unwrap();
    assert!(
        info.imports
            .iter()
            .filter(|import| import.starts_with("warrant:policy/"))
            .all(|import| import.ends_with("@0.3.0")),
        "{:?}",
        info.imports
    );
    let plugin = guest(&runtime, "contract-0-3-0");
    let mut cx = context(Some(51), None);
    cx.usage.last_day.flagged_count = 2;
    cx.intent.signed_by = Some("kid-1".into());
    let decision = plugin
        .evaluate(&cx, "{}", &Limits::default(), &Cancel::NEVER)
        .outcome
        .unwrap();
    assert_eq!(decision.verdict.kind(), VerdictKind::Deny);
    assert_eq!(decision.codes, ["over-limit"]);
    let annotations: Vec<(&str, &str)> = decision
        .annotations
        .iter()
        .map(|a| (a.key.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(annotations, [("contract", "0.3.0"), ("flaggedToday", "2")]);
    let within = plugin.evaluate(
        &context(Some(50), None),
        "{}",
        &Limits::default(),
        &Cancel::NEVER,
    );
    assert_eq!(within.outcome.unwrap().verdict.kind(), VerdictKind::Approve);
}

/// A plugin of 0.4.0, built without the SDK, still decides: it sees which
/// key signed the intent, and the line it logs through the host's `log`
/// import reaches the call's log.
#[test]
fn a_plugin_of_contract_0_4_0_still_decides_and_logs_through_the_host() {
    let runtime = runtime();
    let info = runtime
        .inspect(&warrant_fixtures::guest("contract-0-4-0").wasm())
        .unwrap();
    assert!(
        info.imports
            .iter()
            .any(|import| import == "warrant:policy/host@0.4.0"),
        "{:?}",
        info.imports
    );
    // The `log` import, lowered through the plugin's memory, costs two
    // more core instances than the plugin's own.
    assert_eq!(info.core_instances, 3);
    let plugin = guest(&runtime, "contract-0-4-0");
    assert_eq!(plugin.contract(), "0.4.0");
    let mut cx = context(Some(51), None);
    cx.intent.signed_by = Some("kid-1".into());
    let call = plugin.evaluate(&cx, "{}", &Limits::default(), &Cancel::NEVER);
    let decision = call.outcome.unwrap();
    assert_eq!(decision.verdict.kind(), VerdictKind::Deny);
    let annotations: Vec<(&str, &str)> = decision
        .annotations
        .iter()
        .map(|a| (a.key.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(annotations, [("contract", "0.4.0"), ("signedBy", "kid-1")]);
    let logs: Vec<&str> = call.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(logs, ["decided by a 0.4.0 plugin"]);
}

/// The built-ins are of the newest contract, 0.5.0: each is one core
/// instance, since it imports nothing through its memory, and it sees
/// whether the agent signed the intent.
#[test]
fn a_plugin_of_contract_0_5_0_is_one_core_instance_and_sees_which_key_signed() {
    let runtime = runtime();
    for name in ["spend-limit", "merchant-rules", "anomaly"] {
        let wasm = warrant_builtins::find(name).unwrap().wasm;
        let info = runtime.inspect(wasm).unwrap();
        assert_eq!(info.core_instances, 1, "{name}: {:?}", info.imports);
        assert!(
            info.imports
                .iter()
                .filter(|import| import.starts_with("warrant:policy/"))
                .all(|import| import.ends_with("@0.5.0")),
            "{name}: {:?}",
            info.imports
        );
    }
    let spend_limit = warrant_builtins::find("spend-limit").unwrap();
    let (loaded, _) = runtime
        .load(spend_limit.name, spend_limit.version, spend_limit.wasm)
        .unwrap();
    assert_eq!(loaded.contract(), "0.5.0");
    let plugin = builtin(&runtime, "spend-limit");
    let config = r#"{"maxAmountEuros": 100, "signedAboveEuros": 20}"#;
    let mut cx = context(Some(5_000), None);
    let unsigned = plugin
        .evaluate(&cx, config, &Limits::default(), &Cancel::NEVER)
        .outcome
        .unwrap();
    assert_eq!(unsigned.verdict.kind(), VerdictKind::Deny);
    assert_eq!(unsigned.codes, ["unsigned-over-limit"]);
    cx.intent.signed_by = Some("kid-1".into());
    let signed = plugin
        .evaluate(&cx, config, &Limits::default(), &Cancel::NEVER)
        .outcome
        .unwrap();
    assert_eq!(signed.verdict.kind(), VerdictKind::Approve);
}
