//! Agents: created within their tenant's plan, changed (every change a
//! version), frozen and thawed, archived, stopped by the kill switch and
//! made active again; their tokens, versions and events. Every change of
//! an agent's status, and every token issued or revoked, is one of its
//! events.

use serde_json::{Map, Value};
use warrant_domain::agent::{
    AgentRequest, AgentUpdate, StatusRefusal, check_list, check_metadata, check_name, check_profile,
};
use warrant_domain::context::{Agent, AgentProfile, AgentStatus, AgentType};
use warrant_domain::intent::check_reason;
use warrant_store::{
    AgentEvent, AgentFilter, AgentRecord, AgentVersion, Page, StoreError, Suspension,
};

use warrant_domain::signature::SecretJwk;

use crate::agent_keys::new_key_pair;
use crate::auth::{Permission, Principal};
use crate::errors::{AppError, Result};
use crate::{App, Remember, new_id, now_ms};

/// The agents service.
pub struct Agents<'a> {
    pub(crate) app: &'a App,
}

impl App {
    /// Agents, their tokens, versions and events.
    pub fn agents(&self) -> Agents<'_> {
        Agents { app: self }
    }
}

/// A tenant's reversible hold on an agent: frozen, its intents are
/// refused until it is thawed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Active → frozen.
    Freeze,
    /// Frozen → active.
    Unfreeze,
}

/// Which agents to list.
#[derive(Clone, Debug, Default)]
pub struct AgentQuery {
    /// Only those in this status.
    pub status: Option<AgentStatus>,
    /// Only those of this type.
    pub agent_type: Option<AgentType>,
}

/// How an agent stops: suspended by the kill switch, or archived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Suspend,
    Archive,
}

fn archived(id: &str) -> AppError {
    AppError::AgentNotActive(format!("agent `{id}` is archived and cannot change"))
}

