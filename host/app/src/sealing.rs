//! Sealing text with AES-256-GCM as `hex(nonce ‖ ciphertext)`: what the
//! browser sessions and the remembered idempotent answers keep sealed, and
//! secrets, each bound to where it is kept.

use aes_gcm::aead::{Aead, Key, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::errors::{AppError, Result};

/// A cipher of `key`.
pub fn cipher(key: [u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(&Key::<Aes256Gcm>::from(key))
}

/// `text` sealed under `cipher`, with a fresh random nonce.
pub fn seal(cipher: &Aes256Gcm, text: &str) -> Result<String> {
    seal_bound(cipher, b"", text)
}

/// `text` sealed under `cipher` and bound to `context` (authenticated, not
/// kept): it opens only with the same context, so a sealed value copied to
/// another place does not open there.
pub fn seal_bound(cipher: &Aes256Gcm, context: &[u8], text: &str) -> Result<String> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(AppError::internal)?;
    let payload = Payload {
        msg: text.as_bytes(),
        aad: context,
    };
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), payload)
        .map_err(|_| AppError::internal("sealing failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(hex::encode(out))
}

/// The text of a sealed value; none when it is not one, was changed, or
/// was sealed under another key.
pub fn open(cipher: &Aes256Gcm, sealed: &str) -> Option<String> {
    open_bound(cipher, b"", sealed)
}

/// The text of a value sealed by [`seal_bound`] with `context`.
pub fn open_bound(cipher: &Aes256Gcm, context: &[u8], sealed: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let payload = Payload {
        msg: ciphertext,
        aad: context,
    };
    let text = cipher.decrypt(&Nonce::from(nonce), payload).ok()?;
    String::from_utf8(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_text_opens_only_unchanged_and_under_its_key() {
        let sealer = cipher([7u8; 32]);
        let sealed = seal(&sealer, "hello").unwrap();
        assert_eq!(open(&sealer, &sealed).as_deref(), Some("hello"));
        assert!(!sealed.contains(&hex::encode("hello")));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(open(&sealer, &String::from_utf8(tampered).unwrap()), None);
        assert_eq!(open(&cipher([8u8; 32]), &sealed), None);
        assert_eq!(open(&sealer, "zz"), None);
    }

    #[test]
    fn a_bound_text_opens_only_in_its_context() {
        let sealer = cipher([7u8; 32]);
        let sealed = seal_bound(&sealer, b"t1\0ag_1\0KEY", "4242").unwrap();
        assert_eq!(
            open_bound(&sealer, b"t1\0ag_1\0KEY", &sealed).as_deref(),
            Some("4242")
        );
        assert_eq!(open_bound(&sealer, b"t1\0ag_2\0KEY", &sealed), None);
        assert_eq!(open(&sealer, &sealed), None);
    }
}
