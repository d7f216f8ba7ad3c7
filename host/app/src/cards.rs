//! Cards: each belongs to one agent, by a name unique among that agent's
//! cards that are not closed. A card can be frozen (nothing is approved or
//! authorized on it) and unfrozen, and closed for good; archiving or
//! suspending its agent freezes it (in the store, with the agent's change).

use serde::Deserialize;

use warrant_domain::card::{self, CardStatus, IntentCard, Provider};
use warrant_domain::context::{AgentStatus, Card};
use warrant_domain::money::Currency;
use warrant_store::{CardFilter, CardRecord, IntentRecord, Page, StoreError};

use crate::auth::{Permission, Principal};
use crate::errors::{AppError, Result};
use crate::{App, new_id, now_ms};

/// The body of `POST /cards`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CardRequest {
    /// The agent that pays with it.
    pub agent_id: String,
    /// Its name, unique among the agent's cards that are not closed.
    pub name: String,
    /// The currency it pays in, ISO 4217; EUR when absent.
    #[serde(default)]
    pub currency: Option<String>,
    /// The last four digits of its number.
    #[serde(default)]
    pub last4: Option<String>,
    /// Who issues it: `generic` (default) or `stripe`.
    #[serde(default)]
    pub provider: Option<Provider>,
    /// The issuer's id of the card; for Stripe its `ic_…` id, required.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// The body of `PATCH /cards/:id`: what changes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CardPatch {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// New last four digits.
    #[serde(default)]
    pub last4: Option<String>,
    /// A new issuer's id.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// What `GET /cards` filters on.
#[derive(Debug, Default)]
pub struct CardQuery {
    /// Only this agent's cards.
    pub agent_id: Option<String>,
}

/// The cards service.
pub struct Cards<'a> {
    app: &'a App,
}

impl App {
    /// Cards agents pay with.
    pub fn cards(&self) -> Cards<'_> {
        Cards { app: self }
    }
}

/// Which way a card's status is to move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardMove {
    /// Nothing is approved or authorized on it until it is unfrozen.
    Freeze,
    /// It may be paid with again.
    Unfreeze,
    /// Closed for good.
    Close,
}

fn duplicate(name: &str, external_id: Option<&str>) -> AppError {
    AppError::Conflict(match external_id {
        Some(external_id) => format!(
            "the agent has a card named `{name}`, or the tenant a card with the provider's id \
             `{external_id}`, that is not closed"
        ),
        None => format!("the agent has a card named `{name}` that is not closed"),
    })
}

fn checked_external_id(provider: Provider, external_id: Option<&str>) -> Result<Option<String>> {
    let external_id = external_id.map(card::external_id).transpose()?;
    if provider == Provider::Stripe {
        match &external_id {
            Some(id) if id.starts_with("ic_") => {}
            Some(_) => {
                return Err(AppError::validation(
                    "externalId",
                    "a Stripe card's id starts with `ic_`",
                ));
            }
            None => {
                return Err(AppError::validation(
                    "externalId",
                    "is required for a Stripe card: its `ic_…` id",
                ));
            }
        }
    }
    Ok(external_id)
}

