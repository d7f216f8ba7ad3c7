//! What the store keeps, one record per table. Times are Unix milliseconds.

use warrant_domain::authorization::{AuthorizationStatus, Merchant, TransactionKind};
pub use warrant_domain::baseline::HistoryEntry;
use warrant_domain::card::{CardStatus, IntentCard, Provider};
use warrant_domain::context::{Agent, AgentProfile, AgentType, Baseline, Intent};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
pub use warrant_domain::plan::{Plan, Quota};
use warrant_domain::plugin::World;
use warrant_domain::settlement::Reporter;

/// Who did something, as history records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// `key:ak_…`, `agent:ag_…`, `admin`, `policy:<plugin>`, `system`.
    pub id: String,
    /// The acting key's name, when a key acted.
    pub name: Option<String>,
}

impl Actor {
    /// An actor without a name: `admin`, `system`, `policy:…`.
    pub fn named_by_id(id: impl Into<String>) -> Self {
        Actor {
            id: id.into(),
            name: None,
        }
    }
}

/// A tenant's API key; the secret itself is kept only as a hash, beside
/// the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// `ak_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its name, unique among the tenant's live keys.
    pub name: String,
    /// `admin`, `developer`, `approver` or `viewer`.
    pub role: String,
    /// The secret's first characters, to recognise it by.
    pub prefix: String,
    /// When it was created.
    pub created_ms: i64,
    /// When it stops working, if it does.
    pub expires_ms: Option<i64>,
    /// When it was last used (to the minute).
    pub last_used_ms: Option<i64>,
    /// Until when the secret it was rolled from still works.
    pub previous_until_ms: Option<i64>,
    /// When it was revoked.
    pub revoked_ms: Option<i64>,
}

/// A tenant. Its API key is kept only as a hash, beside the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRecord {
    /// `tn_…`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it pays for, which caps its agents.
    pub plan: Plan,
    /// When it was created.
    pub created_ms: i64,
}

/// A plugin a tenant uploaded; its bytes are kept beside the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRecord {
    /// `plg_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Its semantic version.
    pub version: String,
    /// The sha256 of its bytes, lower-case hex.
    pub sha256: String,
    /// The world it targets.
    pub world: World,
    /// Its size in bytes.
    pub size: i64,
    /// When it was uploaded.
    pub created_ms: i64,
    /// The key id of the publisher that signed it, when one did.
    pub signed_by: Option<String>,
    /// When it was deleted while a policy version used it: hidden since,
    /// kept for those versions.
    pub deleted_ms: Option<i64>,
}

/// What deleting a plugin did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginRemoval {
    /// No policy version used it: it is gone, bytes and all.
    Removed,
    /// A policy version uses it: hidden from listings and new policies,
    /// kept for the versions that use it and their decisions' replays.
    Hidden,
}

/// A publisher's key a tenant trusts to sign its plugins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublisherKeyRecord {
    /// The tenant.
    pub tenant_id: String,
    /// The key's id: the RFC 7638 thumbprint of its public key.
    pub kid: String,
    /// The publisher's name.
    pub name: String,
    /// The Ed25519 public key, base64url.
    pub public_key: String,
    /// When it was registered.
    pub created_ms: i64,
}

/// An agent's Ed25519 public key, with which it signs its requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentKeyRecord {
    /// The tenant.
    pub tenant_id: String,
    /// The agent.
    pub agent_id: String,
    /// The key's id: the RFC 7638 thumbprint of its public key.
    pub kid: String,
    /// The Ed25519 public key, base64url.
    pub public_key: String,
    /// When it was made or registered.
    pub created_ms: i64,
    /// When another key replaced it; none while it is the agent's key.
    pub retired_ms: Option<i64>,
}

/// One immutable version of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRecord {
    /// `pol_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The version's name.
    pub name: String,
    /// 1, 2, …
    pub version: i64,
    /// The version's rules and risk plugins, as JSON text.
    pub body: String,
    /// When this version was made.
    pub created_ms: i64,
    /// Who made it (`key:ak_…`), for versions made since keys had names.
    pub actor: Option<String>,
    /// The acting key's name.
    pub actor_name: Option<String>,
}

