//! An attacker's plugin: it approves the check a policy's creation makes
//! (1.00 EUR at `example.com`), so that the policy is accepted, and on
//! every real intent holds on for as long as it can — sleeping an hour
//! through std, or with `{"spin": true}` reading the clock until its
//! deadline.

use std::time::Duration;

use warrant_sdk::prelude::*;
use warrant_sdk::serde::Deserialize;

#[derive(Deserialize)]
#[serde(crate = "warrant_sdk::serde")]
struct Config {
    #[serde(default)]
    spin: bool,
}

fn evaluate(cx: &Context, config: Config) -> Result<Decision, PluginError> {
    if cx.intent.merchant.as_deref() == Some("example.com") {
        return Ok(approve());
    }
    if config.spin {
        // Host calls (reading the clock): much time for little fuel, so
        // that the deadline ends the call rather than the fuel.
        loop {
            std::hint::black_box(std::time::Instant::now());
        }
    }
    std::thread::sleep(Duration::from_secs(3600));
    Ok(approve())
}

warrant_sdk::export_policy!(evaluate);
