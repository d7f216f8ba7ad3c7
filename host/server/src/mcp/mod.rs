//! The Model Context Protocol surface: the intent lifecycle as tools an
//! agent's model can call, and the supervision tools of a tenant, on the
//! same services as REST (`warrant_app`), with the same credentials.
//!
//! Two transports carry it: Streamable HTTP at `/mcp` on `warrant serve`
//! ([`router`], each request authenticated by its bearer credential like
//! any REST request), and stdio for `warrant mcp` ([`serve_stdio`], every
//! call authenticated again with the credential it was started with, so a
//! revoked token stops working at once). Each tool answers the object as
//! the REST API shows it, as structured content, and a sentence a model
//! can act on.

mod tools;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::ErrorData;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use warrant_app::{App, Principal};

use crate::MAX_JSON_BYTES;
use crate::errors::ApiError;
use crate::http::bearer;
use crate::http::operate::RequestId;

/// What the server tells a client about itself when it connects.
const INSTRUCTIONS: &str = "Warrant authorizes payments by AI agents. Before paying, declare an \
intent with declare_intent (purpose, expected amount and merchant); pay only when its status is \
`approved`. `pending_approval` means a person must decide first: call get_intent with its id \
until the status changes, and do not pay meanwhile. `denied` means do not pay. After paying, \
report the amount and merchant with complete_intent.";

/// Where a handler's caller comes from.
#[derive(Clone)]
enum Credential {
    /// Each HTTP request's own, authenticated before it reaches the
    /// handler ([`authenticate`]).
    PerRequest,
    /// The one a stdio server was started with, checked at every call.
    Fixed(Arc<str>),
}

/// The MCP server: one per connection (stdio) or per request (HTTP).
#[derive(Clone)]
pub struct Mcp {
    app: App,
    credential: Credential,
}

impl Mcp {
    /// A server answering as the bearer of `secret` (`at_…` or `sk_…`).
    pub fn with_credential(app: App, secret: &str) -> Self {
        Mcp {
            app,
            credential: Credential::Fixed(secret.into()),
        }
    }

    async fn principal(&self, context: &RequestContext<RoleServer>) -> Result<Principal, ApiError> {
        match &self.credential {
            Credential::Fixed(secret) => Ok(self.app.authenticate(secret).await?),
            Credential::PerRequest => context
                .extensions
                .get::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Principal>())
                .cloned()
                .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer …`")),
        }
    }

    /// The request id the HTTP layer gave the request, so that the events
    /// a call causes carry it.
    fn request_id(context: &RequestContext<RoleServer>) -> Option<String> {
        context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestId>())
            .map(|id| id.0.clone())
    }
}

/// An error outside a tool's answer (a refused credential, a resource
/// that cannot be read) as the protocol says it: the caller's mistake is
/// an invalid request, only the server's own failure an internal error;
/// the REST error envelope rides along as its data.
fn protocol_error(error: ApiError) -> ErrorData {
    let data = serde_json::from_str(&error.envelope()).ok();
    if error.status().is_server_error() {
        ErrorData::internal_error(error.message().to_owned(), data)
    } else {
        ErrorData::invalid_request(error.message().to_owned(), data)
    }
}

impl ServerHandler for Mcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("warrant", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let principal = self.principal(&context).await.map_err(protocol_error)?;
        Ok(ListToolsResult::with_all_items(tools::listed(&principal)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let principal = self.principal(&context).await.map_err(protocol_error)?;
        let Some(tool) = tools::Tool::named(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!("no tool is called `{}`", request.name),
                None,
            ));
        };
        let arguments = request.arguments.unwrap_or_default();
        let call = tools::call(&self.app, &principal, tool, arguments);
        let answer = match Self::request_id(&context) {
            Some(id) => warrant_app::within_request(id, call).await,
            None => call.await,
        };
        Ok(match answer {
            Ok(answer) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(answer.text)]);
                result.structured_content = Some(answer.value);
                result
            }
            Err(error) => {
                let envelope = error.envelope();
                let mut result = CallToolResult::error(vec![ContentBlock::text(format!(
                    "{}: {}",
                    error.code(),
                    error.message()
                ))]);
                result.structured_content = serde_json::from_str(&envelope).ok();
                result
            }
        }
        .into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let principal = self.principal(&context).await.map_err(protocol_error)?;
        Ok(ListResourcesResult::with_all_items(tools::resources(
            &principal,
        )))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let principal = self.principal(&context).await.map_err(protocol_error)?;
        match tools::read(&self.app, &principal, &request.uri).await {
            Ok(Some(text)) => Ok(ReadResourceResult::new(vec![
                ResourceContents::text(text, request.uri.clone())
                    .with_mime_type("application/json"),
            ])
            .into()),
            Ok(None) => Err(ErrorData::resource_not_found(
                format!("no resource `{}` for this credential", request.uri),
                None,
            )),
            Err(error) => Err(protocol_error(error)),
        }
    }
}

/// `/mcp`: the Streamable HTTP transport, stateless (any server of a
/// database answers any request), JSON answers. Each request is
/// authenticated (and counted against its credential's rate limit) before
/// the protocol sees it; a missing or refused credential is a 401.
pub fn router(app: App) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_JSON_BYTES)
        // A bearer credential, which a browser page cannot send across
        // origins, is what protects it; any `Host` may reach it, and a
        // browser's cross-origin request is refused.
        .disable_allowed_hosts()
        .enforce_origin_validation();
    let service = StreamableHttpService::new(
        {
            let app = app.clone();
            move || {
                Ok(Mcp {
                    app: app.clone(),
                    credential: Credential::PerRequest,
                })
            }
        },
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(app, authenticate))
}

/// Puts the caller of an `/mcp` request in its extensions, or answers 401
/// (with `WWW-Authenticate`, as the protocol's authorization asks).
async fn authenticate(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let refused = |error: ApiError| {
        let mut response = error.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        response
    };
    let Some(secret) = bearer(request.headers()) else {
        return refused(ApiError::unauthorized(
            "send `Authorization: Bearer <agent token or API key>`",
        ));
    };
    match app.authenticate(secret).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(error) => {
            let error = ApiError::from(error);
            if error.is_unauthorized() {
                refused(error)
            } else {
                error.into_response()
            }
        }
    }
}

/// Serves MCP over stdin and stdout as the bearer of `secret`, until the
/// client closes the stream.
pub async fn serve_stdio(app: App, secret: &str) -> anyhow::Result<()> {
    use rmcp::ServiceExt;
    // A credential that does not work is said at once, not at the first
    // call.
    app.authenticate(secret)
        .await
        .map_err(|e| anyhow::anyhow!("the credential was refused: {e}"))?;
    let server = Mcp::with_credential(app, secret)
        .serve(rmcp::transport::stdio())
        .await?;
    server.waiting().await?;
    Ok(())
}