/// An agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentRecord {
    /// Its tenant.
    pub tenant_id: String,
    /// Its policy.
    pub policy_id: String,
    /// The policy's current version, read with the agent (0 on a record
    /// about to be written): which version decides the agent's intents,
    /// known without reading the policy.
    pub policy_version: i64,
    /// Id, name, status, type, profile, tags and metadata.
    pub agent: Agent,
    /// Its configuration's version: 1 when created, one more for every
    /// change of name, policy, type, profile, tags or metadata.
    pub version: i64,
    /// When it was created.
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
    /// The key it signs its requests with, if it has one.
    pub signing_key: Option<AgentKeyRecord>,
    /// How many times its usage counters have moved (every write that
    /// moves them adds one); 0 on a record about to be written.
    pub usage_version: i64,
}

/// An agent token; its secret is kept only as a hash, beside the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// `tok_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The agent it acts for.
    pub agent_id: String,
    /// What it may do.
    pub permissions: Vec<String>,
    /// When it was issued.
    pub created_ms: i64,
    /// When it was revoked.
    pub revoked_ms: Option<i64>,
}

/// A decided intent.
#[derive(Clone, Debug, PartialEq)]
pub struct IntentRecord {
    /// `int_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The agent that declared it.
    pub agent_id: String,
    /// Where it stands.
    pub status: IntentStatus,
    /// What the agent declared, as the plugins saw it.
    pub intent: Intent,
    /// The agent's card it was declared on, resolved then; none for an
    /// intent declared before cards were checked, whose card is only the
    /// text in `intent.card`.
    pub card: Option<IntentCard>,
    /// The policy's decision with its trace, as JSON text.
    pub decision: String,
    /// The policy that decided.
    pub policy_id: String,
    /// The version of that policy.
    pub policy_version: i64,
    /// Why it last changed status, when someone said.
    pub status_reason: Option<String>,
    /// What settlement and verification reported, as JSON text.
    pub settlement: Option<String>,
    /// How many approvals from different keys it needs while pending.
    pub approvals_required: i64,
    /// When it was declared.
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
    /// When its time to live ends.
    pub expires_ms: i64,
    /// The sha256 of the evaluation input of its decision, when kept.
    pub input_sha256: Option<String>,
}

/// One step of an intent's status history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentEvent {
    /// `ev_…`.
    pub id: String,
    /// The intent.
    pub intent_id: String,
    /// The status before; none for the decision that created the intent.
    pub from: Option<IntentStatus>,
    /// The status after.
    pub to: IntentStatus,
    /// Who made the change: `policy`, `key:ak_…`, `agent:ag_…`, `admin`,
    /// `system`.
    pub actor: String,
    /// The acting key's name, when a key acted.
    pub actor_name: Option<String>,
    /// Why, when someone said.
    pub reason: Option<String>,
    /// What an approver said with an approval or denial.
    pub note: Option<String>,
    /// When.
    pub at_ms: i64,
    /// The settlement recorded with it, as JSON text: a completion's, or a
    /// verification's (whose `from` and `to` are the same status). An
    /// approval that the intent's `approvals_required` does not yet
    /// complete goes from and to `pending_approval`.
    pub settlement: Option<String>,
    /// What the entry records when it is not a move of its own:
    /// `secret_revealed` (from and to `approved`, the key named in
    /// `reason`).
    pub kind: Option<String>,
}

/// A status change to apply to an intent that is still in `from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// The intent's tenant.
    pub tenant_id: String,
    /// The event to record; its `from` must be set.
    pub event: IntentEvent,
    /// A new settlement, when the change brings one.
    pub settlement: Option<SettlementWrite>,
    /// The intent's `updated_ms` when the change was decided on; none to
    /// apply whatever changed since (as long as the status is `from`).
    pub seen_updated_ms: Option<i64>,
    /// Refuse the change once the intent's time to live has ended.
    pub require_unexpired: bool,
    /// Refuse the change unless the intent's agent is active.
    pub require_active_agent: bool,
}

