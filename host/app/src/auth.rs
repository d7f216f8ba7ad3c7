//! Who is asking: the admin key, a tenant's API key (`sk_…`) or an agent
//! token (`at_…`), and what each may do.

use serde::{Deserialize, Serialize};

use warrant_store::TenantRecord;

use crate::errors::{AppError, Result};
use crate::tenants::ADMIN_KEY_SETTING;
use crate::{App, secret_hash};

/// What an agent token may do with its agent's intents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// Submit intents for its agent.
    #[serde(rename = "intents:create")]
    Create,
    /// Read its agent and the agent's intents.
    #[serde(rename = "intents:read")]
    Read,
    /// Cancel its agent's intents.
    #[serde(rename = "intents:cancel")]
    Cancel,
    /// Report settlement: complete, fail, verify.
    #[serde(rename = "intents:settle")]
    Settle,
    /// Dry runs of its agent's policy (`POST /agents/:id/evaluate`), each
    /// recorded among the agent's events. Only when asked for: it lets an
    /// agent probe its policy's thresholds.
    #[serde(rename = "intents:evaluate")]
    Evaluate,
}

impl Permission {
    /// Every permission, in the order the API lists them.
    pub const ALL: [Permission; 5] = [
        Permission::Create,
        Permission::Read,
        Permission::Cancel,
        Permission::Settle,
        Permission::Evaluate,
    ];

    /// What a token issued without a list gets: all but
    /// [`Permission::Evaluate`].
    pub const DEFAULT: [Permission; 4] = [
        Permission::Create,
        Permission::Read,
        Permission::Cancel,
        Permission::Settle,
    ];

    /// The permission as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Create => "intents:create",
            Permission::Read => "intents:read",
            Permission::Cancel => "intents:cancel",
            Permission::Settle => "intents:settle",
            Permission::Evaluate => "intents:evaluate",
        }
    }
}

/// The caller, as every surface authenticates it.
#[derive(Clone, Debug)]
pub enum Principal {
    /// The server's admin key: manages tenants.
    Admin,
    /// A tenant's API key: everything of that tenant.
    Tenant(TenantRecord),
    /// An agent token: its own agent's intents.
    Agent {
        /// The agent's tenant.
        tenant_id: String,
        /// The agent.
        agent_id: String,
        /// What the token may do.
        permissions: Vec<Permission>,
    },
}

impl App {
    /// Whether the server can serve requests: its database answers, with
    /// its schema (the admin key's setting is read from it). The built-in
    /// plugins are loaded before an `App` exists.
    pub async fn ready(&self) -> Result<()> {
        self.store().setting(ADMIN_KEY_SETTING).await?;
        Ok(())
    }

    /// The caller a bearer credential stands for: the admin key, a
    /// tenant's API key or an agent token; 401 otherwise.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal> {
        let hash = secret_hash(secret);
        let invalid = || AppError::Unauthorized("the key or token is not valid".into());
        if secret.starts_with("sk_") {
            let tenant = self
                .store()
                .tenant_by_key(&hash)
                .await?
                .ok_or_else(invalid)?;
            return Ok(Principal::Tenant(tenant));
        }
        if secret.starts_with("at_") {
            let token = self
                .store()
                .token_by_hash(&hash)
                .await?
                .ok_or_else(invalid)?;
            let permissions = token
                .permissions
                .iter()
                .filter_map(|p| serde_json::from_value(serde_json::Value::String(p.clone())).ok())
                .collect();
            return Ok(Principal::Agent {
                tenant_id: token.tenant_id,
                agent_id: token.agent_id,
                permissions,
            });
        }
        let admin = self.store().setting(ADMIN_KEY_SETTING).await?;
        if admin.is_some_and(|admin| admin == hash) {
            return Ok(Principal::Admin);
        }
        Err(invalid())
    }
}

impl Principal {
    /// The tenant whose data the caller sees; the admin key sees none.
    pub fn tenant_id(&self) -> Result<&str> {
        match self {
            Principal::Admin => Err(AppError::Forbidden(
                "the admin key manages tenants; use a tenant's API key (`sk_…`)".into(),
            )),
            Principal::Tenant(tenant) => Ok(&tenant.id),
            Principal::Agent { tenant_id, .. } => Ok(tenant_id),
        }
    }

    /// Requires a tenant's API key.
    pub fn tenant(&self) -> Result<&str> {
        match self {
            Principal::Tenant(tenant) => Ok(&tenant.id),
            Principal::Agent { .. } => Err(AppError::Forbidden(
                "this needs the tenant's API key (`sk_…`), not an agent token".into(),
            )),
            Principal::Admin => self.tenant_id(),
        }
    }

    /// Requires the admin key.
    pub fn admin(&self) -> Result<()> {
        match self {
            Principal::Admin => Ok(()),
            _ => Err(AppError::Forbidden("this needs the admin key".into())),
        }
    }

    /// Checks that the caller may act on `agent_id`'s data with
    /// `permission`: a tenant key always may, an agent token only on its
    /// own agent and only with the permission.
    pub fn may(&self, agent_id: &str, permission: Permission) -> Result<()> {
        if let Principal::Agent { agent_id: own, .. } = self
            && own != agent_id
        {
            return Err(AppError::AgentIsolation);
        }
        self.requires(permission)
    }

    /// Checks that the caller holds `permission` at all, whatever it acts
    /// on: a tenant key holds every one. Checked before anything else, an
    /// idempotent replay included (an agent's tokens share their keys).
    pub fn requires(&self, permission: Permission) -> Result<()> {
        match self {
            Principal::Agent { permissions, .. } if !permissions.contains(&permission) => {
                Err(AppError::Forbidden(format!(
                    "this agent token lacks the permission `{}`",
                    permission.as_str()
                )))
            }
            Principal::Agent { .. } => Ok(()),
            _ => self.tenant_id().map(drop),
        }
    }

    /// The agent an agent token acts for.
    pub fn own_agent(&self) -> Option<&str> {
        match self {
            Principal::Agent { agent_id, .. } => Some(agent_id),
            _ => None,
        }
    }

    /// Whose idempotency keys a request's key is one of: the admin's, a
    /// tenant key's, or an agent's. A key never replays another caller's
    /// answer.
    pub fn idempotency_scope(&self) -> String {
        match self {
            Principal::Admin => "admin".into(),
            Principal::Tenant(tenant) => tenant.id.clone(),
            Principal::Agent {
                tenant_id,
                agent_id,
                ..
            } => format!("{tenant_id}/{agent_id}"),
        }
    }

    /// Who did something, as an agent's events and versions record it:
    /// `tenant:tn_…`, `admin` or `agent:ag_…`.
    pub fn event_actor(&self) -> String {
        match self {
            Principal::Admin => "admin".into(),
            Principal::Tenant(tenant) => format!("tenant:{}", tenant.id),
            Principal::Agent { agent_id, .. } => format!("agent:{agent_id}"),
        }
    }

    /// Who made a change, for an intent's history.
    pub fn actor(&self) -> String {
        match self {
            Principal::Admin => "admin".into(),
            Principal::Tenant(_) => "tenant".into(),
            Principal::Agent { agent_id, .. } => format!("agent:{agent_id}"),
        }
    }
}
