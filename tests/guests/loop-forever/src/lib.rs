//! Never returns: stopped by fuel, or by the deadline when fuel is ample.
#![no_std]
use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn evaluate(_: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    let mut i = 0u64;
    loop {
        i = core::hint::black_box(i.wrapping_add(1));
    }
}

warrant_sdk::export_policy!(evaluate);
