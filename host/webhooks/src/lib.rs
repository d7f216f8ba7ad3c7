//! Warrant's webhook deliverer: claims due deliveries from the store's
//! outbox, posts each event to its endpoint signed the Standard Webhooks
//! way, and records the attempt: delivered on a 2xx, otherwise tried
//! again on a schedule of about three days
//! ([`warrant_domain::webhook::RETRY_DELAYS`]), then failed, and the
//! endpoint disabled.
//!
//! At least once: a delivery is claimed for a lease
//! ([`WebhookRepository::claim_deliveries`]), so a server that dies
//! mid-attempt leaves it to be claimed again, and several servers on one
//! PostgreSQL database never claim one attempt twice. Only public
//! addresses are reached: the resolver drops every other address of a
//! name, and a URL's literal address is checked the same way, at every
//! attempt, unless the server allows insecure webhooks (local testing).
#![deny(missing_docs)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::Sha256;
use tokio::sync::Semaphore;

use warrant_domain::webhook::{forbidden_address, retry_delay};
use warrant_store::Store;
use warrant_store::log::{AttemptOutcome, AttemptRecord, ClaimedDelivery, DeliveryStatus};

/// How a server delivers.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Allow `http` endpoints and every address (local testing only).
    pub insecure: bool,
    /// The retry schedule's scale: 1 in production (about three days);
    /// smaller in tests.
    pub retry_scale: f64,
    /// How long an attempt may take, connection included.
    pub timeout: Duration,
    /// How many attempts run at once.
    pub concurrency: usize,
    /// How often the outbox is looked at when it had nothing due.
    pub poll: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            insecure: false,
            retry_scale: 1.0,
            timeout: Duration::from_secs(10),
            concurrency: 16,
            poll: Duration::from_millis(200),
        }
    }
}

/// How long a claimed delivery is this server's before another may claim
/// it again: longer than any attempt.
fn lease(settings: &Settings) -> Duration {
    settings.timeout * 3 + Duration::from_secs(5)
}

/// Makes ring the process's TLS provider, which every client needs; a
/// second call changes nothing.
#[allow(deprecated)] // ring: no post-quantum key exchange, but no C toolchain needed either
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Sends the outbox's deliveries.
#[derive(Clone)]
pub struct Deliverer {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    settings: Settings,
}

