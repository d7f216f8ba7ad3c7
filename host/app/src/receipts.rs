//! Proof: the key-encryption key that seals the tenants' signing keys,
//! the public keys as JWK Sets, rotation, an intent's receipts, and the
//! walk of a tenant's chain that names its first broken link.
//!
//! Each tenant has one signing key at a time (made with its first
//! receipt); its chain of receipts is its own. The secret halves are
//! sealed (AES-256-GCM) under a key-encryption key that the server is
//! given and the database never holds; the database keeps a check value of
//! it, so that a server given another one refuses to start instead of
//! failing to sign.

use std::sync::Arc;

use aes_gcm::Aes256Gcm;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use warrant_domain::receipt::{self, Jwk, Jwks, KeyVault, Receipt, SigningKey};
use warrant_store::{ReceiptRecord, SigningKeyRecord};

use crate::auth::{Needs, Principal};
use crate::errors::{AppError, Result};
use crate::sealing;
use crate::{App, now_ms};

/// The setting that holds the check value of the key-encryption key.
const KEK_CHECK_SETTING: &str = "key_encryption_check";
/// How many receipts a walk of a chain reads at a time.
const WALK_PAGE: i64 = 1_000;

/// Signing keys sealed under a key-encryption key.
struct SealedKeys {
    cipher: Aes256Gcm,
}

impl KeyVault for SealedKeys {
    fn new_key(&self) -> std::result::Result<(SigningKey, String), String> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
        let sealed =
            sealing::seal(&self.cipher, &hex::encode(secret)).map_err(|e| e.to_string())?;
        Ok((SigningKey::from_bytes(&secret), sealed))
    }

    fn open(&self, sealed: &str) -> Option<SigningKey> {
        let secret = hex::decode(sealing::open(&self.cipher, sealed)?).ok()?;
        Some(SigningKey::from_bytes(&secret.try_into().ok()?))
    }
}

/// The check value of a key-encryption key: a hash that names it without
/// revealing it.
fn kek_check(kek: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"warrant key-encryption-key check\0");
    hasher.update(kek);
    hex::encode(hasher.finalize())
}

impl App {
    /// Seals the tenants' signing keys under `kek` from now on. The first
    /// server on a database records which key it was given; a server given
    /// another one is refused, since it could open none of the keys.
    pub async fn use_key_encryption_key(&self, kek: [u8; 32]) -> Result<()> {
        let check = kek_check(&kek);
        let store = self.store();
        match store.setting(KEK_CHECK_SETTING).await? {
            Some(stored) if stored != check => {
                return Err(AppError::Internal(
                    "this database's signing keys are sealed under another key-encryption key: \
                     give every server of a database the same one"
                        .into(),
                ));
            }
            Some(_) => {}
            None => store.set_setting(KEK_CHECK_SETTING, &check).await?,
        }
        store.use_key_vault(Arc::new(SealedKeys {
            cipher: sealing::cipher(kek),
        }));
        self.use_secrets_key(&kek);
        Ok(())
    }

    /// Receipts and the keys that sign them.
    pub fn receipts(&self) -> Receipts<'_> {
        Receipts { app: self }
    }
}

/// The receipts service.
pub struct Receipts<'a> {
    app: &'a App,
}

/// What a walk of a tenant's chain found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainReport {
    /// Whether every receipt of the range verifies and follows the one
    /// before it.
    pub intact: bool,
    /// The first sequence walked.
    pub from: i64,
    /// The last sequence walked.
    pub to: i64,
    /// How many receipts held before the break (all of them when intact).
    pub verified: u64,
    /// The sequence of the tenant's last receipt; 0 before the first.
    pub head: i64,
    /// The first link that does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<BrokenLink>,
}

/// Where a chain breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokenLink {
    /// The sequence where the receipt was expected.
    pub sequence: i64,
    /// What is wrong.
    pub reason: String,
}

/// A JWK of a stored key.
pub fn jwk_of(key: &SigningKeyRecord) -> Jwk {
    Jwk::ed25519_x(&key.kid, &key.public_key)
}

