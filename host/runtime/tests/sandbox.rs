//! A plugin that looks for authority finds none, and finds the same
//! nothing on every call.

mod common;

use std::collections::BTreeMap;

use common::{context, guest, runtime};
use warrant_domain::plugin::{Cancel, Limits, Plugin};
use warrant_runtime::{MAX_LOG_LINE_BYTES, MAX_LOG_LINES};

fn annotations(plugin: &dyn Plugin) -> (BTreeMap<String, String>, Vec<String>) {
    let invocation = plugin.evaluate(
        &context(None, None),
        "{}",
        &Limits::default(),
        &Cancel::NEVER,
    );
    let decision = invocation.outcome.expect("the nosy plugin answers");
    let notes = decision
        .annotations
        .into_iter()
        .map(|a| (a.key, a.value))
        .collect();
    let logs = invocation.logs.into_iter().map(|l| l.message).collect();
    (notes, logs)
}

#[test]
fn a_plugin_sees_no_environment_arguments_files_or_network() {
    let runtime = runtime();
    let (notes, _) = annotations(&guest(&runtime, "nosy"));
    assert_eq!(notes["env"], "0");
    assert_eq!(notes["args"], "0");
    assert!(notes["file"].starts_with("refused"), "{}", notes["file"]);
    assert_eq!(notes["listing"], "None");
    assert_eq!(notes["network"], "false");
}

#[test]
fn clocks_read_the_decisions_time_and_stand_still() {
    let runtime = runtime();
    let (notes, _) = annotations(&guest(&runtime, "nosy"));
    let now = context(None, None).now.unix_timestamp();
    assert_eq!(notes["clock"], now.to_string());
    assert_eq!(notes["elapsedNanos"], "0");
}

#[test]
fn every_call_runs_on_a_fresh_instance_with_the_same_randomness() {
    let runtime = runtime();
    let plugin = guest(&runtime, "nosy");
    let (first, _) = annotations(&plugin);
    assert_eq!(first["calls"], "1");
    for _ in 0..5 {
        let (again, _) = annotations(&plugin);
        assert_eq!(again, first);
    }
    // Another runtime, the same answer: nothing depends on the process.
    let (elsewhere, _) = annotations(&guest(&common::runtime(), "nosy"));
    assert_eq!(elsewhere, first);
}

#[test]
fn floating_point_nans_are_canonical() {
    let runtime = runtime();
    let (notes, _) = annotations(&guest(&runtime, "nosy"));
    assert_eq!(notes["nan"], "0x7ff8000000000000");
}

#[test]
fn logs_are_bounded_in_lines_and_length() {
    let runtime = runtime();
    let (_, logs) = annotations(&guest(&runtime, "nosy"));
    assert_eq!(logs.len(), MAX_LOG_LINES + 1);
    assert!(logs[0].len() <= MAX_LOG_LINE_BYTES + '…'.len_utf8());
    assert_eq!(logs.last().unwrap(), "68 more lines were not kept");
}
