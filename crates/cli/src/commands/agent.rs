//! `throughline agent create|show|export|import|list`, `throughline chat` and `throughline event`.
//! The chat backend is chosen here, from the environment: `THROUGHLINE_LLM_BASE_URL` (with
//! `THROUGHLINE_LLM_MODEL` and optionally `THROUGHLINE_LLM_API_KEY`) selects an OpenAI-compatible
//! endpoint; without it the agent answers extractively.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use throughline_agent::{Agent, AgentConfig, ChatBackend, LlmConfig, Turn};
use throughline_core::{ContactId, MemoryStore, Retriever};
use throughline_ingest::crawl::address::NetworkPolicy;

use super::App;
use crate::cli::AgentCommand;

/// Base URL of an OpenAI-compatible endpoint (e.g. `http://127.0.0.1:11434/v1`).
pub const ENV_LLM_BASE_URL: &str = "THROUGHLINE_LLM_BASE_URL";
/// Model name for the endpoint.
pub const ENV_LLM_MODEL: &str = "THROUGHLINE_LLM_MODEL";
/// Bearer token for the endpoint.
pub const ENV_LLM_API_KEY: &str = "THROUGHLINE_LLM_API_KEY";
/// Whole-request timeout in seconds (default 60).
pub const ENV_LLM_TIMEOUT: &str = "THROUGHLINE_LLM_TIMEOUT_SECS";

/// What a refused private address names as the way to allow it, for `chat` and `event`.
const PRIVATE_NETWORK_SETTING: &str =
    "THROUGHLINE_ALLOW_PRIVATE_NETWORK=true (or `allow_private_network = true` under [crawl] in throughline.toml)";

/// The outbound policy of the agent's webhooks and LLM endpoint: the private-network setting of the
/// environment or `throughline.toml` (metadata and link-local addresses stay refused).
fn network_policy(app: &App) -> NetworkPolicy {
    NetworkPolicy {
        allow_private: app.config.allow_private_network,
        allow_loopback: false,
        setting: PRIVATE_NETWORK_SETTING,
    }
}

fn llm_from_env(policy: NetworkPolicy) -> anyhow::Result<Option<ChatBackend>> {
    match llm_config_from_env()? {
        Some(cfg) => Ok(Some(ChatBackend::with_policy(cfg, policy)?)),
        None => Ok(None),
    }
}

/// The OpenAI-compatible backend configured by the environment, if any.
pub fn llm_config_from_env() -> anyhow::Result<Option<LlmConfig>> {
    let Ok(base_url) = std::env::var(ENV_LLM_BASE_URL) else { return Ok(None) };
    let model = std::env::var(ENV_LLM_MODEL)
        .map_err(|_| anyhow::anyhow!("{ENV_LLM_BASE_URL} is set but {ENV_LLM_MODEL} is not: name the model"))?;
    let timeout = match std::env::var(ENV_LLM_TIMEOUT) {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map_err(|_| anyhow::anyhow!("{ENV_LLM_TIMEOUT}={v:?} is not a number of seconds"))?,
        Err(_) => 60,
    };
    let cfg = LlmConfig {
        base_url,
        model,
        api_key: std::env::var(ENV_LLM_API_KEY).ok().filter(|k| !k.is_empty()),
        timeout: Duration::from_secs(timeout.max(1)),
    };
    Ok(Some(cfg))
}

/// Opens agent `name` with the knowledge bases its configuration names.
pub fn open_agent(app: &App, name: &str) -> anyhow::Result<Agent> {
    let memory: Arc<dyn MemoryStore> = app.memory.clone();
    let (_, cfg) = Agent::load_config(memory.as_ref(), name, None)?;
    let mut kbs: Vec<Arc<dyn Retriever>> = Vec::new();
    for kb in &cfg.knowledge_bases {
        kbs.push(Arc::new(app.open_kb(kb, false).with_context(|| format!("agent `{name}`"))?));
    }
    let policy = network_policy(app);
    Ok(Agent::open(memory, name, kbs, llm_from_env(policy)?)?.with_network_policy(policy))
}

