//! What every handler shares: extractors that answer bad input with
//! [`ApiError`]s, JSON replies, idempotent writes, ids and times.

use aes_gcm::aead::{Aead, Key, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use warrant_domain::ValidationError;
use warrant_store::{IdempotencyRecord, Page};

use crate::auth::Principal;
use crate::errors::{ApiError, Result};
use crate::{AppState, MAX_JSON_BYTES};

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
/// The default and largest page of a listing.
pub const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

/// The body of a `POST`, `PATCH` or `PUT`, with its idempotency key and a
/// hash of the whole request (method, path, query, body).
pub struct Submission {
    /// The raw body.
    pub body: Bytes,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    request_sha256: String,
}

/// The largest body a route takes, as a request extension; routes without
/// one take [`MAX_JSON_BYTES`].
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// How much of a body over the limit is still read (and dropped) before
/// answering 413, so that a client still sending gets the answer rather
/// than a reset connection.
const MAX_DRAIN_BYTES: usize = 16 << 20;

impl<S: Send + Sync> FromRequest<S> for Submission {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self> {
        let idempotency_key = match req.headers().get("idempotency-key") {
            None => None,
            Some(value) => {
                let key = value
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|key| !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_CHARS)
                    .ok_or_else(|| {
                        ApiError::validation(
                            "Idempotency-Key",
                            format!(
                                "must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"
                            ),
                        )
                    })?;
                Some(key.to_owned())
            }
        };
        let mut hasher = Sha256::new();
        hasher.update(req.method().as_str());
        hasher.update(b"\n");
        hasher.update(
            req.uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or(""),
        );
        hasher.update(b"\n");
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(MAX_JSON_BYTES, |limit| limit.0);
        let too_large = || ApiError::too_large(format!("the request body is over {limit} bytes"));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > (limit + MAX_DRAIN_BYTES) as u64) {
            return Err(too_large());
        }
        let mut stream = req.into_body();
        let mut body = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = stream.frame().await {
            let frame = frame.map_err(|e| ApiError::validation("body", e))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            seen = seen.saturating_add(data.len());
            if seen <= limit {
                body.extend_from_slice(&data);
            } else if seen > limit + MAX_DRAIN_BYTES {
                break;
            }
        }
        if seen > limit {
            return Err(too_large());
        }
        let body = Bytes::from(body);
        hasher.update(&body);
        Ok(Submission {
            body,
            idempotency_key,
            request_sha256: hex::encode(hasher.finalize()),
        })
    }
}

impl Submission {
    /// Parses the body as JSON into `T`, naming the field of any mistake.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        parse_json(self.text()?)
    }

    /// Like [`Submission::json`], but an empty body is `{}`.
    pub fn json_or_empty<T: DeserializeOwned>(&self) -> Result<T> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return parse_json("{}");
        }
        self.json()
    }

    /// The body as text.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body)
            .map_err(|_| ApiError::validation("body", "is not UTF-8 text"))
    }
}

/// Parses JSON text into `T`, naming the field of any mistake.
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de)
        .map_err(|e| ApiError::from(ValidationError::from_json_path(e)))
}

/// Query parameters, with a 400 naming the mistake when they do not parse.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::validation("query", rejection.body_text()))
    }
}

/// Path parameters, with a 400 when they do not parse.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::validation("path", rejection.body_text()))
    }
}

/// `?limit=&cursor=` of a listing.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

impl PageQuery {
    /// A page from its two parameters.
    pub fn new(limit: Option<String>, cursor: Option<String>) -> Self {
        PageQuery { limit, cursor }
    }

