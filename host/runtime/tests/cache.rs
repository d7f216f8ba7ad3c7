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

fn cached_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// A component that cannot be a plugin is refused from its outline, before
/// it is compiled, and leaves nothing in the cache; a checked upload is
/// cached only once it is kept.
#[test]
fn only_kept_plugins_are_cached() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = cached_runtime(dir.path());
    for name in ["wrong-world", "foreign-import"] {
        let guest = warrant_fixtures::guest(name);
        let Err(refusal) = runtime.check(name, "1.0.0", &guest.wasm()) else {
            panic!("{name} is accepted");
        };
        assert_eq!(refusal.code(), guest.expect, "{name}: {refusal}");
    }
    // An empty component: a valid header and nothing else.
    let empty = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
    let Err(refusal) = runtime.check("empty", "1.0.0", &empty) else {
        panic!("an empty component is accepted");
    };
    assert_eq!(refusal.code(), "E_PLUGIN_WORLD", "{refusal}");
    assert_eq!(cached_files(dir.path()), 0);

    let nosy = warrant_fixtures::guest("nosy");
    let (plugin, report) = runtime.check("nosy", "1.0.0", &nosy.wasm()).unwrap();
    assert_eq!(report.source, CodeSource::Compiled);
    assert_eq!(cached_files(dir.path()), 0);
    runtime.keep_compiled(&plugin);
    assert_eq!(cached_files(dir.path()), 1);
    let (_, report) = runtime.check("nosy", "1.0.0", &nosy.wasm()).unwrap();
    assert_eq!(report.source, CodeSource::Cache);
}

/// Entries of components no longer registered, and of another engine, are
/// removed; the others stay.
#[test]
fn unused_entries_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = cached_runtime(dir.path());
    let mut keep = std::collections::HashSet::new();
    for builtin in warrant_builtins::BUILTINS {
        let (plugin, _) = runtime
            .load(builtin.name, builtin.version, builtin.wasm)
            .unwrap();
        if builtin.name == "spend-limit" {
            keep.insert(plugin.meta().sha256.clone());
        }
    }
    std::fs::write(
        dir.path().join("00ff-0123456789abcdef.cwasm"),
        b"old engine",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not an entry").unwrap();
    let before = cached_files(dir.path());
    let removed = runtime.remove_cached_except(&keep);
    assert_eq!(removed, before - 2);
    assert_eq!(cached_files(dir.path()), 2);
    let builtin = warrant_builtins::find("spend-limit").unwrap();
    let (_, report) = runtime
        .load(builtin.name, builtin.version, builtin.wasm)
        .unwrap();
    assert_eq!(report.source, CodeSource::Cache);
}
