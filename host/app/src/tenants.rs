//! Tenants: created with the admin key (or `warrant tenant create`), each
//! with its API key shown once; their plans; and the admin key itself.

use serde::{Deserialize, Serialize};

use warrant_domain::intent::checked_text;
use warrant_domain::plan::Plan;
use warrant_store::{ApiKeyRecord, Store, TenantRecord};

use crate::auth::{Principal, Role};
use crate::errors::{AppError, Result};
use crate::keys::key_record;
use crate::{App, Remember, new_id, new_secret, now_ms, secret_hash};

/// The longest tenant name accepted.
const MAX_TENANT_NAME: usize = 200;

/// The body of `POST /tenants`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantRequest {
    /// Its name.
    pub name: String,
    /// Its plan; `enterprise` when absent.
    #[serde(default)]
    pub plan: Option<Plan>,
}

/// The tenants service.
pub struct Tenants<'a> {
    app: &'a App,
}

impl App {
    /// Tenants and their plans.
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants { app: self }
    }
}

/// A tenant with how many of its agents are not archived.
#[derive(Clone, Debug)]
pub struct TenantSummary {
    /// The tenant.
    pub record: TenantRecord,
    /// Its agents that are not archived.
    pub live_agents: i64,
}

impl Tenants<'_> {
    /// Creates a tenant and its API key (the admin key only).
    pub async fn create(
        &self,
        principal: &Principal,
        request: TenantRequest,
        remember: Remember<'_, CreatedTenant>,
    ) -> Result<CreatedTenant> {
        principal.admin()?;
        let (created, record, key) = new_tenant(&request.name, request.plan.unwrap_or_default())?;
        self.app
            .store()
            .create_tenant(
                &record,
                &key,
                &secret_hash(&created.api_key),
                remember(&created).as_ref(),
            )
            .await?;
        Ok(created)
    }

    /// A tenant: the admin key sees any, a tenant's key only its own
    /// (another's is not found, as if it did not exist).
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<TenantSummary> {
        if !matches!(principal, Principal::Admin) && principal.reads()? != id {
            return Err(AppError::not_found("tenant", id));
        }
        self.summary(id).await
    }

    /// Puts a tenant on `plan` (the admin key only). A plan smaller than
    /// what the tenant has keeps it; only new agents and plugins are
    /// refused.
    pub async fn set_plan(
        &self,
        principal: &Principal,
        id: &str,
        plan: Plan,
    ) -> Result<TenantSummary> {
        principal.admin()?;
        if !self
            .app
            .store()
            .set_tenant_plan(id, plan, &principal.actor(), now_ms())
            .await?
        {
            return Err(AppError::not_found("tenant", id));
        }
        self.summary(id).await
    }

    async fn summary(&self, id: &str) -> Result<TenantSummary> {
        let record = self
            .app
            .store()
            .tenant(id)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", id))?;
        let live_agents = self.app.store().live_agent_count(id).await?;
        Ok(TenantSummary {
            record,
            live_agents,
        })
    }
}

/// A new tenant with its API key, which is shown only here.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTenant {
    /// `tn_…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its plan.
    pub plan: Plan,
    /// `sk_…`; stored only as a hash.
    pub api_key: String,
}

/// Creates a tenant named `name` on the `enterprise` plan, and its API key.
pub async fn create_tenant(store: &dyn Store, name: &str) -> Result<CreatedTenant> {
    let (created, record, key) = new_tenant(name, Plan::Enterprise)?;
    store
        .create_tenant(&record, &key, &secret_hash(&created.api_key), None)
        .await?;
    Ok(created)
}

/// A new tenant, and its first API key: an `admin` key named `admin`.
fn new_tenant(name: &str, plan: Plan) -> Result<(CreatedTenant, TenantRecord, ApiKeyRecord)> {
    let created = CreatedTenant {
        id: new_id("tn"),
        name: checked_text("name", name, MAX_TENANT_NAME)?,
        plan,
        api_key: new_secret("sk")?,
    };
    let record = TenantRecord {
        id: created.id.clone(),
        name: created.name.clone(),
        plan,
        created_ms: now_ms(),
    };
    let key = key_record(&record.id, "admin", Role::Admin, &created.api_key, None);
    Ok((created, record, key))
}

/// The setting that holds the admin key's hash: the one admin key there
/// is, read on every request that presents one, so that a new key takes
/// effect at once on every server.
pub(crate) const ADMIN_KEY_SETTING: &str = "admin_key_sha256";

/// Where the admin key comes from.
pub enum AdminKey {
    /// `WARRANT_ADMIN_KEY`, now the stored key.
    Configured {
        /// Its hash.
        sha256: String,
        /// Whether it replaced another key, which no longer works.
        replaced: bool,
    },
    /// Generated at an earlier start; only its hash is kept.
    Stored {
        /// Its hash.
        sha256: String,
    },
    /// Generated now: shown once, then only its hash is kept.
    Generated {
        /// Its hash.
        sha256: String,
        /// The key.
        key: String,
    },
}

impl AdminKey {
    /// The hash requests are checked against.
    pub fn sha256(&self) -> &str {
        match self {
            AdminKey::Configured { sha256, .. }
            | AdminKey::Stored { sha256 }
            | AdminKey::Generated { sha256, .. } => sha256,
        }
    }
}

/// The admin key. There is one, stored as its hash: `configured`
/// (`WARRANT_ADMIN_KEY`) replaces it and stays after a restart without the
/// variable; without it, the stored key stays; with none stored, a new one
/// is generated (and shown once by the caller).
pub async fn admin_key(store: &dyn Store, configured: Option<&str>) -> Result<AdminKey> {
    if let Some(key) = configured {
        let key = key.trim();
        if key.len() < 16 {
            return Err(AppError::validation(
                "WARRANT_ADMIN_KEY",
                "must be at least 16 characters",
            ));
        }
        // Such a key would be taken for a tenant's key or an agent's token,
        // and could never authenticate as the admin.
        if let Some(prefix) = ["sk_", "at_"].into_iter().find(|p| key.starts_with(p)) {
            return Err(AppError::validation(
                "WARRANT_ADMIN_KEY",
                format!(
                    "must not start with `{prefix}`, which marks tenant keys (`sk_`) and agent tokens (`at_`); choose another key"
                ),
            ));
        }
        let sha256 = secret_hash(key);
        let stored = store.setting(ADMIN_KEY_SETTING).await?;
        if stored.as_deref() != Some(sha256.as_str()) {
            store.set_setting(ADMIN_KEY_SETTING, &sha256).await?;
        }
        return Ok(AdminKey::Configured {
            replaced: stored.is_some_and(|stored| stored != sha256),
            sha256,
        });
    }
    if let Some(sha256) = store.setting(ADMIN_KEY_SETTING).await? {
        return Ok(AdminKey::Stored { sha256 });
    }
    rotate_admin_key(store).await
}

/// Replaces the admin key with a new one (`warrant admin rotate-key`):
/// the one before stops working at once, on every server.
pub async fn rotate_admin_key(store: &dyn Store) -> Result<AdminKey> {
    let key = new_secret("wak")?;
    let sha256 = secret_hash(&key);
    store.set_setting(ADMIN_KEY_SETTING, &sha256).await?;
    Ok(AdminKey::Generated { sha256, key })
}