    /// Checks the limit and builds a [`Page`].
    pub fn page(&self) -> Result<Page> {
        let limit = match &self.limit {
            None => DEFAULT_PAGE,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::validation("limit", format!("must be between 1 and {MAX_PAGE}"))
                })?,
        };
        Ok(Page {
            after: self.cursor.clone().filter(|c| !c.is_empty()),
            limit,
        })
    }

    /// Like [`PageQuery::page`], for a listing of versions, whose cursor
    /// is a version number.
    pub fn version_page(&self) -> Result<Page> {
        let page = self.page()?;
        if let Some(cursor) = &page.after
            && cursor.parse::<u32>().is_err()
        {
            return Err(ApiError::validation(
                "cursor",
                "must be a version number, as `nextCursor` gives it",
            ));
        }
        Ok(page)
    }
}

/// One page of a listing: `{"data": […], "nextCursor": "…" | null}`.
pub struct Listing<T> {
    data: Vec<T>,
    next_cursor: Option<String>,
}

impl<T> Listing<T> {
    /// Cuts the extra row the store returned past the page, which says
    /// that there is a next page; `id` gives an item's cursor.
    pub fn new(mut items: Vec<T>, page: &Page, id: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(id)
        } else {
            None
        };
        Listing {
            data: items,
            next_cursor,
        }
    }

    /// Answers 200 with the page, each item turned into its view by `f`.
    pub fn reply<'a, U: Serialize>(&'a self, f: impl FnMut(&'a T) -> Result<U>) -> Result<Reply> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Page<'c, U> {
            data: Vec<U>,
            next_cursor: &'c Option<String>,
        }
        Reply::ok(&Page {
            data: self.data.iter().map(f).collect::<Result<Vec<U>>>()?,
            next_cursor: &self.next_cursor,
        })
    }
}

/// A JSON answer whose body is already text, so that the same bytes can be
/// remembered for an idempotency key.
pub struct Reply {
    status: StatusCode,
    body: String,
    replayed: bool,
}

impl Reply {
    /// `value` as JSON with `status`.
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Self> {
        let body = serde_json::to_string(value).map_err(ApiError::internal)?;
        Ok(Reply {
            status,
            body,
            replayed: false,
        })
    }

    /// 200 with `value` as JSON.
    pub fn ok<T: Serialize>(value: &T) -> Result<Self> {
        Self::json(StatusCode::OK, value)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response();
        if self.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

/// What a write needs to remember its response for an idempotency key.
pub struct Ticket {
    scope: String,
    key: Option<String>,
    request_sha256: String,
    now_ms: i64,
}

impl Ticket {
    /// The record to commit with a write answered by `reply`; none without
    /// an idempotency key.
    pub fn record(&self, reply: &Reply) -> Option<IdempotencyRecord> {
        let key = self.key.as_ref()?;
        let sealing = Sealing::new(&self.scope, key);
        let body = match sealing.seal(&reply.body) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!("cannot seal a response: {e:?}");
                return None;
            }
        };
        Some(IdempotencyRecord {
            scope: self.scope.clone(),
            key: sealing.lookup,
            request_sha256: self.request_sha256.clone(),
            status: reply.status.as_u16(),
            body,
            created_ms: self.now_ms,
        })
    }
}

/// How a remembered response rests in the store: under a hash of the
/// client's idempotency key, its body sealed (AES-256-GCM) with a key
/// derived from the idempotency key itself. The store alone never holds a
/// response in the clear, such as one that shows a new API key or agent
/// token once.
struct Sealing {
    lookup: String,
    cipher_key: [u8; 32],
}

