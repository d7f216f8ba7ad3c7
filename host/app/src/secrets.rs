//! Secrets of agents and of tenants: each value sealed (AES-256-GCM) under
//! a key derived from the key-encryption key, which the database never
//! holds, and bound to its tenant, owner and key. No read returns a value:
//! the one way out is [`Secrets::reveal`], for the agent's own approved
//! intent whose merchant is one of the secret's allowed hosts, recorded on
//! the intent's history (the key, never the value).

use aes_gcm::Aes256Gcm;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use warrant_domain::card;
use warrant_domain::lifecycle::IntentStatus;
use warrant_store::{IntentEvent, SecretRecord};

use crate::auth::{Permission, Principal};
use crate::errors::{AppError, Result};
use crate::intents::status_at;
use crate::{App, new_id, now_ms, sealing};

/// The body of `PUT /agents/:id/secrets/:key` and `PUT /secrets/:key`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRequest {
    /// The value, at most 8 KiB; never shown again.
    pub value: String,
    /// The hosts it may be revealed for (`shop.example.com`), matched
    /// exactly against an approved intent's merchant; none: never
    /// revealed.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

/// Whose a secret is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner<'a> {
    /// The tenant's own (e.g. `STRIPE_SIGNING_SECRET`): never revealed.
    Tenant,
    /// An agent's.
    Agent(&'a str),
}

impl<'a> Owner<'a> {
    /// The agent, for an agent's secret.
    pub fn agent_id(self) -> Option<&'a str> {
        match self {
            Owner::Tenant => None,
            Owner::Agent(agent_id) => Some(agent_id),
        }
    }
}

/// A secret's value revealed for an intent.
#[derive(Clone, Debug)]
pub struct Revealed {
    /// The secret's key.
    pub key: String,
    /// The value.
    pub value: String,
    /// The intent it was revealed for.
    pub intent_id: String,
}

/// The secrets service.
pub struct Secrets<'a> {
    app: &'a App,
}

impl App {
    /// Secrets of agents and of tenants.
    pub fn secrets(&self) -> Secrets<'_> {
        Secrets { app: self }
    }

    /// Seals secrets with a key derived from `kek` from now on.
    pub(crate) fn use_secrets_key(&self, kek: &[u8; 32]) {
        let mut hasher = Sha256::new();
        hasher.update(b"warrant secret sealing\0");
        hasher.update(kek);
        let key: [u8; 32] = hasher.finalize().into();
        let _ = self.inner.secrets_cipher.set(sealing::cipher(key));
    }

    fn secrets_cipher(&self) -> Result<&Aes256Gcm> {
        self.inner
            .secrets_cipher
            .get()
            .ok_or_else(|| AppError::internal("no key-encryption key was given to seal secrets"))
    }
}

/// What a sealed value is bound to: where it is kept.
fn context(tenant_id: &str, agent_id: Option<&str>, key: &str) -> Vec<u8> {
    format!("{tenant_id}\0{}\0{key}", agent_id.unwrap_or("")).into_bytes()
}

