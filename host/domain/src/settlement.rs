//! What an intent adds to its agent's spend, once it has settled.
//!
//! An agent reports what it actually paid when it completes an intent,
//! and may verify it again later. An agent's report can raise its spend
//! (it paid more than it declared) but never lower it below the declared
//! amount: otherwise an agent could declare 90 EUR, report 0 and pass its
//! budget forever. Only the tenant (or, later, the card issuer's capture)
//! can confirm a lower amount.

use crate::lifecycle::IntentStatus;

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
        IntentStatus::PendingApproval | IntentStatus::Approved => declared,
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