pub fn run(app: &App, command: AgentCommand) -> anyhow::Result<ExitCode> {
    let memory: &dyn MemoryStore = app.memory.as_ref();
    match command {
        AgentCommand::Create { name, kb, config } => {
            let cfg = match config {
                Some(path) => read_config(&path)?,
                None => {
                    let kb = app.open_kb(&kb, false)?;
                    AgentConfig::derive(&kb)?
                }
            };
            if memory.agent(&name, None)?.is_some() {
                anyhow::bail!(
                    "agent `{name}` already exists (save a new version with `throughline agent import {name} FILE`)"
                );
            }
            let rec = Agent::save(memory, &name, &cfg)?;
            println!(
                "Created agent `{name}` (version {}) for {} over {}: {} plans, {} onboarding steps, signup {}, demo {}.",
                rec.version,
                cfg.product,
                cfg.knowledge_bases.join(", "),
                cfg.expansion.plans.len(),
                cfg.activation.checklist.len(),
                cfg.acquisition.signup_url.as_deref().unwrap_or("(none found)"),
                cfg.acquisition.demo_url.as_deref().unwrap_or("(none found)"),
            );
        }
        AgentCommand::Show { name, version, audit } => {
            let (rec, cfg) = Agent::load_config(memory, &name, version)?;
            println!("# agent `{}` version {} (saved {})", rec.name, rec.version, rec.created_at);
            print!("{}", cfg.to_toml()?);
            if audit {
                let agent = open_agent(app, &name)?;
                print_audit(&agent)?;
            }
        }
        AgentCommand::Export { name, out } => {
            let (_, cfg) = Agent::load_config(memory, &name, None)?;
            let text = cfg.to_toml()?;
            match out {
                Some(p) => std::fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?,
                None => print!("{text}"),
            }
        }
        AgentCommand::Import { name, file } => {
            let cfg = read_config(&file)?;
            let rec = Agent::save(memory, &name, &cfg)?;
            println!("Saved agent `{name}` version {}.", rec.version);
        }
        AgentCommand::List => {
            for a in memory.agents()? {
                println!("{} (version {})", a.name, a.version);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_config(path: &Path) -> anyhow::Result<AgentConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(AgentConfig::from_toml(&text, &path.display().to_string())?)
}

fn print_audit(agent: &Agent) -> anyhow::Result<()> {
    let a = agent.audit()?;
    println!("\n# audit: {} contacts, {} leads, {} open handoffs", a.contacts, a.leads, a.open_handoffs);
    for s in &a.stages {
        println!(
            "{:<12} conversations {:>3}  answers {:>3}  handoffs {:>2}  idk {:>2}  p50 {} ms  p90 {} ms",
            s.stage.as_str(),
            s.conversations,
            s.answers,
            s.handoffs,
            s.idk,
            s.response_p50_ms,
            s.response_p90_ms
        );
        for q in &s.unanswered {
            println!("    unanswered: {q}");
        }
    }
    Ok(())
}

fn print_turn_footer(turn: &Turn, trace: bool) {
    for c in &turn.citations {
        println!("  [{}] {} ({})", c.number, c.title, c.url.as_deref().unwrap_or(&c.path));
    }
    if let Some(h) = &turn.handoff {
        println!("  → handoff {} to a human: {}", h.id, h.reason);
    }
    if trace {
        let t = &turn.trace;
        println!("  trace: query {:?}", t.rewritten_query);
        println!("  trace: stage {}", t.stage_reason);
        println!("  trace: confidence {:.2} (threshold {:.2}), backend {}", t.confidence, t.threshold, t.backend);
        for r in &t.retrieved {
            println!(
                "  trace: retrieved {} › {} fused {:.4} bm25 {} vector {}",
                r.path,
                r.heading_path.join(" › "),
                r.fused,
                r.bm25.map(|s| format!("#{} {:.2}", s.rank, s.score)).unwrap_or_else(|| "-".into()),
                r.vector.map(|s| format!("#{} {:.3}", s.rank, s.score)).unwrap_or_else(|| "-".into())
            );
        }
        for e in &t.evidence {
            println!("  trace: evidence [{}] {:.3} {:?}", e.citation, e.score, e.text);
        }
        for e in &t.events {
            println!("  trace: event {e}");
        }
        for u in &t.unsupported {
            println!("  trace: unsupported {:?}: {}", u.sentence, u.reason);
        }
    }
}

fn parse_properties(props: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    props
        .iter()
        .map(|p| {
            p.split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| anyhow::anyhow!("property `{p}` is not key=value"))
        })
        .collect()
}

pub fn chat(app: &App, name: &str, contact: Option<&str>, trace: bool) -> anyhow::Result<ExitCode> {
    let agent = open_agent(app, name)?;
    let key = contact.map(str::to_string).unwrap_or_else(|| {
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
        format!("visitor-{n:x}")
    });
    let mut contact: ContactId = agent.contact(&key)?.id;
    let mut conversation = agent.start_conversation(contact)?.id;
    let interactive = std::io::stdin().is_terminal();
    println!("Chatting with `{name}` as contact {contact} ({key}). /help for commands.");
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!("you> ");
            std::io::stdout().flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(cmd) = line.strip_prefix('/') {
            let mut parts = cmd.split_whitespace();
            match parts.next() {
                Some("quit" | "exit") => break,
                Some("new") => {
                    conversation = agent.start_conversation(contact)?.id;
                    println!("(new conversation {conversation})");
                }
                Some("event") => {
                    let Some(ev) = parts.next() else {
                        println!("usage: /event NAME [key=value...]");
                        continue;
                    };
                    let props = parse_properties(&parts.map(str::to_string).collect::<Vec<_>>())?;
                    match agent.record_event(contact, ev, &props)? {
                        Some(m) => println!("agent> {}", m.text),
                        None => println!("(event {ev} recorded)"),
                    }
                }
                Some("memory") => {
                    let m = agent.memory_view(contact)?;
                    println!("contact {} ({}), {}", m.contact.id, m.contact.key, m.contact.lifecycle.as_str());
                    for f in &m.facts {
                        println!("  fact {} = {}", f.key, f.value);
                    }
                    println!("  onboarding done: {:?}, next: {:?}", m.onboarding_done, m.onboarding_next);
                    println!("  {} conversations, {} events", m.conversations.len(), m.events.len());
                }
                _ => println!("commands: /new (new conversation), /event NAME [k=v...], /memory, /quit"),
            }
            continue;
        }
        print!("agent> ");
        let turn = agent.respond(contact, conversation, line, &mut |d| {
            print!("{d}");
            let _ = std::io::stdout().flush();
        })?;
        println!();
        print_turn_footer(&turn, trace);
        contact = turn.contact;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn event(app: &App, name: Option<&str>, key: &str, event: &str, props: &[String]) -> anyhow::Result<ExitCode> {
    let name = match name {
        Some(n) => n.to_string(),
        None => {
            let agents = app.memory.agents()?;
            match agents.as_slice() {
                [one] => one.name.clone(),
                [] => anyhow::bail!("no agent exists yet: create one with `throughline agent create`"),
                _ => anyhow::bail!("there are {} agents: name one with --agent", agents.len()),
            }
        }
    };
    let props = parse_properties(props)?;
    let agent = open_agent(app, &name)?;
    let contact = agent.contact(key)?;
    match agent.record_event(contact.id, event, &props)? {
        Some(m) => println!("{}", m.text),
        None => println!("Recorded `{event}` for {key}."),
    }
    Ok(ExitCode::SUCCESS)
}
