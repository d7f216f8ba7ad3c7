//! Compiled code is kept on disk, so that a restart does not recompile.

mod common;

use common::context;
use warrant_domain::plugin::{Cancel, Limits, Plugin};
use warrant_runtime::{CodeSource, Runtime, RuntimeConfig};

fn cached_runtime(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.to_owned()),
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[test]
fn a_second_start_loads_from_the_cache_without_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = warrant_builtins::find("spend-limit").unwrap();

    let first = cached_runtime(dir.path());
    let (_, report) = first
        .load(builtin.name, builtin.version, builtin.wasm)
        .unwrap();
    assert_eq!(report.source, CodeSource::Compiled);
    drop(first);

    let second = cached_runtime(dir.path());
    let (plugin, report) = second
        .load(builtin.name, builtin.version, builtin.wasm)
        .unwrap();
    assert_eq!(report.source, CodeSource::Cache);
    let decision = plugin
        .evaluate(
            &context(Some(10_001), None),
            r#"{"maxAmountEuros": 100}"#,
            &Limits::default(),
            &Cancel::NEVER,
        )
        .outcome
        .unwrap();
    assert_eq!(decision.codes, ["amount-over-max"]);
}

#[test]
fn a_damaged_cache_entry_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = warrant_builtins::find("merchant-rules").unwrap();
    cached_runtime(dir.path())
        .load(builtin.name, builtin.version, builtin.wasm)
        .unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"not compiled code").unwrap();
    }
    let (plugin, report) = cached_runtime(dir.path())
        .load(builtin.name, builtin.version, builtin.wasm)
        .unwrap();
    assert_eq!(report.source, CodeSource::Compiled);
    assert!(
        plugin
            .evaluate(
                &context(None, None),
                "{}",
                &Limits::default(),
                &Cancel::NEVER
            )
            .outcome
            .is_ok()
    );
}

#[test]
fn entries_are_keyed_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = cached_runtime(dir.path());
    for builtin in warrant_builtins::BUILTINS {
        runtime
            .load(builtin.name, builtin.version, builtin.wasm)
            .unwrap();
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), warrant_builtins::BUILTINS.len());
    // The same bytes under another name are the same entry.
    let builtin = warrant_builtins::find("spend-limit").unwrap();
    let (_, report) = runtime.load("renamed", "9.9.9", builtin.wasm).unwrap();
    assert_eq!(report.source, CodeSource::Cache);
}
