//! Panics while preparing its configuration, which traps before any
//! decision: the rule fails closed on every call, and nothing is kept.
#![no_std]
use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn prepare(_config: IgnoredAny) -> Result<u8, PluginError> {
    panic!("cannot prepare this configuration");
}

fn evaluate(_cx: &Context, _prepared: u8) -> Result<Decision, PluginError> {
    Ok(approve())
}

warrant_sdk::export_policy!(evaluate, prepare = prepare);
