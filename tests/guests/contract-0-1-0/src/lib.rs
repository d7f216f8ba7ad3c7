//! A plugin of the first contract, `warrant:policy@0.1.0`, built against
//! `wit/warrant.wit` itself rather than through the SDK (which targets the
//! newest): the host must keep running plugins built before 0.2.0. It
//! denies any amount over 0.50 EUR, naming the amount in its reason, and
//! reviews an intent without one.
wit_bindgen::generate!({
    world: "policy",
    path: "../../../wit",
    generate_all,
});

use warrant::policy::types::{Annotation, Verdict};

struct Plugin;

impl Guest for Plugin {
    fn evaluate(context: Context, _config: String) -> Result<Decision, PluginError> {
        let verdict = match &context.intent.amount {
            None => Verdict::Review("no amount".to_string()),
            Some(money) if money.minor_units > 50 => Verdict::Deny(format!(
                "{} minor units of {} is over 50",
                money.minor_units, money.currency
            )),
            Some(_) => Verdict::Approve,
        };
        let codes = match verdict {
            Verdict::Deny(_) => vec!["over-limit".to_string()],
            _ => vec![],
        };
        Ok(Decision {
            verdict,
            codes,
            annotations: vec![Annotation {
                key: "contract".to_string(),
                value: "0.1.0".to_string(),
            }],
        })
    }
}

export!(Plugin);