impl Agents<'_> {
    /// The tenant's agent, or 404.
    pub(crate) async fn find(&self, tenant_id: &str, id: &str) -> Result<AgentRecord> {
        self.app
            .store()
            .agent(tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("agent", id))
    }

    /// An event of `agent` made by `principal` now.
    pub(crate) fn event(
        principal: &Principal,
        agent: &AgentRecord,
        kind: &str,
        message: String,
    ) -> AgentEvent {
        Self::event_of(principal, &agent.tenant_id, &agent.agent.id, kind, message)
    }

    /// An event of the tenant's agent `agent_id` made by `principal` now.
    pub(crate) fn event_of(
        principal: &Principal,
        tenant_id: &str,
        agent_id: &str,
        kind: &str,
        message: String,
    ) -> AgentEvent {
        let actor = principal.actor();
        AgentEvent {
            id: new_id("evt"),
            tenant_id: tenant_id.to_owned(),
            agent_id: agent_id.to_owned(),
            kind: kind.to_owned(),
            actor: actor.id,
            actor_name: actor.name,
            message,
            intent_id: None,
            at_ms: now_ms(),
        }
    }

    async fn check_policy(&self, tenant_id: &str, policy_id: &str) -> Result<()> {
        match self.app.store().policy(tenant_id, policy_id, None).await? {
            Some(_) => Ok(()),
            None => Err(AppError::validation(
                "policyId",
                format!("no policy `{policy_id}`"),
            )),
        }
    }

    /// Creates an agent, active, at version 1, within the tenant's plan,
    /// with a new Ed25519 key: the answer holds the key's secret half, kept
    /// nowhere (not in what an idempotent replay answers either).
    pub async fn create(
        &self,
        principal: &Principal,
        request: AgentRequest,
        remember: Remember<'_, AgentRecord>,
    ) -> Result<(AgentRecord, SecretJwk)> {
        let tenant_id = principal.configures()?;
        let name = check_name(&request.name)?;
        let profile = check_profile(request.profile)?;
        let tags = check_list("tags", request.tags)?;
        let metadata = check_metadata(request.metadata)?;
        self.check_policy(tenant_id, &request.policy_id).await?;
        let now = now_ms();
        let id = new_id("ag");
        let key = new_key_pair(tenant_id, &id)?;
        let record = AgentRecord {
            tenant_id: tenant_id.to_owned(),
            policy_id: request.policy_id,
            policy_version: 0,
            agent: Agent {
                id,
                name,
                status: AgentStatus::Active,
                agent_type: request.agent_type,
                profile,
                tags,
                metadata,
                baseline: None,
            },
            version: 1,
            created_ms: now,
            updated_ms: now,
            signing_key: Some(key.key),
            usage_version: 0,
        };
        self.app
            .store()
            .insert_agent(&record, &principal.actor(), remember(&record).as_ref())
            .await?;
        let secret = key
            .secret
            .ok_or_else(|| AppError::internal("a new key pair without its secret"))?;
        Ok((record, secret))
    }

    /// A page of the tenant's agents, newest first.
    pub async fn list(
        &self,
        principal: &Principal,
        query: AgentQuery,
        page: &Page,
    ) -> Result<Vec<AgentRecord>> {
        let tenant_id = principal.reads()?;
        let filter = AgentFilter {
            status: query.status,
            agent_type: query.agent_type,
        };
        Ok(self.app.store().agents(tenant_id, &filter, page).await?)
    }

    /// The caller's agent (an agent token reads its own).
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<AgentRecord> {
        let tenant_id = principal.tenant_id()?;
        // Permission first: an agent's token learns nothing of other
        // agents, not even whether they exist.
        principal.may(id, Permission::Read)?;
        self.find(tenant_id, id).await
    }

    /// Changes an agent's name, policy, type, profile, tags, metadata, and
    /// its status between active and frozen, as its next version.
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        update: AgentUpdate,
    ) -> Result<AgentRecord> {
        let tenant_id = principal.configures()?;
        let mut record = self.find(tenant_id, id).await?;
        let before = record.clone();
        if let Some(name) = &update.name {
            record.agent.name = check_name(name)?;
        }
        if let Some(profile) = update.profile.clone() {
            record.agent.profile = check_profile(profile)?;
        }
        if let Some(agent_type) = update.agent_type {
            record.agent.agent_type = agent_type;
        }
        if let Some(tags) = update.tags.clone() {
            record.agent.tags = check_list("tags", tags)?;
        }
        if let Some(metadata) = update.metadata.clone() {
            record.agent.metadata = check_metadata(metadata)?;
        }
        if let Some(policy_id) = &update.policy_id {
            self.check_policy(tenant_id, policy_id).await?;
            record.policy_id = policy_id.clone();
        }
        update
            .check_status(id, record.agent.status)
            .map_err(|refusal| match refusal {
                StatusRefusal::Invalid(error) => AppError::Validation(error),
                StatusRefusal::Suspended(message) => AppError::AgentTransition {
                    current: AgentStatus::Suspended,
                    message,
                },
            })?;
        record.updated_ms = now_ms();
        let from = record.agent.status;
        // A version is a change of configuration; a move of status alone
        // is an event.
        fn configured(
            r: &AgentRecord,
        ) -> (
            &str,
            &str,
            AgentType,
            &AgentProfile,
            &[String],
            &Map<String, Value>,
        ) {
            let a = &r.agent;
            (
                &a.name,
                &r.policy_id,
                a.agent_type,
                &a.profile,
                &a.tags,
                &a.metadata,
            )
        }
        let new_version = configured(&record) != configured(&before);
        let event = match update.status {
            Some(to) if to != from => {
                record.agent.status = to;
                let kind = if to == AgentStatus::Frozen {
                    "frozen"
                } else {
                    "unfrozen"
                };
                Some(Self::event(principal, &record, kind, kind.to_owned()))
            }
            _ => None,
        };
        if !self
            .app
            .store()
            .update_agent(
                &record,
                from,
                new_version,
                &principal.actor(),
                event.as_ref(),
            )
            .await?
        {
            let now = self.find(tenant_id, id).await?;
            return Err(match now.agent.status {
                AgentStatus::Archived => {
                    AppError::Conflict(format!("agent `{id}` is archived and cannot change"))
                }
                status @ AgentStatus::Suspended => AppError::AgentTransition {
                    current: status,
                    message: format!("agent `{id}` was suspended meanwhile"),
                },
                _ => AppError::Conflict(format!("agent `{id}` changed meanwhile; retry")),
            });
        }
        self.find(tenant_id, id).await
    }

    /// Puts a tenant's reversible hold on an agent, or lifts it, and
    /// records it as an event (`frozen`, `unfrozen`). An agent already in
    /// the status the hold leads to answers as it is; any other status is
    /// a conflict.
    pub async fn hold(
        &self,
        principal: &Principal,
        id: &str,
        hold: Hold,
        remember: Remember<'_, AgentRecord>,
    ) -> Result<AgentRecord> {
        let (from, to, kind) = match hold {
            Hold::Freeze => (AgentStatus::Active, AgentStatus::Frozen, "frozen"),
            Hold::Unfreeze => (AgentStatus::Frozen, AgentStatus::Active, "unfrozen"),
        };
        let tenant_id = principal.configures()?;
        let mut record = self.find(tenant_id, id).await?;
        if record.agent.status == to {
            return Ok(record);
        }
        if record.agent.status != from {
            return Err(AppError::Conflict(format!(
                "agent `{id}` is {}",
                record.agent.status.as_str()
            )));
        }
        let event = Self::event(principal, &record, kind, kind.to_owned());
        record.agent.status = to;
        record.updated_ms = event.at_ms;
        if self
            .app
            .store()
            .set_agent_status_logged(&event, &[from], to, remember(&record).as_ref())
            .await?
        {
            Ok(record)
        } else {
            Err(AppError::Conflict(format!(
                "agent `{id}` changed meanwhile; retry"
            )))
        }
    }

    /// Stops an agent in one transaction: it becomes suspended or
    /// archived, each of its intents that is pending approval or approved
    /// is cancelled, each of its live tokens is revoked, and the event is
    /// recorded.
    async fn stop(
        &self,
        principal: &Principal,
        id: &str,
        stop: Stop,
        reason: String,
        remember: Remember<'_, Suspension>,
    ) -> Result<Suspension> {
        let tenant_id = principal.configures()?;
        let (kind, to, intent_reason) = match stop {
            Stop::Suspend => (
                "emergency-suspend",
                AgentStatus::Suspended,
                format!("emergency suspension: {reason}"),
            ),
            Stop::Archive => (
                "archived",
                AgentStatus::Archived,
                "its agent was archived".to_owned(),
            ),
        };
        let event = Self::event_of(principal, tenant_id, id, kind, reason);
        match self
            .app
            .store()
            .stop_agent(&event, to, &intent_reason, remember)
            .await
        {
            Ok(Some(stopped)) => Ok(stopped),
            Ok(None) => Err(AppError::not_found("agent", id)),
            Err(StoreError::AgentNotActive(AgentStatus::Archived)) => Err(archived(id)),
            Err(e) => Err(e.into()),
        }
    }

    /// The kill switch: suspends the agent, cancels its live intents and
    /// revokes its tokens, in one transaction.
    pub async fn emergency_suspend(
        &self,
        principal: &Principal,
        id: &str,
        reason: &str,
        remember: Remember<'_, Suspension>,
    ) -> Result<Suspension> {
        let reason = check_reason(reason)?;
        self.stop(principal, id, Stop::Suspend, reason, remember)
            .await
    }

    /// Archives an agent: like the kill switch, it holds nothing payable
    /// afterwards (its live intents cancelled, its tokens revoked), and it
    /// never comes back. An archived agent answers as it is.
    pub async fn archive(&self, principal: &Principal, id: &str) -> Result<AgentRecord> {
        let tenant_id = principal.configures()?;
        let record = self.find(tenant_id, id).await?;
        if record.agent.status == AgentStatus::Archived {
            return Ok(record);
        }
        match self
            .stop(
                principal,
                id,
                Stop::Archive,
                "archived".into(),
                &crate::forget,
            )
            .await
        {
            Ok(stopped) => Ok(stopped.agent),
            // Archived meanwhile.
            Err(AppError::AgentNotActive(_)) => self.find(tenant_id, id).await,
            Err(e) => Err(e),
        }
    }

    /// A suspended agent becomes active again; its revoked tokens stay
    /// revoked.
    pub async fn activate(
        &self,
        principal: &Principal,
        id: &str,
        reason: Option<String>,
        remember: Remember<'_, AgentRecord>,
    ) -> Result<AgentRecord> {
        let tenant_id = principal.configures()?;
        let reason = reason.map(|r| check_reason(&r)).transpose()?;
        let refuse = |status: AgentStatus| {
            let hint = match status {
                AgentStatus::Frozen => "; a frozen one is thawed with `POST /agents/{id}/unfreeze`",
                _ => "",
            };
            AppError::AgentTransition {
                current: status,
                message: format!(
                    "cannot activate agent `{id}`: it is {}; only a suspended agent is activated{hint}",
                    status.as_str()
                ),
            }
        };
        let mut record = self.find(tenant_id, id).await?;
        if record.agent.status != AgentStatus::Suspended {
            return Err(refuse(record.agent.status));
        }
        let event = Self::event(
            principal,
            &record,
            "activated",
            reason.unwrap_or_else(|| "activated".into()),
        );
        record.agent.status = AgentStatus::Active;
        record.updated_ms = event.at_ms;
        if self
            .app
            .store()
            .set_agent_status_logged(
                &event,
                &[AgentStatus::Suspended],
                AgentStatus::Active,
                remember(&record).as_ref(),
            )
            .await?
        {
            return Ok(record);
        }
        Err(refuse(self.find(tenant_id, id).await?.agent.status))
    }

    /// A page of an agent's versions, oldest first.
    pub async fn versions(
        &self,
        principal: &Principal,
        id: &str,
        page: &Page,
    ) -> Result<Vec<AgentVersion>> {
        let tenant_id = principal.reads()?;
        self.find(tenant_id, id).await?;
        Ok(self.app.store().agent_versions(tenant_id, id, page).await?)
    }

    /// A new version whose configuration is `target`'s; the status stays.
    pub async fn rollback(
        &self,
        principal: &Principal,
        id: &str,
        target: i64,
        reason: Option<String>,
        remember: Remember<'_, AgentRecord>,
    ) -> Result<AgentRecord> {
        let tenant_id = principal.configures()?;
        let target = target_version(target)?;
        let reason = reason.map(|r| check_reason(&r)).transpose()?;
        let mut record = self.find(tenant_id, id).await?;
        if record.agent.status == AgentStatus::Archived {
            return Err(archived(id));
        }
        // The one version before the one after the target (versions are
        // listed newest first).
        let just_target = Page {
            after: Some(target.saturating_add(1).to_string()),
            limit: 1,
        };
        let snapshot = self
            .app
            .store()
            .agent_versions(tenant_id, id, &just_target)
            .await?
            .into_iter()
            .find(|v| v.version == target)
            .ok_or_else(|| AppError::NoVersion {
                what: "agent",
                id: id.to_owned(),
                version: target,
            })?;
        if self
            .app
            .store()
            .policy(tenant_id, &snapshot.policy_id, None)
            .await?
            .is_none()
        {
            return Err(AppError::Conflict(format!(
                "version {target} of agent `{id}` uses policy `{}`, which no longer exists",
                snapshot.policy_id
            )));
        }
        let message = match &reason {
            Some(reason) => format!("rolled back to version {target}: {reason}"),
            None => format!("rolled back to version {target}"),
        };
        let event = Self::event(principal, &record, "rollback", message.clone());
        record.policy_id = snapshot.policy_id;
        record.agent.name = snapshot.name;
        record.agent.agent_type = snapshot.agent_type;
        record.agent.profile = snapshot.profile;
        record.agent.tags = snapshot.tags;
        record.agent.metadata = snapshot.metadata;
        record.version += 1;
        record.updated_ms = event.at_ms;
        if self
            .app
            .store()
            .add_agent_version(
                &record,
                &event.actor(),
                Some(&message),
                &event,
                remember(&record).as_ref(),
            )
            .await?
        {
            return Ok(record);
        }
        let current = self.find(tenant_id, id).await?;
        Err(match current.agent.status {
            AgentStatus::Archived => archived(id),
            _ => AppError::Conflict(format!("agent `{id}` changed meanwhile; retry")),
        })
    }

    /// A page of an agent's events, newest first.
    pub async fn events(
        &self,
        principal: &Principal,
        id: &str,
        page: &Page,
    ) -> Result<Vec<AgentEvent>> {
        let tenant_id = principal.reads()?;
        self.find(tenant_id, id).await?;
        Ok(self.app.store().agent_events(tenant_id, id, page).await?)
    }
}

/// A version asked for: 1 or more.
pub(crate) fn target_version(version: i64) -> Result<i64> {
    if version < 1 {
        return Err(AppError::validation("targetVersion", "must be 1 or more"));
    }
    Ok(version)
}
