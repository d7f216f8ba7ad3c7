//! Compiled code on disk, so that a restart does not recompile.
//!
//! An entry is keyed by the component's sha256 and the engine's
//! fingerprint: a different Wasmtime version or engine setting misses the
//! cache rather than loading code compiled for another configuration.
//! Entries are native code that the runtime maps and runs, so the directory
//! must be writable only by Warrant; it is created with mode 0700. Every
//! access after that goes through a capability of the directory
//! (`cap_std::fs::Dir`): no name can reach outside it.

use std::io::Write;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::errors::RuntimeError;

pub(crate) struct CodeCache {
    /// The directory, for messages.
    path: PathBuf,
    dir: Dir,
    fingerprint: String,
}

impl CodeCache {
    pub(crate) fn open(dir: &Path, engine: &Engine) -> Result<Self, RuntimeError> {
        let error = |source| RuntimeError::Cache {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(error)?;
        }
        Ok(CodeCache {
            path: dir.to_owned(),
            dir: Dir::open_ambient_dir(dir, ambient_authority()).map_err(error)?,
            fingerprint: fingerprint(engine),
        })
    }

    /// The entry's name in the directory: a sha256 in hex and the engine's
    /// fingerprint, nothing a request chooses.
    fn name(&self, sha256: &str) -> String {
        format!("{sha256}-{}.cwasm", self.fingerprint)
    }

    /// The cached compilation of the component with `sha256`, if there is
    /// a usable one. An entry that cannot be loaded is removed.
    pub(crate) fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let name = self.name(sha256);
        let bytes = self.dir.read(&name).ok()?;
        // SAFETY: the file was written by `store` below from
        // `Component::serialize` with an engine of the same fingerprint, into
        // a directory only Warrant can write to, and renamed into place only
        // once complete. Wasmtime checks its header and compatibility again.
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(dir = %self.path.display(), %name, %error, "discarding an unusable compiled plugin");
                let _ = self.dir.remove_file(&name);
                None
            }
        }
    }

    /// Stores a compilation. A failure is logged, never fatal: the cache is
    /// an optimisation.
    pub(crate) fn store(&self, sha256: &str, component: &Component) {
        if let Err(error) = self.try_store(sha256, component) {
            tracing::warn!(dir = %self.path.display(), %error, "cannot cache a compiled plugin");
        }
    }

    fn try_store(&self, sha256: &str, component: &Component) -> std::io::Result<()> {
        let bytes = component.serialize().map_err(std::io::Error::other)?;
        let name = self.name(sha256);
        // Written whole under a name of its own, then renamed into place.
        let partial = format!(".{name}.{}.{}", std::process::id(), unique());
        let written = (|| {
            let mut file = self.dir.create(&partial)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            self.dir.rename(&partial, &self.dir, &name)
        })();
        if written.is_err() {
            let _ = self.dir.remove_file(&partial);
        }
        written
    }
}

impl CodeCache {
    /// Removes every entry but those of the components in `keep`, and
    /// every entry compiled for another engine. Files that are not entries
    /// (such as one being written) are left alone.
    pub(crate) fn remove_except(&self, keep: &std::collections::HashSet<String>) -> usize {
        let Ok(entries) = self.dir.entries() else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some((sha256, fingerprint)) = name
                .to_str()
                .and_then(|name| name.strip_suffix(".cwasm"))
                .and_then(|stem| stem.split_once('-'))
            else {
                continue;
            };
            if fingerprint == self.fingerprint && keep.contains(sha256) {
                continue;
            }
            match self.dir.remove_file(&name) {
                Ok(()) => removed += 1,
                Err(error) => {
                    tracing::warn!(dir = %self.path.display(), name = ?name, %error, "cannot remove an unused compiled plugin");
                }
            }
        }
        removed
    }
}

/// A number no other write of this process has used.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A short stable digest of everything that makes compiled code usable by
/// `engine`: Wasmtime's version, the compiler's settings, the target.
fn fingerprint(engine: &Engine) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    // `DefaultHasher::new` uses fixed keys: the digest is stable for a given
    // build of Warrant, which is all a cache key must be.
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
