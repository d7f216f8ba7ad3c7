//! An agent's tokens: issued with the permissions asked for (the secret
//! shown once, kept as a hash), listed, revoked; each an agent event.

use serde::Deserialize;

use warrant_domain::context::AgentStatus;
use warrant_store::{Page, TokenRecord};

use crate::agents::Agents;
use crate::auth::{Permission, Principal};
use crate::errors::{AppError, Result};
use crate::{Remember, new_id, new_secret, now_ms, secret_hash};

/// The body of `POST /agents/:id/tokens`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token may do; [`Permission::DEFAULT`] when absent.
    #[serde(default)]
    pub permissions: Option<Vec<Permission>>,
}

/// A token just issued, with its secret, shown once.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The token's record.
    pub token: TokenRecord,
    /// Its secret: `at_…`.
    pub secret: String,
}

impl Agents<'_> {
    /// Issues a token for an agent that is not archived, with the
    /// permissions asked for (the default ones when none are).
    pub async fn issue_token(
        &self,
        principal: &Principal,
        id: &str,
        request: TokenRequest,
        remember: Remember<'_, IssuedToken>,
    ) -> Result<IssuedToken> {
        let tenant_id = principal.configures()?;
        let mut permissions = request
            .permissions
            .unwrap_or_else(|| Permission::DEFAULT.to_vec());
        if permissions.is_empty() {
            return Err(AppError::validation(
                "permissions",
                "must name at least one permission",
            ));
        }
        permissions.sort_by_key(|p| Permission::ALL.iter().position(|q| q == p));
        permissions.dedup();
        let agent = self.find(tenant_id, id).await?;
        if agent.agent.status == AgentStatus::Archived {
            return Err(AppError::Conflict(format!(
                "agent `{id}` is archived; it gets no tokens"
            )));
        }
        let secret = new_secret("at")?;
        let token = TokenRecord {
            id: new_id("tok"),
            tenant_id: tenant_id.to_owned(),
            agent_id: id.to_owned(),
            permissions: permissions.iter().map(|p| p.as_str().to_owned()).collect(),
            created_ms: now_ms(),
            revoked_ms: None,
        };
        let event = Self::event(
            principal,
            &agent,
            "token-issued",
            format!(
                "token `{}` issued with {}",
                token.id,
                token.permissions.join(", ")
            ),
        );
        let issued = IssuedToken { token, secret };
        self.app
            .store()
            .insert_token(
                &issued.token,
                &secret_hash(&issued.secret),
                &event,
                remember(&issued).as_ref(),
            )
            .await?;
        Ok(issued)
    }

    /// A page of an agent's tokens, revoked ones included, oldest first.
    pub async fn tokens(
        &self,
        principal: &Principal,
        id: &str,
        page: &Page,
    ) -> Result<Vec<TokenRecord>> {
        let tenant_id = principal.reads()?;
        self.find(tenant_id, id).await?;
        Ok(self.app.store().tokens(tenant_id, id, page).await?)
    }

    /// Revokes one of an agent's live tokens.
    pub async fn revoke_token(
        &self,
        principal: &Principal,
        id: &str,
        token_id: &str,
    ) -> Result<()> {
        let tenant_id = principal.configures()?;
        let agent = self.find(tenant_id, id).await?;
        let event = Self::event(
            principal,
            &agent,
            "token-revoked",
            format!("token `{token_id}` revoked"),
        );
        if self
            .app
            .store()
            .revoke_token(tenant_id, id, token_id, &event)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::not_found("live token", token_id))
        }
    }
}
