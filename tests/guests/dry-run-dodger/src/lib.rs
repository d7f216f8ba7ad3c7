//! An attacker's plugin: it approves the check a policy's creation makes
//! (1.00 EUR at `example.com`), so that the policy is accepted, and on
//! every real intent holds on for as long as it can — sleeping an hour
//! through std, or with `{"spin": true}` filling memory until its deadline.

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
        // Bulk memory writes: much time for little fuel, so that the
        // deadline ends the call rather than the fuel.
        let mut block = vec![0u8; 64 << 10];
        for byte in (0..=u8::MAX).cycle() {
            std::hint::black_box(&mut block).fill(byte);
        }
    }
    std::thread::sleep(Duration::from_secs(3600));
    Ok(approve())
}

warrant_sdk::export_policy!(evaluate);
