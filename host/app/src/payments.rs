//! Payment time: a card authorization is approved only when an approved,
//! unexpired intent of the card's agent on that card covers it (same
//! currency, the intent's merchant, the amount within the intent's
//! tolerance). A one-off intent is taken by its first approved
//! authorization (the intent becomes `authorized`, its amount reserved in
//! the agent's usage): of concurrent authorizations, on one server or
//! several, exactly one takes it. A capture completes the intent, flagged
//! as `/verify` would flag it, and appends to the ledger; a reversal
//! returns it to `approved`; refunds are appended to the ledger. A
//! recurring intent stays approved: an authorization holds the window of
//! its series that it falls in (inside one of its cadence windows, none
//! already charged or held by another authorization), and its capture is
//! in the ledger. A decline is an answer with a code, never an error.

use serde::Deserialize;

use warrant_domain::authorization::{
    self, AuthorizationStatus, Decline, Merchant, TransactionKind,
};
use warrant_domain::card::{self, CardStatus, Provider};
use warrant_domain::context::{AgentStatus, RecurringTerms};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_domain::settlement::Reporter;
use warrant_store::{
    Actor, AuthorizationRecord, CardRecord, IntentEvent, IntentRecord, Page, StatusChange,
    StoreError, Take, TransactionFilter, TransactionRecord,
};

use crate::auth::{Needs, Permission, Principal};
use crate::errors::{AppError, Result};
use crate::{App, new_id, now_ms};

/// The body of `POST /authorizations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizationRequest {
    /// The card, by Warrant's id; give this or `externalCardId`.
    #[serde(default)]
    pub card_id: Option<String>,
    /// The card, by its issuer's id.
    #[serde(default)]
    pub external_card_id: Option<String>,
    /// The amount, in minor units of `currency` (cents).
    pub amount: u64,
    /// ISO 4217.
    pub currency: String,
    /// The merchant, as the card network names it.
    pub merchant: Merchant,
    /// The issuer's id of the authorization: asked again, the answer is
    /// the first one's.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// The body of `POST /authorizations/:id/capture`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptureRequest {
    /// The amount settled, in minor units; the authorized amount when
    /// absent.
    #[serde(default)]
    pub amount: Option<u64>,
}

/// The body of `POST /transactions/:id/refund`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundRequest {
    /// The amount refunded, in minor units: at most what is left of the
    /// capture.
    pub amount: u64,
}

/// A capture: the authorization as captured and its ledger entry.
#[derive(Clone, Debug)]
pub struct Captured {
    /// The authorization.
    pub authorization: AuthorizationRecord,
    /// Its ledger entry.
    pub transaction: TransactionRecord,
}

/// What a provider reports of an authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderSettlement {
    /// Captured, for this amount (minor units) in this currency.
    Capture {
        /// Minor units.
        amount: u64,
        /// ISO 4217.
        currency: String,
    },
    /// Refunded in part or all.
    Refund {
        /// Minor units.
        amount: u64,
        /// ISO 4217.
        currency: String,
    },
    /// Reversed: nothing will be captured.
    Reverse,
}

/// The payments service.
pub struct Payments<'a> {
    app: &'a App,
}

impl App {
    /// Card authorizations and the ledger.
    pub fn payments(&self) -> Payments<'_> {
        Payments { app: self }
    }
}

/// What an authorization says before it is checked against intents.
struct Asked {
    amount: Money,
    merchant: Merchant,
    external_id: Option<String>,
}

