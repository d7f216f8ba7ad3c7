//! Plugins: a tenant's uploads (validated, compiled one at a time, within
//! the plan's quota, kept compiled once registered), beside the built-ins;
//! and the plugin a policy step names.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use warrant_domain::plugin::{Plugin, PluginMeta};
use warrant_store::{Page, PluginRecord, PluginRemoval, StoreError};

use crate::auth::Principal;
use crate::errors::{AppError, Result};
use crate::registry::PluginEntry;
use crate::{App, Remember, new_id, now_ms};

/// The longest plugin name accepted.
const MAX_NAME_CHARS: usize = 64;

/// The plugins service.
pub struct Plugins<'a> {
    app: &'a App,
}

impl App {
    /// Plugins: upload, list, show, delete.
    pub fn plugins(&self) -> Plugins<'_> {
        Plugins { app: self }
    }
}

/// An upload's outcome.
#[derive(Clone, Debug)]
pub enum Uploaded {
    /// Registered now.
    Created(PluginEntry),
    /// The same bytes were registered under this name and version before.
    Existing(PluginEntry),
}

impl Plugins<'_> {
    /// Checks a plugin name: lower-case letters, digits and `-`, starting
    /// with a letter, and not a built-in's.
    fn checked_name(&self, name: Option<String>) -> Result<String> {
        let name = name.ok_or_else(|| AppError::validation("name", "is required: `?name=…`"))?;
        let valid = name.len() <= MAX_NAME_CHARS
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(AppError::validation(
                "name",
                format!(
                    "`{name}` is not a plugin name: up to {MAX_NAME_CHARS} lower-case letters, digits and `-`, starting with a letter"
                ),
            ));
        }
        if self.app.registry().builtin(&name).is_some() {
            return Err(AppError::validation(
                "name",
                format!("`{name}` is the name of a built-in plugin"),
            ));
        }
        Ok(name)
    }

    /// The upload's name and version, checked before its body is looked
    /// at.
    fn check_upload(
        &self,
        name: Option<String>,
        version: Option<String>,
    ) -> Result<(String, String)> {
        let name = self.checked_name(name)?;
        let version = version
            .ok_or_else(|| AppError::validation("version", "is required: `&version=1.2.0`"))?;
        semver::Version::parse(&version).map_err(|e| {
            AppError::validation(
                "version",
                format!("`{version}` is not a semantic version such as 1.2.0: {e}"),
            )
        })?;
        Ok((name, version))
    }

    /// Registers a component as `name@version` (both required; the
    /// version semantic) of the caller's tenant, once it has passed the
    /// sandbox's checks (refused with their code) and the plan's quota;
    /// the same bytes again answer the registered plugin, other bytes for
    /// a registered version are a conflict.
    pub async fn upload(
        &self,
        principal: &Principal,
        name: Option<String>,
        version: Option<String>,
        bytes: Vec<u8>,
        signature: Option<&str>,
        remember: Remember<'_, PluginEntry>,
    ) -> Result<Uploaded> {
        let app = self.app;
        let tenant_id = principal.configures()?;
        let (name, version) = self.check_upload(name, version)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        // A signature is checked first, whatever else the upload is.
        let publisher = app.check_signature(tenant_id, &sha256, signature).await?;
        let same_version = async || -> Result<Option<Uploaded>> {
            let Some(existing) = app
                .store()
                .plugin_by_version(tenant_id, &name, &version)
                .await?
            else {
                return Ok(None);
            };
            if existing.sha256 != sha256 {
                return Err(AppError::Conflict(format!(
                    "`{name}@{version}` is registered with other bytes; a version is immutable, upload a new one"
                )));
            }
            Ok(Some(Uploaded::Existing(PluginEntry::from_record(
                &existing,
            ))))
        };
        if let Some(existing) = same_version().await? {
            return Ok(existing);
        }
        // Refused before it is compiled when the plan has no room (the
        // insert checks again, in its transaction).
        if let Principal::Tenant(tenant) = principal {
            let (count, total) = app.store().plugin_totals(&tenant.tenant.id).await?;
            let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
            tenant.tenant.plan.allows_plugin(count, total, size)?;
        }
        let bytes = Arc::new(bytes);
        let runtime = app.registry().runtime().clone();
        let checked = {
            let (name, version, bytes) = (name.clone(), version.clone(), bytes.clone());
            app.inner
                .compilations
                .run(tenant_id, move |_| runtime.check(&name, &version, &bytes))
                .await?
        };
        let (plugin, _) = checked?;
        let record = PluginRecord {
            id: new_id("plg"),
            tenant_id: tenant_id.to_owned(),
            name: name.clone(),
            version: version.clone(),
            sha256: sha256.clone(),
            world: plugin.meta().world,
            size: bytes.len() as i64,
            created_ms: now_ms(),
            signed_by: publisher.map(|p| p.kid),
            deleted_ms: None,
        };
        let entry = PluginEntry::from_record(&record);
        match app
            .store()
            .insert_plugin(
                &record,
                &bytes,
                &principal.actor(),
                remember(&entry).as_ref(),
            )
            .await
        {
            Ok(()) => {}
            // The same name and version was registered meanwhile.
            Err(StoreError::Duplicate) => {
                return same_version()
                    .await?
                    .ok_or_else(|| AppError::Conflict("registered concurrently; retry".into()));
            }
            Err(e) => return Err(e.into()),
        }
        app.registry().keep(&record.id, plugin, bytes.len());
        Ok(Uploaded::Created(entry))
    }

    /// A page of the tenant's uploads, newest first, then the built-ins
    /// (which came with the binary, before any upload). A cursor naming a
    /// built-in continues among the built-ins. Gives one entry more than
    /// the page when there is a next one.
    pub async fn list(&self, principal: &Principal, page: &Page) -> Result<Vec<PluginEntry>> {
        let tenant_id = principal.reads()?;
        let builtins = self.app.registry().builtins();
        let wanted = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let cursor_builtin = page
            .after
            .as_ref()
            .and_then(|cursor| builtins.iter().position(|entry| &entry.id == cursor));
        let (mut entries, first_builtin) = match cursor_builtin {
            Some(at) => (Vec::new(), at + 1),
            None => {
                let uploaded = self.app.store().plugins(tenant_id, None, page).await?;
                let entries: Vec<PluginEntry> =
                    uploaded.iter().map(PluginEntry::from_record).collect();
                (entries, 0)
            }
        };
        // The store gives one more than the page when there are more
        // uploads; otherwise the built-ins follow.
        if entries.len() <= wanted {
            entries.extend(builtins[first_builtin..].iter().cloned());
        }
        Ok(entries)
    }

    /// A built-in or one of the tenant's plugins.
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<PluginEntry> {
        let tenant_id = principal.reads()?;
        if let Some(entry) = self.app.registry().builtin_by_id(id) {
            return Ok(entry.clone());
        }
        let record = self
            .app
            .store()
            .plugin(tenant_id, id)
            .await?
            .filter(|record| record.deleted_ms.is_none())
            .ok_or_else(|| AppError::not_found("plugin", id))?;
        Ok(PluginEntry::from_record(&record))
    }

    /// Deletes one of the tenant's plugins. One that a policy version uses
    /// is hidden instead: it decides for those versions as before, its
    /// bytes stay for their decisions' replays, and no new policy or
    /// version can name it.
    pub async fn delete(&self, principal: &Principal, id: &str) -> Result<()> {
        let tenant_id = principal.configures()?;
        if self.app.registry().builtin_by_id(id).is_some() {
            return Err(AppError::Conflict(
                "a built-in plugin cannot be deleted".into(),
            ));
        }
        match self
            .app
            .store()
            .delete_plugin(tenant_id, id, &principal.actor(), now_ms())
            .await
        {
            Ok(Some(PluginRemoval::Removed)) => {
                self.app.registry().forget(id);
                Ok(())
            }
            Ok(Some(PluginRemoval::Hidden)) => Ok(()),
            Ok(None) => Err(AppError::not_found("plugin", id)),
            Err(e) => Err(e.into()),
        }
    }

    /// The plugin a policy step names: a built-in by name or id,
    /// `name@version`, a `plg_…` id, or a name alone (the tenant's highest
    /// version); a mistake in `field` when there is none.
    pub(crate) async fn resolve(
        &self,
        tenant_id: &str,
        field: &str,
        reference: &str,
    ) -> Result<(String, PluginMeta)> {
        let registry = self.app.registry();
        if let Some(entry) = registry.builtin(reference) {
            return Ok((entry.id.clone(), entry.meta.clone()));
        }
        let store = self.app.store();
        let missing = || AppError::validation(field, format!("no plugin `{reference}`"));
        let record = if reference.starts_with("plg_") {
            store.plugin(tenant_id, reference).await?
        } else if let Some((name, version)) = reference.split_once('@') {
            if let Some(entry) = registry
                .builtin(name)
                .filter(|entry| entry.meta.version == version)
            {
                return Ok((entry.id.clone(), entry.meta.clone()));
            }
            store.plugin_by_version(tenant_id, name, version).await?
        } else {
            // Every version of the name: no plan allows this many plugins.
            let all = Page {
                after: None,
                limit: 10_000,
            };
            let versions = store.plugins(tenant_id, Some(reference), &all).await?;
            versions
                .into_iter()
                .filter_map(|p| Some((semver::Version::parse(&p.version).ok()?, p)))
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, p)| p)
        };
        let record = record.ok_or_else(missing)?;
        if record.deleted_ms.is_some() {
            return Err(AppError::validation(
                field,
                format!(
                    "plugin `{reference}` was deleted: it decides only for the policy versions \
                     that used it"
                ),
            ));
        }
        let meta = PluginMeta {
            name: record.name,
            version: record.version,
            sha256: record.sha256,
            world: record.world,
        };
        Ok((record.id, meta))
    }

    /// A plugin loaded, for a policy step.
    pub(crate) async fn loaded(&self, id: &str, meta: &PluginMeta) -> Result<Arc<dyn Plugin>> {
        self.app.registry().get(self.app, id, meta).await
    }
}
