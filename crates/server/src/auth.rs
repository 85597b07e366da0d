//! The admin token: generated on first run and printed once, stored only as a hash (`settings` table),
//! rotatable; or taken from `THROUGHLINE_ADMIN_TOKEN`, as Meilisearch takes its master key from the
//! environment. It guards every route but health, the OpenAPI document, the web UI's static files and the
//! public chat of a published agent.

use std::net::SocketAddr;
use std::sync::RwLock;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use throughline_core::{CoreError, JobStore};

use crate::error::ApiError;
use crate::AppState;

const SETTING: &str = "admin_token_hash";

/// A fresh random token with a recognisable prefix (48 hexadecimal digits after it).
pub fn random_token(prefix: &str) -> Result<String, CoreError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| {
        CoreError::new(throughline_core::ErrorKind::Unavailable, format!("the system's random source failed: {e}"))
    })?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}{hex}"))
}

fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// Checks the admin token.
pub struct AdminAuth {
    hash: RwLock<blake3::Hash>,
}

/// How the admin token was set up at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    /// From the environment.
    Environment,
    /// Generated now: this is the only time it is shown.
    Generated(String),
    /// The stored hash of an earlier run.
    Stored,
}

impl AdminAuth {
    /// Loads the stored token hash, or uses `from_env`, or generates a token (returned once).
    pub fn init(store: &dyn JobStore, from_env: Option<&str>) -> Result<(Self, TokenOrigin), CoreError> {
        if let Some(token) = from_env.filter(|t| !t.trim().is_empty()) {
            return Ok((Self::from_token(token.trim()), TokenOrigin::Environment));
        }
        if let Some(stored) = store.setting(SETTING)? {
            if let Ok(h) = blake3::Hash::from_hex(stored.as_bytes()) {
                return Ok((Self { hash: RwLock::new(h) }, TokenOrigin::Stored));
            }
        }
        let token = Self::rotate_in(store)?;
        Ok((Self::from_token(&token), TokenOrigin::Generated(token)))
    }

    /// A check for exactly this token.
    pub fn from_token(token: &str) -> Self {
        Self { hash: RwLock::new(blake3::hash(token.as_bytes())) }
    }

    /// Generates and stores a new token (the old one stops working at the next start); returns it.
    pub fn rotate_in(store: &dyn JobStore) -> Result<String, CoreError> {
        let token = random_token("tla_")?;
        store.set_setting(SETTING, &hash(&token))?;
        Ok(token)
    }

    /// Whether `token` is the admin token (constant-time comparison of hashes).
    pub fn check(&self, token: &str) -> bool {
        *self.hash.read().unwrap_or_else(|p| p.into_inner()) == blake3::hash(token.as_bytes())
    }
}

/// The bearer token of a request (`Authorization: Bearer …`).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Whether the request carries the admin token.
pub fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|t| state.0.auth.check(t))
}

/// Middleware: refuses requests without the admin token. Wrong tokens count against the client's
/// rate limit, so guessing is slow; a request with no token at all is no guess and is always a plain 401
/// (so a client that forgot its header learns why, however often it asks).
pub async fn require_admin(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match bearer(request.headers()) {
        Some(token) if state.0.auth.check(token) => Ok(next.run(request).await),
        Some(_) => {
            state.0.limiter.check(&format!("auth:{}", addr.ip()))?;
            Err(ApiError::unauthorized("the admin token is wrong"))
        }
        None => Err(ApiError::unauthorized("this route needs the admin token: send `Authorization: Bearer <token>`")),
    }
}
