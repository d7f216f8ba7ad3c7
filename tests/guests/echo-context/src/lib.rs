//! A plugin that approves and returns, in its one annotation, every field
//! of the context it was given (its `Debug` text): the tests compare what a
//! plugin sees with what the host meant it to see.

use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

fn evaluate(cx: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    Ok(approve().with_annotation("context", format!("{cx:?}")))
}

warrant_sdk::export_policy!(evaluate);
