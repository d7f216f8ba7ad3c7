//! Decision receipts: what happened to an intent, signed so that anyone
//! holding the public keys can check it, and chained so that a changed,
//! deleted or reordered record shows.
//!
//! A receipt is a [`Receipt`] serialized as RFC 8785 canonical JSON (keys
//! sorted, no white space, numbers and strings in one spelling), so that
//! any language re-derives the same bytes, and signed as a compact JWS
//! (RFC 7515) with `alg: EdDSA` (Ed25519, RFC 8037) and the signing key's
//! `kid` in its protected header:
//!
//! ```text
//! base64url(header) . base64url(canonical receipt) . base64url(signature)
//! ```
//!
//! The receipts of a tenant form a chain: each carries its `sequence`
//! (1, 2, 3, … per tenant) and, in `previous`, the [`digest`] of the
//! tenant's receipt before it (the sha256 of that receipt's whole compact
//! JWS, signature included), the first one none. [`verify_chain`] walks a
//! run of receipts and names the first link that does not hold.
//!
//! Nothing here stores or fetches anything: the signing key is given, and
//! public keys come as a [`Jwks`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, Verifier as _};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::policy::Stage;
use crate::policy::input::EvaluationInput;
use crate::policy::record::DecisionRecord;

/// The format of the receipts this module writes, in every receipt's
/// `format`; a verifier refuses any other.
pub const FORMAT: &str = "warrant.receipt/1";

/// The JWS `typ` of a receipt.
pub const JWS_TYPE: &str = "warrant-receipt+jws";

/// What a receipt records: one decision or change of status of one intent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Receipt {
    /// [`FORMAT`].
    pub format: String,
    /// The tenant whose chain the receipt is part of.
    pub tenant_id: String,
    /// Its place in the tenant's chain: 1 for the first receipt.
    pub sequence: u64,
    /// The [`digest`] of the tenant's receipt `sequence - 1`; none for the
    /// first.
    pub previous: Option<String>,
    /// The intent.
    pub intent_id: String,
    /// The intent's agent.
    pub agent_id: String,
    /// The event it records, e.g. `intent.approved`.
    pub event: String,
    /// The intent's status before; none when it was declared.
    pub from: Option<String>,
    /// The intent's status after.
    pub to: String,
    /// The decision's outcome (`approved`, `pending_approval`, `denied`),
    /// when the receipt records a decision.
    pub verdict: Option<String>,
    /// The policy version that decided, when one did.
    pub policy: Option<PolicyRef>,
    /// What each rule of the policy answered, in order.
    pub rules: Vec<RuleRecord>,
    /// The sha256 (lower-case hex) of the evaluation input the plugins
    /// saw, as stored, when the receipt records a decision.
    pub input_sha256: Option<String>,
    /// When it happened: RFC 3339, UTC, milliseconds.
    pub at: String,
}

/// A version of a policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRef {
    /// The policy's id.
    pub id: String,
    /// Its version.
    pub version: u32,
}

/// One step's part in a decision: a risk step's, then each rule's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleRecord {
    /// `risk` or `rule`.
    pub stage: String,
    /// The plugin's name.
    pub plugin: String,
    /// The sha256 of the plugin's component.
    pub plugin_sha256: String,
    /// The sha256 of the text of the step's configuration, as the plugin
    /// received it.
    pub config_sha256: String,
    /// What a rule answered (`approve`, `deny`, `review`), or what its
    /// failure counts as; none for a risk step.
    pub verdict: Option<String>,
    /// A risk step's score.
    pub score: Option<u8>,
    /// Its reason codes in order, or its failure's error code.
    pub codes: Vec<String>,
}

impl RuleRecord {
    /// The records of a stored decision's steps, each with the sha256 of
    /// its configuration from the decision's `input` (risk steps, then
    /// rules, as the trace has them).
    pub fn of_decision(decision: &DecisionRecord, input: &EvaluationInput) -> Vec<RuleRecord> {
        let steps = input.risk.iter().chain(&input.rules);
        decision
            .rules
            .iter()
            .zip(steps)
            .map(|(entry, step)| RuleRecord {
                stage: match entry.stage {
                    Stage::Risk => "risk".into(),
                    Stage::Rule => "rule".into(),
                },
                plugin: entry.plugin.clone(),
                plugin_sha256: entry.sha256.clone(),
                config_sha256: step.config_sha256.clone(),
                verdict: entry.verdict.map(|v| v.as_str().to_owned()),
                score: entry.score,
                codes: match &entry.error {
                    Some(error) => vec![error.code.clone()],
                    None => entry.codes.clone(),
                },
            })
            .collect()
    }
}

