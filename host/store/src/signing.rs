//! The signing keys a store signs receipts with: the vault that seals
//! their secret halves (given by the application; its key is never in the
//! database) and the keys opened so far, by id (a key id names one key
//! forever, so an opened key is never stale).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use warrant_domain::receipt::{KeyVault, SigningKey};

use crate::errors::{Result, StoreError};

/// What a store and its write transactions share to sign receipts.
#[derive(Default)]
pub(crate) struct Signing {
    vault: RwLock<Option<Arc<dyn KeyVault>>>,
    opened: Mutex<HashMap<String, SigningKey>>,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signing")
    }
}

impl Signing {
    /// Seals and opens keys with `vault` from now on.
    pub(crate) fn use_vault(&self, vault: Arc<dyn KeyVault>) {
        *self.vault.write().expect("the vault lock") = Some(vault);
        self.opened.lock().expect("the key cache lock").clear();
    }

    fn vault(&self) -> Result<Arc<dyn KeyVault>> {
        self.vault
            .read()
            .expect("the vault lock")
            .clone()
            .ok_or_else(|| {
                StoreError::Keys("no key-encryption key is set: receipts cannot be signed".into())
            })
    }

    /// A new key and the text its secret half is stored as.
    pub(crate) fn new_key(&self) -> Result<(SigningKey, String)> {
        self.vault()?.new_key().map_err(StoreError::Keys)
    }

    /// The opened key `kid`, if this store opened it before.
    pub(crate) fn cached(&self, kid: &str) -> Option<SigningKey> {
        self.opened
            .lock()
            .expect("the key cache lock")
            .get(kid)
            .cloned()
    }

    /// Opens the stored secret half of `kid`, and keeps it.
    pub(crate) fn open(&self, kid: &str, sealed: &str) -> Result<SigningKey> {
        let key = self.vault()?.open(sealed).ok_or_else(|| {
            StoreError::Keys(format!(
                "the signing key `{kid}` does not open under this server's key-encryption key"
            ))
        })?;
        self.keep(kid, key.clone());
        Ok(key)
    }

    /// Keeps a key this store made.
    pub(crate) fn keep(&self, kid: &str, key: SigningKey) {
        self.opened
            .lock()
            .expect("the key cache lock")
            .insert(kid.to_owned(), key);
    }
}
