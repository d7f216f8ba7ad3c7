//! Cards an agent pays with, and the names of secrets and the hosts they
//! may be revealed for: what a request may say about them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::errors::ValidationError;
use crate::intent::checked_text;

/// The longest card name.
pub const MAX_CARD_NAME: usize = 200;
/// The longest id a provider gives a card (`ic_…` at Stripe).
pub const MAX_EXTERNAL_ID: usize = 255;
/// The longest secret value, in bytes.
pub const MAX_SECRET_VALUE: usize = 8 * 1024;
/// The most hosts a secret may be revealed for.
pub const MAX_ALLOWED_HOSTS: usize = 50;

/// Where a card stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CardStatus {
    /// It may be paid with.
    Active,
    /// Nothing is authorized on it until it is unfrozen.
    Frozen,
    /// Closed for good.
    Closed,
}

impl CardStatus {
    /// The status as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Frozen => "frozen",
            CardStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for CardStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The card an intent is declared on, resolved among its agent's cards
/// when it is declared: its id, and its name at that time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentCard {
    /// `ca_…`.
    pub id: String,
    /// Its name when the intent was declared.
    pub name: String,
}

/// Who issues a card.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Any issuer that asks `POST /authorizations` itself.
    #[default]
    Generic,
    /// Stripe Issuing, through its real-time authorization webhook.
    Stripe,
}

impl Provider {
    /// The provider as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Generic => "generic",
            Provider::Stripe => "stripe",
        }
    }
}

impl FromStr for Provider {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "generic" => Ok(Provider::Generic),
            "stripe" => Ok(Provider::Stripe),
            other => Err(format!("`{other}` is not a provider")),
        }
    }
}

/// A card's name: 1 to 200 characters, trimmed.
pub fn card_name(field: &str, name: &str) -> Result<String, ValidationError> {
    checked_text(field, name, MAX_CARD_NAME)
}

/// The last four digits of a card's number.
pub fn last4(text: &str) -> Result<String, ValidationError> {
    if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(ValidationError::new("last4", "must be four digits"))
    }
}

/// A provider's id of a card: printable ASCII without spaces.
pub fn external_id(text: &str) -> Result<String, ValidationError> {
    if text.is_empty() || text.len() > MAX_EXTERNAL_ID {
        return Err(ValidationError::new(
            "externalId",
            format!("must be 1 to {MAX_EXTERNAL_ID} characters"),
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new(
            "externalId",
            "must be printable ASCII without spaces",
        ));
    }
    Ok(text.to_owned())
}

/// A secret's key, as a path segment names it: 1 to 128 of `A-Z a-z 0-9 _ . -`.
pub fn secret_key(key: &str) -> Result<String, ValidationError> {
    let valid = !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(key.to_owned())
    } else {
        Err(ValidationError::new(
            "key",
            "must be 1 to 128 letters, digits, `_`, `.` or `-`",
        ))
    }
}

/// A secret's value: not empty, at most 8 KiB.
pub fn secret_value(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new("value", "must not be empty"));
    }
    if value.len() > MAX_SECRET_VALUE {
        return Err(ValidationError::new(
            "value",
            format!("must be at most {MAX_SECRET_VALUE} bytes"),
        ));
    }
    Ok(())
}

/// The hosts a secret may be revealed for, each a DNS name in lower case
/// (no scheme, port or path), without repeats.
pub fn allowed_hosts(hosts: Vec<String>) -> Result<Vec<String>, ValidationError> {
    if hosts.len() > MAX_ALLOWED_HOSTS {
        return Err(ValidationError::new(
            "allowedHosts",
            format!("may list at most {MAX_ALLOWED_HOSTS} hosts"),
        ));
    }
    let mut checked: Vec<String> = Vec::with_capacity(hosts.len());
    for (i, host) in hosts.into_iter().enumerate() {
        let host = host.trim().to_ascii_lowercase();
        if !is_host(&host) {
            return Err(ValidationError::new(
                format!("allowedHosts[{i}]"),
                format!(
                    "`{host}` is not a host name (like `shop.example.com`, without a scheme, port or path)"
                ),
            ));
        }
        if !checked.contains(&host) {
            checked.push(host);
        }
    }
    Ok(checked)
}

/// Whether `host` is a DNS name: dot-separated labels of letters, digits
/// and inner hyphens, 253 characters at most.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether a secret that may be revealed for `allowed` may be for a
/// purchase from `merchant`: the merchant, as a host, is one of them
/// exactly (ignoring letter case). No hosts: never.
pub fn reveals_for(allowed: &[String], merchant: &str) -> bool {
    let merchant = merchant.trim().to_ascii_lowercase();
    allowed.contains(&merchant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_path_safe() {
        assert_eq!(secret_key("CARD_NUMBER").unwrap(), "CARD_NUMBER");
        assert_eq!(secret_key("api.key-2").unwrap(), "api.key-2");
        for bad in ["", "a/b", "..x/", "a b", "ä", &"k".repeat(129)] {
            assert!(secret_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn allowed_hosts_are_lower_case_names_without_repeats() {
        assert_eq!(
            allowed_hosts(vec!["Shop.Example.com".into(), "shop.example.com".into()]).unwrap(),
            vec!["shop.example.com"]
        );
        for bad in [
            "https://shop.example.com",
            "shop.example.com:443",
            "shop.example.com/pay",
            "",
            "-a.com",
            "a..com",
        ] {
            let err = allowed_hosts(vec![bad.into()]).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("allowedHosts[0]"), "{bad}");
        }
        assert!(allowed_hosts(vec!["a.com".into(); 51]).is_err());
    }

    #[test]
    fn a_secret_reveals_only_for_an_allowed_host_exactly() {
        let allowed = vec!["hetzner.com".to_owned()];
        assert!(reveals_for(&allowed, "hetzner.com"));
        assert!(reveals_for(&allowed, "Hetzner.COM"));
        assert!(!reveals_for(&allowed, "api.hetzner.com"));
        assert!(!reveals_for(&allowed, "hetzner.com.evil.io"));
        assert!(!reveals_for(&[], "hetzner.com"));
    }

    #[test]
    fn card_fields_are_checked() {
        assert_eq!(last4("4242").unwrap(), "4242");
        assert!(last4("424").is_err() && last4("42a2").is_err());
        assert!(external_id("ic_1Nq").is_ok());
        assert!(external_id("ic 1").is_err() && external_id("").is_err());
        assert!(card_name("name", "  ").is_err());
        assert_eq!("stripe".parse::<Provider>().unwrap(), Provider::Stripe);
    }
}
