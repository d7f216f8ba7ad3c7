//! `/plugins`: upload, list, show and delete a tenant's plugins; the
//! built-ins are listed beside them.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use warrant_domain::plugin::World;
use warrant_store::{Page, PluginRecord, Quota, StoreError};

use crate::AppState;
use crate::auth::Principal;
use crate::errors::{ApiError, Result};
use crate::http::{
    ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, new_id, now_ms, once, rfc3339,
};
use crate::registry::PluginEntry;

/// The longest plugin name accepted.
const MAX_NAME_CHARS: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadQuery {
    name: Option<String>,
    version: Option<String>,
}

/// A plugin as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PluginView<'a> {
    id: &'a str,
    name: &'a str,
    version: &'a str,
    sha256: &'a str,
    world: World,
    size: usize,
    builtin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
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
        }
    }
}

/// Checks a plugin name: lower-case letters, digits and `-`, starting
/// with a letter.
fn checked_name(state: &AppState, name: Option<String>) -> Result<String> {
    let name = name.ok_or_else(|| ApiError::validation("name", "is required: `?name=…`"))?;
    let valid = name.len() <= MAX_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(ApiError::validation(
            "name",
            format!(
                "`{name}` is not a plugin name: up to {MAX_NAME_CHARS} lower-case letters, digits and `-`, starting with a letter"
            ),
        ));
    }
    if state.registry.builtin(&name).is_some() {
        return Err(ApiError::validation(
            "name",
            format!("`{name}` is the name of a built-in plugin"),
        ));
    }
    Ok(name)
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    // Read after the body, so that a client still sending a large upload
    // gets the answer instead of a closed connection.
    let Query(query) = Query::<UploadQuery>::try_from_uri(&uri)
        .map_err(|rejection| ApiError::validation("query", rejection.body_text()))?;
    let name = checked_name(&state, query.name)?;
    let version = query
        .version
        .ok_or_else(|| ApiError::validation("version", "is required: `&version=1.2.0`"))?;
    semver::Version::parse(&version).map_err(|e| {
        ApiError::validation(
            "version",
            format!("`{version}` is not a semantic version such as 1.2.0: {e}"),
        )
    })?;
    let sha256 = hex::encode(Sha256::digest(&submission.body));

    once(&state, &principal, &submission, async |ticket| {
        let same_version = async || -> Result<Option<Reply>> {
            let Some(existing) = state
                .store
                .plugin_by_version(&tenant_id, &name, &version)
                .await?
            else {
                return Ok(None);
            };
            if existing.sha256 != sha256 {
                return Err(ApiError::conflict(format!(
                    "`{name}@{version}` is registered with other bytes; a version is immutable, upload a new one"
                )));
            }
            let entry = PluginEntry::from_record(&existing);
            Ok(Some(Reply::ok(&PluginView::from(&entry))?))
        };
        if let Some(reply) = same_version().await? {
            return Ok(reply);
        }
        let bytes = Arc::new(submission.body.to_vec());
        check_quota(&state, &principal, bytes.len()).await?;
        let runtime = state.registry.runtime().clone();
        let checked = {
            let (name, version, bytes) = (name.clone(), version.clone(), bytes.clone());
            state
                .compilations
                .run(&tenant_id, move |_| runtime.check(&name, &version, &bytes))
                .await?
        };
        let (plugin, _) =
            checked.map_err(|e| ApiError::other(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
        let record = PluginRecord {
            id: new_id("plg"),
            tenant_id: tenant_id.clone(),
            name: name.clone(),
            version: version.clone(),
            sha256: sha256.clone(),
            world: warrant_domain::plugin::Plugin::meta(&plugin).world,
            size: bytes.len() as i64,
            created_ms: now_ms(),
        };
        let entry = PluginEntry::from_record(&record);
        let reply = Reply::json(StatusCode::CREATED, &PluginView::from(&entry))?;
        match state
            .store
            .insert_plugin(&record, &bytes, ticket.record(&reply).as_ref())
            .await
        {
            Ok(()) => {}
            // The same name and version was registered meanwhile.
            Err(StoreError::Duplicate) => {
                return same_version()
                    .await?
                    .ok_or_else(|| ApiError::conflict("registered concurrently; retry"));
            }
            Err(e) => return Err(e.into()),
        }
        state.registry.keep(&record.id, plugin, bytes.len());
        Ok(reply)
    })
    .await
}

/// Refuses an upload of `size` bytes that the tenant's plan has no room
/// for, before compiling it (the insert checks again, in its transaction).
async fn check_quota(state: &AppState, principal: &Principal, size: usize) -> Result<()> {
    let Principal::Tenant(tenant) = principal else {
        return Ok(());
    };
    let (count, bytes) = state.store.plugin_totals(&tenant.id).await?;
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    for (quota, used, adding) in [
        (Quota::Plugins, count, 1),
        (Quota::PluginBytes, bytes, size),
    ] {
        if let Some(limit) = tenant.plan.limit(quota)
            && used.saturating_add(adding) > limit
        {
            return Err(ApiError::plan_limit(tenant.plan, quota, limit));
        }
    }
    Ok(())
}

/// `GET /plugins`: the built-ins, then the tenant's uploads, oldest first,
/// a page at a time.
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let page = query.page()?;
    let builtins = state.registry.builtins();
    // A cursor naming a built-in continues among the built-ins.
    let (first_builtin, uploads_after) = match &page.after {
        None => (0, None),
        Some(cursor) => match builtins.iter().position(|entry| &entry.id == cursor) {
            Some(at) => (at + 1, None),
            None => (builtins.len(), Some(cursor.clone())),
        },
    };
    let mut entries: Vec<PluginEntry> = builtins[first_builtin..].to_vec();
    let wanted = usize::try_from(page.limit).unwrap_or(usize::MAX);
    if entries.len() <= wanted {
        let rest = Page {
            after: uploads_after,
            limit: i64::try_from(wanted - entries.len()).unwrap_or(i64::MAX),
        };
        let uploaded = state.store.plugins(tenant_id, None, &rest).await?;
        entries.extend(uploaded.iter().map(PluginEntry::from_record));
    }
    let listing = Listing::new(entries, &page, |entry| entry.id.clone());
    listing.reply(|entry| Ok(PluginView::from(entry)))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    if let Some(entry) = state.registry.builtin_by_id(&id) {
        return Reply::ok(&PluginView::from(entry));
    }
    let record = state
        .store
        .plugin(tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("plugin", &id))?;
    Reply::ok(&PluginView::from(&PluginEntry::from_record(&record)))
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let tenant_id = principal.tenant()?;
    if state.registry.builtin_by_id(&id).is_some() {
        return Err(ApiError::conflict("a built-in plugin cannot be deleted"));
    }
    match state.store.delete_plugin(tenant_id, &id).await {
        Ok(true) => {
            state.registry.forget(&id);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Ok(false) => Err(ApiError::not_found("plugin", &id)),
        Err(StoreError::InUse) => Err(ApiError::conflict(format!(
            "plugin `{id}` is used by a policy version; it cannot be deleted"
        ))),
        Err(e) => Err(e.into()),
    }
}
