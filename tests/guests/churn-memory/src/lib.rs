//! Allocates and frees a mebibyte two hundred times while other blocks stay
//! alive: 200 MiB in all, far over the default memory limit, of which the
//! SDK's arena must take each mebibyte back.
#![no_std]
use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn evaluate(context: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    let kept = format!("{} for {}", context.intent.purpose, context.agent.name);
    let mut total = 0usize;
    for round in 0..200 {
        let mut buffer: Vec<u8> = Vec::with_capacity(1 << 20);
        buffer.extend_from_slice(kept.as_bytes());
        buffer.push(round as u8);
        total += core::hint::black_box(&buffer).len();
    }
    if total == 0 {
        return Ok(deny("nothing was allocated"));
    }
    Ok(approve())
}

warrant_sdk::export_policy!(evaluate);
