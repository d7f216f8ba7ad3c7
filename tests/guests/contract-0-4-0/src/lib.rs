//! A plugin of `warrant:policy@0.4.0`, built against `wit/0.4.0` itself
//! rather than through the SDK (which targets the newest): the host must
//! keep running plugins that log through the host's `log` import and
//! answer without their log lines. It denies any amount over 0.50 EUR,
//! reviews an intent without one, names the key that signed the intent
//! (a field of 0.4.0) in an annotation, and logs one line.
wit_bindgen::generate!({
    world: "policy",
    path: "../../../wit/0.4.0",
    generate_all,
});

use warrant::policy::host::{LogLevel, log};
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
        log(LogLevel::Info, "decided by a 0.4.0 plugin");
        let codes = match verdict {
            Verdict::Deny(_) => vec!["over-limit".to_string()],
            _ => vec![],
        };
        let annotation = |key: &str, value: String| Annotation {
            key: key.to_string(),
            value,
        };
        Ok(Decision {
            verdict,
            codes,
            annotations: vec![
                annotation("contract", "0.4.0".to_string()),
                annotation(
                    "signedBy",
                    context.intent.signed_by.unwrap_or_else(|| "-".to_string()),
                ),
            ],
            actions: vec![],
        })
    }
}

export!(Plugin);