impl Cards<'_> {
    /// Makes a card for an agent that is not archived.
    pub async fn create(&self, principal: &Principal, request: CardRequest) -> Result<CardRecord> {
        let tenant_id = principal.configures()?;
        let name = card::card_name("name", &request.name)?;
        let currency = match &request.currency {
            Some(code) => Currency::from_code(code)
                .map_err(|e| AppError::validation("currency", e.to_string()))?,
            None => Currency::EUR,
        };
        let last4 = request.last4.as_deref().map(card::last4).transpose()?;
        let provider = request.provider.unwrap_or_default();
        let external_id = checked_external_id(provider, request.external_id.as_deref())?;
        let agent = self
            .app
            .store()
            .agent(tenant_id, &request.agent_id)
            .await?
            .ok_or_else(|| {
                AppError::validation("agentId", format!("no agent `{}`", request.agent_id))
            })?;
        if agent.agent.status == AgentStatus::Archived {
            return Err(AppError::AgentNotActive(format!(
                "agent `{}` is archived: it gets no new cards",
                request.agent_id
            )));
        }
        let now = now_ms();
        let card = CardRecord {
            id: new_id("ca"),
            tenant_id: tenant_id.to_owned(),
            agent_id: request.agent_id,
            name,
            currency,
            last4,
            provider,
            external_id,
            status: CardStatus::Active,
            created_ms: now,
            updated_ms: now,
        };
        match self
            .app
            .store()
            .insert_card(&card, &principal.actor())
            .await
        {
            Ok(()) => Ok(card),
            Err(StoreError::Duplicate) => Err(duplicate(&card.name, card.external_id.as_deref())),
            Err(e) => Err(e.into()),
        }
    }

    /// A page of the tenant's cards, newest first; an agent token sees
    /// its own agent's.
    pub async fn list(
        &self,
        principal: &Principal,
        query: CardQuery,
        page: &Page,
    ) -> Result<Vec<CardRecord>> {
        let tenant_id = principal.tenant_id()?;
        let agent_id = query
            .agent_id
            .or_else(|| principal.own_agent().map(str::to_owned));
        match &agent_id {
            Some(agent_id) => principal.may(agent_id, Permission::Read)?,
            None => principal.requires(Permission::Read)?,
        }
        let filter = CardFilter { agent_id };
        Ok(self.app.store().cards(tenant_id, &filter, page).await?)
    }

    /// One of the tenant's cards (an agent token: of its own agent).
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<CardRecord> {
        let tenant_id = principal.tenant_id()?;
        let card = self
            .app
            .store()
            .card(tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("card", id))?;
        principal.reads_of_agent(&card.agent_id, "card", id)?;
        Ok(card)
    }

    /// Changes a card's name, last digits or issuer's id; a closed card
    /// changes no more.
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        patch: CardPatch,
    ) -> Result<CardRecord> {
        let tenant_id = principal.configures()?;
        let name = patch
            .name
            .as_deref()
            .map(|n| card::card_name("name", n))
            .transpose()?;
        let last4 = patch.last4.as_deref().map(card::last4).transpose()?;
        let current = self.show(principal, id).await?;
        let external_id = match &patch.external_id {
            Some(external_id) => checked_external_id(current.provider, Some(external_id))?,
            None => None,
        };
        let change = |card: &mut CardRecord| {
            if card.status == CardStatus::Closed {
                return None;
            }
            if let Some(name) = &name {
                card.name.clone_from(name);
            }
            if last4.is_some() {
                card.last4.clone_from(&last4);
            }
            if external_id.is_some() {
                card.external_id.clone_from(&external_id);
            }
            Some("card.updated")
        };
        let updated = match self
            .app
            .store()
            .update_card(tenant_id, id, &change, &principal.actor(), now_ms())
            .await
        {
            Ok(Some(card)) => card,
            Ok(None) => return Err(AppError::not_found("card", id)),
            Err(StoreError::Duplicate) => {
                return Err(duplicate(
                    name.as_deref().unwrap_or(&current.name),
                    external_id.as_deref(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if updated.status == CardStatus::Closed {
            return Err(closed(id));
        }
        Ok(updated)
    }

    /// Freezes, unfreezes or closes a card. Freezing a frozen card,
    /// unfreezing an active one or closing a closed one answers it as it
    /// is; a closed card is neither frozen nor unfrozen; a card of an agent that is suspended or archived is not
    /// unfrozen.
    pub async fn move_to(
        &self,
        principal: &Principal,
        id: &str,
        step: CardMove,
    ) -> Result<CardRecord> {
        let tenant_id = principal.configures()?;
        let card = self.show(principal, id).await?;
        if card.status == CardStatus::Closed && step != CardMove::Close {
            return Err(closed(id));
        }
        if step == CardMove::Unfreeze {
            let agent = self
                .app
                .store()
                .agent(tenant_id, &card.agent_id)
                .await?
                .ok_or_else(|| AppError::internal("a card's agent is missing"))?;
            if matches!(
                agent.agent.status,
                AgentStatus::Suspended | AgentStatus::Archived
            ) {
                return Err(AppError::AgentNotActive(format!(
                    "agent `{}` is {}: its cards stay frozen",
                    card.agent_id,
                    agent.agent.status.as_str()
                )));
            }
        }
        let change = |card: &mut CardRecord| match (card.status, step) {
            (CardStatus::Closed, _) => None,
            (CardStatus::Active, CardMove::Freeze) => {
                card.status = CardStatus::Frozen;
                Some("card.frozen")
            }
            (CardStatus::Frozen, CardMove::Unfreeze) => {
                card.status = CardStatus::Active;
                Some("card.unfrozen")
            }
            (_, CardMove::Close) => {
                card.status = CardStatus::Closed;
                Some("card.closed")
            }
            _ => None,
        };
        let moved = self
            .app
            .store()
            .update_card(tenant_id, id, &change, &principal.actor(), now_ms())
            .await?
            .ok_or_else(|| AppError::not_found("card", id))?;
        if moved.status == CardStatus::Closed && step != CardMove::Close {
            return Err(closed(id));
        }
        Ok(moved)
    }
}

impl Cards<'_> {
    /// The card an intent of `agent_id` declares by `cardId` or
    /// `cardName`, as the store found it among the agent's (`found`, with
    /// its status): 400 naming the field when the agent has no such card
    /// (another agent's is none of its own), 409 `E_CARD_FROZEN` when it is
    /// frozen or closed, as nothing is approved on it.
    pub(crate) fn declared_on(
        agent_id: &str,
        declared: &Card,
        found: Option<(IntentCard, CardStatus)>,
    ) -> Result<IntentCard> {
        let (field, text) = match declared {
            Card::Id(id) => ("cardId", id),
            Card::Name(name) => ("cardName", name),
        };
        let (card, status) = found.ok_or_else(|| {
            AppError::validation(field, format!("no card `{text}` of agent `{agent_id}`"))
        })?;
        refuse_status(&card.id, status)?;
        Ok(card)
    }

    /// Refuses what would let an intent be paid (an approval, a secret's
    /// reveal) when its card is frozen or closed: the card it was declared
    /// on, or for an intent declared before cards were checked, the
    /// agent's card it names.
    pub(crate) async fn refuse_unusable(&self, record: &IntentRecord) -> Result<()> {
        let store = self.app.store();
        let card = match &record.card {
            Some(card) => store
                .card(&record.tenant_id, &card.id)
                .await?
                .map(|card| (card.id, card.status)),
            None => store
                .agent_with_card(&record.tenant_id, &record.agent_id, &record.intent.card)
                .await?
                .and_then(|(_, card)| card)
                .map(|(card, status)| (card.id, status)),
        };
        match card {
            Some((id, status)) => refuse_status(&id, status),
            None => Ok(()),
        }
    }
}

/// Refuses card `id` unless `status` is active.
fn refuse_status(id: &str, status: CardStatus) -> Result<()> {
    if status == CardStatus::Active {
        return Ok(());
    }
    Err(AppError::CardNotUsable(format!(
        "card `{id}` is {status}: nothing is approved, revealed or authorized on it"
    )))
}

fn closed(id: &str) -> AppError {
    AppError::Conflict(format!("card `{id}` is closed: it changes no more"))
}
