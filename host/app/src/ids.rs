//! Ids and secrets.

use sha2::{Digest, Sha256};

use crate::errors::{AppError, Result};

/// A new id: `prefix` + `_` + a ULID, which sorts by creation time.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::generate())
}

/// A new secret: `prefix` + `_` + 32 random bytes in hex.
pub fn new_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(format!("{prefix}_{}", hex::encode(bytes)))
}

/// The sha256 of a secret, as stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
