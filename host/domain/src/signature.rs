//! Detached Ed25519 signatures over a sha256 digest (its 32 bytes), carried
//! in a header as `keyid=KID,sig=SIG`: `KID` the RFC 7638 thumbprint of the
//! signer's public key, `SIG` the 64-byte signature in base64url (or
//! base64).
//!
//! - Signed plugins: a publisher signs the sha256 of a component and
//!   uploads it with `Warrant-Plugin-Signature`; a tenant registers the
//!   publishers it trusts.
//! - Signed intents: an agent signs the sha256 of the body of the request
//!   that declares its intent and sends it with `Warrant-Agent-Signature`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

use crate::receipt::Jwk;

/// The upload header that carries a publisher's signature.
pub const HEADER: &str = "warrant-plugin-signature";

/// The request header that carries an agent's signature of the body.
pub const AGENT_HEADER: &str = "warrant-agent-signature";

/// A signature as a header carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestSignature {
    /// The signing key's id.
    pub kid: String,
    /// The Ed25519 signature.
    pub signature: [u8; 64],
}

impl DigestSignature {
    /// Reads `keyid=…,sig=…` (in any order, spaces allowed).
    pub fn parse(header: &str) -> Result<Self, String> {
        let (mut kid, mut sig) = (None, None);
        for part in header.split(',') {
            let (name, value) = part
                .trim()
                .split_once('=')
                .ok_or_else(|| format!("`{}` is not `name=value`", part.trim()))?;
            match name.trim() {
                "keyid" => kid = Some(value.trim().to_owned()),
                "sig" => sig = Some(value.trim().to_owned()),
                other => return Err(format!("unknown part `{other}`: it is `keyid=…,sig=…`")),
            }
        }
        let kid = kid.filter(|k| !k.is_empty()).ok_or("no `keyid`")?;
        let sig = sig.ok_or("no `sig`")?;
        let bytes = URL_SAFE_NO_PAD
            .decode(sig.trim_end_matches('='))
            .or_else(|_| STANDARD.decode(&sig))
            .map_err(|_| "`sig` is not base64url".to_owned())?;
        let signature: [u8; 64] = bytes
            .try_into()
            .map_err(|_| "`sig` is not 64 bytes".to_owned())?;
        Ok(DigestSignature { kid, signature })
    }

    /// The header's value.
    pub fn header(&self) -> String {
        format!(
            "keyid={},sig={}",
            self.kid,
            URL_SAFE_NO_PAD.encode(self.signature)
        )
    }

    /// Signs a sha256 (lower-case hex) with `key`.
    pub fn sign(sha256: &str, key: &SigningKey) -> Result<Self, String> {
        let digest = hex::decode(sha256).map_err(|_| "not a sha256 in hex".to_owned())?;
        Ok(DigestSignature {
            kid: crate::receipt::key_id(&key.verifying_key()),
            signature: key.sign(&digest).to_bytes(),
        })
    }

    /// Whether it is `key`'s signature of a sha256 (hex).
    pub fn verifies(&self, sha256: &str, key: &VerifyingKey) -> bool {
        let Ok(digest) = hex::decode(sha256) else {
            return false;
        };
        key.verify(&digest, &Signature::from_bytes(&self.signature))
            .is_ok()
    }
}

/// A publisher's public key as given: 32 bytes in base64 or base64url, or
/// an Ed25519 JWK.
pub fn public_key(given: &serde_json::Value) -> Result<VerifyingKey, String> {
    match given {
        serde_json::Value::String(text) => {
            let bytes = URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .or_else(|_| STANDARD.decode(text))
                .map_err(|_| "is not base64 or base64url".to_owned())?;
            crate::receipt::ed25519_public_key(&bytes).map_err(str::to_owned)
        }
        serde_json::Value::Object(_) => {
            let mut jwk: Jwk =
                serde_json::from_value(given.clone()).map_err(|e| format!("is not a JWK: {e}"))?;
            if jwk.kid.is_empty() {
                jwk.kid = "(none)".into();
            }
            jwk.verifying_key().map_err(|e| e.to_string())
        }
        _ => Err("is a base64 string or a JWK object".into()),
    }
}

/// A secret Ed25519 key as a JWK (RFC 8037): what `warrant plugin keygen`
/// writes and what an agent is given once for its key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SecretJwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// The secret key, base64url.
    pub d: String,
    /// The key's id: the RFC 7638 thumbprint of its public key.
    pub kid: String,
}

impl SecretJwk {
    /// The JWK of `key`.
    pub fn of(key: &SigningKey) -> Self {
        SecretJwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            d: URL_SAFE_NO_PAD.encode(key.to_bytes()),
            kid: crate::receipt::key_id(&key.verifying_key()),
        }
    }

    /// The key it holds.
    pub fn signing_key(&self) -> Result<SigningKey, String> {
        let secret: [u8; 32] = URL_SAFE_NO_PAD
            .decode(self.d.trim_end_matches('='))
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("the key's `d` is not 32 bytes of base64url")?;
        Ok(SigningKey::from_bytes(&secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_component_and_key() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let sha = "ab".repeat(32);
        let signed = DigestSignature::sign(&sha, &key).unwrap();
        let read = DigestSignature::parse(&signed.header()).unwrap();
        assert_eq!(read, signed);
        assert!(read.verifies(&sha, &key.verifying_key()));
        assert!(!read.verifies(&"cd".repeat(32), &key.verifying_key()));
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        assert!(!read.verifies(&sha, &other));
        for bad in [
            "",
            "keyid=a",
            "sig=AAAA",
            "keyid=a,sig=!!",
            "keyid=a,sig=AAAA",
            "x=1",
        ] {
            assert!(DigestSignature::parse(bad).is_err(), "{bad}");
        }
        let public = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
        assert_eq!(
            public_key(&serde_json::json!(public)).unwrap(),
            key.verifying_key()
        );
        let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": public});
        assert_eq!(public_key(&jwk).unwrap(), key.verifying_key());
        assert!(public_key(&serde_json::json!("AAAA")).is_err());
        assert!(public_key(&serde_json::json!(5)).is_err());
    }
}
