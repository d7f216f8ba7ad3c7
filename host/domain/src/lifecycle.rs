//! The life of an intent after its decision: the states it moves through
//! and the transitions allowed between them.
//!
//! ```text
//! pending_approval → approved | denied | expired | cancelled
//! approved         → completed | failed | expired | cancelled | authorized
//! authorized       → completed (captured) | approved (reversed)
//! denied | completed | failed | expired | cancelled: terminal
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::policy::Outcome;

/// Where an intent stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    /// A human must look before it may be paid.
    PendingApproval,
    /// Approved by the policy or a human; ready to pay.
    Approved,
    /// A card authorization holds it (one-off intents): its amount is
    /// reserved until the authorization is captured or reversed.
    Authorized,
    /// Rejected by the policy or a human.
    Denied,
    /// Settled.
    Completed,
    /// Settlement failed downstream.
    Failed,
    /// Its time to live passed before it settled.
    Expired,
    /// Cancelled before it settled.
    Cancelled,
}

impl IntentStatus {
    /// Every status, in FSM order.
    pub const ALL: [IntentStatus; 8] = [
        IntentStatus::PendingApproval,
        IntentStatus::Approved,
        IntentStatus::Authorized,
        IntentStatus::Denied,
        IntentStatus::Completed,
        IntentStatus::Failed,
        IntentStatus::Expired,
        IntentStatus::Cancelled,
    ];

    /// The status as the API writes it: `pending_approval`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::PendingApproval => "pending_approval",
            IntentStatus::Approved => "approved",
            IntentStatus::Authorized => "authorized",
            IntentStatus::Denied => "denied",
            IntentStatus::Completed => "completed",
            IntentStatus::Failed => "failed",
            IntentStatus::Expired => "expired",
            IntentStatus::Cancelled => "cancelled",
        }
    }

    /// The status a new intent starts in, given its policy's outcome.
    pub fn from_outcome(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Approved => IntentStatus::Approved,
            Outcome::PendingApproval => IntentStatus::PendingApproval,
            Outcome::Denied => IntentStatus::Denied,
        }
    }

    /// Whether nothing can happen to the intent any more.
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            IntentStatus::PendingApproval | IntentStatus::Approved | IntentStatus::Authorized
        )
    }

    /// Whether an intent in this status expires when its time to live
    /// ends: a pending one does, and an approved one unless it is
    /// `recurring` (a recurring intent stays approved across its series,
    /// until it is cancelled, completed or failed). The one rule of
    /// expiry: the sweeper, reads and moves all follow it.
    pub fn lives_out(self, recurring: bool) -> bool {
        match self {
            IntentStatus::PendingApproval => true,
            IntentStatus::Approved => !recurring,
            _ => false,
        }
    }

    /// The status an intent in this status shows at `now_ms`: expired once
    /// its time to live has ended (at `expires_ms`) if it lives out, even
    /// before the sweeper records it.
    pub fn at(self, recurring: bool, expires_ms: i64, now_ms: i64) -> IntentStatus {
        if self.lives_out(recurring) && expires_ms <= now_ms {
            IntentStatus::Expired
        } else {
            self
        }
    }
}

impl fmt::Display for IntentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that names no status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a status; expected one of {expected}",
    expected = IntentStatus::ALL.map(IntentStatus::as_str).join(", ")
)]
pub struct UnknownStatus(pub String);

impl FromStr for IntentStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        IntentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

/// Something that moves an intent from one status to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    /// A human approves a pending intent.
    Approve,
    /// A human denies a pending intent.
    Deny,
    /// The owner cancels an intent that has not settled.
    Cancel,
    /// The payment settled.
    Complete,
    /// The payment failed downstream.
    Fail,
    /// The time to live passed.
    Expire,
    /// A card authorization takes an approved one-off intent.
    Authorize,
    /// The authorization was captured: the payment settled.
    Capture,
    /// The authorization was reversed: the intent is approved again.
    Reverse,
}

