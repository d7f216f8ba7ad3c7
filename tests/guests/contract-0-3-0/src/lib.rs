//! A plugin of `warrant:policy@0.3.0`, built against `wit/0.3.0` itself
//! rather than through the SDK (which targets the newest): the host must
//! keep running plugins built before 0.4.0, which see no `signed-by`. It
//! denies any amount over 0.50 EUR, reviews an intent without one, and
//! names the day's flagged settlements (a field of 0.3.0) in an
//! annotation.
wit_bindgen::generate!({
    world: "policy",
    path: "../../../wit/0.3.0",
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
        let annotation = |key: &str, value: String| Annotation {
            key: key.to_string(),
            value,
        };
        Ok(Decision {
            verdict,
            codes,
            annotations: vec![
                annotation("contract", "0.3.0".to_string()),
                annotation(
                    "flaggedToday",
                    context.usage.last_day.flagged_count.to_string(),
                ),
            ],
            actions: vec![],
        })
    }
}

export!(Plugin);