impl Receipts<'_> {
    /// The public keys that signed receipts, active and retired: every
    /// tenant's, or one tenant's. Public, like any JWK Set.
    pub async fn jwks(&self, tenant_id: Option<&str>) -> Result<Jwks> {
        let keys = self.app.store().signing_keys(tenant_id).await?;
        Ok(Jwks {
            keys: keys.iter().map(jwk_of).collect(),
        })
    }

    /// The caller's tenant's signing keys, oldest first.
    pub async fn keys(&self, principal: &Principal) -> Result<Vec<SigningKeyRecord>> {
        let tenant_id = principal.reads()?;
        Ok(self.app.store().signing_keys(Some(tenant_id)).await?)
    }

    /// Makes a new key sign the tenant's receipts from now on; the one
    /// before is retired and stays published.
    pub async fn rotate(&self, principal: &Principal) -> Result<SigningKeyRecord> {
        let tenant_id = principal.needs(Needs::ManageKeys)?;
        Ok(self
            .app
            .store()
            .rotate_signing_key(tenant_id, now_ms())
            .await?)
    }

    /// The receipts of the caller's intent, oldest first.
    pub async fn of_intent(&self, principal: &Principal, id: &str) -> Result<Vec<ReceiptRecord>> {
        let intent = self.app.intents().show(principal, id).await?;
        Ok(self
            .app
            .store()
            .intent_receipts(&intent.record.tenant_id, &intent.record.id)
            .await?)
    }

    /// Walks the caller's tenant's chain from sequence `from` to `to` (its
    /// head when none) against the tenant's published keys, in pages, and
    /// reports the first link that does not hold: a receipt changed,
    /// missing, out of order, of another tenant or signed by an unknown
    /// key; a walk to the head also checks that the head names the last
    /// receipt.
    pub async fn verify(
        &self,
        principal: &Principal,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<ChainReport> {
        let tenant_id = principal.reads()?;
        let store = self.app.store();
        let from = from.unwrap_or(1);
        if from < 1 {
            return Err(AppError::validation("from", "is a sequence, from 1"));
        }
        let head = store.chain_head(tenant_id).await?;
        let head_sequence = head.as_ref().map_or(0, |h| h.sequence);
        if to.is_some_and(|to| to < from - 1) {
            return Err(AppError::validation("to", "is before `from`"));
        }
        // Past the head there is nothing to walk, not something missing.
        let to = to.map_or(head_sequence, |to| to.min(head_sequence));
        let mut report = ChainReport {
            intact: true,
            from,
            to,
            verified: 0,
            head: head_sequence,
            broken: None,
        };
        let broken = |sequence: i64, reason: String, report: &mut ChainReport| {
            report.intact = false;
            report.broken = Some(BrokenLink { sequence, reason });
        };
        if from > to {
            return Ok(report);
        }
        let jwks = self.jwks(Some(tenant_id)).await?;
        // The link into the range: the digest of the receipt before it.
        let mut before = None;
        if from > 1 {
            match store
                .receipts(tenant_id, from - 1, from - 1, 1)
                .await?
                .pop()
            {
                Some(previous) if previous.sequence == from - 1 => {
                    before = Some(receipt::digest(&previous.jws));
                }
                _ => {
                    broken(from - 1, "the receipt is missing".into(), &mut report);
                    return Ok(report);
                }
            }
        }
        let mut next = from;
        while next <= to {
            let page = store.receipts(tenant_id, next, to, WALK_PAGE).await?;
            let Some(first) = page.first() else { break };
            if first.sequence != next {
                broken(next, "the receipt is missing".into(), &mut report);
                return Ok(report);
            }
            let links: Vec<&str> = page.iter().map(|r| r.jws.as_str()).collect();
            // Each receipt is the tenant's, and kept under the sequence it
            // was signed with.
            let kept_as = |index: usize, claimed: &Receipt| {
                let record = &page[index];
                if claimed.tenant_id != tenant_id {
                    return Err(format!("the receipt is of tenant `{}`", claimed.tenant_id));
                }
                if i64::try_from(claimed.sequence) != Ok(record.sequence) {
                    return Err(format!(
                        "the receipt kept as {} says it is {}",
                        record.sequence, claimed.sequence
                    ));
                }
                Ok(())
            };
            if let Err(bad) = receipt::verify_chain_with(&links, &jwks, before.as_deref(), kept_as)
            {
                // Where the link was expected.
                let at = next + bad.index as i64;
                report.verified += bad.index as u64;
                broken(at, bad.reason, &mut report);
                return Ok(report);
            }
            report.verified += page.len() as u64;
            let last = page.last().expect("a page with a first receipt");
            before = Some(receipt::digest(&last.jws));
            next = last.sequence + 1;
        }
        if next <= to {
            broken(next, "the receipt is missing".into(), &mut report);
            return Ok(report);
        }
        if to >= head_sequence
            && let Some(head) = &head
            && head.sequence > 0
            && head.last_sha256 != before
        {
            broken(
                head.sequence,
                "the chain's head does not name the last receipt".into(),
                &mut report,
            );
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_under_its_key_encryption_key() {
        let vault = SealedKeys {
            cipher: sealing::cipher([1u8; 32]),
        };
        let (key, sealed) = vault.new_key().unwrap();
        assert!(!sealed.contains(&hex::encode(key.to_bytes())));
        assert_eq!(vault.open(&sealed).unwrap().to_bytes(), key.to_bytes());
        let other = SealedKeys {
            cipher: sealing::cipher([2u8; 32]),
        };
        assert!(other.open(&sealed).is_none());
        assert_ne!(kek_check(&[1u8; 32]), kek_check(&[2u8; 32]));
    }
}
