//! A tenant's webhook endpoints: where its events are sent, signed the
//! Standard Webhooks way with a secret shown once. An endpoint's URL must
//! be `https` and reach only public addresses (checked here when it is
//! set, and again by the deliverer at every delivery, since DNS can
//! change), unless the server allows insecure webhooks for local testing.

use std::net::IpAddr;

use base64::Engine as _;
use serde::Deserialize;

use warrant_domain::intent::checked_text;
use warrant_domain::webhook::forbidden_address;
use warrant_store::Page;
use warrant_store::log::{DeliveryRecord, EndpointRecord};

use crate::auth::Principal;
use crate::errors::{AppError, Result};
use crate::{App, new_id, now_ms};

/// How long a rotated secret keeps signing beside the new one: 24 hours.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 500;
const MAX_PATTERNS: usize = 100;

/// The body of `POST /webhook-endpoints`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointRequest {
    /// Where deliveries are posted: `https`, to a public address.
    pub url: String,
    /// The event types it receives: a type (`intent.approved`), a prefix
    /// with a trailing `*` (`intent.*`), or `*` for every type.
    pub events: Vec<String>,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// The body of `PATCH /webhook-endpoints/:id`: what changes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointPatch {
    /// A new URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New event types.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// A new description.
    #[serde(default)]
    pub description: Option<String>,
    /// `false` disables it (nothing is sent to it), `true` enables it
    /// again.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An endpoint with its secret, shown once: just made or just rotated.
#[derive(Clone, Debug)]
pub struct EndpointWithSecret {
    /// The endpoint.
    pub endpoint: EndpointRecord,
    /// `whsec_…`.
    pub secret: String,
}

/// The webhook endpoints service.
pub struct Webhooks<'a> {
    app: &'a App,
}

impl App {
    /// A tenant's webhook endpoints.
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { app: self }
    }
}

/// A new signing secret: `whsec_` and 32 random bytes in base64, as the
/// Standard Webhooks libraries read it.
fn new_signing_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

