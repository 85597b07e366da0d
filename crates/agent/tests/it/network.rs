//! Issue 15 item 2: webhooks and the LLM endpoint go through the shared outbound network policy.
//! Cloud metadata endpoints are refused always (directly, by name, and through a redirect); loopback and
//! private ranges only with the operator's opt-in; webhooks do not follow redirects.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use throughline_agent::{Agent, ChatBackend, LlmConfig};
use throughline_ingest::crawl::address::NetworkPolicy;

use crate::fixture::agent;

/// Serves `n` requests on 127.0.0.1 with the raw HTTP response `reply`; returns the URL and the request
/// lines received.
fn serve_raw(n: usize, reply: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            log.lock().unwrap().push(request_line.trim().to_string());
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (url, seen)
}

/// The webhook outcome of a handoff the visitor asks for.
fn handoff_outcome(a: &Agent, visitor: &str) -> Option<String> {
    let c = a.contact(visitor).unwrap();
    let conv = a.start_conversation(c.id).unwrap();
    let t = a.respond(c.id, conv.id, "this didn't help, can I talk to a human?", &mut |_| {}).unwrap();
    t.handoff.expect("a handoff").webhook
}

fn open_network() -> NetworkPolicy {
    NetworkPolicy { allow_private: true, ..Default::default() }
}

#[test]
fn webhooks_to_cloud_metadata_endpoints_are_refused_even_with_private_networks_allowed() {
    for (i, (url, reason)) in [
        (
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "refused address 169.254.169.254 (cloud metadata endpoint, never fetched)",
        ),
        (
            "http://[fd00:ec2::254]/latest/meta-data/",
            "refused address fd00:ec2::254 (cloud metadata endpoint, never fetched)",
        ),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "refused host metadata.google.internal (cloud metadata endpoint, never fetched)",
        ),
        ("http://169.254.10.1/", "refused address 169.254.10.1 (link-local, never fetched)"),
    ]
    .into_iter()
    .enumerate()
    {
        let a = agent(&format!("hook-meta-{i}"), |c| c.support.handoff_webhook = Some(url.to_string()), None)
            .with_network_policy(open_network());
        assert_eq!(handoff_outcome(&a, &format!("visitor-meta-{i}")), Some(format!("failed: {reason}")), "{url}");
    }
}

#[test]
fn a_webhook_redirected_to_a_metadata_address_is_not_followed() {
    // Loopback is allowed for this test (the operator's opt-in); the redirect target never is reached.
    let target = "http://169.254.169.254/latest/meta-data/iam/security-credentials/";
    let (hook, seen) = serve_raw(
        1,
        format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    );
    let a = agent("hook-redirect", |c| c.support.handoff_webhook = Some(format!("{hook}/handoffs")), None)
        .with_network_policy(open_network());
    assert_eq!(
        handoff_outcome(&a, "visitor-redirect"),
        Some(format!("failed: HTTP 302 redirect to {target} not followed (webhooks do not follow redirects)"))
    );
    assert_eq!(seen.lock().unwrap().as_slice(), ["POST /handoffs HTTP/1.1"], "one request, to the loopback hook only");
}

#[test]
fn loopback_webhooks_need_the_operators_opt_in() {
    let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".to_string();
    let (hook, seen) = serve_raw(1, ok);
    let url = format!("{hook}/handoffs");
    let closed = agent("hook-closed", |c| c.support.handoff_webhook = Some(url.clone()), None)
        .with_network_policy(NetworkPolicy::default());
    assert_eq!(
        handoff_outcome(&closed, "visitor-closed"),
        Some("failed: refused address 127.0.0.1 (loopback; allow with --allow-private-network)".to_string())
    );
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
    let opened = agent("hook-opened", |c| c.support.handoff_webhook = Some(url.clone()), None)
        .with_network_policy(open_network());
    assert_eq!(handoff_outcome(&opened, "visitor-opened"), Some("sent 200".to_string()));
}

fn llm(base_url: &str) -> LlmConfig {
    LlmConfig { base_url: base_url.into(), model: "m".into(), api_key: None, timeout: Duration::from_secs(2) }
}

#[test]
fn an_llm_endpoint_at_a_metadata_address_is_refused() {
    for (url, reason) in [
        ("http://169.254.169.254/v1", "refused address 169.254.169.254 (cloud metadata endpoint, never fetched)"),
        ("http://[fd00:ec2::254]/v1", "refused address fd00:ec2::254 (cloud metadata endpoint, never fetched)"),
        (
            "http://metadata.google.internal/v1",
            "refused host metadata.google.internal (cloud metadata endpoint, never fetched)",
        ),
    ] {
        let err = ChatBackend::new(llm(url)).err().unwrap_or_else(|| panic!("{url} was accepted"));
        assert_eq!(err.to_string(), format!("chat backend {url}: {reason}"));
        // Opening private networks does not open metadata endpoints.
        assert!(ChatBackend::with_policy(llm(url), open_network()).is_err(), "{url}");
    }
    // A private address needs the opt-in; the operator's explicit loopback endpoint does not.
    let err = ChatBackend::new(llm("http://10.1.2.3:8000/v1")).err().expect("private refused");
    assert!(err.to_string().contains("refused address 10.1.2.3 (private network; allow with"), "{err}");
    assert!(ChatBackend::with_policy(llm("http://10.1.2.3:8000/v1"), open_network()).is_ok());
    assert!(ChatBackend::new(llm("http://127.0.0.1:11434/v1")).is_ok());
    assert!(ChatBackend::new(llm("http://localhost:11434/v1")).is_ok());
}
