//! Browser sessions (the dashboard's): signing in with a tenant's API key
//! gives a sealed session (AES-256-GCM under a key every server of the
//! database shares), which the browser keeps as an HttpOnly cookie; the
//! API key is never readable in the browser. Every request opens the
//! session and authenticates its key again, so a revoked key ends its
//! sessions at once, on every server, and counts against the key's rate
//! limit like any request.

use aes_gcm::Aes256Gcm;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::errors::{AppError, Result};
use crate::sealing::{cipher, open, seal};
use crate::{App, now_ms};

/// The setting that holds the sessions' sealing key (hex).
const SESSION_KEY_SETTING: &str = "dashboard_session_key";

/// How long a session lasts after signing in.
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1000;

/// An open session: its caller and the token its forms must carry.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who is signed in.
    pub principal: Principal,
    /// The anti-forgery token of the session's forms.
    pub csrf: String,
    /// When the session ends, in ms since the epoch.
    pub expires_ms: i64,
}

/// What a sealed session holds.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The API key signed in with.
    key: String,
    csrf: String,
    expires_ms: i64,
}

/// The sessions service.
pub struct Sessions<'a> {
    app: &'a App,
}

impl App {
    /// Browser sessions.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { app: self }
    }
}

impl Sessions<'_> {
    /// Signs in with a tenant's API key: the sealed session (for the
    /// cookie) and the session. Only an API key (`sk_…`) signs in; an
    /// agent token or the admin key is refused.
    pub async fn start(&self, secret: &str) -> Result<(String, Session)> {
        let secret = secret.trim();
        let principal = self.app.authenticate(secret).await?;
        if !matches!(principal, Principal::Tenant(_)) {
            return Err(AppError::Forbidden(
                "sign in with a tenant's API key (`sk_…`)".into(),
            ));
        }
        let sealed = Sealed {
            key: secret.to_owned(),
            csrf: random_hex()?,
            expires_ms: now_ms() + SESSION_MS,
        };
        let text = serde_json::to_string(&sealed).map_err(AppError::internal)?;
        let cookie = seal(&self.cipher().await?, &text)?;
        Ok((
            cookie,
            Session {
                principal,
                csrf: sealed.csrf,
                expires_ms: sealed.expires_ms,
            },
        ))
    }

    /// The session a cookie holds, its key authenticated again; 401 when
    /// it does not open, has ended or its key no longer works.
    pub async fn open(&self, cookie: &str) -> Result<Session> {
        let ended = || AppError::Unauthorized("the session has ended; sign in again".into());
        let text = open(&self.cipher().await?, cookie).ok_or_else(ended)?;
        let sealed: Sealed = serde_json::from_str(&text).map_err(|_| ended())?;
        if sealed.expires_ms <= now_ms() {
            return Err(ended());
        }
        let principal = self.app.authenticate(&sealed.key).await?;
        Ok(Session {
            principal,
            csrf: sealed.csrf,
            expires_ms: sealed.expires_ms,
        })
    }

    /// The sealing key, made on first use. Two servers making it at once
    /// both end up using the one written last: it is read back, and read
    /// again on every request.
    async fn cipher(&self) -> Result<Aes256Gcm> {
        let store = self.app.store();
        let stored = match store.setting(SESSION_KEY_SETTING).await? {
            Some(key) => key,
            None => {
                store
                    .set_setting(SESSION_KEY_SETTING, &random_hex()?)
                    .await?;
                store
                    .setting(SESSION_KEY_SETTING)
                    .await?
                    .ok_or_else(|| AppError::internal("the session key was not kept"))?
            }
        };
        let bytes: [u8; 32] = hex::decode(stored)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| AppError::internal("the stored session key is not 32 bytes of hex"))?;
        Ok(cipher(bytes))
    }
}

fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(hex::encode(bytes))
}
