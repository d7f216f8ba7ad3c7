//! The API described: an OpenAPI 3.1 document made from the handlers'
//! `#[utoipa::path]` annotations and the types they take and answer (the
//! router is built from the same annotations, so that every route is in
//! the document), served at `/openapi.json`, and a reference page at
//! `/docs` from Swagger UI assets embedded in the binary.

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use tower::ServiceExt;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

/// An error answer: `{"error": {"code", "message", "field"?, "status"?}}`.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorEnvelope {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// A stable code: `E_VALIDATION`, `E_NOT_FOUND`, `E_FORBIDDEN`, ….
    code: String,
    /// What happened, for a person.
    message: String,
    /// The field at fault, for `E_VALIDATION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// Where the intent or agent stands, for a move it cannot make.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    /// The request's id, as its `Request-Id` header says.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Warrant",
        description = "Authorizes what AI agents do with money: agents declare intents, \
                       tenants' WebAssembly policy plugins decide them, and Warrant tracks \
                       each to settlement. Every request but the health checks sends \
                       `Authorization: Bearer …`: the admin key, a tenant's API key (`sk_…`, \
                       with a role) or an agent token (`at_…`)."
    ),
    security(("bearer" = [])),
    components(schemas(ErrorEnvelope, ErrorDetail)),
    tags(
        (name = "operations", description = "Health, readiness and metrics."),
        (name = "tenants", description = "Tenants and their plans (the admin key)."),
        (name = "keys", description = "A tenant's API keys and their roles."),
        (name = "plugins", description = "WebAssembly policy plugins."),
        (name = "policies", description = "Ordered rules and risk steps, versioned."),
        (name = "agents", description = "Agents, their versions, status, events and tokens."),
        (name = "oversight", description = "Usage, baselines, anomalies and dry runs."),
        (name = "intents", description = "Intents, their decisions and lifecycle."),
        (name = "cards", description = "The cards agents pay with: one agent each, frozen, unfrozen, closed."),
        (name = "payments", description = "Card authorizations at payment time, approved only against an approved intent; captures, reversals and the ledger."),
        (name = "secrets", description = "Secrets of agents and tenants, sealed; an agent's revealed only for its approved intent."),
        (name = "events", description = "The tenant's audit log: every change, as an event."),
        (name = "webhooks", description = "Endpoints the events are sent to, signed."),
        (name = "receipts", description = "Signed, chained receipts of every decision and change of an intent, and the keys that sign them."),
    )
)]
pub(crate) struct ApiDoc;

/// What every operation shares: the bearer scheme, and the error answers
/// any request can get (a key that is not valid, a role that may not, a
/// body that does not parse, a rate limit, a deadline, a failure).
pub(crate) struct Conventions;

/// Every error status the API answers.
const ERROR_STATUSES: [(&str, &str); 13] = [
    (
        "400",
        "The request is malformed; `field` names what is wrong.",
    ),
    ("401", "No valid credential."),
    ("403", "The credential may not do this."),
    (
        "404",
        "No such object (another tenant's objects do not exist).",
    ),
    ("405", "The endpoint does not take this method."),
    ("408", "The request took longer than it may."),
    ("409", "The object is not in a state that allows this."),
    ("413", "The body is too large."),
    ("415", "The body is not of a type the endpoint takes."),
    ("422", "The idempotency key was used with another request."),
    (
        "429",
        "Too many requests (a rate limit, or a busy tenant); see `Retry-After`.",
    ),
    ("500", "The server failed; nothing was changed."),
    ("503", "The server cannot serve requests now."),
];

impl Modify for Conventions {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin key, a tenant's API key (`sk_…`) or an agent token (`at_…`).",
                    ))
                    .build(),
            ),
        );
        for path in openapi.paths.paths.values_mut() {
            for operation in [
                &mut path.get,
                &mut path.post,
                &mut path.patch,
                &mut path.delete,
                &mut path.put,
            ]
            .into_iter()
            .flatten()
            {
                for (status, description) in ERROR_STATUSES {
                    if operation.responses.responses.contains_key(status) {
                        continue;
                    }
                    let response = ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Error")))
                                .build(),
                        )
                        .build();
                    operation
                        .responses
                        .responses
                        .insert(status.to_owned(), response.into());
                }
            }
        }
    }
}

/// The document, made once.
pub(crate) fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, document) = crate::routes_and_document(0);
        document.to_pretty_json().expect("the document serializes")
    })
}

/// `GET /openapi.json`: this document, without credentials.
#[utoipa::path(
    get,
    operation_id = "openapi_serve_document",
    path = "/openapi.json",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object))
)]
pub(crate) async fn serve_document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

/// `GET /docs`: the reference page, from the assets below.
#[utoipa::path(
    get,
    operation_id = "openapi_docs_page",
    path = "/docs",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The API reference, as a page.", body = String, content_type = "text/html"))
)]
pub(crate) async fn docs_page() -> Html<&'static str> {
    Html(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Warrant API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.onload = () => {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#reference" });
};
</script>
</body>
</html>
"##,
    )
}

/// `GET /docs/{asset}`: Swagger UI's script and style sheet, embedded in
/// the binary (no CDN).
#[utoipa::path(
    get,
    operation_id = "openapi_docs_asset",
    path = "/docs/{asset}",
    tag = "operations",
    security(()),
    params(("asset" = String, Path, description = "`swagger-ui.css` or `swagger-ui-bundle.js`.")),
    responses((status = 200, description = "The asset.", body = String))
)]
pub(crate) async fn docs_asset(
    axum::extract::Path(asset): axum::extract::Path<String>,
) -> Response {
    static ASSETS: OnceLock<axum::Router> = OnceLock::new();
    if !matches!(asset.as_str(), "swagger-ui.css" | "swagger-ui-bundle.js") {
        return crate::ApiError::no_such_endpoint().into_response();
    }
    let assets = ASSETS
        .get_or_init(|| {
            swagger_ui_dist::generate_routes(swagger_ui_dist::ApiDefinition {
                uri_prefix: "/assets",
                api_definition: swagger_ui_dist::OpenApiSource::Uri("/openapi.json"),
                title: Some("Warrant API"),
            })
        })
        .clone();
    let request = Request::get(format!("/assets/{asset}"))
        .body(Body::empty())
        .expect("a request");
    match assets.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
    .into_response()
}
