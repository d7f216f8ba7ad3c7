//! Stripe Issuing: the real-time authorization webhook
//! (`issuing_authorization.request`, answered `{"approved": bool}` with the
//! `Stripe-Version` header, as Stripe documents direct responses), and the
//! events that settle (`issuing_authorization.created` / `.updated`,
//! `issuing_transaction.created`), recorded once each by Stripe's event
//! id. The URL names the tenant; Stripe sends no bearer credential, so the
//! signature (`Stripe-Signature`, HMAC-SHA256 of `t.payload` with the
//! tenant's secret `STRIPE_SIGNING_SECRET`, within five minutes) is the
//! credential: a bad or missing one is 400 and nothing is recorded.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use warrant_app::payments::{AuthorizationRequest, ProviderSettlement};
use warrant_domain::authorization::Merchant;
use warrant_domain::card::Provider;
use warrant_store::Actor;

use crate::AppState;
use crate::errors::{ApiError, Result};

/// The tenant secret that holds the signing secret of its Stripe endpoint.
pub const SIGNING_SECRET_KEY: &str = "STRIPE_SIGNING_SECRET";
/// How far a signature's time may be from now, in seconds.
const TOLERANCE_S: i64 = 300;
/// The API version answered when the event names none.
const DEFAULT_VERSION: &str = "2024-06-20";
/// The largest event taken.
const MAX_EVENT_BYTES: usize = 256 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/providers/stripe/{tenant_id}/authorizations",
            post(authorization_request),
        )
        .route("/providers/stripe/{tenant_id}/events", post(event))
}

/// Whether `header` signs `payload` with `secret` at a time within the
/// tolerance of `now_s`: `t=<unix seconds>,v1=<hex hmac>[,v1=…]`.
pub(crate) fn signature_holds(header: &str, payload: &[u8], secret: &str, now_s: i64) -> bool {
    let mut at = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => at = t.parse::<i64>().ok(),
            Some(("v1", v1)) => signatures.extend(hex::decode(v1).ok()),
            _ => {}
        }
    }
    let Some(at) = at else { return false };
    if (now_s - at).abs() > TOLERANCE_S {
        return false;
    }
    signatures.iter().any(|signature| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(at.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        mac.verify_slice(signature).is_ok()
    })
}

fn bad_request(message: &str) -> ApiError {
    ApiError::validation("body", message)
}

fn bad_signature(message: &str) -> ApiError {
    ApiError::validation("Stripe-Signature", message)
}

/// Checks the request's signature with the tenant's secret: the event, or
/// 400 and nothing recorded.
async fn verified(
    state: &AppState,
    tenant_id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<StripeEvent> {
    if body.len() > MAX_EVENT_BYTES {
        return Err(bad_request("the event is larger than Warrant takes"));
    }
    let Some(header) = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(bad_signature("the `Stripe-Signature` header is missing"));
    };
    // An unknown tenant and one without a secret are answered alike; a
    // secret that cannot be read is the server's failure, not Stripe's.
    let secret = state
        .app
        .secrets()
        .tenant_value(tenant_id, SIGNING_SECRET_KEY)
        .await?;
    let now_s = warrant_app::now_ms() / 1000;
    match secret {
        Some(secret) if signature_holds(header, body, &secret, now_s) => {}
        _ => return Err(bad_signature("the `Stripe-Signature` does not verify")),
    }
    serde_json::from_slice(body)
        .map_err(|e| bad_request(&format!("the event is not one Warrant reads: {e}")))
}

#[derive(Debug, Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    api_version: Option<String>,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// An `issuing.authorization`, as much as Warrant reads of it.
#[derive(Debug, Deserialize)]
struct IssuingAuthorization {
    id: String,
    card: IssuingCard,
    #[serde(default)]
    pending_request: Option<PendingRequest>,
    #[serde(default)]
    amount: Option<u64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    status: Option<String>,
    merchant_data: MerchantData,
}

#[derive(Debug, Deserialize)]
struct IssuingCard {
    id: String,
}

#[derive(Debug, Deserialize)]
struct PendingRequest {
    amount: u64,
    currency: String,
}

#[derive(Debug, Deserialize)]
struct MerchantData {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    category_code: Option<String>,
    #[serde(default)]
    country: Option<String>,
}

/// An `issuing.transaction`: a capture (negative amount) or a refund.
#[derive(Debug, Deserialize)]
struct IssuingTransaction {
    #[serde(rename = "type")]
    kind: String,
    amount: i64,
    currency: String,
    authorization: Option<String>,
}

impl MerchantData {
    /// The merchant as Warrant compares it: the URL's host (without a
    /// leading `www.`) as its domain.
    fn merchant(&self) -> Merchant {
        let domain = self
            .url
            .as_deref()
            .and_then(|url| url::Url::parse(url).ok())
            .and_then(|url| url.host_str().map(str::to_owned))
            .map(|host| host.strip_prefix("www.").unwrap_or(&host).to_owned());
        Merchant {
            name: self.name.clone().unwrap_or_else(|| "unknown".into()),
            domain,
            mcc: self
                .category_code
                .clone()
                .filter(|c| c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit())),
            country: self.country.clone().filter(|c| c.len() == 2),
        }
    }
}

fn actor() -> Actor {
    Actor::named_by_id("provider:stripe")
}

fn parse<T: serde::de::DeserializeOwned>(object: &serde_json::Value, what: &str) -> Result<T> {
    serde_json::from_value(object.clone())
        .map_err(|e| bad_request(&format!("the event's {what} is not one Warrant reads: {e}")))
}