impl Sealing {
    fn new(scope: &str, key: &str) -> Self {
        let derive = |purpose: &str| -> [u8; 32] {
            let mut hasher = Sha256::new();
            for part in ["warrant idempotency", purpose, scope, key] {
                hasher.update(part.as_bytes());
                hasher.update([0]);
            }
            hasher.finalize().into()
        };
        Sealing {
            lookup: hex::encode(derive("lookup")),
            cipher_key: derive("seal"),
        }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.cipher_key))
    }

    /// `hex(nonce ‖ ciphertext)`.
    fn seal(&self, body: &str) -> Result<String> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(ApiError::internal)?;
        let sealed = self
            .cipher()
            .encrypt(&Nonce::from(nonce), body.as_bytes())
            .map_err(|_| ApiError::internal("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(hex::encode(out))
    }

    fn open(&self, sealed: &str) -> Result<String> {
        let bytes = hex::decode(sealed).map_err(ApiError::internal)?;
        if bytes.len() < 12 {
            return Err(ApiError::internal("a remembered response is truncated"));
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(ApiError::internal)?;
        let body = self
            .cipher()
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| ApiError::internal("a remembered response does not open"))?;
        String::from_utf8(body).map_err(ApiError::internal)
    }
}

/// Answers a write at most once per idempotency key of the caller (each
/// credential's keys are its own: a tenant key's, an agent's tokens', the
/// admin key's): a key seen before
/// with the same request replays the first response; with another request
/// it is a 422. `work` commits its effects together with
/// [`Ticket::record`]; when a concurrent request with the same key commits
/// first, this one answers with that request's response.
pub async fn once(
    state: &AppState,
    principal: &Principal,
    submission: &Submission,
    work: impl AsyncFnOnce(&Ticket) -> Result<Reply>,
) -> Result<Reply> {
    let scope = &principal.idempotency_scope();
    if let Some(reply) = replay(state, scope, submission).await? {
        return Ok(reply);
    }
    let ticket = Ticket {
        scope: scope.to_owned(),
        key: submission.idempotency_key.clone(),
        request_sha256: submission.request_sha256.clone(),
        now_ms: now_ms(),
    };
    let result = work(&ticket).await;
    if result.is_err() {
        // A refusal may rest on writes of others still being committed:
        // answer once they are on disk (and a replay can read them).
        state.store.sync().await?;
    }
    match result {
        Ok(reply) => Ok(reply),
        // Another request with this key may have committed while this one
        // worked (it then finds the intent moved, or the key taken): its
        // answer is this one's.
        Err(error) if submission.idempotency_key.is_some() => {
            match replay(state, scope, submission).await? {
                Some(reply) => Ok(reply),
                None if error.is_idempotency_race() => Err(ApiError::idempotency_race()),
                None => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

async fn replay(state: &AppState, scope: &str, submission: &Submission) -> Result<Option<Reply>> {
    let Some(key) = &submission.idempotency_key else {
        return Ok(None);
    };
    let sealing = Sealing::new(scope, key);
    let Some(record) = state
        .store
        .idempotent_response(scope, &sealing.lookup)
        .await?
    else {
        return Ok(None);
    };
    if record.request_sha256 != submission.request_sha256 {
        return Err(ApiError::idempotency_mismatch());
    }
    Ok(Some(Reply {
        status: StatusCode::from_u16(record.status).map_err(ApiError::internal)?,
        body: sealing.open(&record.body)?,
        replayed: true,
    }))
}

/// A number written exactly as JSON text, e.g. an amount's decimal text.
pub fn number(text: String) -> Result<Box<serde_json::value::RawValue>> {
    serde_json::value::RawValue::from_string(text).map_err(ApiError::internal)
}

/// A new id: `prefix` + `_` + a ULID, which sorts by creation time.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::generate())
}

/// A new secret: `prefix` + `_` + 32 random bytes in hex.
pub fn new_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(format!("{prefix}_{}", hex::encode(bytes)))
}

/// The sha256 of a secret, as stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A time in Unix milliseconds.
pub fn time_of(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A time in Unix milliseconds as RFC 3339 text.
pub fn rfc3339(ms: i64) -> String {
    time_of(ms)
        .format(&Rfc3339)
        .unwrap_or_else(|_| ms.to_string())
}

/// Checks a short display text: trimmed, not empty, at most `max`
/// characters.
pub fn checked_text(field: &str, value: &str, max: usize) -> Result<String> {
    Ok(warrant_domain::intent::checked_text(field, value, max)?)
}
