//! `/plugins`: upload, list, show and delete a tenant's plugins; the
//! built-ins are listed beside them.

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use warrant_app::Principal;
use warrant_app::plugins::Uploaded;
use warrant_app::registry::PluginEntry;
use warrant_domain::plugin::World;

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, once, rfc3339};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadQuery {
    name: Option<String>,
    version: Option<String>,
}

/// A plugin as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PluginView<'a> {
    id: &'a str,
    name: &'a str,
    version: &'a str,
    sha256: &'a str,
    world: World,
    size: usize,
    builtin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    /// The key id of the publisher that signed it, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_by: Option<&'a str>,
}

impl<'a> From<&'a PluginEntry> for PluginView<'a> {
    fn from(entry: &'a PluginEntry) -> Self {
        PluginView {
            id: &entry.id,
            name: &entry.meta.name,
            version: &entry.meta.version,
            sha256: &entry.meta.sha256,
            world: entry.meta.world,
            size: entry.size,
            builtin: entry.builtin,
            created_at: entry.created_ms.map(rfc3339),
            signed_by: entry.signed_by.as_deref(),
        }
    }
}

/// `POST /plugins?name=N&version=SEMVER`, the component as the body.
#[utoipa::path(
    post,
    operation_id = "plugins_upload",
    path = "/plugins",
    tag = "plugins",
    params(UploadQuery), request_body(description = "The component (any of these content types).", content((Vec<u8> = "application/wasm"), (Vec<u8> = "application/octet-stream"))),
    responses((status = 201, description = "The plugin, registered.", body = PluginView<'static>), (status = 200, description = "The same component, registered before.", body = PluginView<'static>))
)]
pub(crate) async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
    headers: axum::http::HeaderMap,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let signature = match headers.get(warrant_domain::signature::HEADER) {
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::from(warrant_app::AppError::PluginSignature(
                "`Warrant-Plugin-Signature` is not text".into(),
            ))
        })?),
        None => None,
    };
    // Read after the body, so that a client still sending a large upload
    // gets the answer instead of a closed connection.
    let Query(query) = Query::<UploadQuery>::try_from_uri(&uri)
        .map_err(|rejection| ApiError::validation("query", rejection.body_text()))?;
    once(&state, &principal, &submission, async |ticket| {
        let created =
            |entry: &PluginEntry| Reply::json(StatusCode::CREATED, &PluginView::from(entry));
        let uploaded = state
            .app
            .plugins()
            .upload(
                &principal,
                query.name,
                query.version,
                submission.body.to_vec(),
                signature,
                &|entry| ticket.record(&created(entry).ok()?),
            )
            .await?;
        match &uploaded {
            Uploaded::Created(entry) => created(entry),
            Uploaded::Existing(entry) => Reply::ok(&PluginView::from(entry)),
        }
    })
    .await
}

/// `GET /plugins`: the built-ins, then the tenant's, a page at a time.
#[utoipa::path(
    get,
    operation_id = "plugins_list",
    path = "/plugins",
    tag = "plugins",
    params(PageQuery),
    responses((status = 200, description = "A page of the tenant's plugins, then the built-ins.", body = crate::http::ListingPage<'static, PluginView<'static>>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    principal.reads()?;
    let page = query.page()?;
    let entries = state.app.plugins().list(&principal, &page).await?;
    let listing = Listing::new(entries, &page, |entry| entry.id.clone());
    listing.reply(|entry| Ok(PluginView::from(entry)))
}

/// `GET /plugins/:id`.
#[utoipa::path(
    get,
    operation_id = "plugins_show",
    path = "/plugins/{id}",
    tag = "plugins",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The plugin.", body = PluginView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let entry = state.app.plugins().show(&principal, &id).await?;
    Reply::ok(&PluginView::from(&entry))
}

/// `DELETE /plugins/:id`: 204; a plugin a policy version uses is a 409.
#[utoipa::path(
    delete,
    operation_id = "plugins_remove",
    path = "/plugins/{id}",
    tag = "plugins",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 204, description = "Deleted."))
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    state.app.plugins().delete(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
