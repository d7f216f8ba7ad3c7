//! A tenant's API keys: each with a name and a role, its secret shown
//! once and kept as a hash; listed, rolled with a grace period for the old
//! secret, revoked at once. Only an `admin` key manages them.

use serde::Deserialize;

use warrant_domain::intent::checked_text;
use warrant_store::{ApiKeyRecord, Page, StoreError};

use crate::auth::{Needs, Principal, Role};
use crate::errors::{AppError, Result};
use crate::{App, Remember, new_id, new_secret, now_ms, secret_hash};

/// How long a rolled key's old secret keeps working unless the roll says
/// otherwise: 24 hours.
pub const DEFAULT_ROLL_GRACE_SECONDS: u32 = 24 * 3600;
/// The longest grace period a roll may give: 7 days.
pub const MAX_ROLL_GRACE_SECONDS: u32 = 7 * 24 * 3600;
/// The longest key name.
const MAX_KEY_NAME: usize = 100;
/// How many characters of a secret its listing shows: `sk_` and 8 more.
const PREFIX_CHARS: usize = 11;

/// The body of `POST /api-keys`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyRequest {
    /// Its name, unique among the tenant's live keys.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it stops working (RFC 3339); never when absent.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// The body of `POST /api-keys/:id/roll`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollRequest {
    /// How long the old secret keeps working, in seconds: 0 (stops at
    /// once) to [`MAX_ROLL_GRACE_SECONDS`]; 24 hours when absent.
    #[serde(default)]
    pub grace_seconds: Option<u32>,
}

/// A key with its secret, shown once: just made or just rolled.
#[derive(Clone, Debug)]
pub struct KeyWithSecret {
    /// The key.
    pub key: ApiKeyRecord,
    /// `sk_…`.
    pub secret: String,
}

/// The API keys service.
pub struct ApiKeys<'a> {
    app: &'a App,
}

impl App {
    /// A tenant's API keys.
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys { app: self }
    }
}

/// A key's record, for a key whose secret is `secret`.
pub(crate) fn key_record(
    tenant_id: &str,
    name: &str,
    role: Role,
    secret: &str,
    expires_ms: Option<i64>,
) -> ApiKeyRecord {
    ApiKeyRecord {
        id: new_id("ak"),
        tenant_id: tenant_id.to_owned(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        prefix: prefix_of(secret),
        created_ms: now_ms(),
        expires_ms,
        last_used_ms: None,
        previous_until_ms: None,
        revoked_ms: None,
    }
}

fn prefix_of(secret: &str) -> String {
    secret.chars().take(PREFIX_CHARS).collect()
}

impl ApiKeys<'_> {
    /// Makes a key.
    pub async fn create(
        &self,
        principal: &Principal,
        request: ApiKeyRequest,
        remember: Remember<'_, KeyWithSecret>,
    ) -> Result<KeyWithSecret> {
        let tenant_id = principal.needs(Needs::ManageKeys)?;
        let name = checked_text("name", &request.name, MAX_KEY_NAME)?;
        let expires_ms = request
            .expires_at
            .as_deref()
            .map(|text| {
                let ms = crate::clock::parse_time_ms("expiresAt", text)?;
                if ms <= now_ms() {
                    return Err(AppError::validation("expiresAt", "must be in the future"));
                }
                Ok(ms)
            })
            .transpose()?;
        let secret = new_secret("sk")?;
        let made = KeyWithSecret {
            key: key_record(tenant_id, &name, request.role, &secret, expires_ms),
            secret,
        };
        self.app
            .store()
            .insert_api_key(&made.key, &secret_hash(&made.secret), remember(&made).as_ref())
            .await
            .map_err(|e| match e {
                StoreError::Duplicate => AppError::Conflict(format!(
                    "the tenant has a live key named `{name}`; choose another name or revoke that key"
                )),
                other => other.into(),
            })?;
        Ok(made)
    }

    /// A page of the tenant's keys, revoked ones included, newest first.
    pub async fn list(&self, principal: &Principal, page: &Page) -> Result<Vec<ApiKeyRecord>> {
        let tenant_id = principal.needs(Needs::ManageKeys)?;
        Ok(self.app.store().api_keys(tenant_id, page).await?)
    }

    /// One of the tenant's keys.
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<ApiKeyRecord> {
        let tenant_id = principal.needs(Needs::ManageKeys)?;
        self.app
            .store()
            .api_key(tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("API key", id))
    }

    /// Gives a live key a new secret; the old one keeps working for the
    /// grace period (and one rolled before stops at once).
    pub async fn roll(
        &self,
        principal: &Principal,
        id: &str,
        request: RollRequest,
        remember: Remember<'_, KeyWithSecret>,
    ) -> Result<KeyWithSecret> {
        let tenant_id = principal.needs(Needs::ManageKeys)?;
        let grace = request.grace_seconds.unwrap_or(DEFAULT_ROLL_GRACE_SECONDS);
        if grace > MAX_ROLL_GRACE_SECONDS {
            return Err(AppError::validation(
                "graceSeconds",
                format!("must be at most {MAX_ROLL_GRACE_SECONDS} (7 days)"),
            ));
        }
        let secret = new_secret("sk")?;
        let until = now_ms() + i64::from(grace) * 1000;
        let remember_key = |key: &ApiKeyRecord| {
            remember(&KeyWithSecret {
                key: key.clone(),
                secret: secret.clone(),
            })
        };
        let rolled = self
            .app
            .store()
            .roll_api_key(
                tenant_id,
                id,
                &secret_hash(&secret),
                &prefix_of(&secret),
                until,
                &remember_key,
            )
            .await?;
        match rolled {
            Some(key) => Ok(KeyWithSecret { key, secret }),
            None => Err(self.not_live(principal, id).await),
        }
    }

    /// Revokes a key: its secret, and one it was rolled from, stop
    /// working at once on every server (a revoked key answers as it is).
    /// The tenant's last live `admin` key is kept: without it nobody could
    /// manage the keys.
    pub async fn revoke(
        &self,
        principal: &Principal,
        id: &str,
        remember: Remember<'_, ApiKeyRecord>,
    ) -> Result<ApiKeyRecord> {
        let tenant_id = principal.needs(Needs::ManageKeys)?;
        let key = self.show(principal, id).await?;
        if key.revoked_ms.is_some() {
            return Ok(key);
        }
        match self
            .app
            .store()
            .revoke_api_key(tenant_id, id, now_ms(), remember)
            .await?
        {
            Some(key) => Ok(key),
            // The store keeps the last live admin key, counted in the
            // revoking transaction.
            None if key.role == Role::Admin.as_str() => Err(AppError::Conflict(format!(
                "`{}` is the tenant's last live admin key; make another admin key before revoking it",
                key.name
            ))),
            None => Err(self.not_live(principal, id).await),
        }
    }

    /// Why a key could not be changed: there is no such key, or it is
    /// revoked.
    async fn not_live(&self, principal: &Principal, id: &str) -> AppError {
        match self.show(principal, id).await {
            Ok(_) => AppError::Conflict(format!("API key `{id}` is revoked")),
            Err(e) => e,
        }
    }
}
