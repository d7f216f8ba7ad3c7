//! `merchant-rules`: allow and block lists of merchants.
//!
//! Configuration:
//!
//! ```json
//! {"allow": ["hetzner.com", "github.com"], "block": ["casino.example"]}
//! ```
//!
//! Both lists are optional. A merchant matches an entry when the two are
//! equal ignoring letter case: `Hetzner.COM` matches `hetzner.com`, but
//! `evilhetzner.com` and `shop.hetzner.com` do not.
//!
//! - a blocked merchant: deny (`merchant-blocked`);
//! - a non-empty `allow` and a merchant not in it: deny (`merchant-not-allowed`);
//! - no merchant on the intent while either list is non-empty: review
//!   (`no-merchant`), since leaving the merchant out must not get around a
//!   list;
//! - otherwise approve.
#![cfg_attr(target_arch = "wasm32", no_std)]

use warrant_sdk::prelude::*;

/// The rule's configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// When non-empty, the only merchants approved.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Merchants always denied.
    #[serde(default)]
    pub block: Vec<String>,
}

/// The lists as every decision reads them: checked and lower-cased once,
/// when the configuration is prepared.
#[derive(Debug, Serialize, Deserialize)]
pub struct Lists {
    /// When non-empty, the only merchants approved.
    pub allow: Vec<String>,
    /// Merchants always denied.
    pub block: Vec<String>,
}

/// Checks the configuration and lower-cases its lists.
pub fn prepare(config: Config) -> Result<Lists, PluginError> {
    Ok(Lists {
        allow: normalized("allow", &config.allow)?,
        block: normalized("block", &config.block)?,
    })
}

/// The policy.
pub fn evaluate(cx: &Context, lists: Lists) -> Result<Decision, PluginError> {
    let Lists { allow, block } = lists;

    let Some(merchant) = &cx.intent.merchant else {
        return Ok(if allow.is_empty() && block.is_empty() {
            approve()
        } else {
            review("the intent names no merchant, so the merchant rules cannot be checked")
                .with_code("no-merchant")
        });
    };
    let key = merchant.trim().to_lowercase();

    Ok(if block.contains(&key) {
        deny(format!("merchant `{merchant}` is blocked")).with_code("merchant-blocked")
    } else if !allow.is_empty() && !allow.contains(&key) {
        deny(format!("merchant `{merchant}` is not on the allow list"))
            .with_code("merchant-not-allowed")
    } else {
        approve()
    })
}

/// Lower-cases the entries of a list, refusing empty ones.
fn normalized(field: &str, entries: &[String]) -> Result<Vec<String>, PluginError> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            if entry.is_empty() {
                Err(PluginError::invalid_config(format!(
                    "`{field}` holds an empty merchant"
                )))
            } else {
                Ok(entry.to_lowercase())
            }
        })
        .collect()
}

warrant_sdk::export_policy!(evaluate, prepare = prepare);

#[cfg(test)]
mod tests {
    use warrant_sdk::testing;

    use super::*;

    fn decide(merchant: Option<&str>, config: &str) -> Result<Decision, PluginError> {
        let mut cx = testing::context();
        cx.intent.merchant = merchant.map(Into::into);
        testing::evaluate_prepared(prepare, evaluate, &cx, config)
    }

    const ALLOW: &str = r#"{"allow": ["hetzner.com", "github.com"]}"#;
    const BLOCK: &str = r#"{"block": ["casino.example"]}"#;

    #[test]
    fn approves_an_allowed_merchant_in_any_letter_case() {
        assert!(decide(Some("hetzner.com"), ALLOW).unwrap().is_approve());
        assert!(decide(Some("Hetzner.COM"), ALLOW).unwrap().is_approve());
    }

    #[test]
    fn denies_a_merchant_that_only_looks_like_an_allowed_one() {
        for merchant in [
            "evilhetzner.com",
            "shop.hetzner.com",
            "hetzner.com.evil",
            "hetzner",
        ] {
            let decision = decide(Some(merchant), ALLOW).unwrap();
            assert!(decision.is_deny(), "{merchant}");
            assert_eq!(decision.codes, ["merchant-not-allowed"]);
        }
    }

    #[test]
    fn denies_a_blocked_merchant() {
        let decision = decide(Some("CASINO.example"), BLOCK).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["merchant-blocked"]);
        assert!(decide(Some("hetzner.com"), BLOCK).unwrap().is_approve());
    }

    #[test]
    fn blocking_wins_over_allowing() {
        let config = r#"{"allow": ["a.com"], "block": ["A.com"]}"#;
        assert_eq!(
            decide(Some("a.com"), config).unwrap().codes,
            ["merchant-blocked"]
        );
    }

    #[test]
    fn reviews_an_intent_without_a_merchant_when_a_list_applies() {
        for config in [ALLOW, BLOCK] {
            let decision = decide(None, config).unwrap();
            assert!(decision.is_review(), "{config}");
            assert_eq!(decision.codes, ["no-merchant"]);
        }
        assert!(decide(None, "{}").unwrap().is_approve());
    }

    #[test]
    fn matches_unicode_merchants_case_insensitively() {
        let config = r#"{"allow": ["bücher.de", "ΑΘΗΝΑ.gr"]}"#;
        assert!(decide(Some("BÜCHER.de"), config).unwrap().is_approve());
        assert!(decide(Some("αθηνα.gr"), config).unwrap().is_approve());
        assert!(decide(Some("bucher.de"), config).unwrap().is_deny());
    }

    #[test]
    fn an_empty_allow_list_allows_every_merchant() {
        assert!(
            decide(Some("any.shop"), r#"{"allow": []}"#)
                .unwrap()
                .is_approve()
        );
    }

    #[test]
    fn refuses_invalid_configurations() {
        for config in [
            r#"{"allow": "hetzner.com"}"#,
            r#"{"allow": [""]}"#,
            r#"{"block": [" "]}"#,
            r#"{"allowed": []}"#,
            r#"{"allow": [1]}"#,
            "null",
        ] {
            let error = decide(Some("a.com"), config).unwrap_err();
            assert_eq!(error.code, "invalid-config", "{config}");
        }
    }
}
