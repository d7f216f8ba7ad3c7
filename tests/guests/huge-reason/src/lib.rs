//! Answers with a reason of a mebibyte.
#![no_std]
use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn evaluate(_: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    Ok(deny("x".repeat(1 << 20)))
}

warrant_sdk::export_policy!(evaluate);
