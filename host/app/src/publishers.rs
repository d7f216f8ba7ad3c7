//! Signed plugins: the publishers' keys a tenant trusts, the tenant's
//! setting that requires every upload to be signed by one of them, and the
//! check of an upload's signature.

use serde::{Deserialize, Serialize};

use warrant_domain::intent::checked_text;
use warrant_domain::receipt::key_id;
use warrant_domain::signature::{DigestSignature, public_key};
use warrant_store::PublisherKeyRecord;

use crate::auth::Principal;
use crate::errors::{AppError, Result};
use crate::{App, now_ms};

/// The longest publisher name.
const MAX_NAME: usize = 100;

/// The body of `POST /publisher-keys`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublisherKeyRequest {
    /// Who publishes with it.
    pub name: String,
    /// The Ed25519 public key: 32 bytes in base64 or base64url, or a JWK.
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
}

/// A tenant's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Every upload must carry the signature of a registered publisher.
    pub require_signed_plugins: bool,
}

/// The body of `PATCH /settings`: what changes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsUpdate {
    /// See [`Settings::require_signed_plugins`].
    #[serde(default)]
    pub require_signed_plugins: Option<bool>,
}

/// Where a tenant's requirement of signed plugins is kept.
fn signed_setting(tenant_id: &str) -> String {
    format!("tenant:{tenant_id}:require_signed_plugins")
}

impl App {
    /// Registers a publisher's key with the caller's tenant (an `admin`
    /// key): 409 if the tenant has it already.
    pub async fn add_publisher_key(
        &self,
        principal: &Principal,
        request: PublisherKeyRequest,
    ) -> Result<PublisherKeyRecord> {
        let tenant_id = principal.needs(crate::Needs::ManageKeys)?;
        let name = checked_text("name", &request.name, MAX_NAME)?;
        let key = public_key(&request.public_key)
            .map_err(|why| AppError::validation("publicKey", why))?;
        let record = PublisherKeyRecord {
            tenant_id: tenant_id.to_owned(),
            kid: key_id(&key),
            name,
            public_key: warrant_domain::receipt::Jwk::ed25519("", &key).x,
            created_ms: now_ms(),
        };
        match self.store().insert_publisher_key(&record).await {
            Ok(()) => Ok(record),
            Err(warrant_store::StoreError::Duplicate) => Err(AppError::Conflict(format!(
                "the key `{}` is registered already",
                record.kid
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The publishers' keys the caller's tenant trusts.
    pub async fn publisher_keys(&self, principal: &Principal) -> Result<Vec<PublisherKeyRecord>> {
        let tenant_id = principal.reads()?;
        Ok(self.store().publisher_keys(tenant_id).await?)
    }

    /// The caller's tenant's settings.
    pub async fn settings(&self, principal: &Principal) -> Result<Settings> {
        let tenant_id = principal.reads()?;
        self.settings_of(tenant_id).await
    }

    async fn settings_of(&self, tenant_id: &str) -> Result<Settings> {
        let stored = self.store().setting(&signed_setting(tenant_id)).await?;
        Ok(Settings {
            require_signed_plugins: stored.as_deref() == Some("true"),
        })
    }

    /// Changes the caller's tenant's settings (an `admin` key).
    pub async fn update_settings(
        &self,
        principal: &Principal,
        update: SettingsUpdate,
    ) -> Result<Settings> {
        let tenant_id = principal.needs(crate::Needs::ManageKeys)?;
        if let Some(required) = update.require_signed_plugins {
            self.store()
                .set_setting(
                    &signed_setting(tenant_id),
                    if required { "true" } else { "false" },
                )
                .await?;
        }
        self.settings_of(tenant_id).await
    }

    /// The publisher whose signature an upload of a component (its sha256)
    /// carries, checked; none when it carries none and the tenant does not
    /// require one.
    pub(crate) async fn check_signature(
        &self,
        tenant_id: &str,
        sha256: &str,
        header: Option<&str>,
    ) -> Result<Option<PublisherKeyRecord>> {
        let Some(header) = header else {
            if self.settings_of(tenant_id).await?.require_signed_plugins {
                return Err(AppError::PluginSignature(
                    "this tenant requires signed plugins: upload with `Warrant-Plugin-Signature: \
                     keyid=…,sig=…` (`warrant plugin sign`)"
                        .into(),
                ));
            }
            return Ok(None);
        };
        let signature = DigestSignature::parse(header).map_err(|why| {
            AppError::PluginSignature(format!("`Warrant-Plugin-Signature`: {why}"))
        })?;
        let publisher = self
            .store()
            .publisher_key(tenant_id, &signature.kid)
            .await?
            .ok_or_else(|| {
                AppError::PluginSignature(format!(
                    "no publisher key `{}` is registered (`POST /publisher-keys`)",
                    signature.kid
                ))
            })?;
        let key = public_key(&serde_json::Value::String(publisher.public_key.clone()))
            .map_err(AppError::internal)?;
        if !signature.verifies(sha256, &key) {
            return Err(AppError::PluginSignature(format!(
                "the signature is not `{}`'s of this component (sha256 {sha256})",
                publisher.name
            )));
        }
        Ok(Some(publisher))
    }
}