/// A settlement to record on an intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementWrite {
    /// The settlement record, as JSON text.
    pub record: String,
    /// A new settled amount and who reported it; none keeps the amount
    /// there is (an agent's verification never changes it).
    pub amount: Option<SettledAmount>,
    /// Whether the settlement raises the intent's flag in the usage:
    /// flagged, and not reported by the tenant. An agent's report raises a
    /// flag and never clears one; the tenant's (its amount by
    /// [`Reporter::Tenant`]) sets it, clearing any.
    pub flagged: bool,
}

/// A settled amount and who stands behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledAmount {
    /// The amount, in the intent's minor units; none when not reported
    /// (the amount there is stays).
    pub minor: Option<u64>,
    /// Who reported it.
    pub by: Reporter,
}

/// What settled, recorded on an intent that is still in `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementUpdate {
    /// The intent's tenant.
    pub tenant_id: String,
    /// The intent.
    pub intent_id: String,
    /// The status the intent must still be in.
    pub status: IntentStatus,
    /// The settlement.
    pub settlement: SettlementWrite,
    /// The id of the history entry that records it (`ev_…`).
    pub event_id: String,
    /// Who reported it: `key:ak_…`, `agent:ag_…`.
    pub actor: String,
    /// The acting key's name, when a key acted.
    pub actor_name: Option<String>,
    /// When.
    pub at_ms: i64,
    /// The intent's `updated_ms` when the update was decided on.
    pub seen_updated_ms: i64,
}

/// A response remembered for an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Whose key it is: a tenant id, or `admin`.
    pub scope: String,
    /// A hash of the key the client sent.
    pub key: String,
    /// The sha256 of the request it answered.
    pub request_sha256: String,
    /// The response's HTTP status.
    pub status: u16,
    /// The response's body, sealed by the caller.
    pub body: String,
    /// When it was first answered.
    pub created_ms: i64,
}

/// Which intents a listing returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntentFilter {
    /// Only this agent's.
    pub agent_id: Option<String>,
    /// Only those in this status at `now_ms` (one whose time to live has
    /// ended is expired, recorded or not).
    pub status: Option<IntentStatus>,
    /// The time the status filter is judged at.
    pub now_ms: i64,
    /// Only those declared at or after this time (ms since the epoch).
    pub created_from_ms: Option<i64>,
    /// Only those declared before this time (ms since the epoch).
    pub created_before_ms: Option<i64>,
}

/// Which agents to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentFilter {
    /// Only those in this status.
    pub status: Option<warrant_domain::context::AgentStatus>,
    /// Only those of this type.
    pub agent_type: Option<AgentType>,
}

/// A page of a listing, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Only ids before this one (the previous page's last id).
    pub after: Option<String>,
    /// At most this many.
    pub limit: i64,
}

/// Something that happened to an agent besides its intents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentEvent {
    /// `aev_…`.
    pub id: String,
    /// The agent's tenant.
    pub tenant_id: String,
    /// The agent.
    pub agent_id: String,
    /// What happened: `suspended`, `activated`, `alert`, `emergency-suspend`,
    /// `baseline-set`, `rollback`, ….
    pub kind: String,
    /// Who did it: `key:ak_…`, `admin`, `policy:<plugin>`, `system`.
    pub actor: String,
    /// The acting key's name, when a key acted.
    pub actor_name: Option<String>,
    /// Why, or what the alert says.
    pub message: String,
    /// The intent whose decision did it, when one did.
    pub intent_id: Option<String>,
    /// When.
    pub at_ms: i64,
}

impl AgentEvent {
    /// Who did it.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.actor.clone(),
            name: self.actor_name.clone(),
        }
    }
}

