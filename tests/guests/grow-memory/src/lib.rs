//! Allocates a mebibyte at a time until memory runs out.
#![no_std]
use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn evaluate(_: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        chunks.push(core::hint::black_box(vec![1u8; 1 << 20]));
        core::hint::black_box(&chunks);
    }
}

warrant_sdk::export_policy!(evaluate);
