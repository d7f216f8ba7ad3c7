//! Who is asking: the admin key, a tenant's API key (`sk_…`) or an agent
//! token (`at_…`), and what each may do.

use serde::{Deserialize, Serialize};

use warrant_store::{Actor, TenantRecord};

use crate::errors::{AppError, Result};
use crate::tenants::ADMIN_KEY_SETTING;
use crate::{App, now_ms, secret_hash};

/// What an agent token may do with its agent's intents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Reveal its agent's secrets for its approved intents
    /// (`POST /intents/:id/secrets/:key/reveal`). Only when asked for.
    #[serde(rename = "secrets:reveal")]
    RevealSecrets,
}

impl Permission {
    /// Every permission, in the order the API lists them.
    pub const ALL: [Permission; 6] = [
        Permission::Create,
        Permission::Read,
        Permission::Cancel,
        Permission::Settle,
        Permission::Evaluate,
        Permission::RevealSecrets,
    ];

    /// What a token issued without a list gets: all but
    /// [`Permission::Evaluate`] and [`Permission::RevealSecrets`].
    pub const DEFAULT: [Permission; 4] = [
        Permission::Create,
        Permission::Read,
        Permission::Cancel,
        Permission::Settle,
    ];

    /// What a tenant's key needs to do what this permission lets a token
    /// do.
    pub fn needs(self) -> Needs {
        match self {
            Permission::Read => Needs::Read,
            Permission::Cancel => Needs::Cancel,
            Permission::Create
            | Permission::Settle
            | Permission::Evaluate
            | Permission::RevealSecrets => Needs::Configure,
        }
    }

    /// The permission as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Create => "intents:create",
            Permission::Read => "intents:read",
            Permission::Cancel => "intents:cancel",
            Permission::Settle => "intents:settle",
            Permission::Evaluate => "intents:evaluate",
            Permission::RevealSecrets => "secrets:reveal",
        }
    }
}

/// What a tenant's API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything of the tenant, its keys included.
    Admin,
    /// Plugins, policies, agents, tokens, dry runs and settlement reports;
    /// not approving or denying intents, nor keys.
    Developer,
    /// Reads everything; approves, denies and cancels intents.
    Approver,
    /// Reads everything.
    Viewer,
}

impl Role {
    /// Every role, in the order the API lists them.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Developer, Role::Approver, Role::Viewer];

    /// The role as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Approver => "approver",
            Role::Viewer => "viewer",
        }
    }

    /// The role written as `text`.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// What a kind of request needs of a tenant's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Reading: any role.
    Read,
    /// Configuring: plugins, policies, agents, tokens, dry runs,
    /// declaring intents and reporting their settlement.
    Configure,
    /// Approving or denying intents.
    Approve,
    /// Cancelling intents: anyone who configures or approves.
    Cancel,
    /// Managing the tenant's API keys.
    ManageKeys,
}

impl Needs {
    /// The roles that may.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Needs::Read => &Role::ALL,
            Needs::Configure => &[Role::Admin, Role::Developer],
            Needs::Approve => &[Role::Admin, Role::Approver],
            Needs::Cancel => &[Role::Admin, Role::Developer, Role::Approver],
            Needs::ManageKeys => &[Role::Admin],
        }
    }
}

/// A tenant's API key, as a request presents it.
#[derive(Clone, Debug)]
pub struct TenantKey {
    /// The tenant.
    pub tenant: TenantRecord,
    /// `ak_…`.
    pub key_id: String,
    /// The key's name.
    pub key_name: String,
    /// What it may do.
    pub role: Role,
}

/// The caller, as every surface authenticates it.
#[derive(Clone, Debug)]
pub enum Principal {
    /// The server's admin key: manages tenants.
    Admin,
    /// A tenant's API key: what its role allows of that tenant.
    Tenant(Box<TenantKey>),
    /// An agent token: its own agent's intents.
    Agent {
        /// The agent's tenant.
        tenant_id: String,
        /// The agent.
        agent_id: String,
        /// The token: `at_…`'s id.
        token_id: String,
        /// What the token may do.
        permissions: Vec<Permission>,
    },
}

/// How often a key's `lastUsedAt` is written, at most.
const LAST_USED_EVERY_MS: i64 = 60_000;

impl App {
    /// Whether the server can serve requests: its database answers, with
    /// its schema (the admin key's setting is read from it). The built-in
    /// plugins are loaded before an `App` exists.
    pub async fn ready(&self) -> Result<()> {
        self.store().setting(ADMIN_KEY_SETTING).await?;
        Ok(())
    }