impl Webhooks<'_> {
    /// Makes an endpoint.
    pub async fn create(
        &self,
        principal: &Principal,
        request: EndpointRequest,
    ) -> Result<EndpointWithSecret> {
        let tenant_id = principal.configures()?;
        let url = self.checked_url(&request.url).await?;
        let events = checked_patterns(request.events)?;
        let description = checked_description(request.description)?;
        let secret = new_signing_secret()?;
        let now = now_ms();
        let endpoint = EndpointRecord {
            id: new_id("we"),
            tenant_id: tenant_id.to_owned(),
            url,
            events,
            description,
            secret: secret.clone(),
            previous_secret: None,
            previous_until_ms: None,
            disabled_ms: None,
            disabled_reason: None,
            created_ms: now,
            updated_ms: now,
        };
        self.app
            .store()
            .insert_endpoint(&endpoint, &principal.actor())
            .await?;
        Ok(EndpointWithSecret { endpoint, secret })
    }

    /// A page of the tenant's endpoints, newest first.
    pub async fn list(&self, principal: &Principal, page: &Page) -> Result<Vec<EndpointRecord>> {
        let tenant_id = principal.configures()?;
        Ok(self.app.store().endpoints(tenant_id, page).await?)
    }

    /// One of the tenant's endpoints.
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<EndpointRecord> {
        let tenant_id = principal.configures()?;
        self.app
            .store()
            .endpoint(tenant_id, id)
            .await?
            .ok_or_else(|| AppError::not_found("webhook endpoint", id))
    }

    /// Changes an endpoint.
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        patch: EndpointPatch,
    ) -> Result<EndpointRecord> {
        let tenant_id = principal.configures()?;
        let url = match &patch.url {
            Some(url) => Some(self.checked_url(url).await?),
            None => None,
        };
        let events = patch.events.map(checked_patterns).transpose()?;
        let description = checked_description(patch.description)?;
        let now = now_ms();
        let change = |endpoint: &mut EndpointRecord| {
            if let Some(url) = &url {
                endpoint.url.clone_from(url);
            }
            if let Some(events) = &events {
                endpoint.events.clone_from(events);
            }
            if description.is_some() {
                endpoint.description.clone_from(&description);
            }
            match patch.enabled {
                Some(true) => {
                    endpoint.disabled_ms = None;
                    endpoint.disabled_reason = None;
                }
                Some(false) if endpoint.disabled_ms.is_none() => {
                    endpoint.disabled_ms = Some(now);
                    endpoint.disabled_reason = Some("disabled by the tenant".into());
                }
                _ => {}
            }
        };
        self.app
            .store()
            .update_endpoint(
                tenant_id,
                id,
                &change,
                "webhook_endpoint.updated",
                &principal.actor(),
                now,
            )
            .await?
            .ok_or_else(|| AppError::not_found("webhook endpoint", id))
    }

    /// Deletes an endpoint and its deliveries (its events stay in the log).
    pub async fn delete(&self, principal: &Principal, id: &str) -> Result<()> {
        let tenant_id = principal.configures()?;
        if !self
            .app
            .store()
            .delete_endpoint(tenant_id, id, &principal.actor(), now_ms())
            .await?
        {
            return Err(AppError::not_found("webhook endpoint", id));
        }
        Ok(())
    }

    /// A new secret for an endpoint; the old one keeps signing beside it
    /// for [`ROTATION_OVERLAP_MS`].
    pub async fn rotate_secret(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<EndpointWithSecret> {
        let tenant_id = principal.configures()?;
        let secret = new_signing_secret()?;
        let now = now_ms();
        let change = |endpoint: &mut EndpointRecord| {
            endpoint.previous_secret =
                Some(std::mem::replace(&mut endpoint.secret, secret.clone()));
            endpoint.previous_until_ms = Some(now + ROTATION_OVERLAP_MS);
        };
        let endpoint = self
            .app
            .store()
            .update_endpoint(
                tenant_id,
                id,
                &change,
                "webhook_endpoint.secret_rotated",
                &principal.actor(),
                now,
            )
            .await?
            .ok_or_else(|| AppError::not_found("webhook endpoint", id))?;
        Ok(EndpointWithSecret { endpoint, secret })
    }

    /// Sends a `ping` event to the endpoint: the event's id.
    pub async fn test(&self, principal: &Principal, id: &str) -> Result<String> {
        let endpoint = self.show(principal, id).await?;
        if endpoint.disabled_ms.is_some() {
            return Err(AppError::Conflict(format!(
                "webhook endpoint `{id}` is disabled; enable it first (`PATCH` with `\"enabled\": true`)"
            )));
        }
        Ok(self
            .app
            .store()
            .ping_endpoint(&endpoint, &principal.actor(), now_ms())
            .await?)
    }

    /// A page of an endpoint's deliveries, newest first.
    pub async fn deliveries(
        &self,
        principal: &Principal,
        id: &str,
        page: &Page,
    ) -> Result<Vec<DeliveryRecord>> {
        let endpoint = self.show(principal, id).await?;
        Ok(self
            .app
            .store()
            .deliveries(&endpoint.tenant_id, &endpoint.id, page)
            .await?)
    }

    /// `url` if an endpoint may have it: `https` (or, where the server
    /// allows insecure webhooks, `http`), and a host that resolves only
    /// to public addresses.
    async fn checked_url(&self, url: &str) -> Result<String> {
        let text = checked_text("url", url, MAX_URL)?;
        let parsed = url::Url::parse(&text)
            .map_err(|e| AppError::validation("url", format!("is not a URL: {e}")))?;
        let insecure = self.app.insecure_webhooks();
        match parsed.scheme() {
            "https" => {}
            "http" if insecure => {}
            other => {
                return Err(AppError::validation(
                    "url",
                    format!("must be an `https` URL, not `{other}`"),
                ));
            }
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(AppError::validation(
                "url",
                "must not carry credentials; the signature authenticates deliveries",
            ));
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(domain)) => domain.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(AppError::validation("url", "has no host")),
        };
        if !insecure {
            let port = parsed.port_or_known_default().unwrap_or(443);
            let addresses: Vec<IpAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| {
                    AppError::validation(
                        "url",
                        format!("has a host that does not resolve (`{host}`: {e})"),
                    )
                })?
                .map(|address| address.ip())
                .collect();
            if addresses.is_empty() {
                return Err(AppError::validation(
                    "url",
                    format!("has a host that does not resolve (`{host}`)"),
                ));
            }
            for ip in addresses {
                if let Some(why) = forbidden_address(ip) {
                    let target = if host == ip.to_string() {
                        ip.to_string()
                    } else {
                        format!("{ip} (through `{host}`)")
                    };
                    return Err(AppError::validation(
                        "url",
                        format!("reaches {target}, {why}; webhooks go to public addresses only"),
                    ));
                }
            }
        }
        Ok(parsed.to_string())
    }
}

fn checked_patterns(patterns: Vec<String>) -> Result<Vec<String>> {
    if patterns.is_empty() {
        return Err(AppError::validation(
            "events",
            "must name at least one event type (`*` for every type)",
        ));
    }
    if patterns.len() > MAX_PATTERNS {
        return Err(AppError::validation(
            "events",
            format!("may name at most {MAX_PATTERNS} types"),
        ));
    }
    let mut checked = Vec::with_capacity(patterns.len());
    for pattern in patterns {
        let pattern = pattern.trim().to_owned();
        let body = pattern.strip_suffix('*').unwrap_or(&pattern);
        let well_formed = pattern == "*"
            || (!body.is_empty()
                && body.len() <= 100
                && body
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
                && (body.len() == pattern.len() || body.ends_with('.')));
        if !well_formed {
            return Err(AppError::validation(
                "events",
                format!(
                    "`{pattern}` is not an event type (`intent.approved`), a prefix (`intent.*`) or `*`"
                ),
            ));
        }
        if !checked.contains(&pattern) {
            checked.push(pattern);
        }
    }
    Ok(checked)
}

fn checked_description(description: Option<String>) -> Result<Option<String>> {
    description
        .map(|text| checked_text("description", &text, MAX_DESCRIPTION))
        .transpose()
        .map_err(Into::into)
}
