//! Plugins of older contracts keep working: a component built against
//! `warrant:policy@0.1.0` (`wit/warrant.wit`) directly, without the SDK,
//! loads and decides as it did, its codes and annotations intact.

mod common;

use common::{context, guest, runtime};
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