/// The authorization Stripe asks about, as Warrant asks it.
fn asked(authorization: &IssuingAuthorization) -> Result<AuthorizationRequest> {
    let (amount, currency) = match (&authorization.pending_request, authorization.amount) {
        (Some(pending), _) => (pending.amount, pending.currency.clone()),
        (None, Some(amount)) => (amount, authorization.currency.clone().unwrap_or_default()),
        (None, None) => return Err(bad_request("the authorization names no amount")),
    };
    Ok(AuthorizationRequest {
        card_id: None,
        external_card_id: Some(authorization.card.id.clone()),
        amount,
        currency: currency.to_ascii_uppercase(),
        merchant: authorization.merchant_data.merchant(),
        external_id: Some(authorization.id.clone()),
    })
}

/// `POST /providers/stripe/{tenantId}/authorizations`: Stripe's
/// synchronous `issuing_authorization.request`, answered `{"approved"}`.
async fn authorization_request(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let event = verified(&state, &tenant_id, &headers, &body).await?;
    if event.event_type != "issuing_authorization.request" {
        return Err(bad_request(&format!(
            "this endpoint answers `issuing_authorization.request`, not `{}`",
            event.event_type
        )));
    }
    let authorization: IssuingAuthorization = parse(&event.data.object, "authorization")?;
    let approved = match state
        .app
        .payments()
        .authorize_for(
            &tenant_id,
            &actor(),
            asked(&authorization)?,
            Some(Provider::Stripe),
        )
        .await
    {
        Ok(decided) => decided.approved,
        // A card Warrant does not know is declined: no intent covers it.
        Err(warrant_app::AppError::NotFound { .. }) => false,
        Err(e) => return Err(e.into()),
    };
    let version = event.api_version.as_deref().unwrap_or(DEFAULT_VERSION);
    let mut response =
        (StatusCode::OK, axum::Json(json!({ "approved": approved }))).into_response();
    if let Ok(version) = HeaderValue::from_str(version) {
        response.headers_mut().insert("stripe-version", version);
    }
    Ok(response)
}

/// `POST /providers/stripe/{tenantId}/events`: what settles, recorded once
/// per Stripe event.
async fn event(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let event = verified(&state, &tenant_id, &headers, &body).await?;
    let payments = state.app.payments();
    let recorded = match event.event_type.as_str() {
        "issuing_authorization.created" => {
            let authorization: IssuingAuthorization = parse(&event.data.object, "authorization")?;
            match payments
                .authorize_for(
                    &tenant_id,
                    &actor(),
                    asked(&authorization)?,
                    Some(Provider::Stripe),
                )
                .await
            {
                Ok(_) | Err(warrant_app::AppError::NotFound { .. }) => true,
                Err(e) => return Err(e.into()),
            }
        }
        "issuing_authorization.updated" => {
            let authorization: IssuingAuthorization = parse(&event.data.object, "authorization")?;
            match authorization.status.as_deref() {
                Some("reversed") | Some("closed") if authorization.amount == Some(0) => {
                    payments
                        .settle_from_provider(
                            &tenant_id,
                            &actor(),
                            &authorization.id,
                            ProviderSettlement::Reverse,
                            &event.id,
                        )
                        .await?
                }
                _ => false,
            }
        }
        "issuing_transaction.created" => {
            let transaction: IssuingTransaction = parse(&event.data.object, "transaction")?;
            let Some(authorization) = &transaction.authorization else {
                return Err(bad_request("the transaction names no authorization"));
            };
            let settlement = match transaction.kind.as_str() {
                "capture" => ProviderSettlement::Capture {
                    amount: transaction.amount.unsigned_abs(),
                    currency: transaction.currency.to_ascii_uppercase(),
                },
                "refund" => ProviderSettlement::Refund {
                    amount: transaction.amount.unsigned_abs(),
                    currency: transaction.currency.to_ascii_uppercase(),
                },
                other => {
                    return Err(bad_request(&format!(
                        "a `{other}` transaction is not one Warrant records"
                    )));
                }
            };
            payments
                .settle_from_provider(&tenant_id, &actor(), authorization, settlement, &event.id)
                .await?
        }
        _ => false,
    };
    Ok((
        StatusCode::OK,
        axum::Json(json!({ "received": true, "recorded": recorded })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(payload);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn a_signature_holds_for_its_payload_secret_and_time() {
        let payload = br#"{"id":"evt_1"}"#;
        let good = format!("t=1000,v1={}", sign("whsec_a", 1000, payload));
        assert!(signature_holds(&good, payload, "whsec_a", 1000));
        assert!(signature_holds(&good, payload, "whsec_a", 1300));
        assert!(!signature_holds(&good, payload, "whsec_a", 1301), "stale");
        assert!(
            !signature_holds(&good, payload, "whsec_b", 1000),
            "another secret"
        );
        assert!(
            !signature_holds(&good, br#"{"id":"evt_2"}"#, "whsec_a", 1000),
            "another body"
        );
        let two = format!("t=1000,v1=00,v1={}", sign("whsec_a", 1000, payload));
        assert!(signature_holds(&two, payload, "whsec_a", 1000), "any v1");
        assert!(!signature_holds("v1=00", payload, "whsec_a", 1000));
        assert!(!signature_holds("", payload, "whsec_a", 1000));
    }

    #[test]
    fn a_merchant_url_gives_its_domain() {
        let data = MerchantData {
            name: Some("HETZNER".into()),
            url: Some("https://www.hetzner.com/cloud".into()),
            category_code: Some("4816".into()),
            country: Some("DE".into()),
        };
        let merchant = data.merchant();
        assert_eq!(merchant.domain.as_deref(), Some("hetzner.com"));
        assert_eq!(merchant.mcc.as_deref(), Some("4816"));
    }
}