/// A resolver that gives only the public addresses of a name.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|address| forbidden_address(address.ip()).is_none())
                .collect();
            if public.is_empty() {
                let why = all
                    .first()
                    .and_then(|address| forbidden_address(address.ip()))
                    .unwrap_or("no address");
                return Err(format!(
                    "`{host}` resolves to {why}; only public addresses are reached"
                )
                .into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

impl Deliverer {
    /// A deliverer on `store`.
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Self, String> {
        install_tls();
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("Warrant-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !settings.insecure {
            client = client.dns_resolver(PublicOnly).https_only(true);
        }
        let client = client.build().map_err(|e| e.to_string())?;
        Ok(Deliverer {
            store,
            client,
            settings,
        })
    }

    /// Delivers until `shutdown` completes; attempts under way finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let permits = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            // Wait for room for one attempt at least, then claim as many
            // as there is room for.
            let first = tokio::select! {
                () = &mut shutdown => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
            };
            let room = permits.available_permits() + 1;
            let claimed = self.claim(room).await;
            if claimed.is_empty() {
                drop(first);
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(self.settings.poll) => {}
                }
                continue;
            }
            let mut first = Some(first);
            for delivery in claimed {
                let permit = match first.take() {
                    Some(permit) => permit,
                    None => match permits.clone().acquire_owned().await {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                };
                let this = self.clone();
                tokio::spawn(async move {
                    this.deliver(delivery).await;
                    drop(permit);
                });
            }
        }
        // Let the attempts under way finish (each within its timeout).
        let all = u32::try_from(self.settings.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = permits.acquire_many(all).await;
    }

    async fn claim(&self, limit: usize) -> Vec<ClaimedDelivery> {
        let lease_ms = i64::try_from(lease(&self.settings).as_millis()).unwrap_or(i64::MAX);
        match self
            .store
            .claim_deliveries(now_ms(), lease_ms, limit as i64)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!("webhook deliveries could not be claimed: {e}");
                Vec::new()
            }
        }
    }

    /// Makes one attempt at a claimed delivery and records it; a failure
    /// to record leaves it to be claimed again when its lease ends.
    pub async fn deliver(&self, delivery: ClaimedDelivery) {
        let outcome = self.attempt(&delivery).await;
        let label = match (outcome.status, outcome.attempt.response_status) {
            (DeliveryStatus::Delivered, _) => "delivered",
            (_, Some(_)) => "refused",
            (_, None) => "unreachable",
        };
        metrics::counter!("warrant_webhook_attempts_total", "outcome" => label).increment(1);
        metrics::histogram!("warrant_webhook_attempt_duration_seconds")
            .record(outcome.attempt.duration_ms as f64 / 1000.0);
        if let Err(e) = self.store.finish_attempt(&delivery.id, &outcome).await {
            tracing::warn!(delivery = %delivery.id, "a webhook attempt could not be recorded: {e}");
        }
    }

    async fn attempt(&self, delivery: &ClaimedDelivery) -> AttemptOutcome {
        let n = delivery.attempts + 1;
        let at_ms = now_ms();
        let started = Instant::now();
        let endpoint = &delivery.endpoint;
        let result = if endpoint.disabled_ms.is_some() {
            Err("the endpoint is disabled".to_owned())
        } else {
            self.post(delivery, at_ms).await
        };
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (response_status, error) = match result {
            Ok(status) => (Some(i64::from(status)), None),
            Err(error) => (None, Some(error)),
        };
        let attempt = AttemptRecord {
            n,
            at_ms,
            duration_ms,
            response_status,
            error,
        };
        if response_status.is_some_and(|status| (200..300).contains(&status)) {
            return AttemptOutcome {
                attempt,
                status: DeliveryStatus::Delivered,
                next_attempt_ms: None,
                disable_endpoint: None,
            };
        }
        if endpoint.disabled_ms.is_some() {
            return AttemptOutcome {
                attempt,
                status: DeliveryStatus::Failed,
                next_attempt_ms: None,
                disable_endpoint: None,
            };
        }
        let retry = u32::try_from(n)
            .ok()
            .and_then(|n| retry_delay(n, self.settings.retry_scale, jitter()));
        match retry {
            Some(delay) => AttemptOutcome {
                attempt,
                status: DeliveryStatus::Pending,
                next_attempt_ms: Some(
                    at_ms + duration_ms + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX),
                ),
                disable_endpoint: None,
            },
            None => AttemptOutcome {
                attempt,
                status: DeliveryStatus::Failed,
                next_attempt_ms: None,
                disable_endpoint: Some(format!(
                    "every attempt to deliver event `{}` failed for {n} attempts over days",
                    delivery.event.id
                )),
            },
        }
    }

    /// Posts the event; the endpoint's HTTP status, or what went wrong.
    async fn post(&self, delivery: &ClaimedDelivery, at_ms: i64) -> Result<u16, String> {
        let endpoint = &delivery.endpoint;
        let url = reqwest::Url::parse(&endpoint.url).map_err(|e| format!("bad URL: {e}"))?;
        if !self.settings.insecure {
            if url.scheme() != "https" {
                return Err("only `https` endpoints are reached".into());
            }
            if let Some(ip) = literal_address(&url)
                && let Some(why) = forbidden_address(ip)
            {
                return Err(format!("{ip} is {why}; only public addresses are reached"));
            }
        }
        let event = &delivery.event;
        let body = payload(&event.event_type, event.created_ms, &event.data);
        let timestamp = at_ms / 1000;
        let mut signatures = vec![sign(&endpoint.secret, &event.id, timestamp, &body)?];
        if let (Some(previous), Some(until)) =
            (&endpoint.previous_secret, endpoint.previous_until_ms)
            && until > at_ms
        {
            signatures.push(sign(previous, &event.id, timestamp, &body)?);
        }
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status().as_u16())
    }
}

fn literal_address(url: &reqwest::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// What went wrong with a request, with its causes.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The body of a delivery: `{"type","timestamp","data"}`, `data` being the
/// event's object as the API showed it.
pub fn payload(event_type: &str, created_ms: i64, data: &str) -> String {
    let timestamp =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(created_ms) * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
    format!(
        r#"{{"type":{},"timestamp":{},"data":{}}}"#,
        serde_json::Value::from(event_type),
        serde_json::Value::from(timestamp),
        data
    )
}

/// The Standard Webhooks signature of a delivery: `v1,` and the base64
/// HMAC-SHA256, keyed by the secret's bytes (after `whsec_`, base64), of
/// `id.timestamp.body`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|e| format!("the endpoint's secret is not base64: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// A random number from 0 to 1, to spread retries.
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_webhooks_example_does() {
        // The example of the Standard Webhooks specification.
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn the_payload_carries_type_time_and_the_object() {
        assert_eq!(
            payload("intent.approved", 1_764_950_400_123, r#"{"id":"int_1"}"#),
            r#"{"type":"intent.approved","timestamp":"2025-12-05T16:00:00.123Z","data":{"id":"int_1"}}"#
        );
    }
}
