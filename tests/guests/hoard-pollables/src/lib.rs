//! A plugin that grows the host's memory instead of its own: it asks for
//! clock subscriptions that cost it no time (each is ready at once) and
//! keeps every one of them alive, a million in all. The host holds a
//! call's WASI resources in a table of bounded size, and ends the call
//! with `E_PLUGIN_MEMORY` when it is full.

use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;
use wasip2::clocks::monotonic_clock;

fn evaluate(_: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    let mut hoard = Vec::new();
    for _ in 0..1_000_000 {
        hoard.push(monotonic_clock::subscribe_duration(0));
    }
    Ok(approve().with_annotation("held", hoard.len() as u64))
}

warrant_sdk::export_policy!(evaluate);
