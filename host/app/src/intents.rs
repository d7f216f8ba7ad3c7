//! Intents: declared (and decided by the agent's policy), read, moved
//! through their lifecycle, settled and verified, expired; and the
//! charges of recurring ones.
//!
//! A read never writes: an intent whose time to live has ended shows as
//! expired (with the expiry in its history) until the sweeper, or a move
//! that finds it so, records it through one store function.

use serde::Deserialize;

use warrant_domain::context::{AgentStatus, Intent};
use warrant_domain::intent::{
    IntentRequest, SettleRequest, check_reason, check_recordable, checked_text,
};
use warrant_domain::lifecycle::{IntentStatus, Transition};
use warrant_domain::money::Money;
use warrant_domain::policy::record::DecisionRecord;
use warrant_domain::settlement::{self, Reporter, SettlementRecord};
use warrant_store::{
    Actor, DecisionActions, IntentEvent, IntentFilter, IntentRecord, Page, SettledAmount,
    SettlementUpdate, SettlementWrite, StatusChange, StoreError, cancellation_event_id,
};

use crate::agent_keys::{SignedRequest, signer};
use crate::auth::{Needs, Permission, Principal};
use crate::cards::Cards;
use crate::catalog::CompiledPolicy;
use crate::decider::{actions_of, count_transition, stored_input};
use crate::errors::{AppError, Result};
use crate::{App, Remember, new_id, now_ms, time_of};

/// Why an intent expired.
pub const EXPIRY_REASON: &str = "its time to live ended";
/// How many due intents the sweeper expires per batch.
const SWEEP_BATCH: i64 = 500;
/// How often a move is tried again when the intent changed under it in
/// a way that may still allow it (a settlement was recorded meanwhile).
const ATTEMPTS: usize = 3;

/// The intents service.
pub struct Intents<'a> {
    pub(crate) app: &'a App,
}

impl App {
    /// Intents: declare, read, move, settle, verify, expire; charges.
    pub fn intents(&self) -> Intents<'_> {
        Intents { app: self }
    }
}

/// An intent as it stands, with its history, oldest first.
#[derive(Clone, Debug)]
pub struct IntentWithHistory {
    /// The intent, with its effective status.
    pub record: IntentRecord,
    /// Its history.
    pub events: Vec<IntentEvent>,
    /// Its latest receipt: the compact JWS that signs the last entry of
    /// its recorded history.
    pub receipt: Option<String>,
}

/// The answer to a declaration.
#[derive(Clone, Debug)]
pub enum Declared {
    /// A new intent, decided now.
    Created(IntentWithHistory),
    /// The agent's intent with the same client intent id, as it stands.
    Existing(IntentWithHistory),
}

/// A reason given with a move (`/deny`, `/cancel`, `/fail`), and what an
/// approver notes with an approval or denial.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
    /// An approver's note (`/approve`, `/deny`), kept in the history.
    #[serde(default)]
    pub note: Option<String>,
}

/// Which intents to list.
#[derive(Clone, Debug, Default)]
pub struct IntentQuery {
    /// Only this agent's (an agent token's own, whatever it says).
    pub agent_id: Option<String>,
    /// Only those in this status now.
    pub status: Option<IntentStatus>,
    /// Only those declared at or after this time (ms since the epoch).
    pub created_from_ms: Option<i64>,
    /// Only those declared before this time (ms since the epoch).
    pub created_before_ms: Option<i64>,
}

/// What a move brings besides its transition.
#[derive(Debug)]
pub enum MoveBody {
    /// A reason (`approve`, `deny`, `cancel`, `fail`).
    Reason(ReasonRequest),
    /// What settled (`complete`).
    Settlement(SettleRequest),
}

/// The status a stored intent shows at `now`: expired once its time to
/// live has ended (see [`IntentStatus::at`]).
pub(crate) fn status_at(record: &IntentRecord, now: i64) -> IntentStatus {
    record
        .status
        .at(record.intent.recurring.is_some(), record.expires_ms, now)
}

