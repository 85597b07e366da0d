//! The outbound network policy: which addresses Throughline may connect to, checked on the address
//! actually connected to. Every outbound request goes through it — site crawls (`throughline-ingest`),
//! lead and handoff webhooks and the LLM endpoint (`throughline-agent`).
//!
//! - [`policy`]: [`NetworkPolicy`] and the address classes. Cloud metadata endpoints (169.254.169.254,
//!   fd00:ec2::254, 100.100.100.200, `metadata.google.internal`, …) and the whole link-local range are
//!   refused always; private, loopback, unique-local and CGNAT ranges only with the operator's opt-in
//!   (loopback can be opened alone).
//! - [`resolve`]: the DNS resolver handed to the HTTP client. It resolves, checks every address and
//!   returns only checked addresses, so the client connects to what was checked (no DNS-rebinding gap).
//! - [`guard_async`] / [`guard_blocking`]: configure a reqwest client builder with that resolver, no
//!   proxy from the environment and no automatic redirects; [`url_refusal`] checks what the resolver
//!   never sees (literal IP hosts) and refuses metadata host names before any lookup.

#![warn(missing_docs)]

pub mod policy;
pub mod resolve;

use std::sync::Arc;

pub use policy::{
    classify, host_refusal, refusal, url_refusal, AddressClass, NetworkPolicy, DEFAULT_PRIVATE_NETWORK_SETTING,
};
pub use resolve::{refusal_in, AddressRefused, PolicyResolver};

/// `builder` with the policy's resolver, no proxy from the environment and redirects not followed
/// (callers that follow redirects do it by hand, checking each hop with [`url_refusal`]).
pub fn guard_async(builder: reqwest::ClientBuilder, policy: NetworkPolicy) -> reqwest::ClientBuilder {
    builder.no_proxy().redirect(reqwest::redirect::Policy::none()).dns_resolver(Arc::new(PolicyResolver { policy }))
}

/// The blocking client's version of [`guard_async`].
pub fn guard_blocking(
    builder: reqwest::blocking::ClientBuilder,
    policy: NetworkPolicy,
) -> reqwest::blocking::ClientBuilder {
    builder.no_proxy().redirect(reqwest::redirect::Policy::none()).dns_resolver(Arc::new(PolicyResolver { policy }))
}
