//! `POST /tenants`, with the admin key; also used by `warrant tenant create`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use warrant_store::{Plan, Store, TenantRecord};

use crate::AppState;
use crate::auth::Principal;
use crate::errors::{ApiError, Result};
use crate::http::{Reply, Submission, checked_text, new_id, new_secret, now_ms, once, secret_hash};

/// The longest tenant name accepted.
const MAX_TENANT_NAME: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    name: String,
    #[serde(default)]
    plan: Option<Plan>,
}

/// A new tenant with its API key, which is shown only here.
#[derive(Serialize)]
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
    let (created, record) = new_tenant(name, Plan::Enterprise)?;
    store
        .create_tenant(&record, &secret_hash(&created.api_key), None)
        .await?;
    Ok(created)
}

fn new_tenant(name: &str, plan: Plan) -> Result<(CreatedTenant, TenantRecord)> {
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
    Ok((created, record))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    principal.admin()?;
    let body: CreateTenant = submission.json()?;
    once(&state, &principal, &submission, async |ticket| {
        let (created, record) = new_tenant(&body.name, body.plan.unwrap_or_default())?;
        let reply = Reply::json(StatusCode::CREATED, &created)?;
        state
            .store
            .create_tenant(
                &record,
                &secret_hash(&created.api_key),
                ticket.record(&reply).as_ref(),
            )
            .await?;
        Ok(reply)
    })
    .await
}

/// The setting that holds the admin key's hash.
const ADMIN_KEY_SETTING: &str = "admin_key_sha256";

/// Where the admin key comes from.
pub enum AdminKey {
    /// `WARRANT_ADMIN_KEY`.
    Configured {
        /// Its hash.
        sha256: String,
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
            AdminKey::Configured { sha256 }
            | AdminKey::Stored { sha256 }
            | AdminKey::Generated { sha256, .. } => sha256,
        }
    }
}

/// The admin key: `configured` when given, else the one generated at the
/// first start, else a new one.
pub async fn admin_key(store: &dyn Store, configured: Option<&str>) -> Result<AdminKey> {
    if let Some(key) = configured {
        let key = key.trim();
        if key.len() < 16 {
            return Err(ApiError::validation(
                "WARRANT_ADMIN_KEY",
                "must be at least 16 characters",
            ));
        }
        // Such a key would be taken for a tenant's key or an agent's token,
        // and could never authenticate as the admin.
        if let Some(prefix) = ["sk_", "at_"].into_iter().find(|p| key.starts_with(p)) {
            return Err(ApiError::validation(
                "WARRANT_ADMIN_KEY",
                format!(
                    "must not start with `{prefix}`, which marks tenant keys (`sk_`) and agent tokens (`at_`); choose another key"
                ),
            ));
        }
        return Ok(AdminKey::Configured {
            sha256: secret_hash(key),
        });
    }
    if let Some(sha256) = store.setting(ADMIN_KEY_SETTING).await? {
        return Ok(AdminKey::Stored { sha256 });
    }
    let key = new_secret("wak")?;
    let sha256 = secret_hash(&key);
    store.set_setting(ADMIN_KEY_SETTING, &sha256).await?;
    Ok(AdminKey::Generated { sha256, key })
}