impl Transition {
    /// The verb as the API writes it: `approve`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Approve => "approve",
            Transition::Deny => "deny",
            Transition::Cancel => "cancel",
            Transition::Complete => "complete",
            Transition::Fail => "fail",
            Transition::Expire => "expire",
            Transition::Authorize => "authorize",
            Transition::Capture => "capture",
            Transition::Reverse => "reverse",
        }
    }

    /// The status the transition leads to.
    pub fn target(self) -> IntentStatus {
        match self {
            Transition::Approve => IntentStatus::Approved,
            Transition::Deny => IntentStatus::Denied,
            Transition::Cancel => IntentStatus::Cancelled,
            Transition::Complete => IntentStatus::Completed,
            Transition::Fail => IntentStatus::Failed,
            Transition::Expire => IntentStatus::Expired,
            Transition::Authorize => IntentStatus::Authorized,
            Transition::Capture => IntentStatus::Completed,
            Transition::Reverse => IntentStatus::Approved,
        }
    }

    /// Whether the transition may start from `from`.
    ///
    /// ```
    /// use warrant_domain::lifecycle::{IntentStatus, Transition};
    /// assert!(Transition::Approve.allowed_from(IntentStatus::PendingApproval));
    /// assert!(!Transition::Approve.allowed_from(IntentStatus::Denied));
    /// assert!(Transition::Cancel.allowed_from(IntentStatus::Approved));
    /// ```
    pub fn allowed_from(self, from: IntentStatus) -> bool {
        use IntentStatus::{Approved, Authorized, PendingApproval};
        match self {
            Transition::Approve | Transition::Deny => from == PendingApproval,
            Transition::Cancel | Transition::Expire => matches!(from, PendingApproval | Approved),
            Transition::Complete | Transition::Fail | Transition::Authorize => from == Approved,
            Transition::Capture | Transition::Reverse => from == Authorized,
        }
    }

    /// The statuses the transition may start from.
    pub fn sources(self) -> Vec<IntentStatus> {
        IntentStatus::ALL
            .into_iter()
            .filter(|status| self.allowed_from(*status))
            .collect()
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IntentStatus::*;

    #[test]
    fn allows_exactly_the_edges_of_the_fsm() {
        use Transition::*;
        let allowed = [
            (PendingApproval, Approve),
            (PendingApproval, Deny),
            (PendingApproval, Expire),
            (PendingApproval, Cancel),
            (Approved, Complete),
            (Approved, Fail),
            (Approved, Expire),
            (Approved, Cancel),
            (Approved, Authorize),
            (Authorized, Capture),
            (Authorized, Reverse),
        ];
        let transitions = [
            Approve, Deny, Cancel, Complete, Fail, Expire, Authorize, Capture, Reverse,
        ];
        for from in IntentStatus::ALL {
            for transition in transitions {
                assert_eq!(
                    transition.allowed_from(from),
                    allowed.contains(&(from, transition)),
                    "{transition} from {from}"
                );
            }
        }
        // Each leads where its name says; a capture completes.
        assert_eq!(Capture.target(), Completed);
        assert_eq!(Reverse.target(), Approved);
        assert!(!Authorized.is_terminal() && !Authorized.lives_out(false));
    }

    #[test]
    fn terminal_statuses_never_expire() {
        for status in IntentStatus::ALL {
            assert_eq!(
                status.lives_out(false),
                matches!(status, PendingApproval | Approved)
            );
        }
    }

    /// An approved recurring intent stays approved across its series.
    #[test]
    fn only_pending_and_one_off_approved_intents_expire() {
        assert!(PendingApproval.lives_out(true));
        assert!(!Approved.lives_out(true));
        assert_eq!(Approved.at(false, 1_000, 1_000), Expired);
        assert_eq!(Approved.at(false, 1_001, 1_000), Approved);
        assert_eq!(Approved.at(true, 1_000, 2_000), Approved);
        assert_eq!(PendingApproval.at(true, 1_000, 2_000), Expired);
        assert_eq!(Completed.at(false, 1_000, 2_000), Completed);
    }

    #[test]
    fn parses_every_status_it_writes() {
        for status in IntentStatus::ALL {
            assert_eq!(status.as_str().parse::<IntentStatus>(), Ok(status));
        }
        assert!("open".parse::<IntentStatus>().is_err());
    }
}