/// Where the secret halves of signing keys are sealed: a key that never
/// lives in the database, which the store asks to make, seal and open
/// them.
pub trait KeyVault: Send + Sync + 'static {
    /// A new random Ed25519 secret key, and the text it is stored as.
    fn new_key(&self) -> Result<(SigningKey, String), String>;
    /// The secret key a stored text holds; none when it was changed or
    /// sealed under another key.
    fn open(&self, sealed: &str) -> Option<SigningKey>;
}

/// The id of a public key: its JWK thumbprint (RFC 7638, sha256,
/// base64url).
pub fn key_id(key: &VerifyingKey) -> String {
    let members = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(key.as_bytes())
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(members.as_bytes()))
}

/// The protected header of a receipt's JWS.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    kid: String,
    typ: String,
}

/// A public key as a JWK (RFC 7517), of type OKP with the curve Ed25519
/// (RFC 8037).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, 32 bytes, base64url without padding.
    pub x: String,
    /// The key's id, named by the receipts it signed.
    #[serde(default)]
    pub kid: String,
    /// `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `sig`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
}

impl Jwk {
    /// The JWK of `key`, named `kid`.
    pub fn ed25519(kid: &str, key: &VerifyingKey) -> Self {
        Jwk::ed25519_x(kid, &URL_SAFE_NO_PAD.encode(key.as_bytes()))
    }

    /// The JWK of the Ed25519 public key `x` (base64url), named `kid`.
    pub fn ed25519_x(kid: &str, x: &str) -> Self {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: x.into(),
            kid: kid.into(),
            alg: Some("EdDSA".into()),
            usage: Some("sig".into()),
        }
    }

    /// The Ed25519 public key it holds.
    pub fn verifying_key(&self) -> Result<VerifyingKey, ReceiptError> {
        let bad = |why: &str| ReceiptError::Key(format!("the key `{}` {why}", self.kid));
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(bad("is not an Ed25519 key (kty OKP, crv Ed25519)"));
        }
        if self.alg.as_deref().is_some_and(|alg| alg != "EdDSA") {
            return Err(bad("is not for EdDSA"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.x)
            .map_err(|_| bad("has an `x` that is not base64url"))?;
        ed25519_public_key(&bytes).map_err(|why| bad(&format!("has an `x` that {why}")))
    }
}

/// The Ed25519 public key of 32 raw bytes, or why they are not one.
pub fn ed25519_public_key(bytes: &[u8]) -> Result<VerifyingKey, &'static str> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "is not 32 bytes (an Ed25519 public key)")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "is not a valid Ed25519 point")
}

/// A JWK Set: `{"keys": [...]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The key named `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid == kid)
    }
}

/// Why a receipt, a key or a chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The text is not a compact JWS of a receipt.
    #[error("not a receipt: {0}")]
    Malformed(String),
    /// A key cannot be used.
    #[error("{0}")]
    Key(String),
    /// No key of the set has the receipt's `kid`.
    #[error("no published key has the id `{0}`")]
    UnknownKey(String),
    /// The signature is not the key's over the receipt.
    #[error("the signature does not match the receipt: it was changed, or signed by another key")]
    BadSignature,
}