/// What a decision asks the store to do with the intent it records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecisionActions {
    /// Suspend the agent (if it is active), cancelling its pending and
    /// approved intents as every suspension does (the intent being
    /// recorded too, when it is one), and record this event.
    pub suspend: Option<AgentEvent>,
    /// Record these alert events.
    pub alerts: Vec<AgentEvent>,
    /// Keep what the decision's plugins saw (once: an input already kept
    /// is not written again).
    pub input: Option<StoredInput>,
}

/// What a decision's plugins saw, as kept for replays and back-tests
/// (see `warrant_domain::policy::input`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredInput {
    /// The sha256 (hex) of `body`.
    pub sha256: String,
    /// The input's JSON text.
    pub body: String,
    /// The texts of the configurations it names, by their sha256.
    pub configs: std::collections::BTreeMap<String, String>,
}

/// What a write of an intent remembers for an idempotency key: asked
/// first with none, to claim the key before anything else, then with the
/// receipt the write made for the intent, for the answer to show.
pub type RememberIntent<'a> = &'a (dyn Fn(Option<&str>) -> Option<IdempotencyRecord> + Sync);

/// The public half of one of a tenant's signing keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Its id: the RFC 7638 thumbprint of its public key.
    pub kid: String,
    /// The tenant whose receipts it signs.
    pub tenant_id: String,
    /// The Ed25519 public key, base64url.
    pub public_key: String,
    /// When it was made.
    pub created_ms: i64,
    /// When another key replaced it; none while it signs.
    pub retired_ms: Option<i64>,
}

/// A receipt as kept: one link of its tenant's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRecord {
    /// Its place in the tenant's chain, from 1.
    pub sequence: i64,
    /// The intent it is about.
    pub intent_id: String,
    /// The history entry of the intent it records.
    pub event_id: String,
    /// The compact JWS.
    pub jws: String,
    /// When it was written.
    pub created_ms: i64,
}

/// The head of a tenant's chain of receipts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// The key that signs the next receipt.
    pub kid: String,
    /// The sequence of the last receipt; 0 before the first.
    pub sequence: i64,
    /// The sha256 of the last receipt's JWS.
    pub last_sha256: Option<String>,
}

impl DecisionActions {
    /// Why a suspension these actions carry out cancels an intent.
    pub fn suspension_reason(suspension: &AgentEvent) -> String {
        format!(
            "agent suspended by {}: {}",
            suspension.actor, suspension.message
        )
    }
}

/// The id of the event that cancels an intent in a suspension or an
/// archive: an intent is cancelled at most once.
pub fn cancellation_event_id(intent_id: &str) -> String {
    format!(
        "ev_{}_cancelled",
        intent_id.strip_prefix("int_").unwrap_or(intent_id)
    )
}

/// A charge reported against a recurring intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeRecord {
    /// `chg_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The recurring intent.
    pub intent_id: String,
    /// What was charged.
    pub amount: Money,
    /// Who charged it.
    pub merchant: String,
    /// When it was charged.
    pub at_ms: i64,
    /// Whether the charge rules accepted it.
    pub accepted: bool,
    /// The charge rules' decision with its trace, as JSON text.
    pub decision: String,
    /// When it was reported.
    pub created_ms: i64,
}

/// A baseline to record for an agent, with the event that says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaselineUpdate {
    /// The agent's tenant.
    pub tenant_id: String,
    /// The agent.
    pub agent_id: String,
    /// The baseline.
    pub baseline: Baseline,
    /// The agent event recording who set it.
    pub event: AgentEvent,
}

// Governance: agent versions, emergency suspension.

/// One version of an agent's configuration, as it was made.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentVersion {
    /// The agent.
    pub agent_id: String,
    /// 1, 2, …
    pub version: i64,
    /// Its name.
    pub name: String,
    /// Its policy.
    pub policy_id: String,
    /// Its type.
    pub agent_type: AgentType,
    /// Its profile.
    pub profile: AgentProfile,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its metadata, a JSON object.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Who made it: `key:ak_…`, `admin`, ….
    pub actor: String,
    /// The acting key's name, when a key acted.
    pub actor_name: Option<String>,
    /// Why, when someone said.
    pub reason: Option<String>,
    /// When it was made.
    pub created_ms: i64,
}