    /// The caller a bearer credential stands for: the admin key, a
    /// tenant's API key or an agent token; 401 otherwise, and 429 when the
    /// credential has made more requests than the rate limit allows.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal> {
        let principal = self.identify(secret).await?;
        self.admit(&principal)?;
        Ok(principal)
    }

    async fn identify(&self, secret: &str) -> Result<Principal> {
        let hash = secret_hash(secret);
        let invalid = || AppError::Unauthorized("the key or token is not valid".into());
        if secret.starts_with("sk_") {
            let now = now_ms();
            let (tenant, key) = self
                .store()
                .api_key_by_hash(&hash, now)
                .await?
                .ok_or_else(invalid)?;
            if key
                .last_used_ms
                .is_none_or(|at| at + LAST_USED_EVERY_MS <= now)
            {
                // Beside the request, uncounted: a lost note of use costs
                // nothing but a stale `lastUsedAt`.
                let store = self.inner.store.clone();
                let id = key.id.clone();
                tokio::spawn(async move {
                    if let Err(e) = store.touch_api_key(&id, now).await {
                        tracing::warn!("noting the use of key {id} failed: {e}");
                    }
                });
            }
            let role = Role::parse(&key.role)
                .ok_or_else(|| AppError::internal(format!("key {} has an unknown role", key.id)))?;
            return Ok(Principal::Tenant(Box::new(TenantKey {
                tenant,
                key_id: key.id,
                key_name: key.name,
                role,
            })));
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
                token_id: token.id,
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
            Principal::Tenant(key) => Ok(&key.tenant.id),
            Principal::Agent { tenant_id, .. } => Ok(tenant_id),
        }
    }

    /// Requires a tenant's API key whose role allows `needs`: the tenant.
    pub fn needs(&self, needs: Needs) -> Result<&str> {
        match self {
            Principal::Tenant(key) if needs.roles().contains(&key.role) => Ok(&key.tenant.id),
            Principal::Tenant(key) => Err(AppError::Forbidden(format!(
                "this needs a key with the role {}; the key `{}` is a `{}` key",
                needs
                    .roles()
                    .iter()
                    .map(|role| format!("`{}`", role.as_str()))
                    .collect::<Vec<_>>()
                    .join(" or "),
                key.key_name,
                key.role.as_str()
            ))),
            Principal::Agent { .. } => Err(AppError::Forbidden(
                "this needs the tenant's API key (`sk_…`), not an agent token".into(),
            )),
            Principal::Admin => self.tenant_id(),
        }
    }

    /// Requires a tenant's API key of any role: reading.
    pub fn reads(&self) -> Result<&str> {
        self.needs(Needs::Read)
    }

    /// Requires a key that configures: `admin` or `developer`.
    pub fn configures(&self) -> Result<&str> {
        self.needs(Needs::Configure)
    }

    /// Requires the admin key.
    pub fn admin(&self) -> Result<()> {
        match self {
            Principal::Admin => Ok(()),
            _ => Err(AppError::Forbidden("this needs the admin key".into())),
        }
    }

    /// Checks that the caller may act on `agent_id`'s data with
    /// `permission`: an agent token only on its
    /// own agent and only with the permission; a tenant key as its role
    /// allows.
    pub fn may(&self, agent_id: &str, permission: Permission) -> Result<()> {
        if let Principal::Agent { agent_id: own, .. } = self
            && own != agent_id
        {
            return Err(AppError::AgentIsolation);
        }
        self.requires(permission)
    }

    /// Checks the caller may read `what` `id`, an object of `agent_id`'s: a
    /// tenant key as its role allows; an agent token its own agent's only,
    /// to which another agent's is not found.
    pub fn reads_of_agent(&self, agent_id: &str, what: &'static str, id: &str) -> Result<()> {
        if self.own_agent().is_some_and(|own| own != agent_id) {
            return Err(AppError::not_found(what, id));
        }
        self.may(agent_id, Permission::Read)
    }

    /// Checks that the caller holds `permission` at all, whatever it acts
    /// on: a tenant key holds those its role allows ([`Permission::needs`]).
    /// Checked before anything else, an
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
            _ => self.needs(permission.needs()).map(drop),
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
            Principal::Tenant(key) => format!("{}/{}", key.tenant.id, key.key_id),
            Principal::Agent {
                tenant_id,
                agent_id,
                ..
            } => format!("{tenant_id}/{agent_id}"),
        }
    }

    /// Who acts, as history records it: `key:ak_…` with the key's name,
    /// `admin` or `agent:ag_…`.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Admin => Actor::named_by_id("admin"),
            Principal::Tenant(key) => Actor {
                id: format!("key:{}", key.key_id),
                name: Some(key.key_name.clone()),
            },
            Principal::Agent { agent_id, .. } => Actor::named_by_id(format!("agent:{agent_id}")),
        }
    }

    /// What the rate limit counts requests by: the key's or token's id.
    pub fn credential_id(&self) -> &str {
        match self {
            Principal::Admin => "admin",
            Principal::Tenant(key) => &key.key_id,
            Principal::Agent { token_id, .. } => token_id,
        }
    }
}
