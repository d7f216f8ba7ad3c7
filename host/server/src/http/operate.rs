//! What every request goes through, for the people who run Warrant: a
//! request id (`Request-Id`, taken from the client when it sends a
//! usable one), a deadline, one log line when it is answered, and a panic
//! answered as a 500 like any internal error instead of a dropped
//! connection.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tracing::Instrument;

use crate::errors::ApiError;

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

/// How requests are served.
#[derive(Clone)]
pub struct Serving {
    /// How long a request may take, from its first byte to its answer
    /// (a client that stalls sending its body included).
    pub request_timeout: Duration,
    /// `/metrics`, when it is on.
    pub metrics: Option<MetricsEndpoint>,
}

impl Default for Serving {
    fn default() -> Self {
        Serving {
            request_timeout: Duration::from_secs(120),
            metrics: None,
        }
    }
}

/// `GET /metrics`: what the process has counted, in Prometheus' text
/// format, for the bearer of its own token.
#[derive(Clone)]
pub struct MetricsEndpoint {
    /// The sha256 of the token a scraper sends as `Bearer`.
    pub token_sha256: String,
    /// Writes the metrics as Prometheus text.
    pub render: Arc<dyn Fn() -> String + Send + Sync>,
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsEndpoint")
    }
}

/// A request's id, in its extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Who made a request, filled in once it is authenticated: the tenant's
/// id, or `admin`. In the request's extensions, for its log line.
#[derive(Clone, Debug, Default)]
pub struct Caller(Arc<OnceLock<String>>);

impl Caller {
    /// Records who the caller is; the first record stays.
    pub fn set(&self, who: &str) {
        let _ = self.0.set(who.to_owned());
    }
}

/// Wraps every route of `router` in what [`Serving`] asks for.
pub fn layers(router: Router, serving: Serving) -> Router {
    router
        // Innermost: a handler's panic becomes an answer the outer layers
        // see (and log) like any other.
        .layer(CatchPanicLayer::custom(
            |panic: Box<dyn std::any::Any + Send>| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                ApiError::internal(format!("a request handler panicked: {message}")).into_response()
            },
        ))
        // Answers of a few kilobytes and more (pages of a listing, traces)
        // are gzipped for a client that asks; components are not.
        .layer(CompressionLayer::new().gzip(true).compress_when(
            SizeAbove::new(4096).and(NotForContentType::const_new("application/wasm")),
        ))
        .layer(axum::middleware::from_fn_with_state(serving, observe))
}

/// Bodies up to this size are read before the request is handled.
const SMALL_BODY: u64 = 64 << 10;

/// Reads a body of at most [`SMALL_BODY`] bytes before the request is
/// handled, so that a request refused before its body is looked at (a
/// wrong key, say) still has its body read: hyper closes a connection
/// whose request body was left unread, and a client that sent its next
/// request on it finds it gone (a reset can even destroy the answer
/// before the client reads it). A body of known length is read when it is
/// small; a chunked one up to [`SMALL_BODY`], the rest (a plugin upload)
/// left to its handler behind what was read. Larger bodies are read by
/// their handlers, as they are checked.
async fn read_small_body(request: Request) -> Result<Request, ApiError> {
    use http_body_util::BodyExt;
    let headers = request.headers();
    let length = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let chunked = length.is_none() && headers.contains_key(axum::http::header::TRANSFER_ENCODING);
    let small = length.is_some_and(|length| length > 0 && length <= SMALL_BODY);
    if !small && !chunked {
        return Ok(request);
    }
    let unreadable = |e: axum::Error| ApiError::validation("body", format!("cannot be read: {e}"));
    let (parts, body) = request.into_parts();
    if small {
        let bytes = axum::body::to_bytes(body, SMALL_BODY as usize)
            .await
            .map_err(unreadable)?;
        return Ok(Request::from_parts(parts, axum::body::Body::from(bytes)));
    }
    let mut body = body;
    let mut read: Vec<axum::body::Bytes> = Vec::new();
    let mut size = 0;
    while size <= SMALL_BODY as usize {
        match body.frame().await {
            None => {
                let bytes: Vec<u8> = read.concat();
                return Ok(Request::from_parts(parts, axum::body::Body::from(bytes)));
            }
            Some(frame) => {
                if let Ok(data) = frame.map_err(unreadable)?.into_data() {
                    size += data.len();
                    read.push(data);
                }
            }
        }
    }
    // Larger: what was read, then the rest as it comes.
    let rest = body.into_data_stream();
    let whole = futures_util::StreamExt::chain(
        futures_util::stream::iter(read.into_iter().map(Ok::<_, axum::Error>)),
        rest,
    );
    Ok(Request::from_parts(
        parts,
        axum::body::Body::from_stream(whole),
    ))
}