/// Signs `receipt` with `key`, named `kid`: its compact JWS.
pub fn sign(receipt: &Receipt, kid: &str, key: &SigningKey) -> String {
    let header = Header {
        alg: "EdDSA".into(),
        kid: kid.into(),
        typ: JWS_TYPE.into(),
    };
    let header = URL_SAFE_NO_PAD.encode(canonical(&header));
    let payload = URL_SAFE_NO_PAD.encode(canonical(receipt));
    let signing_input = format!("{header}.{payload}");
    let signature = key.sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// The receipt of a compact JWS, after checking its form, its signature
/// against the key of `keys` its header names, and that its payload is
/// canonical JSON of the current [`FORMAT`].
pub fn verify(jws: &str, keys: &Jwks) -> Result<Receipt, ReceiptError> {
    let (kid, receipt, signing_input, signature) = parse(jws)?;
    let key = keys
        .find(&kid)
        .ok_or_else(|| ReceiptError::UnknownKey(kid.clone()))?
        .verifying_key()?;
    key.verify(signing_input.as_bytes(), &signature)
        .map_err(|_| ReceiptError::BadSignature)?;
    Ok(receipt)
}

/// The parts of a compact JWS: kid, receipt, signing input, signature.
fn parse(jws: &str) -> Result<(String, Receipt, String, Signature), ReceiptError> {
    let malformed = |why: &str| ReceiptError::Malformed(why.to_owned());
    let jws = jws.trim();
    let mut parts = jws.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a compact JWS has three parts separated by dots"));
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| ReceiptError::Malformed(format!("its {what} is not base64url")))
    };
    let header_bytes = decode(header, "header")?;
    let header_value: Header = serde_json::from_slice(&header_bytes)
        .map_err(|e| ReceiptError::Malformed(format!("its header: {e}")))?;
    if header_value.alg != "EdDSA" {
        return Err(ReceiptError::Malformed(format!(
            "its algorithm is `{}`, not EdDSA",
            header_value.alg
        )));
    }
    if header_value.typ != JWS_TYPE {
        return Err(ReceiptError::Malformed(format!(
            "its type is `{}`, not {JWS_TYPE}",
            header_value.typ
        )));
    }
    let payload_bytes = decode(payload, "payload")?;
    let receipt: Receipt = serde_json::from_slice(&payload_bytes)
        .map_err(|e| ReceiptError::Malformed(format!("its payload: {e}")))?;
    if receipt.format != FORMAT {
        return Err(ReceiptError::Malformed(format!(
            "its format is `{}`, not {FORMAT}",
            receipt.format
        )));
    }
    if canonical(&receipt) != payload_bytes {
        return Err(malformed("its payload is not canonical JSON (RFC 8785)"));
    }
    let signature: [u8; 64] = decode(signature, "signature")?
        .try_into()
        .map_err(|_| malformed("its signature is not 64 bytes"))?;
    Ok((
        header_value.kid,
        receipt,
        format!("{header}.{payload}"),
        Signature::from_bytes(&signature),
    ))
}

/// The receipt a compact JWS carries, without checking its signature: to
/// show what a receipt that does not verify claims.
pub fn unverified(jws: &str) -> Result<Receipt, ReceiptError> {
    parse(jws).map(|(_, receipt, _, _)| receipt)
}

/// The sha256 (lower-case hex) of a receipt's compact JWS: what the next
/// receipt of the chain names as `previous`.
pub fn digest(jws: &str) -> String {
    hex::encode(Sha256::digest(jws.trim().as_bytes()))
}

/// The sha256 (lower-case hex) of a JSON value's canonical form, e.g. of a
/// rule's configuration.
pub fn json_sha256(value: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(canonical(value)))
}

/// `value` as RFC 8785 canonical JSON.
pub fn canonical<T: Serialize>(value: &T) -> Vec<u8> {
    // Receipts hold strings, integers below 2^53, lists and objects, which
    // always serialize.
    serde_json_canonicalizer::to_vec(value).expect("a receipt serializes to JSON")
}

/// Where a chain of receipts first fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The position in the run given (0 for the first receipt).
    pub index: usize,
    /// The sequence number the receipt claims, when it can be read.
    pub sequence: Option<u64>,
    /// Why.
    pub reason: String,
}

/// Checks a run of one tenant's receipts, in the order given: each
/// verifies against `keys`, belongs to the tenant of the first, follows
/// the one before it (`sequence` one more, `previous` its [`digest`]), and
/// the receipt of sequence 1 names no previous one. `before` is the
/// digest of the receipt before the run, when the run does not start the
/// chain and the caller knows it. Returns how many receipts held.
pub fn verify_chain(
    receipts: &[&str],
    keys: &Jwks,
    before: Option<&str>,
) -> Result<usize, ChainBreak> {
    verify_chain_with(receipts, keys, before, |_, _| Ok(()))
}

