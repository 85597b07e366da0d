//! The optional OpenAI-compatible chat backend (OpenAI, Ollama, vLLM, llama.cpp server): one streaming
//! `POST {base_url}/chat/completions` with the stage playbook, the contact's memory and the numbered
//! sources, parsed as server-sent events (`data: {chunk}` lines up to `data: [DONE]`). A server that
//! ignores `stream` and answers with one JSON body is accepted too. The answer's citations are then
//! checked against the sources: a citation to a source that does not exist, or a sentence whose words
//! its cited source does not contain, is flagged as unsupported.
//!
//! The endpoint goes through the shared outbound policy (`throughline-net`): cloud metadata and
//! link-local addresses are refused always; an endpoint the operator configured explicitly on this
//! machine (`localhost` or a loopback address literally in the base URL: Ollama, llama.cpp) is allowed;
//! any other private, loopback-resolving, unique-local or CGNAT address needs the operator's
//! private-network setting. DNS answers are checked on the address connected to; redirects are not
//! followed.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use serde_json::{json, Value};

use throughline_net::{guard_blocking, refusal_in, url_refusal, NetworkPolicy};

use crate::sentences::content_terms;
use crate::{AgentError, Result};

/// Where and how to reach the chat backend. The CLI fills it from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmConfig {
    /// Base URL up to the API version, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Bearer token, when the server needs one.
    pub api_key: Option<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
}

/// One chat message of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    /// Its content.
    pub content: String,
}

/// A client for an OpenAI-compatible endpoint.
pub struct ChatBackend {
    cfg: LlmConfig,
    client: reqwest::blocking::Client,
}

impl ChatBackend {
    /// A client for `cfg` under the default outbound policy (public addresses, plus the machine's own
    /// loopback when the base URL names it explicitly; no proxy from the environment).
    pub fn new(cfg: LlmConfig) -> Result<Self> {
        Self::with_policy(cfg, NetworkPolicy::default())
    }

    /// A client for `cfg` under `policy` (the operator's private-network setting). Refuses an endpoint
    /// whose URL is not http(s), is a metadata or link-local address or a metadata host name, or a
    /// private address the policy does not open.
    pub fn with_policy(cfg: LlmConfig, policy: NetworkPolicy) -> Result<Self> {
        let err = |reason: String| AgentError::Backend { url: cfg.base_url.clone(), reason };
        let url = reqwest::Url::parse(&cfg.base_url).map_err(|e| err(format!("not a URL: {e}")))?;
        let policy = NetworkPolicy { allow_loopback: policy.allow_loopback || explicitly_local(&url), ..policy };
        if let Some(reason) = url_refusal(&url, policy) {
            return Err(err(reason));
        }
        let builder = reqwest::blocking::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(Duration::from_secs(10).min(cfg.timeout));
        let client = guard_blocking(builder, policy).build().map_err(|e| err(e.to_string()))?;
        Ok(Self { cfg, client })
    }

    /// The configured model.
    pub fn model(&self) -> &str {
        &self.cfg.model
    }

    fn url(&self) -> String {
        format!("{}/chat/completions", self.cfg.base_url.trim_end_matches('/'))
    }

