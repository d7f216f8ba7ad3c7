//! Recurses without end, overflowing the wasm stack.
#![no_std]
use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn depth(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        core::hint::black_box(depth(core::hint::black_box(n - 1))) + 1
    }
}

fn evaluate(_: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    Ok(approve().with_annotation("depth", depth(u64::MAX)))
}

warrant_sdk::export_policy!(evaluate);