/// An intent record with the status it shows at `now`.
pub(crate) fn effective(mut record: IntentRecord, now: i64) -> IntentRecord {
    let status = status_at(&record, now);
    if status != record.status {
        record.status = status;
        record.status_reason = Some(EXPIRY_REASON.into());
    }
    record
}

/// The longest note an approver may give.
const MAX_NOTE_CHARS: usize = 1_000;

/// The approvals an intent pending approval has had so far: the entries
/// of its history that leave it pending approval.
pub fn approvals_given(events: &[IntentEvent]) -> impl Iterator<Item = &IntentEvent> {
    events.iter().filter(|event| {
        event.from == Some(IntentStatus::PendingApproval)
            && event.to == IntentStatus::PendingApproval
    })
}

/// Where an approval by `actor` takes an intent: approved once it has as
/// many approvals from different keys as it needs, pending approval
/// before; a key that approved it already is refused.
fn approval_target(
    record: &IntentRecord,
    events: &[IntentEvent],
    actor: &Actor,
) -> Result<IntentStatus> {
    let given = approvals_given(events).count() as i64;
    if approvals_given(events).any(|event| event.actor == actor.id) {
        return Err(AppError::Conflict(format!(
            "this key approved intent `{}` already; it needs {} approvals from different keys, and has {given}",
            record.id, record.approvals_required
        )));
    }
    Ok(if given + 1 >= record.approvals_required {
        IntentStatus::Approved
    } else {
        IntentStatus::PendingApproval
    })
}

/// The status an intent shows now, and the expiry its history will have
/// once it is recorded.
fn as_it_stands(
    record: IntentRecord,
    mut events: Vec<IntentEvent>,
    receipt: Option<String>,
    now: i64,
) -> IntentWithHistory {
    let stored = record.status;
    let record = effective(record, now);
    if record.status != stored {
        events.push(IntentEvent {
            id: String::new(),
            intent_id: record.id.clone(),
            from: Some(stored),
            to: record.status,
            actor: "system".into(),
            actor_name: None,
            reason: Some(EXPIRY_REASON.into()),
            note: None,
            at_ms: record.expires_ms,
            settlement: None,
            kind: None,
        });
    }
    IntentWithHistory {
        record,
        events,
        receipt,
    }
}