/// An id a client may choose: 1 to 128 visible ASCII characters.
fn usable(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

async fn observe(State(serving): State<Serving>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| usable(id))
        .map(str::to_owned)
        .unwrap_or_else(|| warrant_app::new_id("req"));
    let caller = Caller::default();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(none)".to_owned(), |path| path.as_str().to_owned());
    request.extensions_mut().insert(RequestId(id.clone()));
    request.extensions_mut().insert(caller.clone());

    // A span per request, for traces (`--otlp-endpoint`); logs keep
    // their one line per request below.
    let span = tracing::info_span!(
        target: "warrant::request",
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        request_id = %id,
    );
    let answer = async move {
        match read_small_body(request).await {
            Ok(request) => next.run(request).await,
            Err(refusal) => refusal.into_response(),
        }
    }
    .instrument(span.clone());
    // The events its writes record, and its error body, carry its id.
    let timeout = serving.request_timeout;
    let mut response = warrant_app::within_request(id.clone(), async move {
        match tokio::time::timeout(timeout, answer).await {
            Ok(response) => response,
            Err(_) => ApiError::timeout(timeout).into_response(),
        }
    })
    .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    span.record("http.response.status_code", i64::from(status));
    let elapsed = started.elapsed();
    let labels = [
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("warrant_http_requests_total", &labels).increment(1);
    metrics::histogram!("warrant_http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
    tracing::info!(
        target: "warrant::request",
        method = %method,
        route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %id,
        tenant_id = caller.0.get().map_or("", String::as_str),
        "answered"
    );
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    fn app(serving: Serving) -> Router {
        let router = Router::new()
            .route("/panics", get(async || -> &'static str { panic!("a bug") }))
            .route(
                "/slow",
                get(async || {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/fine", get(async || "fine"))
            .route("/long", get(async || "x".repeat(10_000)));
        layers(router, serving)
    }

    async fn call(router: Router, path: &str, id: Option<&str>) -> (StatusCode, String, String) {
        let mut request = Request::get(path);
        if let Some(id) = id {
            request = request.header("request-id", id);
        }
        let response = router
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let id = response.headers()["request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, id, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_panic_is_a_500_with_the_error_shape_and_the_request_id() {
        let (status, id, body) = call(app(Serving::default()), "/panics", None).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(id.starts_with("req_"), "{id}");
        assert_eq!(
            body,
            format!(
                r#"{{"error":{{"code":"E_INTERNAL","message":"internal error; nothing was changed","requestId":"{id}"}}}}"#
            )
        );
    }

    #[tokio::test]
    async fn a_request_past_its_deadline_is_answered_408() {
        let serving = Serving {
            request_timeout: Duration::from_millis(50),
            metrics: None,
        };
        let (status, _, body) = call(app(serving), "/slow", Some("mine-1")).await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        assert!(body.contains(r#""code":"E_TIMEOUT""#), "{body}");
    }

    #[tokio::test]
    async fn large_answers_are_gzipped_for_a_client_that_asks() {
        let encoding = async |path: &str, accept: Option<&str>| {
            let mut request = Request::get(path);
            if let Some(accept) = accept {
                request = request.header("accept-encoding", accept);
            }
            let response = app(Serving::default())
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            response
                .headers()
                .get("content-encoding")
                .map(|value| value.to_str().unwrap().to_owned())
        };
        assert_eq!(
            encoding("/long", Some("gzip")).await.as_deref(),
            Some("gzip")
        );
        assert_eq!(encoding("/long", None).await, None);
        assert_eq!(encoding("/fine", Some("gzip")).await, None);
    }

    #[tokio::test]
    async fn a_usable_request_id_is_kept_and_any_other_replaced() {
        let (_, id, body) = call(app(Serving::default()), "/fine", Some("trace-42")).await;
        assert_eq!((id.as_str(), body.as_str()), ("trace-42", "fine"));
        let long = "x".repeat(129);
        for unusable in ["with space", long.as_str()] {
            let (_, id, _) = call(app(Serving::default()), "/fine", Some(unusable)).await;
            assert!(id.starts_with("req_"), "{unusable}: {id}");
        }
    }
}
