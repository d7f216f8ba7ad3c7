//! The store's repositories, one per aggregate; [`Store`](crate::Store)
//! is all of them. Reads are scoped by tenant: an object of another
//! tenant is never returned. Every write that answers a request with an
//! `Idempotency-Key` takes an [`IdempotencyRecord`] and commits it in the
//! same transaction as the write itself.

use async_trait::async_trait;
use warrant_domain::authorization::AuthorizationStatus;
use warrant_domain::card::{CardStatus, IntentCard, Provider};
use warrant_domain::context::{AgentStatus, Card, Usage};
use warrant_domain::money::Currency;

use crate::errors::Result;
use crate::log::{
    AttemptOutcome, ClaimedDelivery, DeliveryRecord, EndpointRecord, EventFilter, EventRecord,
};
use crate::records::*;

/// Answers remembered for idempotency keys.
#[async_trait]
pub trait IdempotencyRepository: Send + Sync {
    /// The response remembered for an idempotency key.
    async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>>;

    /// Forgets idempotency keys created before `before_ms`.
    async fn purge_idempotency(&self, before_ms: i64) -> Result<u64>;
}

/// Tenants and their plans.
#[async_trait]
pub trait TenantRepository: Send + Sync {
    /// Creates a tenant and its first API key, `key`, whose secret has
    /// the hash `key_sha256`.
    async fn create_tenant(
        &self,
        tenant: &TenantRecord,
        key: &ApiKeyRecord,
        key_sha256: &str,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;

    /// A tenant.
    async fn tenant(&self, id: &str) -> Result<Option<TenantRecord>>;

    /// How many of a tenant's agents are not archived.
    async fn live_agent_count(&self, tenant_id: &str) -> Result<i64>;

    /// Puts a tenant on `plan`; false when there is no such tenant. Agents
    /// past the new plan's limit are kept; only new ones are refused.
    async fn set_tenant_plan(
        &self,
        id: &str,
        plan: Plan,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<bool>;
}

/// API keys: each a tenant's, with a role.
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// The tenant and its API key whose secret has this hash at `now_ms`:
    /// the key's secret, or the one it was rolled from until its grace
    /// period ends; none when the key is revoked or expired.
    async fn api_key_by_hash(
        &self,
        sha256: &str,
        now_ms: i64,
    ) -> Result<Option<(TenantRecord, ApiKeyRecord)>>;

    /// Adds an API key to its tenant.
    /// [`StoreError::Duplicate`](crate::StoreError::Duplicate) when a
    /// live key of the tenant has its name.
    async fn insert_api_key(
        &self,
        key: &ApiKeyRecord,
        sha256: &str,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;

    /// A page of a tenant's API keys, revoked ones included, newest first.
    async fn api_keys(&self, tenant_id: &str, page: &Page) -> Result<Vec<ApiKeyRecord>>;

    /// A tenant's API key.
    async fn api_key(&self, tenant_id: &str, id: &str) -> Result<Option<ApiKeyRecord>>;

    /// Gives a live key the secret whose hash is `sha256` (and whose first
    /// characters are `prefix`); its current secret keeps working until
    /// `previous_until_ms` (and one rolled before stops at once). The key
    /// as it is now; none when the tenant has no such live key.
    async fn roll_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        sha256: &str,
        prefix: &str,
        previous_until_ms: i64,
        idem: &(dyn for<'s> Fn(&'s ApiKeyRecord) -> Option<IdempotencyRecord> + Sync),
    ) -> Result<Option<ApiKeyRecord>>;

    /// Revokes a live key at `at_ms`: neither its secret nor the one it
    /// was rolled from works any more. None when the tenant has no such
    /// live key, or when it is the tenant's last live `admin` key (counted
    /// in the same transaction, under a lock on the tenant).
    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        at_ms: i64,
        idem: &(dyn for<'s> Fn(&'s ApiKeyRecord) -> Option<IdempotencyRecord> + Sync),
    ) -> Result<Option<ApiKeyRecord>>;

    /// Notes that a key was used at `at_ms`.
    async fn touch_api_key(&self, id: &str, at_ms: i64) -> Result<()>;
}

