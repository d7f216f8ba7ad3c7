//! A risk plugin whose score is above 100.
#![no_std]
use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn assess(_: &Context, _: IgnoredAny) -> Result<Assessment, PluginError> {
    Ok(Assessment::new(101))
}

warrant_sdk::export_risk!(assess);
