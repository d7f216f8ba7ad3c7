//! Panics, which traps after the SDK logs the message.
#![no_std]
use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn evaluate(cx: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    panic!("no amount for {}", cx.intent.purpose);
}

warrant_sdk::export_policy!(evaluate);
