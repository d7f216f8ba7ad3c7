//! Agents' Ed25519 keys: made when an agent is created (its secret half
//! answered once, never stored), made again or registered by the tenant
//! (`POST /agents/:id/keys`), published as a JWK Set, and the check of a
//! request an agent signed (`Warrant-Agent-Signature`, over the sha256 of
//! the request's body).
//!
//! Only a tenant key that configures may change an agent's key: a key the
//! agent's own token could replace would prove no more than the token.

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use warrant_domain::receipt::{Jwk, Jwks, SigningKey, VerifyingKey, key_id};
use warrant_domain::signature::{DigestSignature, SecretJwk, public_key};
use warrant_store::{AgentKeyRecord, AgentRecord, StoreError};

use crate::agents::Agents;
use crate::auth::Principal;
use crate::errors::{AppError, Result};
use crate::now_ms;

/// The body of `POST /agents/:id/keys`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentKeyRequest {
    /// The agent's own Ed25519 public key (32 bytes in base64 or
    /// base64url, or a JWK); absent, Warrant makes a key pair and answers
    /// its secret half once.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub public_key: Option<serde_json::Value>,
}

/// An agent's new key: its secret half when Warrant made it, answered
/// once and kept nowhere.
#[derive(Debug)]
pub struct NewAgentKey {
    /// The key as kept.
    pub key: AgentKeyRecord,
    /// The secret key, when Warrant made it.
    pub secret: Option<SecretJwk>,
}

/// A new key pair, its public half for `agent_id` of `tenant_id`.
pub(crate) fn new_key_pair(tenant_id: &str, agent_id: &str) -> Result<NewAgentKey> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| AppError::internal(format!("no randomness: {e}")))?;
    let key = SigningKey::from_bytes(&secret);
    Ok(NewAgentKey {
        key: key_record(tenant_id, agent_id, &key.verifying_key()),
        secret: Some(SecretJwk::of(&key)),
    })
}

fn key_record(tenant_id: &str, agent_id: &str, key: &VerifyingKey) -> AgentKeyRecord {
    AgentKeyRecord {
        tenant_id: tenant_id.to_owned(),
        agent_id: agent_id.to_owned(),
        kid: key_id(key),
        public_key: Jwk::ed25519("", key).x,
        created_ms: now_ms(),
        retired_ms: None,
    }
}

/// The public JWK of an agent's key.
pub fn jwk(key: &AgentKeyRecord) -> Jwk {
    Jwk::ed25519_x(&key.kid, &key.public_key)
}

impl Agents<'_> {
    /// Gives the tenant's agent `id` a new key (a tenant key that
    /// configures): the one given, or one Warrant makes. The agent's key
    /// before is retired and stays published. 409 if the agent had the
    /// given key before.
    pub async fn add_key(
        &self,
        principal: &Principal,
        id: &str,
        request: AgentKeyRequest,
    ) -> Result<NewAgentKey> {
        let tenant_id = principal.configures()?;
        let new = match &request.public_key {
            Some(given) => NewAgentKey {
                key: key_record(
                    tenant_id,
                    id,
                    &public_key(given).map_err(|why| AppError::validation("publicKey", why))?,
                ),
                secret: None,
            },
            None => new_key_pair(tenant_id, id)?,
        };
        let event = Agents::event_of(
            principal,
            tenant_id,
            id,
            "key-added",
            format!(
                "key `{}` {}; the key before is retired",
                new.key.kid,
                if new.secret.is_some() {
                    "made by Warrant"
                } else {
                    "registered"
                }
            ),
        );
        match self.app.store().add_agent_key(&new.key, &event).await {
            Ok(true) => Ok(new),
            Ok(false) => match self.app.store().agent(tenant_id, id).await? {
                Some(_) => Err(AppError::AgentNotActive(format!(
                    "agent `{id}` is archived and cannot change"
                ))),
                None => Err(AppError::not_found("agent", id)),
            },
            Err(StoreError::Duplicate) => Err(AppError::Conflict(format!(
                "agent `{id}` had the key `{}` before: give it a new one",
                new.key.kid
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The agent's public keys, the active one last, as a JWK Set: public,
    /// for whoever checks what the agent signed. 404 for an agent without
    /// keys.
    pub async fn jwks(&self, id: &str) -> Result<Jwks> {
        let keys = self.app.store().agent_keys(id).await?;
        if keys.is_empty() {
            return Err(AppError::not_found("agent", id));
        }
        Ok(Jwks {
            keys: keys.iter().map(jwk).collect(),
        })
    }
}

/// A request an agent signed: the `Warrant-Agent-Signature` header and the
/// body it signs.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    /// The header's value.
    pub header: &'a str,
    /// The request's body, as sent.
    pub body: &'a [u8],
}

/// The id of `agent`'s key that signed `request`; 400
/// `E_AGENT_SIGNATURE` when the signature is not the agent's active key's
/// over the body.
pub(crate) fn signer(agent: &AgentRecord, request: &SignedRequest<'_>) -> Result<String> {
    let refused = |why: String| AppError::AgentSignature(why);
    let signature = DigestSignature::parse(request.header)
        .map_err(|why| refused(format!("`Warrant-Agent-Signature`: {why}")))?;
    let id = &agent.agent.id;
    let key = agent.signing_key.as_ref().ok_or_else(|| {
        refused(format!(
            "agent `{id}` has no key to sign with (`POST /agents/{id}/keys`)"
        ))
    })?;
    if key.kid != signature.kid {
        return Err(refused(format!(
            "`{}` is not agent `{id}`'s key; its key is `{}`",
            signature.kid, key.kid
        )));
    }
    let public = public_key(&serde_json::Value::String(key.public_key.clone()))
        .map_err(AppError::internal)?;
    let sha256 = hex::encode(Sha256::digest(request.body));
    if !signature.verifies(&sha256, &public) {
        return Err(refused(format!(
            "the signature is not `{}`'s over this request's body (sha256 {sha256})",
            key.kid
        )));
    }
    Ok(key.kid.clone())
}