/// Tenants' uploaded plugins, their bytes beside them.
#[async_trait]
pub trait PluginRepository: Send + Sync {
    /// Registers a plugin. [`StoreError::Duplicate`](crate::StoreError::Duplicate) when the tenant has
    /// one of that name and version; [`StoreError::PlanLimit`](crate::StoreError::PlanLimit) when the
    /// tenant's plan allows no more plugins, or not this many bytes of
    /// them, counted in the same transaction.
    async fn insert_plugin(
        &self,
        plugin: &PluginRecord,
        wasm: &[u8],
        actor: &Actor,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;

    /// A tenant's plugin.
    async fn plugin(&self, tenant_id: &str, id: &str) -> Result<Option<PluginRecord>>;

    /// A tenant's plugin by name and version.
    async fn plugin_by_version(
        &self,
        tenant_id: &str,
        name: &str,
        version: &str,
    ) -> Result<Option<PluginRecord>>;

    /// A page of a tenant's plugins, oldest first, after the plugin
    /// `page.after`; only those called `name` when given. Gives one more
    /// than the page's limit when there are more.
    async fn plugins(
        &self,
        tenant_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<PluginRecord>>;

    /// A plugin's component bytes.
    async fn plugin_wasm(&self, id: &str) -> Result<Option<Vec<u8>>>;

    /// How many plugins a tenant has uploaded, and their bytes together.
    async fn plugin_totals(&self, tenant_id: &str) -> Result<(i64, i64)>;

    /// The sha256 of every uploaded plugin of every tenant.
    async fn plugin_hashes(&self) -> Result<Vec<String>>;

    /// Deletes a tenant's plugin: removes it, or, while a policy version
    /// uses it, hides it (`deleted_ms`) and keeps its bytes. None when the
    /// tenant has no such plugin, or deleted it before.
    async fn delete_plugin(
        &self,
        tenant_id: &str,
        id: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Option<PluginRemoval>>;
}

/// Policies and their immutable versions.
#[async_trait]
pub trait PolicyRepository: Send + Sync {
    /// Creates a policy with its first version.
    async fn insert_policy(
        &self,
        policy: &PolicyRecord,
        plugin_ids: &[String],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;

    /// Adds `policy.version` and makes it current, if the current version
    /// is still `policy.version - 1`; [`StoreError::Duplicate`](crate::StoreError::Duplicate) otherwise.
    async fn add_policy_version(
        &self,
        policy: &PolicyRecord,
        plugin_ids: &[String],
        event_type: &str,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;

    /// A policy's current version, or the version asked for.
    async fn policy(
        &self,
        tenant_id: &str,
        id: &str,
        version: Option<i64>,
    ) -> Result<Option<PolicyRecord>>;

    /// A page of a policy's versions, oldest first, after the version
    /// numbered `page.after` (one more than the limit when there are more).
    async fn policy_versions(
        &self,
        tenant_id: &str,
        id: &str,
        page: &Page,
    ) -> Result<Vec<PolicyRecord>>;

    /// The current version of each of a tenant's policies, newest first.
    async fn policies(&self, tenant_id: &str, page: &Page) -> Result<Vec<PolicyRecord>>;
}

/// Agents, their versions, status, events, baselines and tokens.
#[async_trait]
pub trait AgentRepository: Send + Sync {
    /// Makes `key` the agent's key, retiring the one before (it stays
    /// listed), and records `event`: false if the agent is not the
    /// tenant's or is archived;
    /// [`StoreError::Duplicate`](crate::StoreError::Duplicate) if the agent
    /// had this key before.
    async fn add_agent_key(&self, key: &AgentKeyRecord, event: &AgentEvent) -> Result<bool>;

    /// The agent's keys, the retired ones first, the active one last.
    async fn agent_keys(&self, agent_id: &str) -> Result<Vec<AgentKeyRecord>>;

    /// Creates an agent with its first version, made by `actor`.
    /// [`StoreError::PlanLimit`](crate::StoreError::PlanLimit) when the tenant's plan allows no more
    /// agents that are not archived, counted in the same transaction.
    async fn insert_agent(
        &self,
        agent: &AgentRecord,
        actor: &Actor,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;

    /// A tenant's agent.
    async fn agent(&self, tenant_id: &str, id: &str) -> Result<Option<AgentRecord>>;

    /// A tenant's agent and, in the same read, its card that `card` names:
    /// the card of that id (whatever its status), or its card of that name
    /// that is not closed; with the card's status.
    async fn agent_with_card(
        &self,
        tenant_id: &str,
        id: &str,
        card: &Card,
    ) -> Result<Option<(AgentRecord, Option<(IntentCard, CardStatus)>)>>;

    /// A page of a tenant's agents that `filter` picks, newest first.
    async fn agents(
        &self,
        tenant_id: &str,
        filter: &AgentFilter,
        page: &Page,
    ) -> Result<Vec<AgentRecord>>;

    /// Replaces an agent's name, policy, type, profile, tags, metadata and
    /// status with `agent`'s if its status is still `from`, records the
    /// result as its next version (made by `actor`) when
    /// `new_version` (its configuration changed; a move of status alone is
    /// no version) and `event` (the change of status, when there is one),
    /// in one transaction.
    /// False when its status is no longer `from`, when it is archived (or
    /// does not exist), and when the change would move it into or out of
    /// `suspended`: that takes an emergency suspension or an activation.
    async fn update_agent(
        &self,
        agent: &AgentRecord,
        from: AgentStatus,
        new_version: bool,
        actor: &Actor,
        event: Option<&AgentEvent>,
    ) -> Result<bool>;

    /// Issues an agent token whose secret has the hash `token_sha256`, and
    /// records `event`, in one transaction.
    async fn insert_token(
        &self,
        token: &TokenRecord,
        token_sha256: &str,
        event: &AgentEvent,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;

    /// The live token with this hash, if its agent is not archived.
    async fn token_by_hash(&self, token_sha256: &str) -> Result<Option<TokenRecord>>;

    /// A page of an agent's tokens, revoked ones included, oldest first,
    /// after the token `page.after` (one more than the limit when there
    /// are more).
    async fn tokens(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<TokenRecord>>;

    /// Revokes a token at `event.at_ms` and records `event`, in one
    /// transaction; false when the agent has no such live token.
    async fn revoke_token(
        &self,
        tenant_id: &str,
        agent_id: &str,
        token_id: &str,
        event: &AgentEvent,
    ) -> Result<bool>;

    /// How many events of `kind` by `actor` an agent had since `since_ms`.
    async fn count_agent_events(
        &self,
        agent_id: &str,
        kind: &str,
        actor: &str,
        since_ms: i64,
    ) -> Result<i64>;

    /// The intents an agent declared from `since_ms` on that were not
    /// denied, oldest first, at most `limit`.
    async fn history(&self, agent_id: &str, since_ms: i64, limit: i64)
    -> Result<Vec<HistoryEntry>>;

    /// Sets an agent's baseline and records the event; false when the
    /// tenant has no such agent.
    async fn set_baseline(
        &self,
        update: &BaselineUpdate,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool>;

    /// A page of the versions of a tenant's agent, oldest first, after the
    /// version numbered `page.after` (one more than the limit when there
    /// are more); none when the tenant has no such agent.
    async fn agent_versions(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<AgentVersion>>;

    /// Replaces an agent's name, policy, type, profile, tags and metadata
    /// with `agent`'s as its version `agent.version`, recorded with `actor`
    /// and `reason`, and records `event`, in one transaction, if the
    /// agent's version is still `agent.version - 1`, it is not archived and
    /// `agent.policy_id` is a policy of its tenant; false otherwise. The
    /// status is left as it is.
    async fn add_agent_version(
        &self,
        agent: &AgentRecord,
        actor: &Actor,
        reason: Option<&str>,
        event: &AgentEvent,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool>;

    /// Moves `event`'s agent to `to` if its status is one of `from` and
    /// records `event`, in one transaction; false otherwise.
    async fn set_agent_status_logged(
        &self,
        event: &AgentEvent,
        from: &[AgentStatus],
        to: AgentStatus,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool>;

    /// Stops `event`'s agent at once, in one transaction: its status
    /// becomes `to` (`suspended` by the kill switch, or `archived`), each of
    /// its intents that is pending approval or approved (and still within
    /// its time to live) is cancelled by `event.actor` for `intent_reason`,
    /// each of its live tokens is revoked, and `event` is recorded: it
    /// holds nothing payable afterwards. `remember` gives the idempotency
    /// record of the answer, which is committed with the rest. None when
    /// the tenant has no such agent; [`StoreError::AgentNotActive`](crate::StoreError::AgentNotActive) when it
    /// is archived.
    async fn stop_agent(
        &self,
        event: &AgentEvent,
        to: AgentStatus,
        intent_reason: &str,
        remember: &(dyn for<'s> Fn(&'s Suspension) -> Option<IdempotencyRecord> + Sync),
    ) -> Result<Option<Suspension>>;

    /// Records an event of an agent that changes nothing else, such as a
    /// dry run of its policy.
    async fn record_agent_event(&self, event: &AgentEvent) -> Result<()>;

    /// A tenant's agent's events, newest first.
    async fn agent_events(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<AgentEvent>>;
}

/// Intents, their events and settlements, their expiry, and the charges of recurring ones.
#[async_trait]
pub trait IntentRepository: Send + Sync {
    /// Records a decided intent with its first event, counts it in its
    /// agent's usage, and carries out the decision's actions, all in one
    /// transaction.
    /// [`StoreError::Duplicate`](crate::StoreError::Duplicate) when the agent already has an intent with
    /// the same client intent id; [`StoreError::AgentNotActive`](crate::StoreError::AgentNotActive) when the
    /// agent is no longer active as the intent commits.
    async fn insert_intent(
        &self,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: RememberIntent<'_>,
    ) -> Result<String>;

    /// [`IntentRepository::insert_intent`] in the agent's `turn` (see
    /// [`Store::agent_turn`](crate::Store::agent_turn)), which ends with
    /// the write. On PostgreSQL the turn is a transaction, which the write
    /// is made and committed in.
    async fn insert_intent_in_turn(
        &self,
        turn: crate::AgentTurn,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: RememberIntent<'_>,
    ) -> Result<String>;

    /// A tenant's intent.
    async fn intent(&self, tenant_id: &str, id: &str) -> Result<Option<IntentRecord>>;

    /// The agent's intent with this client intent id.
    async fn intent_by_client_id(
        &self,
        agent_id: &str,
        client_intent_id: &str,
    ) -> Result<Option<IntentRecord>>;

    /// A tenant's intents, newest first.
    async fn intents(
        &self,
        tenant_id: &str,
        filter: &IntentFilter,
        page: &Page,
    ) -> Result<Vec<IntentRecord>>;

    /// An intent's status history, oldest first.
    async fn intent_events(&self, intent_id: &str) -> Result<Vec<IntentEvent>>;

    /// Applies a status change if the intent is still as the change saw
    /// it (status and `seen_updated_ms`) and the change's guards hold;
    /// false otherwise (another change won, or a guard failed).
    async fn change_status(
        &self,
        change: &StatusChange,
        idem: RememberIntent<'_>,
    ) -> Result<Option<String>>;

    /// Replaces an intent's settlement record if it is still as the
    /// update saw it (status and `seen_updated_ms`); false otherwise.
    async fn set_settlement(
        &self,
        update: &SettlementUpdate,
        idem: RememberIntent<'_>,
    ) -> Result<Option<String>>;

    /// Expires up to `limit` intents that live out their time (pending, or
    /// approved and not recurring: [`IntentStatus::lives_out`]) and whose
    /// time to live ended at or before `now_ms`, each with an event by
    /// `system` for `reason` whose id `new_event_id` makes; only the intent
    /// `only` when given. Gives the events, oldest expiry first. The
    /// intents are claimed per agent: of several servers sweeping one
    /// database, each intent is expired by exactly one, and an agent
    /// another server is working on is left for the next round. The one
    /// way an expiry is written, by the sweeper and by a move that finds
    /// the time to live ended.
    ///
    /// [`IntentStatus::lives_out`]: warrant_domain::lifecycle::IntentStatus::lives_out
    async fn expire_due(
        &self,
        now_ms: i64,
        limit: i64,
        reason: &str,
        new_event_id: &(dyn Fn() -> String + Sync),
        only: Option<&str>,
    ) -> Result<Vec<IntentEvent>>;

    /// Records a charge of a recurring intent of `agent_id` and carries out
    /// the charge rules' actions, in one transaction.
    async fn insert_charge(
        &self,
        charge: &ChargeRecord,
        agent_id: &str,
        actions: &DecisionActions,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;

    /// A page of the charges of an intent, oldest first (by the time
    /// charged), after the charge `page.after` (one more than the limit
    /// when there are more).
    async fn charges(
        &self,
        tenant_id: &str,
        intent_id: &str,
        page: &Page,
    ) -> Result<Vec<ChargeRecord>>;

    /// When each accepted charge of an intent was charged, oldest first.
    async fn accepted_charge_times(&self, tenant_id: &str, intent_id: &str) -> Result<Vec<i64>>;
}

/// Agents' usage, from the counters every intent write moves.
#[async_trait]
pub trait UsageRepository: Send + Sync {
    /// The agent's usage up to `now_ms`, from its counters. `day_start_ms`
    /// and `month_start_ms` start the calendar windows; `merchant_key` is
    /// the intent's lower-case merchant. Windows count whole seconds: each
    /// starts at the beginning of the second its start falls in. Spend is
    /// [`spend_minor`] of each intent in `currency`; the time zone is left
    /// at `UTC` for the caller to name.
    ///
    /// `version` is the agent's [`AgentRecord::usage_version`] as read in
    /// the agent's turn, when it was: the store may then give the usage it
    /// keeps from an earlier read at that version instead of reading it
    /// again. Without it, the usage is read.
    #[allow(clippy::too_many_arguments)]
    async fn usage(
        &self,
        agent_id: &str,
        currency: Currency,
        merchant_key: Option<&str>,
        now_ms: i64,
        day_start_ms: i64,
        month_start_ms: i64,
        version: Option<i64>,
    ) -> Result<Usage>;
}

/// The tenant's event log (the audit log), which every write fills in its
/// own transaction (see [`crate::log`]).
#[async_trait]
pub trait EventRepository: Send + Sync {
    /// A page of the tenant's events, newest (or oldest) first.
    async fn events(
        &self,
        tenant_id: &str,
        filter: &EventFilter,
        page: &Page,
    ) -> Result<Vec<EventRecord>>;

    /// One of the tenant's events.
    async fn event(&self, tenant_id: &str, id: &str) -> Result<Option<EventRecord>>;

    /// Sends the tenant's event again to every enabled endpoint that
    /// receives its type, due at `now_ms`: how many; none if there is no
    /// such event.
    async fn redeliver(&self, tenant_id: &str, event_id: &str, now_ms: i64) -> Result<Option<u64>>;
}

/// Webhook endpoints and the outbox of their deliveries.
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Records a new endpoint, and its event by `actor`.
    async fn insert_endpoint(&self, endpoint: &EndpointRecord, actor: &Actor) -> Result<()>;

    /// A page of the tenant's endpoints, newest first.
    async fn endpoints(&self, tenant_id: &str, page: &Page) -> Result<Vec<EndpointRecord>>;

    /// One of the tenant's endpoints.
    async fn endpoint(&self, tenant_id: &str, id: &str) -> Result<Option<EndpointRecord>>;

    /// Changes the tenant's endpoint by `change` and records it as an
    /// event of `event_type` by `actor`, in one transaction; none if there
    /// is no such endpoint.
    async fn update_endpoint(
        &self,
        tenant_id: &str,
        id: &str,
        change: &(dyn for<'e> Fn(&'e mut EndpointRecord) + Sync),
        event_type: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Option<EndpointRecord>>;

    /// Deletes the tenant's endpoint with its deliveries; false if there
    /// is no such endpoint.
    async fn delete_endpoint(
        &self,
        tenant_id: &str,
        id: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<bool>;

    /// Records a `ping` event for the endpoint alone and its delivery:
    /// the event's id.
    async fn ping_endpoint(
        &self,
        endpoint: &EndpointRecord,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<String>;

    /// A page of an endpoint's deliveries, newest first, with their
    /// attempts.
    async fn deliveries(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        page: &Page,
    ) -> Result<Vec<DeliveryRecord>>;

    /// Claims up to `limit` deliveries due at `now_ms` for `lease_ms`:
    /// none of them is claimed again (by this server or another) before
    /// the lease ends or its attempt is finished.
    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>>;

    /// Records a claimed delivery's attempt and what became of it.
    async fn finish_attempt(&self, delivery_id: &str, outcome: &AttemptOutcome) -> Result<()>;
}

/// Receipts, the tenants' signing keys, the evaluation inputs that
/// decisions saw, and the publishers' keys that sign plugins. Every write of an intent's history adds its receipt to
/// the tenant's chain in the same transaction.
#[async_trait]
pub trait ReceiptRepository: Send + Sync {
    /// The public halves of a tenant's signing keys (of every tenant's
    /// when none), oldest first.
    async fn signing_keys(&self, tenant_id: Option<&str>) -> Result<Vec<SigningKeyRecord>>;

    /// Makes the key that signs the tenant's receipts from now on,
    /// retiring the one before (its public half stays); gives the new key.
    async fn rotate_signing_key(&self, tenant_id: &str, at_ms: i64) -> Result<SigningKeyRecord>;

    /// The receipts of a tenant's intent, oldest first.
    async fn intent_receipts(&self, tenant_id: &str, intent_id: &str)
    -> Result<Vec<ReceiptRecord>>;

    /// The latest receipt of a tenant's intent, if it has one.
    async fn latest_intent_receipt(
        &self,
        tenant_id: &str,
        intent_id: &str,
    ) -> Result<Option<ReceiptRecord>>;

    /// Up to `limit` of a tenant's receipts with a sequence from `from` to
    /// `to`, in order.
    async fn receipts(
        &self,
        tenant_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<ReceiptRecord>>;

    /// The head of a tenant's chain; none before its first receipt.
    async fn chain_head(&self, tenant_id: &str) -> Result<Option<ChainHead>>;

    /// Registers a publisher's key with the tenant;
    /// [`StoreError::Duplicate`](crate::StoreError::Duplicate) when the
    /// tenant has it already.
    async fn insert_publisher_key(&self, key: &PublisherKeyRecord) -> Result<()>;

    /// The publishers' keys the tenant trusts, oldest first.
    async fn publisher_keys(&self, tenant_id: &str) -> Result<Vec<PublisherKeyRecord>>;

    /// The tenant's publisher key `kid`.
    async fn publisher_key(&self, tenant_id: &str, kid: &str)
    -> Result<Option<PublisherKeyRecord>>;

    /// The text of a kept evaluation input of the tenant, alone.
    async fn evaluation_input_text(&self, tenant_id: &str, sha256: &str) -> Result<Option<String>>;

    /// A kept evaluation input of the tenant, with the configurations it
    /// names.
    async fn evaluation_input(&self, tenant_id: &str, sha256: &str) -> Result<Option<StoredInput>>;
}

/// Cards agents pay with, and the secrets of agents and tenants.
#[async_trait]
pub trait CardRepository: Send + Sync {
    /// Adds a card, with its `card.created` event; `Duplicate` when its
    /// agent has a card of that name, or the tenant one of that provider's
    /// id, that is not closed.
    async fn insert_card(&self, card: &CardRecord, actor: &Actor) -> Result<()>;

    /// One of the tenant's cards.
    async fn card(&self, tenant_id: &str, id: &str) -> Result<Option<CardRecord>>;

    /// The tenant's card with that provider's id: the one not closed, if
    /// any, else the newest.
    async fn card_by_external_id(
        &self,
        tenant_id: &str,
        provider: Provider,
        external_id: &str,
    ) -> Result<Option<CardRecord>>;

    /// A page of the tenant's cards, newest first.
    async fn cards(
        &self,
        tenant_id: &str,
        filter: &CardFilter,
        page: &Page,
    ) -> Result<Vec<CardRecord>>;

    /// Changes a card as `change` does, which answers the event the change
    /// is (`card.updated`, `card.frozen`, …) or none when nothing changes;
    /// `Duplicate` as for [`CardRepository::insert_card`].
    async fn update_card(
        &self,
        tenant_id: &str,
        id: &str,
        change: &(dyn for<'c> Fn(&'c mut CardRecord) -> Option<&'static str> + Sync),
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Option<CardRecord>>;

    /// Sets a secret (sealed), with its `secret.set` event; whether it is
    /// new.
    async fn put_secret(&self, secret: &SecretRecord, actor: &Actor) -> Result<bool>;

    /// An agent's secrets (the tenant's own for none), by key.
    async fn secrets(&self, tenant_id: &str, agent_id: Option<&str>) -> Result<Vec<SecretRecord>>;

    /// One secret of an agent (the tenant's own for none).
    async fn secret(
        &self,
        tenant_id: &str,
        agent_id: Option<&str>,
        key: &str,
    ) -> Result<Option<SecretRecord>>;

    /// Deletes a secret, with its `secret.deleted` event; whether there
    /// was one.
    async fn delete_secret(
        &self,
        tenant_id: &str,
        agent_id: Option<&str>,
        key: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<bool>;

    /// Records a secret's reveal (`event`, of kind `secret_revealed`) on
    /// its intent, only while the intent is approved within its time to
    /// live and its agent active; whether it was.
    async fn record_reveal(&self, tenant_id: &str, event: &IntentEvent) -> Result<bool>;
}

/// Card authorizations and the ledger.
#[async_trait]
pub trait PaymentRepository: Send + Sync {
    /// Records an authorization with its `authorization.approved` or
    /// `.declined` event; `take`, for an approved one, takes its intent in
    /// the same transaction (see [`Take`]). An authorization with the
    /// provider's id of one already recorded answers that one and records
    /// nothing. None when `take` no longer applies (the intent moved, or
    /// another authorization holds the window, meanwhile): nothing is
    /// recorded.
    async fn record_authorization(
        &self,
        authorization: &AuthorizationRecord,
        take: Option<Take<'_>>,
        actor: &Actor,
    ) -> Result<Option<AuthorizationRecord>>;

    /// One of the tenant's authorizations.
    async fn authorization(&self, tenant_id: &str, id: &str)
    -> Result<Option<AuthorizationRecord>>;

    /// The tenant's authorization with that provider's id.
    async fn authorization_by_external_id(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> Result<Option<AuthorizationRecord>>;

    /// Captures (with its ledger `entry`) or reverses a pending
    /// authorization, moving its intent with `change` in the same
    /// transaction, with the events. None when it is not pending (or the
    /// intent moved): nothing changes.
    #[allow(clippy::too_many_arguments)]
    async fn settle_authorization(
        &self,
        tenant_id: &str,
        id: &str,
        to: AuthorizationStatus,
        change: Option<&StatusChange>,
        entry: Option<&TransactionRecord>,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Option<AuthorizationRecord>>;

    /// Appends a refund of the capture it names, if that capture has that
    /// much left to refund: `Ok` the amount left after it; `Err` the
    /// amount left when the refund is more, and nothing is appended; none
    /// when there is no such capture.
    async fn record_refund(
        &self,
        refund: &TransactionRecord,
        actor: &Actor,
    ) -> Result<Option<std::result::Result<u64, u64>>>;

    /// One entry of the tenant's ledger.
    async fn transaction(&self, tenant_id: &str, id: &str) -> Result<Option<TransactionRecord>>;

    /// The tenant's ledger entry with that provider's id.
    async fn transaction_by_external_id(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> Result<Option<TransactionRecord>>;

    /// The capture of an authorization, once captured.
    async fn capture_of(&self, authorization_id: &str) -> Result<Option<TransactionRecord>>;

    /// A page of the tenant's ledger, newest first.
    async fn transactions(
        &self,
        tenant_id: &str,
        filter: &TransactionFilter,
        page: &Page,
    ) -> Result<Vec<TransactionRecord>>;

    /// At most 100 of the agent's intents that are approved within their
    /// time to live, on card `card_id` or declared before cards were
    /// checked: those an authorization may take. With `near`
    /// (merchant keys in lower case, and an amount in minor units), those
    /// for one of the merchants, the nearest amounts first; without, the
    /// oldest.
    async fn approved_intents_on(
        &self,
        agent_id: &str,
        card_id: &str,
        now_ms: i64,
        near: Option<([&str; 2], u64)>,
    ) -> Result<Vec<IntentRecord>>;
}
