//! What settled: the check of a reported settlement against what was
//! declared, the record kept of it, and what an intent adds to its agent's
//! spend once it has settled.
//!
//! An agent reports what it actually paid when it completes an intent,
//! and may verify it again later. An agent's report can raise its spend
//! (it paid more than it declared) but never lower it below the declared
//! amount: otherwise an agent could declare 90 EUR, report 0 and pass its
//! budget forever. Only the tenant (or, later, the card issuer's capture)
//! can confirm a lower amount.

use serde::Serialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::context::Intent;
use crate::lifecycle::IntentStatus;
use crate::money::{self, Money};

/// Who stands behind a settled amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reporter {
    /// The agent: its amount counts only where it is not below what was
    /// declared.
    Agent,
    /// The tenant: its amount counts as it is.
    Tenant,
}

/// What an intent adds to its agent's spend, in minor units: the declared
/// amount while it is pending approval or approved (money it may still
/// spend); once completed, the settled amount if the tenant confirmed it,
/// else the larger of the declared and the settled amount (the declared
/// one when none was reported); nothing once denied, failed, expired or
/// cancelled.
pub fn spend(
    status: IntentStatus,
    declared: Option<u64>,
    settled: Option<u64>,
    settled_by: Reporter,
) -> u64 {
    let amount = match status {
        // An authorized intent's reservation, the authorized amount, is
        // counted by the store where it keeps it; the declared amount
        // stands for it here.
        IntentStatus::PendingApproval | IntentStatus::Approved | IntentStatus::Authorized => {
            declared
        }
        IntentStatus::Completed => match settled_by {
            Reporter::Tenant => settled.or(declared),
            Reporter::Agent => declared.max(settled),
        },
        IntentStatus::Denied
        | IntentStatus::Failed
        | IntentStatus::Expired
        | IntentStatus::Cancelled => None,
    };
    amount.unwrap_or(0)
}

/// The tolerance a settlement of `intent` is checked with, in basis
/// points: its recurring terms', else its policy's.
pub fn tolerance_bps(intent: &Intent, policy_tolerance_bps: u32) -> u32 {
    intent
        .recurring
        .map_or(policy_tolerance_bps, |terms| terms.amount_tolerance_bps)
}

/// What flags a settlement: an amount beyond the tolerance
/// (`amount-deviation`), or another merchant than the declared one
/// (`merchant-mismatch`; for a recurring intent, only when its terms ask
/// the merchant to match). Merchants compare ignoring ASCII case.
pub fn flags(
    intent: &Intent,
    actual: Option<Money>,
    actual_merchant: Option<&str>,
    tolerance_bps: u32,
) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if let (Some(expected), Some(actual)) = (intent.amount, actual) {
        let deviation = u128::from(expected.minor_units.abs_diff(actual.minor_units)) * 10_000;
        if deviation > u128::from(expected.minor_units) * u128::from(tolerance_bps) {
            flags.push("amount-deviation");
        }
    }
    let merchant_must_match = intent.recurring.is_none_or(|terms| terms.merchant_match);
    if let (Some(expected), Some(actual)) = (&intent.merchant, actual_merchant)
        && merchant_must_match
        && !expected.eq_ignore_ascii_case(actual)
    {
        flags.push("merchant-mismatch");
    }
    flags
}

/// A settlement as stored with its intent: what was reported, by whom,
/// and how it compares with what was declared.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementRecord {
    /// The amount reported, exactly in major units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_amount_euros: Option<Box<RawValue>>,
    /// The merchant reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_merchant: Option<String>,
    /// The tolerance it was checked with, in percent.
    pub amount_tolerance_percent: Box<RawValue>,
    /// Whether any flag was raised.
    pub flagged: bool,
    /// The flags raised.
    pub flags: Vec<&'static str>,
    /// Who reported it: `tenant`, or `agent:ag_…`, whose amount never
    /// lowers its spend below what it declared.
    pub reported_by: String,
    /// When it was checked, RFC 3339.
    pub checked_at: String,
}