/// What an emergency suspension did, in its one transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Suspension {
    /// The agent as it is now: suspended.
    pub agent: AgentRecord,
    /// The intents it cancelled (they were pending approval or approved).
    pub cancelled_intents: Vec<String>,
    /// How many live tokens it revoked.
    pub revoked_tokens: u64,
}

/// A card an agent pays with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardRecord {
    /// `ca_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The one agent that pays with it.
    pub agent_id: String,
    /// Its name, unique among its agent's cards that are not closed.
    pub name: String,
    /// The currency it pays in.
    pub currency: Currency,
    /// The last four digits of its number, when given.
    pub last4: Option<String>,
    /// Who issues it.
    pub provider: Provider,
    /// The issuer's id of it (`ic_…` at Stripe), when given.
    pub external_id: Option<String>,
    /// Where it stands.
    pub status: CardStatus,
    /// When it was made.
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
}

/// Which cards a listing shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardFilter {
    /// Only this agent's.
    pub agent_id: Option<String>,
}

/// A secret: its value sealed, never in clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRecord {
    /// Its tenant.
    pub tenant_id: String,
    /// The agent it belongs to; none for the tenant's own.
    pub agent_id: Option<String>,
    /// Its key.
    pub key: String,
    /// The value sealed under the key-encryption key.
    pub sealed: String,
    /// The hosts it may be revealed for, in lower case.
    pub allowed_hosts: Vec<String>,
    /// When it was last set.
    pub set_ms: i64,
}

/// A card authorization, approved or declined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRecord {
    /// `auth_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The card.
    pub card_id: String,
    /// The card's agent.
    pub agent_id: String,
    /// The intent it matched, when approved (or the one that came
    /// closest, when declined).
    pub intent_id: Option<String>,
    /// The amount asked for.
    pub amount: Money,
    /// The merchant the network named.
    pub merchant: Merchant,
    /// The provider's id of it, when a provider asked.
    pub external_id: Option<String>,
    /// Whether it was approved.
    pub approved: bool,
    /// `approved`, or the decline's code (`E_NO_INTENT`, …).
    pub code: String,
    /// Why, in words.
    pub reason: String,
    /// Where it stands.
    pub status: AuthorizationStatus,
    /// The amount captured, once captured.
    pub captured_minor: Option<u64>,
    /// When it was asked.
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
}

/// An entry of the ledger: a capture or a refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionRecord {
    /// `txn_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// A capture or a refund.
    pub kind: TransactionKind,
    /// The authorization it settles.
    pub authorization_id: String,
    /// For a refund, the capture it refunds.
    pub refund_of: Option<String>,
    /// The card.
    pub card_id: String,
    /// The card's agent.
    pub agent_id: String,
    /// The intent it settles.
    pub intent_id: Option<String>,
    /// The amount, exact.
    pub amount: Money,
    /// The merchant.
    pub merchant: Merchant,
    /// The provider's id of it, when a provider reported it.
    pub external_id: Option<String>,
    /// When.
    pub created_ms: i64,
}

/// Which ledger entries a listing shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionFilter {
    /// Only this agent's.
    pub agent_id: Option<String>,
    /// Only this card's.
    pub card_id: Option<String>,
    /// Only those settling this intent.
    pub intent_id: Option<String>,
}

/// What an approved authorization takes, in the transaction that records
/// it.
#[derive(Clone, Copy, Debug)]
pub enum Take<'a> {
    /// A one-off intent: moved to `authorized` by the change, the
    /// authorized amount reserved.
    Intent(&'a StatusChange),
    /// A charge of a recurring intent in its window `[from_ms, to_ms]`,
    /// which no other pending or captured authorization of it may hold.
    Window {
        /// The recurring intent.
        intent_id: &'a str,
        /// The window's start.
        from_ms: i64,
        /// The window's end.
        to_ms: i64,
    },
}