impl Intents<'_> {
    /// Declares an intent for the caller's agent (or, with a tenant key,
    /// `request.agent_id`), decided by the agent's current policy, and
    /// records it with its decision, its first event and the actions the
    /// decision asks for, in one transaction. A repeated client intent id
    /// answers the intent it declared (a conflict if it declared another).
    pub async fn declare(
        &self,
        principal: &Principal,
        request: IntentRequest,
        remember: Remember<'_, IntentWithHistory>,
    ) -> Result<Declared> {
        self.declare_signed(principal, request, None, remember)
            .await
    }

    /// [`Intents::declare`] of a request the agent may have signed: a
    /// signature is checked against the agent's key before anything else
    /// (400 `E_AGENT_SIGNATURE`, nothing stored), and the plugins see which
    /// key signed the intent (`intent.signed-by`).
    pub async fn declare_signed(
        &self,
        principal: &Principal,
        request: IntentRequest,
        signed: Option<SignedRequest<'_>>,
        remember: Remember<'_, IntentWithHistory>,
    ) -> Result<Declared> {
        let app = self.app;
        let tenant_id = principal.tenant_id()?;
        let agent_id = Self::declaring_agent(principal, &request)?;
        let mut intent = request.into_intent(new_id("int"))?;
        // One decision at a time per agent, on this server and on every
        // server sharing the database: the usage each sees includes the one
        // before. The agent is read in its turn, so that the version of its
        // usage it gives is the one the decision may use.
        let turn = app.decision_turn(tenant_id, &agent_id).await?;
        // The agent and the card the intent names, in one read.
        let (agent, card) = app
            .store()
            .agent_with_card(tenant_id, &agent_id, &intent.card)
            .await?
            .ok_or_else(|| AppError::validation("agentId", format!("no agent `{agent_id}`")))?;
        if agent.agent.status != AgentStatus::Active {
            return Err(not_active(&agent_id, agent.agent.status));
        }
        let card = Cards::declared_on(&agent_id, &intent.card, card)?;
        check_recordable(&intent)?;
        intent.signed_by = signed.map(|signed| signer(&agent, &signed)).transpose()?;
        let policy = app.policy_of(&agent).await?;
        let now = now_ms();
        let (context, decision) = app
            .decide(&agent, &policy, intent, now, Some(agent.usage_version))
            .await?;
        let status = IntentStatus::from_outcome(decision.outcome);
        let reason = decision.reason();
        let mut actions = actions_of(&decision, &agent, &context.intent.id, now);
        let input = stored_input(CompiledPolicy::chain_for(&policy, &context), &context);
        let input_sha256 = Some(input.sha256.clone());
        actions.input = Some(input);
        let ttl_ms = i64::from(context.intent.ttl_minutes) * 60_000;
        let approvals_required = policy
            .definition
            .approvals_required
            .as_ref()
            .map_or(1, |approvals| {
                approvals.required_for(&context.intent).into()
            });
        let record = IntentRecord {
            id: context.intent.id.clone(),
            tenant_id: tenant_id.to_owned(),
            agent_id: agent_id.clone(),
            status,
            intent: context.intent,
            card: Some(card),
            decision: DecisionRecord::of(&decision).to_json(),
            policy_id: policy.record.id.clone(),
            policy_version: policy.record.version,
            status_reason: reason.clone(),
            settlement: None,
            approvals_required,
            created_ms: now,
            updated_ms: now,
            expires_ms: now + ttl_ms,
            input_sha256,
        };
        let event = IntentEvent {
            id: new_id("ev"),
            intent_id: record.id.clone(),
            from: None,
            to: status,
            actor: "policy".into(),
            actor_name: None,
            reason,
            note: None,
            at_ms: now,
            settlement: None,
            kind: None,
        };
        // Recorded as decided; answered as it then stands.
        let record_as_decided = record.clone();
        let mut created = IntentWithHistory {
            record,
            events: vec![event],
            receipt: None,
        };
        // A decision that suspends the agent leaves it nothing to pay: the
        // store cancels its live intents, this one with them.
        if let Some(suspension) = &actions.suspend
            && matches!(
                status,
                IntentStatus::PendingApproval | IntentStatus::Approved
            )
        {
            let reason = DecisionActions::suspension_reason(suspension);
            created.events.push(IntentEvent {
                id: cancellation_event_id(&created.record.id),
                intent_id: created.record.id.clone(),
                from: Some(status),
                to: IntentStatus::Cancelled,
                actor: suspension.actor.clone(),
                actor_name: None,
                reason: Some(reason.clone()),
                note: None,
                at_ms: now + 1,
                settlement: None,
                kind: None,
            });
            created.record.status = IntentStatus::Cancelled;
            created.record.status_reason = Some(reason);
            created.record.updated_ms = now + 1;
        }
        let remember = |receipt: Option<&str>| {
            remember(&IntentWithHistory {
                receipt: receipt.map(str::to_owned),
                ..created.clone()
            })
        };
        // The database's turn ends with the write, made in it; this
        // server's when the write is done.
        let (shared_turn, _local_turn) = turn.into_parts();
        match app
            .store()
            .insert_intent_in_turn(
                shared_turn,
                &record_as_decided,
                &created.events[0],
                &actions,
                &remember,
            )
            .await
        {
            Ok(receipt) => {
                created.receipt = Some(receipt);
                let mut from = None;
                for event in &created.events {
                    count_transition(from, event.to);
                    from = Some(event.to);
                }
                Ok(Declared::Created(created))
            }
            // The agent declared this client intent id before.
            Err(StoreError::Duplicate) => {
                let declared = &created.record.intent;
                let client_intent_id = declared.client_intent_id.as_deref().unwrap_or("");
                let existing = app
                    .store()
                    .intent_by_client_id(&agent_id, client_intent_id)
                    .await?
                    .ok_or_else(|| AppError::internal("a duplicate intent vanished"))?;
                self.existing(existing, declared).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The agent `request` declares an intent for (named by a tenant key,
    /// or the agent token's own), after checking the caller may: before
    /// anything else, an idempotent replay included.
    pub fn declaring_agent(principal: &Principal, request: &IntentRequest) -> Result<String> {
        principal.tenant_id()?;
        let agent_id = match (&request.agent_id, principal.own_agent()) {
            (Some(id), _) => id.trim().to_owned(),
            (None, Some(own)) => own.to_owned(),
            (None, None) => return Err(AppError::validation("agentId", "is required")),
        };
        principal.may(&agent_id, Permission::Create)?;
        Ok(agent_id)
    }

    /// The answer to a repeated client intent id: the intent as it stands,
    /// if it declared the same; a conflict if the id was used for another.
    async fn existing(&self, record: IntentRecord, declared: &Intent) -> Result<Declared> {
        let same = Intent {
            id: record.intent.id.clone(),
            ..declared.clone()
        };
        if record.intent != same {
            return Err(AppError::Conflict(format!(
                "`clientIntentId` `{}` was used for another intent of this agent (`{}`)",
                declared.client_intent_id.as_deref().unwrap_or_default(),
                record.id
            )));
        }
        Ok(Declared::Existing(self.with_history(record).await?))
    }

    /// The caller's intent, as it stands, with its history.
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<IntentWithHistory> {
        let record = self.stored(principal, id, Permission::Read).await?;
        self.with_history(record).await
    }

    /// A stored intent as it stands, with its history and latest receipt.
    async fn with_history(&self, record: IntentRecord) -> Result<IntentWithHistory> {
        let events = self.app.store().intent_events(&record.id).await?;
        let receipt = self
            .app
            .store()
            .latest_intent_receipt(&record.tenant_id, &record.id)
            .await?
            .map(|r| r.jws);
        Ok(as_it_stands(record, events, receipt, now_ms()))
    }

    /// A page of the caller's intents, newest first, each as it stands;
    /// `query.status` filters on the status they show now.
    pub async fn list(
        &self,
        principal: &Principal,
        query: IntentQuery,
        page: &Page,
    ) -> Result<Vec<IntentRecord>> {
        let tenant_id = principal.tenant_id()?;
        let agent_id = query
            .agent_id
            .or_else(|| principal.own_agent().map(str::to_owned));
        if let Some(agent_id) = &agent_id {
            principal.may(agent_id, Permission::Read)?;
        }
        let now = now_ms();
        let filter = IntentFilter {
            agent_id,
            status: query.status,
            now_ms: now,
            created_from_ms: query.created_from_ms,
            created_before_ms: query.created_before_ms,
        };
        let records = self.app.store().intents(tenant_id, &filter, page).await?;
        Ok(records.into_iter().map(|r| effective(r, now)).collect())
    }

    /// The tenant's intent as stored, after checking the caller may act
    /// on it with `permission`.
    pub(crate) async fn stored(
        &self,
        principal: &Principal,
        id: &str,
        permission: Permission,
    ) -> Result<IntentRecord> {
        let tenant_id = principal.tenant_id()?;
        let record = self
            .app
            .store()
            .intent(tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("intent", id))?;
        principal.may(&record.agent_id, permission)?;
        Ok(record)
    }

    /// The intent as it stands now, for a move: one whose time to live
    /// ended is expired first, through the sweeper's own store function.
    async fn current(
        &self,
        principal: &Principal,
        id: &str,
        permission: Permission,
    ) -> Result<IntentRecord> {
        let record = self.stored(principal, id, permission).await?;
        let now = now_ms();
        if status_at(&record, now) == record.status {
            return Ok(record);
        }
        self.app
            .store()
            .expire_due(now, 1, EXPIRY_REASON, &|| new_id("ev"), Some(&record.id))
            .await?;
        self.stored(principal, id, permission).await
    }

    /// The permission a transition needs; approving and denying need the
    /// tenant's key.
    fn permission(principal: &Principal, transition: Transition) -> Result<Permission> {
        Ok(match transition {
            Transition::Approve | Transition::Deny => {
                principal.needs(Needs::Approve)?;
                Permission::Read
            }
            Transition::Cancel => Permission::Cancel,
            Transition::Complete
            | Transition::Fail
            | Transition::Expire
            | Transition::Authorize
            | Transition::Capture
            | Transition::Reverse => Permission::Settle,
        })
    }

    /// Checks the caller may make `transition` at all, before anything
    /// else (an idempotent replay included).
    pub fn may_move(principal: &Principal, transition: Transition) -> Result<()> {
        principal.requires(Self::permission(principal, transition)?)
    }

    /// Applies `transition` to an intent: checks who may, that the FSM
    /// allows it from where the intent stands, and that exactly one
    /// concurrent move wins. The move commits only if the intent is still
    /// as it was read (so the answer is what committed), its time to live
    /// has not ended, and, for an approval, its agent is active.
    pub async fn transition(
        &self,
        principal: &Principal,
        id: &str,
        transition: Transition,
        body: MoveBody,
        remember: Remember<'_, IntentWithHistory>,
    ) -> Result<IntentWithHistory> {
        let app = self.app;
        let permission = Self::permission(principal, transition)?;
        principal.requires(permission)?;
        let (reason, note, settlement) = match body {
            MoveBody::Settlement(settlement) => (None, None, Some(settlement)),
            MoveBody::Reason(body) => {
                let reason = body.reason.map(|r| check_reason(&r)).transpose()?;
                if transition == Transition::Fail && reason.is_none() {
                    return Err(AppError::validation("reason", "is required"));
                }
                let note = body
                    .note
                    .map(|note| checked_text("note", &note, MAX_NOTE_CHARS))
                    .transpose()?;
                if note.is_some() && !matches!(transition, Transition::Approve | Transition::Deny) {
                    return Err(AppError::validation(
                        "note",
                        "is an approver's note, given with an approval or a denial",
                    ));
                }
                (reason, note, None)
            }
        };
        let actor = principal.actor();
        let tenant_id = principal.tenant_id()?;
        for _ in 0..ATTEMPTS {
            let record = self.current(principal, id, permission).await?;
            if !transition.allowed_from(record.status) {
                return Err(AppError::invalid_transition(transition, record.status));
            }
            if transition == Transition::Approve {
                let agent = app
                    .store()
                    .agent(tenant_id, &record.agent_id)
                    .await?
                    .ok_or_else(|| AppError::internal("an intent's agent is missing"))?;
                if agent.agent.status != AgentStatus::Active {
                    return Err(not_active(&record.agent_id, agent.agent.status));
                }
                app.cards().refuse_unusable(&record).await?;
            }
            let now = now_ms().max(record.updated_ms + 1);
            let settlement = match &settlement {
                Some(body) => Some(self.settle(&record, body, principal, true, now).await?),
                None => None,
            };
            let mut events = app.store().intent_events(&record.id).await?;
            let to = match transition {
                Transition::Approve => approval_target(&record, &events, &actor)?,
                _ => transition.target(),
            };
            let event = IntentEvent {
                id: new_id("ev"),
                intent_id: record.id.clone(),
                from: Some(record.status),
                to,
                actor: actor.id.clone(),
                actor_name: actor.name.clone(),
                reason: reason.clone(),
                note: note.clone(),
                at_ms: now,
                settlement: settlement.as_ref().map(|s| s.record.clone()),
                kind: None,
            };
            events.push(event.clone());
            let moved = IntentWithHistory {
                record: IntentRecord {
                    status: event.to,
                    status_reason: reason.clone(),
                    updated_ms: now,
                    settlement: settlement
                        .as_ref()
                        .map(|s| s.record.clone())
                        .or_else(|| record.settlement.clone()),
                    ..record.clone()
                },
                events,
                receipt: None,
            };
            let change = StatusChange {
                tenant_id: tenant_id.to_owned(),
                event,
                settlement,
                seen_updated_ms: Some(record.updated_ms),
                require_unexpired: record.status.lives_out(record.intent.recurring.is_some()),
                require_active_agent: transition == Transition::Approve,
            };
            let remember = |receipt: Option<&str>| {
                remember(&IntentWithHistory {
                    receipt: receipt.map(str::to_owned),
                    ..moved.clone()
                })
            };
            if let Some(receipt) = app.store().change_status(&change, &remember).await? {
                if record.status != moved.record.status {
                    count_transition(Some(record.status), moved.record.status);
                }
                return Ok(IntentWithHistory {
                    receipt: Some(receipt),
                    ..moved
                });
            }
            // The intent changed, expired or lost its agent meanwhile: read
            // it again, and answer from where it stands now.
        }
        Err(AppError::Conflict(format!(
            "intent `{id}` keeps changing; retry"
        )))
    }

    /// Records what actually settled on an approved or completed intent,
    /// without changing its status. An agent's report is recorded and
    /// flagged, and never changes its spend; the tenant's confirms the
    /// amount.
    pub async fn verify(
        &self,
        principal: &Principal,
        id: &str,
        body: SettleRequest,
        remember: Remember<'_, IntentWithHistory>,
    ) -> Result<IntentWithHistory> {
        let app = self.app;
        Self::may_settle(principal)?;
        if body.actual_amount_euros.is_none() {
            return Err(AppError::validation("actualAmountEuros", "is required"));
        }
        let tenant_id = principal.tenant_id()?;
        let verifiable = [IntentStatus::Approved, IntentStatus::Completed];
        let actor = principal.actor();
        for _ in 0..ATTEMPTS {
            let record = self.current(principal, id, Permission::Settle).await?;
            if !verifiable.contains(&record.status) {
                return Err(AppError::InvalidTransition {
                    verb: "verify",
                    current: record.status,
                    allowed: verifiable.to_vec(),
                });
            }
            let now = now_ms().max(record.updated_ms + 1);
            let settlement = self.settle(&record, &body, principal, false, now).await?;
            let event = IntentEvent {
                id: new_id("ev"),
                intent_id: record.id.clone(),
                from: Some(record.status),
                to: record.status,
                actor: actor.id.clone(),
                actor_name: actor.name.clone(),
                reason: None,
                note: None,
                at_ms: now,
                settlement: Some(settlement.record.clone()),
                kind: None,
            };
            let mut events = app.store().intent_events(&record.id).await?;
            events.push(event.clone());
            let verified = IntentWithHistory {
                record: IntentRecord {
                    settlement: Some(settlement.record.clone()),
                    updated_ms: now,
                    ..record.clone()
                },
                events,
                receipt: None,
            };
            let update = SettlementUpdate {
                tenant_id: tenant_id.to_owned(),
                intent_id: id.to_owned(),
                status: record.status,
                settlement,
                event_id: event.id,
                actor: event.actor,
                actor_name: event.actor_name,
                at_ms: now,
                seen_updated_ms: record.updated_ms,
            };
            let remember = |receipt: Option<&str>| {
                remember(&IntentWithHistory {
                    receipt: receipt.map(str::to_owned),
                    ..verified.clone()
                })
            };
            if let Some(receipt) = app.store().set_settlement(&update, &remember).await? {
                return Ok(IntentWithHistory {
                    receipt: Some(receipt),
                    ..verified
                });
            }
        }
        Err(AppError::Conflict(format!(
            "intent `{id}` keeps changing; retry"
        )))
    }

    /// Checks a reported settlement against what was declared (see
    /// [`settlement::flags`]). `sets_amount` says whether the settled
    /// amount is to count (completion, or the tenant's verification) or is
    /// only recorded (an agent's verification).
    async fn settle(
        &self,
        record: &IntentRecord,
        body: &SettleRequest,
        principal: &Principal,
        sets_amount: bool,
        now: i64,
    ) -> Result<SettlementWrite> {
        let by = match principal {
            Principal::Agent { .. } => Reporter::Agent,
            Principal::Tenant(_) | Principal::Admin => Reporter::Tenant,
        };
        let (actual, actual_merchant) = body.check(record.intent.currency())?;
        self.settlement_by(
            record,
            actual,
            actual_merchant,
            by,
            principal.actor().id,
            sets_amount,
            now,
        )
        .await
    }

    /// The tolerance a settlement or an authorization of `record` is
    /// checked with, in basis points: its recurring terms', else its
    /// policy version's `amountTolerancePercent`.
    pub(crate) async fn tolerance_bps(&self, record: &IntentRecord) -> Result<u32> {
        let intent = &record.intent;
        // A recurring intent's terms give its tolerance (see
        // `settlement::tolerance_bps`): its policy is not needed for it.
        let policy_tolerance = match intent.recurring {
            Some(_) => 0,
            None => {
                self.app
                    .policy_version(&record.tenant_id, &record.policy_id, record.policy_version)
                    .await?
                    .definition
                    .amount_tolerance_bps
            }
        };
        Ok(settlement::tolerance_bps(intent, policy_tolerance))
    }

    /// [`Intents::settle`] of a checked amount and merchant, reported by
    /// `by` (`reported_by` naming who).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn settlement_by(
        &self,
        record: &IntentRecord,
        actual: Option<Money>,
        actual_merchant: Option<String>,
        by: Reporter,
        reported_by: String,
        sets_amount: bool,
        now: i64,
    ) -> Result<SettlementWrite> {
        let settlement = SettlementRecord::check(
            &record.intent,
            actual,
            actual_merchant,
            self.tolerance_bps(record).await?,
            reported_by,
            time_of(now),
        );
        Ok(SettlementWrite {
            record: settlement.to_json(),
            amount: (sets_amount || by == Reporter::Tenant).then_some(SettledAmount {
                minor: actual.map(|a| a.minor_units),
                by,
            }),
            // What the tenant reports is its own word, never a suspicion.
            flagged: settlement.flagged && by == Reporter::Agent,
        })
    }

    /// Expires every intent whose time to live has ended, but those of
    /// agents another server is working on right now, which its next round
    /// takes. Gives how many it expired.
    pub async fn expire_due(&self) -> Result<u64> {
        let mut expired = 0;
        loop {
            let events = self
                .app
                .store()
                .expire_due(now_ms(), SWEEP_BATCH, EXPIRY_REASON, &|| new_id("ev"), None)
                .await?;
            expired += events.len() as u64;
            for event in &events {
                count_transition(event.from, event.to);
            }
            if (events.len() as i64) < SWEEP_BATCH {
                return Ok(expired);
            }
        }
    }
}

/// A frozen, suspended or archived agent gets no approval.
pub(crate) fn not_active(agent_id: &str, status: AgentStatus) -> AppError {
    AppError::AgentNotActive(format!(
        "agent `{agent_id}` is {}: it gets no approval until it is active",
        status.as_str()
    ))
}
