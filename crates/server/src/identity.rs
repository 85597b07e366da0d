//! Identity verification for visitors. An email typed into the chat is a claim: the agent records it as
//! a fact, never as who the visitor is. A visitor becomes a known customer (and sees what the agent
//! remembers about them) only on an identity the host site vouches for: its backend signs the signed-in
//! user's id (or, without an id, their email) with the agent's identity secret — hex HMAC-SHA256, as in
//! Intercom's identity verification — and the widget sends `user_id`/`email` with that `user_hash` when
//! it opens a session. The secret is per agent, created on first use, shown to the admin only, and can
//! be rotated (old signatures stop working).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use throughline_core::JobStore;

use crate::auth::random_token;
use crate::error::ApiResult;

fn key(agent: &str) -> String {
    format!("identity_secret/{agent}")
}

/// The agent's identity secret, created on first use (or replaced, with `rotate`).
pub fn secret(jobs: &dyn JobStore, agent: &str, rotate: bool) -> ApiResult<String> {
    if !rotate {
        if let Some(s) = jobs.setting(&key(agent))? {
            return Ok(s);
        }
    }
    let s = random_token("ids_")?;
    jobs.set_setting(&key(agent), &s)?;
    Ok(s)
}

/// The HMAC-SHA256 state over `value` under `secret` (`None` only if the MAC refused the key, which
/// HMAC never does: any key length is valid).
fn mac(secret: &str, value: &str) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(value.as_bytes());
    Some(mac)
}

/// The hex HMAC-SHA256 of `value` under `secret` (what the host site's backend computes).
pub fn sign(secret: &str, value: &str) -> String {
    mac(secret, value)
        .map(|m| m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default()
}

/// Whether `hash` (hex) signs `value` under `secret`, compared in constant time.
pub fn verify(secret: &str, value: &str, hash: &str) -> bool {
    let Some(bytes) = decode_hex(hash.trim()) else { return false };
    mac(secret, value).is_some_and(|m| m.verify_slice(&bytes).is_ok())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_forgeries_do_not() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let h = sign("ids_secret", "user-42");
        assert!(verify("ids_secret", "user-42", &h));
        assert!(verify("ids_secret", "user-42", &h.to_uppercase()));
        assert!(!verify("ids_secret", "user-43", &h));
        assert!(!verify("other", "user-42", &h));
        assert!(!verify("ids_secret", "user-42", "zz"));
        assert!(!verify("ids_secret", "user-42", ""));
    }
}
