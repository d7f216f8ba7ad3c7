//! A plugin with std that sleeps before it answers: an hour unless its
//! configuration says `{"sleepMs": …}`. Its clocks stand still, so the
//! host never waits for it: a sleep within the deadline returns at once,
//! one past it ends the call with `E_PLUGIN_TIMEOUT` at once.

use std::time::Duration;

use warrant_sdk::prelude::*;
use warrant_sdk::serde::Deserialize;

#[derive(Deserialize)]
#[serde(crate = "warrant_sdk::serde", rename_all = "camelCase")]
struct Config {
    #[serde(default)]
    sleep_ms: Option<u64>,
}

fn evaluate(_: &Context, config: Config) -> Result<Decision, PluginError> {
    let sleep = Duration::from_millis(config.sleep_ms.unwrap_or(3_600_000));
    std::thread::sleep(sleep);
    Ok(approve().with_annotation("sleptMs", sleep.as_millis() as u64))
}

warrant_sdk::export_policy!(evaluate);
