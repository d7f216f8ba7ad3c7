//! Extractors that answer bad input with [`ApiError`]s: the caller, a
//! request body with its idempotency key, path and query parameters, a
//! page of a listing.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::{self, AUTHORIZATION};
use axum::http::request::Parts;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use warrant_app::Principal;
use warrant_domain::ValidationError;
use warrant_store::Page;

use crate::errors::{ApiError, Result};
use crate::http::operate::Caller;
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
    pub(crate) request_sha256: String,
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
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// At most this many (1 to 200; 50 when absent).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The previous page's `nextCursor`.
    cursor: Option<String>,
}

impl PageQuery {
    /// A page from its two parameters.
    pub fn new(limit: Option<String>, cursor: Option<String>) -> Self {
        PageQuery { limit, cursor }
    }

    /// The first page of the largest size a listing gives.
    pub fn largest() -> Page {
        Page {
            after: None,
            limit: MAX_PAGE,
        }
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

/// The credential of an `Authorization: Bearer …` header; the scheme is
/// case-insensitive (RFC 9110).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim_start()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim())
        .filter(|secret| !secret.is_empty())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Err(ApiError::unauthorized(
                "send `Authorization: Bearer <API key or agent token>`",
            ));
        }
        let secret = bearer(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("the `Authorization` header must be `Bearer <key>`")
        })?;
        let principal = state.app.authenticate(secret).await?;
        if let Some(caller) = parts.extensions.get::<Caller>() {
            caller.set(principal.tenant_id().unwrap_or("admin"));
        }
        Ok(principal)
    }
}