/// [`verify_chain`], with one more check of each receipt once its
/// signature and link hold: `check(index, receipt)` answers why the
/// receipt breaks the chain, if it does (for example, it is not of the
/// tenant whose chain is walked).
pub fn verify_chain_with(
    receipts: &[&str],
    keys: &Jwks,
    before: Option<&str>,
    mut check: impl FnMut(usize, &Receipt) -> Result<(), String>,
) -> Result<usize, ChainBreak> {
    let mut last: Option<(u64, String, String)> = None;
    for (index, jws) in receipts.iter().enumerate() {
        // What a receipt that breaks the chain claims to be is read only
        // when it does.
        let broken = |reason: String| ChainBreak {
            index,
            sequence: unverified(jws).ok().map(|receipt| receipt.sequence),
            reason,
        };
        let receipt = verify(jws, keys).map_err(|e| broken(e.to_string()))?;
        match &last {
            None => {
                if receipt.sequence == 1 && receipt.previous.is_some() {
                    return Err(broken(
                        "the first receipt of the chain names a previous one".into(),
                    ));
                }
                if let Some(before) = before
                    && receipt.previous.as_deref() != Some(before)
                {
                    return Err(broken(
                        "it does not follow the receipt before the range".into(),
                    ));
                }
            }
            Some((sequence, tenant, digest_before)) => {
                if receipt.tenant_id != *tenant {
                    return Err(broken(format!(
                        "it is of the tenant `{}`, not `{tenant}`",
                        receipt.tenant_id
                    )));
                }
                if receipt.sequence != sequence + 1 {
                    return Err(broken(format!(
                        "its sequence is {}, where {} should follow {sequence}: a receipt is \
                         missing or out of order",
                        receipt.sequence,
                        sequence + 1
                    )));
                }
                if receipt.previous.as_deref() != Some(digest_before.as_str()) {
                    return Err(broken(format!(
                        "it does not name receipt {sequence} as the one before it: that \
                         receipt was changed or replaced"
                    )));
                }
            }
        }
        check(index, &receipt).map_err(broken)?;
        last = Some((receipt.sequence, receipt.tenant_id.clone(), digest(jws)));
    }
    Ok(receipts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn keys() -> Jwks {
        Jwks {
            keys: vec![
                Jwk::ed25519("k1", &key(1).verifying_key()),
                Jwk::ed25519("k2", &key(2).verifying_key()),
            ],
        }
    }

    fn receipt(sequence: u64, previous: Option<String>) -> Receipt {
        Receipt {
            format: FORMAT.into(),
            tenant_id: "ten_1".into(),
            sequence,
            previous,
            intent_id: format!("int_{sequence}"),
            agent_id: "ag_1".into(),
            event: "intent.approved".into(),
            from: None,
            to: "approved".into(),
            verdict: Some("approved".into()),
            policy: Some(PolicyRef {
                id: "pol_1".into(),
                version: 3,
            }),
            rules: vec![RuleRecord {
                stage: "rule".into(),
                plugin: "spend-limit".into(),
                plugin_sha256: "ab".repeat(32),
                config_sha256: json_sha256(&serde_json::json!({"maxAmountEuros": 100})),
                verdict: Some("approve".into()),
                score: None,
                codes: vec![],
            }],
            input_sha256: Some("cd".repeat(32)),
            at: "2026-12-05T10:00:00.000Z".into(),
        }
    }

    /// Three chained receipts, signed with `k1`.
    fn chain() -> Vec<String> {
        let mut jws: Vec<String> = Vec::new();
        for sequence in 1..=3 {
            let previous = jws.last().map(|last| digest(last));
            jws.push(sign(&receipt(sequence, previous), "k1", &key(1)));
        }
        jws
    }

    #[test]
    fn a_signed_receipt_verifies_and_reads_back() {
        let jws = sign(&receipt(1, None), "k1", &key(1));
        assert_eq!(verify(&jws, &keys()).unwrap(), receipt(1, None));
        // Its payload is the canonical JSON: sorted keys, no white space.
        let payload = URL_SAFE_NO_PAD
            .decode(jws.split('.').nth(1).unwrap())
            .unwrap();
        let text = String::from_utf8(payload).unwrap();
        assert!(text.starts_with(r#"{"agentId":"ag_1","at":"#), "{text}");
        assert!(!text.contains(' '), "{text}");
    }

    #[test]
    fn a_changed_receipt_does_not_verify() {
        let jws = sign(&receipt(1, None), "k1", &key(1));
        let mut changed = receipt(1, None);
        changed.verdict = Some("denied".into());
        let payload = URL_SAFE_NO_PAD.encode(canonical(&changed));
        let parts: Vec<&str> = jws.split('.').collect();
        let forged = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert_eq!(verify(&forged, &keys()), Err(ReceiptError::BadSignature));
        // Signed by another key than the header names.
        let other = sign(&receipt(1, None), "k1", &key(2));
        assert_eq!(verify(&other, &keys()), Err(ReceiptError::BadSignature));
    }

    #[test]
    fn an_unknown_key_or_a_broken_form_is_named() {
        let jws = sign(&receipt(1, None), "k9", &key(1));
        assert_eq!(
            verify(&jws, &keys()),
            Err(ReceiptError::UnknownKey("k9".into()))
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert!(
                matches!(verify(bad, &keys()), Err(ReceiptError::Malformed(_))),
                "{bad}"
            );
        }
        // A payload that is JSON of the receipt, but not canonical.
        let header = jws.split('.').next().unwrap();
        let loose = serde_json::to_vec_pretty(&receipt(1, None)).unwrap();
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(loose));
        let signature = key(1).sign(input.as_bytes());
        let loose_jws = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
        assert_eq!(
            verify(&loose_jws, &keys()),
            Err(ReceiptError::Malformed(
                "its payload is not canonical JSON (RFC 8785)".into()
            ))
        );
    }

    #[test]
    fn a_key_id_is_the_rfc_7638_thumbprint() {
        // RFC 8037, appendix A.2 and A.3.
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            kid: String::new(),
            alg: None,
            usage: None,
        };
        assert_eq!(
            key_id(&jwk.verifying_key().unwrap()),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn a_jwk_is_an_ed25519_okp_key() {
        let jwk = Jwk::ed25519("k1", &key(1).verifying_key());
        let json = serde_json::to_value(&jwk).unwrap();
        assert_eq!(json["kty"], "OKP");
        assert_eq!(json["crv"], "Ed25519");
        assert_eq!(json["use"], "sig");
        assert_eq!(json["x"].as_str().unwrap().len(), 43);
        assert_eq!(jwk.verifying_key().unwrap(), key(1).verifying_key());
        let mut rsa = jwk.clone();
        rsa.kty = "RSA".into();
        assert!(rsa.verifying_key().is_err());
        let mut short = jwk;
        short.x = "AAAA".into();
        assert!(short.verifying_key().is_err());
    }

    #[test]
    fn an_intact_chain_holds() {
        let chain = chain();
        let links: Vec<&str> = chain.iter().map(String::as_str).collect();
        assert_eq!(verify_chain(&links, &keys(), None), Ok(3));
        // A run that starts later holds given the digest before it.
        assert_eq!(
            verify_chain(&links[1..], &keys(), Some(&digest(links[0]))),
            Ok(2)
        );
        assert_eq!(
            verify_chain(&links[1..], &keys(), Some("00"))
                .unwrap_err()
                .index,
            0
        );
    }

    #[test]
    fn a_deleted_reordered_or_replaced_receipt_breaks_the_chain() {
        let chain = chain();
        let links: Vec<&str> = chain.iter().map(String::as_str).collect();

        let deleted = [links[0], links[2]];
        let broken = verify_chain(&deleted, &keys(), None).unwrap_err();
        assert_eq!((broken.index, broken.sequence), (1, Some(3)));
        assert!(
            broken.reason.contains("missing or out of order"),
            "{broken:?}"
        );

        let reordered = [links[0], links[2], links[1]];
        assert_eq!(
            verify_chain(&reordered, &keys(), None).unwrap_err().index,
            1
        );

        // Receipt 2 replaced by another, validly signed, receipt 2: the
        // third no longer follows it.
        let mut other = receipt(2, Some(digest(links[0])));
        other.verdict = Some("denied".into());
        let replaced_jws = sign(&other, "k1", &key(1));
        let replaced = [links[0], replaced_jws.as_str(), links[2]];
        let broken = verify_chain(&replaced, &keys(), None).unwrap_err();
        assert_eq!(broken.index, 2);
        assert!(broken.reason.contains("changed or replaced"), "{broken:?}");

        // A receipt of another tenant in the run.
        let mut foreign = receipt(2, Some(digest(links[0])));
        foreign.tenant_id = "ten_2".into();
        let foreign_jws = sign(&foreign, "k1", &key(1));
        let broken = verify_chain(&[links[0], &foreign_jws], &keys(), None).unwrap_err();
        assert!(broken.reason.contains("ten_2"), "{broken:?}");

        // The first receipt claiming a predecessor.
        let first = sign(&receipt(1, Some("00".into())), "k1", &key(1));
        assert!(verify_chain(&[&first], &keys(), None).is_err());
    }

    #[test]
    fn canonical_json_sorts_keys_and_spells_numbers_one_way() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"b": 1.0, "a": [true, null], "é": "\u00e9", "c": 1e2}"#)
                .unwrap();
        assert_eq!(
            String::from_utf8(canonical(&value)).unwrap(),
            r#"{"a":[true,null],"b":1,"c":100,"é":"é"}"#
        );
    }
}
