//! Answers with a reason that is not UTF-8.
#![no_std]
use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn evaluate(_: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    // SAFETY: deliberately broken; the host must refuse to read it.
    let reason = unsafe { String::from_utf8_unchecked(vec![b'n', 0xff, 0xfe, b'o']) };
    Ok(deny(reason))
}

warrant_sdk::export_policy!(evaluate);
