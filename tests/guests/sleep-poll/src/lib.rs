//! A plugin that waits through WASI itself, without std: it subscribes to
//! the monotonic clock and polls, first for `{"sleepMs": …}` (an hour by
//! default) from now, then until that instant again, the way a language
//! runtime's event loop would. The host answers every subscription at
//! once and ends the call with `E_PLUGIN_TIMEOUT` as soon as the waits
//! pass its deadline.

use warrant_sdk::prelude::*;
use warrant_sdk::serde::Deserialize;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll;

#[derive(Deserialize)]
#[serde(crate = "warrant_sdk::serde", rename_all = "camelCase")]
struct Config {
    #[serde(default)]
    sleep_ms: Option<u64>,
}

fn evaluate(_: &Context, config: Config) -> Result<Decision, PluginError> {
    let nanos = config.sleep_ms.unwrap_or(3_600_000) * 1_000_000;
    let start = monotonic_clock::now();
    let timer = monotonic_clock::subscribe_duration(nanos);
    let ready = poll::poll(&[&timer]);
    let until = monotonic_clock::subscribe_instant(start + nanos);
    until.block();
    Ok(approve()
        .with_annotation("ready", ready.len() as u64)
        .with_annotation("clockMoved", monotonic_clock::now() != start))
}

warrant_sdk::export_policy!(evaluate);