impl Payments<'_> {
    /// Decides an authorization asked with a tenant's key (one that
    /// configures; never an agent's token).
    pub async fn authorize(
        &self,
        principal: &Principal,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationRecord> {
        let tenant_id = principal.needs(Needs::Configure)?;
        self.authorize_for(tenant_id, &principal.actor(), request, None)
            .await
    }

    /// Decides an authorization for the tenant, asked by `actor` (a key,
    /// or a provider's adapter, which names its `provider` for external
    /// card ids).
    pub async fn authorize_for(
        &self,
        tenant_id: &str,
        actor: &Actor,
        request: AuthorizationRequest,
        provider: Option<Provider>,
    ) -> Result<AuthorizationRecord> {
        let currency = Currency::from_code(&request.currency)
            .map_err(|e| AppError::validation("currency", e.to_string()))?;
        let asked = Asked {
            amount: authorization::amount(request.amount, currency)?,
            merchant: request.merchant.clone().checked()?,
            external_id: request
                .external_id
                .as_deref()
                .map(card::external_id)
                .transpose()?,
        };
        let store = self.app.store();
        if let Some(external_id) = &asked.external_id
            && let Some(known) = store
                .authorization_by_external_id(tenant_id, external_id)
                .await?
        {
            return Ok(known);
        }
        let card = self.card_of(tenant_id, &request, provider).await?;
        let now = now_ms();
        let agent = store
            .agent(tenant_id, &card.agent_id)
            .await?
            .ok_or_else(|| AppError::internal("a card's agent is missing"))?;
        if card.status != CardStatus::Active {
            let reason = format!("card `{}` is {}", card.id, card.status);
            return self
                .decline(&card, asked, Decline::CardFrozen, reason, None, actor, now)
                .await;
        }
        if agent.agent.status != AgentStatus::Active {
            let reason = format!(
                "agent `{}` is {}",
                card.agent_id,
                agent.agent.status.as_str()
            );
            return self
                .decline(
                    &card,
                    asked,
                    Decline::AgentNotActive,
                    reason,
                    None,
                    actor,
                    now,
                )
                .await;
        }
        // First the intents for this merchant, the nearest amounts first,
        // each of which may cover it; declined, the agent's approved
        // intents say which came closest.
        let name = asked.merchant.name.trim().to_lowercase();
        let domain = asked
            .merchant
            .domain
            .clone()
            .unwrap_or_else(|| name.clone());
        let near = ([name.as_str(), domain.as_str()], asked.amount.minor_units);
        let mut closest: Option<(Decline, String, String)> = None;
        let mut keep = |decline: Decline, reason: String, intent_id: &str| {
            if closest.as_ref().is_none_or(|(best, ..)| decline > *best) {
                closest = Some((decline, reason, intent_id.to_owned()));
            }
        };
        for merchants in [Some(near), None] {
            let records: Vec<IntentRecord> = store
                .approved_intents_on(&card.agent_id, &card.id, now, merchants)
                .await?
                .into_iter()
                .filter(|record| {
                    authorization::on_card(
                        record.card.as_ref(),
                        &record.intent,
                        &card.id,
                        &card.name,
                    )
                })
                .collect();
            for record in &records {
                let tolerance = self.app.intents().tolerance_bps(record).await?;
                match authorization::covers(
                    &record.intent,
                    asked.amount,
                    &asked.merchant,
                    tolerance,
                ) {
                    Ok(()) if merchants.is_some() => {
                        let window = match &record.intent.recurring {
                            Some(terms) => match self.free_window(record, terms, now).await? {
                                Ok(window) => Some(window),
                                Err(reason) => {
                                    keep(Decline::OutsideWindow, reason, &record.id);
                                    continue;
                                }
                            },
                            None => None,
                        };
                        if let Some(approved) =
                            self.take(&card, &asked, record, window, actor, now).await?
                        {
                            return Ok(approved);
                        }
                        if window.is_some() {
                            let reason = "another authorization holds this window of the series";
                            keep(Decline::OutsideWindow, reason.into(), &record.id);
                        }
                        // A one-off intent taken by another authorization
                        // meanwhile.
                    }
                    Ok(()) => {}
                    Err((decline, reason)) => keep(decline, reason, &record.id),
                }
            }
        }
        let (decline, reason, intent_id) = match closest {
            Some((decline, reason, intent_id)) => (decline, reason, Some(intent_id)),
            None => (
                Decline::NoIntent,
                format!(
                    "no approved, unexpired intent of agent `{}` on card `{}` is left to cover it",
                    card.agent_id, card.id
                ),
                None,
            ),
        };
        self.decline(&card, asked, decline, reason, intent_id, actor, now)
            .await
    }

    /// The window of a recurring intent's series that a charge now falls
    /// in, when no accepted charge holds it; else why not.
    async fn free_window(
        &self,
        record: &IntentRecord,
        terms: &RecurringTerms,
        now: i64,
    ) -> Result<std::result::Result<(i64, i64), String>> {
        let Some((from, to)) = authorization::charge_window(terms, record.created_ms, now) else {
            return Ok(Err(format!(
                "now is outside every window of intent `{}`'s series",
                record.id
            )));
        };
        let charged = self
            .app
            .store()
            .accepted_charge_times(&record.tenant_id, &record.id)
            .await?;
        if charged.iter().any(|at| (from..=to).contains(at)) {
            return Ok(Err(format!(
                "intent `{}` was already charged in this window of its series",
                record.id
            )));
        }
        Ok(Ok((from, to)))
    }

    /// The card an authorization names: 404 when the tenant has none such.
    async fn card_of(
        &self,
        tenant_id: &str,
        request: &AuthorizationRequest,
        provider: Option<Provider>,
    ) -> Result<CardRecord> {
        let store = self.app.store();
        match (&request.card_id, &request.external_card_id) {
            (Some(id), None) => store
                .card(tenant_id, id)
                .await?
                .ok_or_else(|| AppError::not_found("card", id)),
            (None, Some(external_id)) => {
                let providers = match provider {
                    Some(provider) => vec![provider],
                    None => vec![Provider::Generic, Provider::Stripe],
                };
                for provider in providers {
                    if let Some(card) = store
                        .card_by_external_id(tenant_id, provider, external_id)
                        .await?
                    {
                        return Ok(card);
                    }
                }
                Err(AppError::not_found("card", external_id))
            }
            (Some(_), Some(_)) => Err(AppError::validation(
                "cardId",
                "give either `cardId` or `externalCardId`, not both",
            )),
            (None, None) => Err(AppError::validation(
                "cardId",
                "give one of `cardId` or `externalCardId`",
            )),
        }
    }

    /// Records an approved authorization that takes `record` (a one-off
    /// intent), or the `window` of its series (a recurring one); none when
    /// the intent moved, or another authorization took the window,
    /// meanwhile.
    async fn take(
        &self,
        card: &CardRecord,
        asked: &Asked,
        record: &IntentRecord,
        window: Option<(i64, i64)>,
        actor: &Actor,
        now: i64,
    ) -> Result<Option<AuthorizationRecord>> {
        let id = new_id("auth");
        let at = now.max(record.updated_ms + 1);
        let reason = format!(
            "covered by intent `{}`: {} {} at {}",
            record.id,
            asked.amount.major_units_text(),
            asked.amount.currency.code(),
            asked
                .merchant
                .domain
                .as_deref()
                .unwrap_or(&asked.merchant.name)
        );
        let change = StatusChange {
            tenant_id: card.tenant_id.clone(),
            event: IntentEvent {
                id: new_id("ev"),
                intent_id: record.id.clone(),
                from: Some(IntentStatus::Approved),
                to: IntentStatus::Authorized,
                actor: actor.id.clone(),
                actor_name: actor.name.clone(),
                reason: Some(format!("card authorization `{id}`")),
                note: None,
                at_ms: at,
                settlement: None,
                kind: None,
            },
            settlement: None,
            seen_updated_ms: None,
            require_unexpired: true,
            require_active_agent: true,
        };
        let authorization = AuthorizationRecord {
            id,
            tenant_id: card.tenant_id.clone(),
            card_id: card.id.clone(),
            agent_id: card.agent_id.clone(),
            intent_id: Some(record.id.clone()),
            amount: asked.amount,
            merchant: asked.merchant.clone(),
            external_id: asked.external_id.clone(),
            approved: true,
            code: "approved".into(),
            reason,
            status: AuthorizationStatus::Pending,
            captured_minor: None,
            created_ms: at,
            updated_ms: at,
        };
        let take = match window {
            Some((from_ms, to_ms)) => Take::Window {
                intent_id: &record.id,
                from_ms,
                to_ms,
            },
            None => Take::Intent(&change),
        };
        let recorded = self.record(&authorization, Some(take), actor).await?;
        if recorded.is_some() {
            metrics::counter!("warrant_authorizations_total", "outcome" => "approved").increment(1);
        }
        Ok(recorded)
    }

    /// Records a declined authorization.
    #[allow(clippy::too_many_arguments)]
    async fn decline(
        &self,
        card: &CardRecord,
        asked: Asked,
        decline: Decline,
        reason: String,
        intent_id: Option<String>,
        actor: &Actor,
        now: i64,
    ) -> Result<AuthorizationRecord> {
        let authorization = AuthorizationRecord {
            id: new_id("auth"),
            tenant_id: card.tenant_id.clone(),
            card_id: card.id.clone(),
            agent_id: card.agent_id.clone(),
            intent_id,
            amount: asked.amount,
            merchant: asked.merchant,
            external_id: asked.external_id,
            approved: false,
            code: decline.code().into(),
            reason,
            status: AuthorizationStatus::Declined,
            captured_minor: None,
            created_ms: now,
            updated_ms: now,
        };
        metrics::counter!("warrant_authorizations_total", "outcome" => "declined").increment(1);
        self.record(&authorization, None, actor)
            .await?
            .ok_or_else(|| AppError::internal("a declined authorization was not recorded"))
    }

    /// Records an authorization; of two with one issuer's id at once, the
    /// second answers the first.
    async fn record(
        &self,
        authorization: &AuthorizationRecord,
        take: Option<Take<'_>>,
        actor: &Actor,
    ) -> Result<Option<AuthorizationRecord>> {
        let store = self.app.store();
        match store.record_authorization(authorization, take, actor).await {
            Err(StoreError::Duplicate) => match &authorization.external_id {
                Some(external_id) => Ok(store
                    .authorization_by_external_id(&authorization.tenant_id, external_id)
                    .await?),
                None => Err(AppError::internal("an authorization's id was taken")),
            },
            other => Ok(other?),
        }
    }

    /// One of the tenant's authorizations; an agent token sees its own
    /// agent's.
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<AuthorizationRecord> {
        let tenant_id = principal.tenant_id()?;
        let authorization = self
            .app
            .store()
            .authorization(tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("authorization", id))?;
        principal.reads_of_agent(&authorization.agent_id, "authorization", id)?;
        Ok(authorization)
    }

    /// A pending authorization of the tenant.
    async fn pending(
        &self,
        tenant_id: &str,
        id: &str,
        verb: &str,
    ) -> Result<(AuthorizationRecord, IntentRecord)> {
        let authorization = self
            .app
            .store()
            .authorization(tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("authorization", id))?;
        if authorization.status != AuthorizationStatus::Pending {
            return Err(AppError::Conflict(format!(
                "authorization `{id}` is {}: only a pending one is {verb}",
                authorization.status.as_str()
            )));
        }
        let intent_id = authorization
            .intent_id
            .as_deref()
            .ok_or_else(|| AppError::internal("an approved authorization names no intent"))?;
        let intent = self
            .app
            .store()
            .intent(tenant_id, intent_id)
            .await?
            .ok_or_else(|| AppError::internal("an authorization's intent is missing"))?;
        Ok((authorization, intent))
    }

    /// Captures a pending authorization: its intent completes with the
    /// amount and merchant settled (flagged as `/verify` would flag them),
    /// and the ledger gains the capture.
    pub async fn capture(
        &self,
        principal: &Principal,
        id: &str,
        request: CaptureRequest,
    ) -> Result<Captured> {
        let tenant_id = principal.needs(Needs::Configure)?;
        self.capture_for(tenant_id, &principal.actor(), id, request.amount, None)
            .await
    }

    /// [`Payments::capture`] for the tenant, by `actor`, with the
    /// provider's id of the capture.
    async fn capture_for(
        &self,
        tenant_id: &str,
        actor: &Actor,
        id: &str,
        amount: Option<u64>,
        external_id: Option<&str>,
    ) -> Result<Captured> {
        let (authorization, intent) = self.pending(tenant_id, id, "captured").await?;
        let amount = match amount {
            Some(minor) => authorization::amount(minor, authorization.amount.currency)?,
            None => authorization.amount,
        };
        let now = now_ms().max(intent.updated_ms + 1);
        // A one-off intent completes with what settled; a recurring one
        // stays approved for the rest of its series.
        let change = match intent.intent.recurring {
            Some(_) => None,
            None => Some(
                self.completion(&intent, &authorization, amount, actor, now)
                    .await?,
            ),
        };
        let transaction = TransactionRecord {
            id: new_id("txn"),
            tenant_id: intent.tenant_id.clone(),
            kind: TransactionKind::Capture,
            authorization_id: authorization.id.clone(),
            refund_of: None,
            card_id: authorization.card_id.clone(),
            agent_id: authorization.agent_id.clone(),
            intent_id: Some(intent.id.clone()),
            amount,
            merchant: authorization.merchant.clone(),
            external_id: external_id.map(str::to_owned),
            created_ms: now,
        };
        let captured = self
            .app
            .store()
            .settle_authorization(
                &intent.tenant_id,
                id,
                AuthorizationStatus::Captured,
                change.as_ref(),
                Some(&transaction),
                actor,
                now,
            )
            .await?
            .ok_or_else(|| moved(id))?;
        Ok(Captured {
            authorization: captured,
            transaction,
        })
    }

    /// The move that completes a one-off intent with its capture: the
    /// amount and merchant settled, flagged as `/verify` would flag them.
    async fn completion(
        &self,
        intent: &IntentRecord,
        authorization: &AuthorizationRecord,
        amount: Money,
        actor: &Actor,
        now: i64,
    ) -> Result<StatusChange> {
        let merchant = &authorization.merchant;
        let settled_at = merchant
            .domain
            .clone()
            .unwrap_or_else(|| merchant.name.clone());
        let settlement = self
            .app
            .intents()
            .settlement_by(
                intent,
                Some(amount),
                Some(settled_at),
                Reporter::Tenant,
                actor.id.clone(),
                true,
                now,
            )
            .await?;
        Ok(StatusChange {
            tenant_id: intent.tenant_id.clone(),
            event: IntentEvent {
                id: new_id("ev"),
                intent_id: intent.id.clone(),
                from: Some(IntentStatus::Authorized),
                to: IntentStatus::Completed,
                actor: actor.id.clone(),
                actor_name: actor.name.clone(),
                reason: Some(format!(
                    "card authorization `{}` captured",
                    authorization.id
                )),
                note: None,
                at_ms: now,
                settlement: Some(settlement.record.clone()),
                kind: None,
            },
            settlement: Some(settlement),
            seen_updated_ms: None,
            require_unexpired: false,
            require_active_agent: false,
        })
    }

    /// Reverses a pending authorization: its reservation is released and
    /// its intent approved again (expired, if its time to live ended
    /// meanwhile).
    pub async fn reverse(&self, principal: &Principal, id: &str) -> Result<AuthorizationRecord> {
        let tenant_id = principal.needs(Needs::Configure)?;
        self.reverse_for(tenant_id, &principal.actor(), id).await
    }

    /// [`Payments::reverse`] for the tenant, by `actor`.
    async fn reverse_for(
        &self,
        tenant_id: &str,
        actor: &Actor,
        id: &str,
    ) -> Result<AuthorizationRecord> {
        let (_, intent) = self.pending(tenant_id, id, "reversed").await?;
        let now = now_ms().max(intent.updated_ms + 1);
        let change = StatusChange {
            tenant_id: intent.tenant_id.clone(),
            event: IntentEvent {
                id: new_id("ev"),
                intent_id: intent.id.clone(),
                from: Some(IntentStatus::Authorized),
                to: IntentStatus::Approved,
                actor: actor.id.clone(),
                actor_name: actor.name.clone(),
                reason: Some(format!("card authorization `{id}` reversed")),
                note: None,
                at_ms: now,
                settlement: None,
                kind: None,
            },
            settlement: None,
            seen_updated_ms: None,
            require_unexpired: false,
            require_active_agent: false,
        };
        self.app
            .store()
            .settle_authorization(
                &intent.tenant_id,
                id,
                AuthorizationStatus::Reversed,
                // A recurring intent never left `approved`.
                intent.intent.recurring.is_none().then_some(&change),
                None,
                actor,
                now,
            )
            .await?
            .ok_or_else(|| moved(id))
    }

    /// Refunds part or all of a capture: appended to the ledger.
    pub async fn refund(
        &self,
        principal: &Principal,
        id: &str,
        request: RefundRequest,
    ) -> Result<TransactionRecord> {
        let tenant_id = principal.needs(Needs::Configure)?;
        self.refund_for(tenant_id, &principal.actor(), id, request.amount, None)
            .await
    }

    /// [`Payments::refund`] for the tenant, by `actor`, with the
    /// provider's id of the refund.
    async fn refund_for(
        &self,
        tenant_id: &str,
        actor: &Actor,
        id: &str,
        amount: u64,
        external_id: Option<&str>,
    ) -> Result<TransactionRecord> {
        let capture = self
            .app
            .store()
            .transaction(tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("transaction", id))?;
        if capture.kind != TransactionKind::Capture {
            return Err(AppError::Conflict(format!(
                "transaction `{id}` is a refund: only a capture is refunded"
            )));
        }
        let amount = authorization::amount(amount, capture.amount.currency)?;
        let refund = TransactionRecord {
            id: new_id("txn"),
            kind: TransactionKind::Refund,
            refund_of: Some(capture.id.clone()),
            amount,
            created_ms: now_ms(),
            external_id: external_id.map(str::to_owned),
            ..capture
        };
        match self.app.store().record_refund(&refund, actor).await? {
            Some(Ok(_)) => Ok(refund),
            Some(Err(left)) => Err(AppError::Conflict(format!(
                "transaction `{id}` has {} {} left to refund",
                Money {
                    minor_units: left,
                    currency: amount.currency
                }
                .major_units_text(),
                amount.currency.code()
            ))),
            None => Err(AppError::not_found("transaction", id)),
        }
    }

    /// A page of the tenant's ledger, newest first; an agent token sees
    /// its own agent's.
    pub async fn transactions(
        &self,
        principal: &Principal,
        mut filter: TransactionFilter,
        page: &Page,
    ) -> Result<Vec<TransactionRecord>> {
        let tenant_id = principal.tenant_id()?;
        if filter.agent_id.is_none() {
            filter.agent_id = principal.own_agent().map(str::to_owned);
        }
        match &filter.agent_id {
            Some(agent_id) => principal.may(agent_id, Permission::Read)?,
            None => principal.requires(Permission::Read)?,
        }
        Ok(self
            .app
            .store()
            .transactions(tenant_id, &filter, page)
            .await?)
    }

    /// One entry of the ledger.
    pub async fn transaction(&self, principal: &Principal, id: &str) -> Result<TransactionRecord> {
        let tenant_id = principal.tenant_id()?;
        let entry = self
            .app
            .store()
            .transaction(tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("transaction", id))?;
        principal.reads_of_agent(&entry.agent_id, "transaction", id)?;
        Ok(entry)
    }

    /// Records what a provider reports of its authorization `external_id`
    /// (a capture, a refund, a reversal), once per provider's event
    /// `event_id`; whether it recorded anything (an authorization Warrant
    /// never saw, or an event already recorded, records nothing).
    pub async fn settle_from_provider(
        &self,
        tenant_id: &str,
        actor: &Actor,
        external_id: &str,
        settlement: ProviderSettlement,
        event_id: &str,
    ) -> Result<bool> {
        let store = self.app.store();
        let Some(authorization) = store
            .authorization_by_external_id(tenant_id, external_id)
            .await?
        else {
            return Ok(false);
        };
        if store
            .transaction_by_external_id(tenant_id, event_id)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        let same_currency = |currency: &str| {
            if currency == authorization.amount.currency.code() {
                Ok(())
            } else {
                Err(AppError::validation(
                    "currency",
                    format!(
                        "the authorization is in {}",
                        authorization.amount.currency.code()
                    ),
                ))
            }
        };
        match settlement {
            ProviderSettlement::Capture { amount, currency } => {
                same_currency(&currency)?;
                if authorization.status != AuthorizationStatus::Pending {
                    return Ok(false);
                }
                self.capture_for(
                    tenant_id,
                    actor,
                    &authorization.id,
                    Some(amount),
                    Some(event_id),
                )
                .await?;
            }
            ProviderSettlement::Refund { amount, currency } => {
                same_currency(&currency)?;
                let Some(capture) = store.capture_of(&authorization.id).await? else {
                    return Ok(false);
                };
                self.refund_for(tenant_id, actor, &capture.id, amount, Some(event_id))
                    .await?;
            }
            ProviderSettlement::Reverse => {
                if authorization.status != AuthorizationStatus::Pending {
                    return Ok(false);
                }
                self.reverse_for(tenant_id, actor, &authorization.id)
                    .await?;
            }
        }
        Ok(true)
    }
}

fn moved(id: &str) -> AppError {
    AppError::Conflict(format!(
        "authorization `{id}` changed meanwhile; read it again"
    ))
}