    /// Sends `messages` with `stream: true`, calling `on_delta` with each piece of text as it arrives, and
    /// returns the whole answer; stops reading (closing the connection) with [`AgentError::Cancelled`]
    /// when `cancelled` says nobody waits for it any more.
    pub fn complete(
        &self,
        messages: &[ChatMessage],
        on_delta: &mut dyn FnMut(&str),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<String> {
        let url = self.url();
        let err = |reason: String| AgentError::Backend { url: url.clone(), reason };
        let body = json!({
            "model": self.cfg.model,
            "stream": true,
            "temperature": 0,
            "messages": messages.iter().map(|m| json!({"role": m.role, "content": m.content})).collect::<Vec<_>>(),
        });
        let mut req = self.client.post(&url).header("Accept", "text/event-stream").json(&body);
        if let Some(key) = &self.cfg.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().map_err(|e| err(refusal_in(&e).unwrap_or_else(|| e.to_string())))?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().unwrap_or_default();
            return Err(err(format!("HTTP {status}: {}", text.chars().take(300).collect::<String>())));
        }
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            let v: Value = resp.json().map_err(|e| err(format!("not a chat completion: {e}")))?;
            let text = v["choices"][0]["message"]["content"]
                .as_str()
                .ok_or_else(|| err("response has no choices[0].message.content".into()))?
                .to_string();
            on_delta(&text);
            return Ok(text);
        }
        let mut answer = String::new();
        for line in BufReader::new(resp).lines() {
            let line = line.map_err(|e| err(format!("stream interrupted: {e}")))?;
            if cancelled() {
                return Err(AgentError::Cancelled);
            }
            let Some(data) = line.strip_prefix("data:") else { continue };
            let data = data.trim();
            if data == "[DONE]" {
                return Ok(answer);
            }
            if data.is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(data).map_err(|e| err(format!("bad stream chunk `{data}`: {e}")))?;
            if let Some(msg) = v["error"]["message"].as_str() {
                return Err(err(msg.to_string()));
            }
            if let Some(piece) = v["choices"][0]["delta"]["content"].as_str() {
                if !piece.is_empty() {
                    answer.push_str(piece);
                    on_delta(piece);
                }
            }
        }
        // Some servers close without [DONE]; what arrived is the answer.
        Ok(answer)
    }
}

/// Whether the operator named this machine in the URL itself: `localhost` (or `*.localhost`) or a
/// loopback address literal. Such an endpoint is allowed without the private-network setting; a name
/// that merely resolves to loopback is not.
fn explicitly_local(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A sentence of a generated answer that its citations do not support.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsupported {
    /// The sentence.
    pub sentence: String,
    /// Why: no citation, a citation to a missing source, or too few of its words in the cited sources.
    pub reason: String,
}

/// Checks each sentence of `answer` against `sources` (1-based numbering). Returns the citation numbers
/// used (valid ones only) and the unsupported sentences.
pub fn check_citations(answer: &str, sources: &[String]) -> (Vec<usize>, Vec<Unsupported>) {
    let mut used = Vec::new();
    let mut flagged = Vec::new();
    for sentence in crate::sentences::split_units(answer) {
        let s = sentence.text;
        let cites: Vec<usize> = s
            .match_indices('[')
            .filter_map(|(i, _)| {
                let rest = &s[i + 1..];
                let end = rest.find(']')?;
                rest[..end].trim().parse::<usize>().ok()
            })
            .collect();
        let terms: Vec<String> =
            content_terms(&s).into_iter().filter(|t| t.parse::<usize>().is_err() || t.len() > 1).collect();
        if cites.is_empty() {
            if terms.len() >= 3 {
                flagged.push(Unsupported { sentence: s.clone(), reason: "no citation".into() });
            }
            continue;
        }
        let mut source_terms = std::collections::HashSet::new();
        let mut bad = Vec::new();
        for &n in &cites {
            match sources.get(n.wrapping_sub(1)) {
                Some(text) if n >= 1 => {
                    source_terms.extend(content_terms(text));
                    if !used.contains(&n) {
                        used.push(n);
                    }
                }
                _ => bad.push(n),
            }
        }
        if !bad.is_empty() {
            flagged.push(Unsupported { sentence: s.clone(), reason: format!("cites missing source {bad:?}") });
            continue;
        }
        if terms.is_empty() {
            continue;
        }
        let support = terms.iter().filter(|t| source_terms.contains(*t)).count() as f32 / terms.len() as f32;
        if support < 0.5 {
            flagged.push(Unsupported {
                sentence: s.clone(),
                reason: format!("only {:.0}% of its words appear in the cited sources", support * 100.0),
            });
        }
    }
    (used, flagged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_are_checked_against_sources() {
        let sources = vec!["Invite members from Settings > Team. Invitations expire after 7 days.".to_string()];
        let (used, flagged) = check_citations(
            "Invitations expire after 7 days [1]. The moon is made of cheese [1]. See also [4].",
            &sources,
        );
        assert_eq!(used, vec![1]);
        assert_eq!(flagged.len(), 2);
        assert!(flagged[0].sentence.contains("moon"));
        assert!(flagged[1].reason.contains("missing source [4]"));
    }
}