impl SettlementRecord {
    /// Checks a settlement of `intent` (see [`flags`]) and records it.
    pub fn check(
        intent: &Intent,
        actual: Option<Money>,
        actual_merchant: Option<String>,
        tolerance_bps: u32,
        reported_by: String,
        at: OffsetDateTime,
    ) -> Self {
        let flags = flags(intent, actual, actual_merchant.as_deref(), tolerance_bps);
        SettlementRecord {
            actual_amount_euros: actual.map(|a| json_number(a.major_units_text())),
            actual_merchant,
            amount_tolerance_percent: json_number(money::format_percent_bps(tolerance_bps)),
            flagged: !flags.is_empty(),
            flags,
            reported_by,
            checked_at: at.format(&Rfc3339).unwrap_or_default(),
        }
    }

    /// The record as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a settlement record serializes")
    }
}

/// Decimal digits as a JSON number, written as they are.
fn json_number(text: String) -> Box<RawValue> {
    RawValue::from_string(text).expect("decimal digits are a JSON number")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_cannot_report_its_spend_below_what_it_declared() {
        let completed = |settled, by| spend(IntentStatus::Completed, Some(9000), settled, by);
        assert_eq!(completed(Some(0), Reporter::Agent), 9000);
        assert_eq!(completed(Some(8000), Reporter::Agent), 9000);
        assert_eq!(completed(Some(9500), Reporter::Agent), 9500);
        assert_eq!(completed(None, Reporter::Agent), 9000);
    }

    #[test]
    fn the_tenant_confirms_any_amount() {
        let completed = |settled| {
            spend(
                IntentStatus::Completed,
                Some(9000),
                settled,
                Reporter::Tenant,
            )
        };
        assert_eq!(completed(Some(0)), 0);
        assert_eq!(completed(Some(9500)), 9500);
        assert_eq!(completed(None), 9000);
    }

    fn intent(cents: u64, merchant: &str) -> Intent {
        Intent {
            id: "int_1".into(),
            amount: Some(Money::eur(cents)),
            merchant: Some(merchant.into()),
            card: crate::context::Card::Name("main".into()),
            purpose: "test".into(),
            recurring: None,
            client_intent_id: None,
            ttl_minutes: 60,
            signed_by: None,
        }
    }

    #[test]
    fn a_settlement_is_flagged_beyond_the_tolerance_or_at_another_merchant() {
        let declared = intent(455, "hetzner.com");
        let eur = Money::eur;
        assert!(flags(&declared, Some(eur(455)), Some("HETZNER.com"), 0).is_empty());
        assert!(flags(&declared, Some(eur(464)), None, 200).is_empty());
        assert_eq!(
            flags(&declared, Some(eur(465)), Some("evilhetzner.com"), 200),
            ["amount-deviation", "merchant-mismatch"]
        );
        let record = SettlementRecord::check(
            &declared,
            Some(eur(0)),
            None,
            200,
            "agent:ag_1".into(),
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(
            record.to_json(),
            r#"{"actualAmountEuros":0.00,"amountTolerancePercent":2.00,"flagged":true,"flags":["amount-deviation"],"reportedBy":"agent:ag_1","checkedAt":"1970-01-01T00:00:00Z"}"#
        );
    }

    #[test]
    fn live_intents_spend_what_they_declared_and_ended_ones_nothing() {
        for status in [IntentStatus::PendingApproval, IntentStatus::Approved] {
            assert_eq!(spend(status, Some(700), Some(0), Reporter::Agent), 700);
        }
        for status in [
            IntentStatus::Denied,
            IntentStatus::Failed,
            IntentStatus::Expired,
            IntentStatus::Cancelled,
        ] {
            assert_eq!(spend(status, Some(700), Some(900), Reporter::Tenant), 0);
        }
    }
}