impl Secrets<'_> {
    /// Checks the caller may see the owner's secrets (an agent's must be
    /// the tenant's), and answers the tenant.
    async fn owner_seen_by<'p>(
        &self,
        principal: &'p Principal,
        owner: Owner<'_>,
    ) -> Result<&'p str> {
        let tenant_id = match owner {
            Owner::Tenant => principal.reads()?,
            Owner::Agent(agent_id) => {
                principal.may(agent_id, Permission::Read)?;
                principal.tenant_id()?
            }
        };
        if let Owner::Agent(agent_id) = owner {
            self.app
                .store()
                .agent(tenant_id, agent_id)
                .await?
                .ok_or_else(|| AppError::not_found("agent", agent_id))?;
        }
        Ok(tenant_id)
    }

    /// Sets a secret; whether it is new. Only a key that configures.
    pub async fn put(
        &self,
        principal: &Principal,
        owner: Owner<'_>,
        key: &str,
        request: SecretRequest,
    ) -> Result<(SecretRecord, bool)> {
        principal.configures()?;
        let key = card::secret_key(key)?;
        card::secret_value(&request.value)?;
        let allowed_hosts = card::allowed_hosts(request.allowed_hosts)?;
        let tenant_id = self.owner_seen_by(principal, owner).await?;
        let agent_id = owner.agent_id();
        let sealed = sealing::seal_bound(
            self.app.secrets_cipher()?,
            &context(tenant_id, agent_id, &key),
            &request.value,
        )?;
        let secret = SecretRecord {
            tenant_id: tenant_id.to_owned(),
            agent_id: agent_id.map(str::to_owned),
            key,
            sealed,
            allowed_hosts,
            set_ms: now_ms(),
        };
        let created = self
            .app
            .store()
            .put_secret(&secret, &principal.actor())
            .await?;
        Ok((secret, created))
    }

    /// The owner's secrets, by key: metadata only (the sealed value stays
    /// in the record; no view shows it).
    pub async fn list(&self, principal: &Principal, owner: Owner<'_>) -> Result<Vec<SecretRecord>> {
        let tenant_id = self.owner_seen_by(principal, owner).await?;
        let agent_id = owner.agent_id();
        Ok(self.app.store().secrets(tenant_id, agent_id).await?)
    }

    /// Deletes a secret. Only a key that configures.
    pub async fn delete(&self, principal: &Principal, owner: Owner<'_>, key: &str) -> Result<()> {
        principal.configures()?;
        let tenant_id = self.owner_seen_by(principal, owner).await?;
        let agent_id = owner.agent_id();
        let deleted = self
            .app
            .store()
            .delete_secret(tenant_id, agent_id, key, &principal.actor(), now_ms())
            .await?;
        if deleted {
            Ok(())
        } else {
            Err(AppError::not_found("secret", key))
        }
    }

    /// The tenant's own secret `key` in clear, for the server's own use
    /// (a provider's signing secret); none when it is not set.
    pub async fn tenant_value(&self, tenant_id: &str, key: &str) -> Result<Option<String>> {
        let Some(secret) = self.app.store().secret(tenant_id, None, key).await? else {
            return Ok(None);
        };
        self.opened(&secret).map(Some)
    }

    fn opened(&self, secret: &SecretRecord) -> Result<String> {
        sealing::open_bound(
            self.app.secrets_cipher()?,
            &context(&secret.tenant_id, secret.agent_id.as_deref(), &secret.key),
            &secret.sealed,
        )
        .ok_or_else(|| {
            AppError::internal(format!(
                "the secret `{}` does not open under this server's key-encryption key",
                secret.key
            ))
        })
    }

    /// Reveals the agent's secret `key` for its intent `intent_id`: only
    /// to the agent's own token with `secrets:reveal`, only while the
    /// intent is approved within its time to live and its agent active,
    /// and only when the intent's merchant is one of the secret's allowed
    /// hosts. The reveal is on the intent's history before the value is
    /// answered.
    pub async fn reveal(
        &self,
        principal: &Principal,
        intent_id: &str,
        key: &str,
    ) -> Result<Revealed> {
        if !matches!(principal, Principal::Agent { .. }) {
            return Err(AppError::Forbidden(
                "a secret is revealed only to its agent's token (with `secrets:reveal`)".into(),
            ));
        }
        principal.requires(Permission::RevealSecrets)?;
        let key = card::secret_key(key)?;
        let tenant_id = principal.tenant_id()?;
        let intents = self.app.intents();
        let record = intents
            .stored(principal, intent_id, Permission::RevealSecrets)
            .await?;
        let now = now_ms();
        let status = status_at(&record, now);
        if status != IntentStatus::Approved {
            return Err(not_approved(status));
        }
        let secret = self
            .app
            .store()
            .secret(tenant_id, Some(&record.agent_id), &key)
            .await?
            .ok_or_else(|| AppError::not_found("secret", &key))?;
        self.app.cards().refuse_unusable(&record).await?;
        let merchant = record.intent.merchant.as_deref().unwrap_or("");
        if merchant.is_empty() || !card::reveals_for(&secret.allowed_hosts, merchant) {
            return Err(AppError::Forbidden(format!(
                "the secret `{key}` is revealed only for purchases from its allowed hosts, \
                 and this intent's merchant {} is not one",
                if merchant.is_empty() {
                    "is not given, so it".to_owned()
                } else {
                    format!("`{merchant}`")
                }
            )));
        }
        let value = self.opened(&secret)?;
        let actor = principal.actor();
        let event = IntentEvent {
            id: new_id("ev"),
            intent_id: record.id.clone(),
            from: Some(IntentStatus::Approved),
            to: IntentStatus::Approved,
            actor: actor.id,
            actor_name: actor.name,
            reason: Some(format!("revealed the secret `{key}`")),
            note: None,
            at_ms: now.max(record.updated_ms + 1),
            settlement: None,
            kind: Some("secret_revealed".into()),
        };
        if !self.app.store().record_reveal(tenant_id, &event).await? {
            // It moved, expired or lost its agent meanwhile.
            let record = intents
                .stored(principal, intent_id, Permission::RevealSecrets)
                .await?;
            let status = status_at(&record, now_ms());
            if status != IntentStatus::Approved {
                return Err(not_approved(status));
            }
            return Err(AppError::AgentNotActive(format!(
                "agent `{}` is not active: nothing is revealed for it",
                record.agent_id
            )));
        }
        Ok(Revealed {
            key,
            value,
            intent_id: record.id,
        })
    }
}

fn not_approved(current: IntentStatus) -> AppError {
    AppError::InvalidTransition {
        verb: "reveal a secret for",
        current,
        allowed: vec![IntentStatus::Approved],
    }
}
