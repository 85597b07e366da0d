//! The DNS resolver the HTTP clients connect through. It resolves a host name and refuses the whole
//! host when any of its addresses is refused by the [`NetworkPolicy`]. Because the client connects only
//! to the addresses this resolver returns, the check applies to the address actually connected to, on
//! every request and every redirect hop: a DNS answer that changes between a check and the connection
//! (DNS rebinding) cannot slip past it.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::policy::{host_refusal, refusal, NetworkPolicy};

/// The error a refused host resolves to; [`refusal_in`] finds it in a client's error chain.
#[derive(Debug)]
pub struct AddressRefused(pub String);

impl std::fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AddressRefused {}

/// Resolves with the system resolver, then applies the network policy to every address.
#[derive(Debug, Clone, Copy)]
pub struct PolicyResolver {
    /// The policy every resolved address must pass.
    pub policy: NetworkPolicy,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(resolve_checked(name.as_str().to_string(), self.policy))
    }
}

async fn resolve_checked(host: String, policy: NetworkPolicy) -> Result<Addrs, BoxError> {
    if let Some(reason) = host_refusal(&host) {
        return Err(Box::new(AddressRefused(reason)));
    }
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
        Ok(a) => a.collect(),
        Err(e) => return Err(format!("cannot resolve host {host}: {e}").into()),
    };
    if addrs.is_empty() {
        return Err(format!("cannot resolve host {host}: no addresses").into());
    }
    // One refused address refuses the host: round-robin answers must not mix in an internal one.
    for a in &addrs {
        let ip = a.ip();
        if let Some(reason) = refusal(ip, policy) {
            let named =
                reason.replacen(&format!("refused address {ip}"), &format!("refused address {ip} of {host}"), 1);
            return Err(Box::new(AddressRefused(named)));
        }
    }
    Ok(Box::new(addrs.into_iter()))
}

/// The policy's refusal inside an HTTP client error, if that is why it failed.
pub fn refusal_in(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<AddressRefused>() {
            return Some(r.0.clone());
        }
        let text = s.to_string();
        if text.starts_with("refused address") {
            return Some(text);
        }
        source = s.source();
    }
    None
}
