//! Idempotent writes: a request with an `Idempotency-Key` is answered at
//! most once per key of its caller; the answer is remembered, sealed, in
//! the same transaction as the write it describes.

use aes_gcm::Aes256Gcm;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};

use warrant_app::{AppError, Principal, now_ms, sealing};
use warrant_store::IdempotencyRecord;

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{Reply, Submission};

/// What a write needs to remember its response for an idempotency key.
pub struct Ticket {
    scope: String,
    key: Option<String>,
    request_sha256: String,
    now_ms: i64,
}

impl Ticket {
    /// The record to commit with a write answered by `reply`; none without
    /// an idempotency key.
    pub fn record(&self, reply: &Reply) -> Option<IdempotencyRecord> {
        let key = self.key.as_ref()?;
        let sealing = Sealing::new(&self.scope, key);
        let body = match sealing.seal(&reply.body) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!("cannot seal a response: {e:?}");
                return None;
            }
        };
        Some(IdempotencyRecord {
            scope: self.scope.clone(),
            key: sealing.lookup,
            request_sha256: self.request_sha256.clone(),
            status: reply.status.as_u16(),
            body,
            created_ms: self.now_ms,
        })
    }
}

/// How a remembered response rests in the store: under a hash of the
/// client's idempotency key, its body sealed (AES-256-GCM) with a key
/// derived from the idempotency key itself. The store alone never holds a
/// response in the clear, such as one that shows a new API key or agent
/// token once.
struct Sealing {
    lookup: String,
    cipher_key: [u8; 32],
}

impl Sealing {
    fn new(scope: &str, key: &str) -> Self {
        let derive = |purpose: &str| -> [u8; 32] {
            let mut hasher = Sha256::new();
            for part in ["warrant idempotency", purpose, scope, key] {
                hasher.update(part.as_bytes());
                hasher.update([0]);
            }
            hasher.finalize().into()
        };
        Sealing {
            lookup: hex::encode(derive("lookup")),
            cipher_key: derive("seal"),
        }
    }

    fn cipher(&self) -> Aes256Gcm {
        sealing::cipher(self.cipher_key)
    }

    /// `hex(nonce ‖ ciphertext)`.
    fn seal(&self, body: &str) -> Result<String> {
        Ok(sealing::seal(&self.cipher(), body)?)
    }

    fn open(&self, sealed: &str) -> Result<String> {
        sealing::open(&self.cipher(), sealed)
            .ok_or_else(|| ApiError::internal("a remembered response does not open"))
    }
}

/// Answers a write at most once per idempotency key of the caller (each
/// credential's keys are its own: a tenant key's, an agent's tokens', the
/// admin key's): a key seen before
/// with the same request replays the first response; with another request
/// it is a 422. `work` commits its effects together with
/// [`Ticket::record`]; when a concurrent request with the same key commits
/// first, this one answers with that request's response.
pub async fn once(
    state: &AppState,
    principal: &Principal,
    submission: &Submission,
    work: impl AsyncFnOnce(&Ticket) -> Result<Reply>,
) -> Result<Reply> {
    let scope = &principal.idempotency_scope();
    if let Some(reply) = replay(state, scope, submission).await? {
        return Ok(reply);
    }
    let ticket = Ticket {
        scope: scope.to_owned(),
        key: submission.idempotency_key.clone(),
        request_sha256: submission.request_sha256.clone(),
        now_ms: now_ms(),
    };
    let error = match work(&ticket).await {
        Ok(reply) => return Ok(reply),
        Err(error) => error,
    };
    // A refusal may rest on writes of others still being committed:
    // answer once they are on disk (and a replay can read them). Failing
    // that, the refusal still stands as it is.
    if let Err(e) = state.app.sync().await {
        tracing::warn!("waiting for earlier writes before a refusal failed: {e}");
    }
    if submission.idempotency_key.is_none() {
        return Err(error);
    }
    // Another request with this key may have committed while this one
    // worked (it then finds the intent moved, or the key taken): its
    // answer is this one's, or its request another one's (422).
    match replay(state, scope, submission).await {
        Ok(Some(reply)) => Ok(reply),
        Ok(None) => Err(error),
        Err(replayed) if replayed.is_internal() => {
            tracing::warn!("reading the answer of a concurrent request failed: {replayed:?}");
            Err(error)
        }
        Err(replayed) => Err(replayed),
    }
}

async fn replay(state: &AppState, scope: &str, submission: &Submission) -> Result<Option<Reply>> {
    let Some(key) = &submission.idempotency_key else {
        return Ok(None);
    };
    let sealing = Sealing::new(scope, key);
    let Some(record) = state.app.remembered(scope, &sealing.lookup).await? else {
        return Ok(None);
    };
    if record.request_sha256 != submission.request_sha256 {
        return Err(AppError::IdempotencyMismatch.into());
    }
    Ok(Some(Reply {
        status: StatusCode::from_u16(record.status).map_err(ApiError::internal)?,
        body: sealing.open(&record.body)?,
        replayed: true,
    }))
}
