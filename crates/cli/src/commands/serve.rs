//! `throughline serve`: the main job. Initialises an empty data dir with the sample knowledge base,
//! sets up the admin token (printed once when generated), then runs the HTTP server until Ctrl-C or
//! SIGTERM, shutting down gracefully.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use throughline_agent::{Agent, AgentConfig};
use throughline_core::Embedder;
use throughline_server::auth::{AdminAuth, TokenOrigin};
use throughline_server::{AppState, ServerConfig, Stores};

use super::App;
use crate::cli::ServeLimits;
use crate::config::shipped;

/// The environment variable that sets the admin token.
pub const ENV_ADMIN_TOKEN: &str = "THROUGHLINE_ADMIN_TOKEN";

fn initialise(app: &App) -> anyhow::Result<()> {
    if !app.store.list_kbs()?.is_empty() {
        return Ok(());
    }
    let Some(src) = shipped(Path::new("sample-kb")) else {
        eprintln!("sample-kb not found beside the working directory or the binary: starting with no knowledge base");
        return Ok(());
    };
    println!("First start: ingesting the sample knowledge base from {} as `sample`…", src.display());
    super::demo::ingest_sample(app, &src)?;
    Ok(())
}

/// A duration flag in seconds: positive and finite.
fn seconds(flag: &str, v: Option<f64>) -> anyhow::Result<Option<Duration>> {
    match v {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 && s < 86_400.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => anyhow::bail!("--{flag}: {s} is not a number of seconds between 0 and 86400"),
    }
}

/// The server's load limits from the flags (defaults sized from the cores).
fn apply_limits(config: &mut ServerConfig, l: &ServeLimits) -> anyhow::Result<()> {
    let a = &mut config.admission;
    for (flag, v) in [
        ("chat-concurrency", l.chat_concurrency),
        ("agent-chat-concurrency", l.agent_chat_concurrency),
        ("job-workers", l.job_workers),
    ] {
        if v == Some(0) {
            anyhow::bail!("--{flag}: must be at least 1");
        }
    }
    if let Some(n) = l.chat_concurrency {
        a.server_concurrency = n;
        a.agent_concurrency = n;
    }
    a.server_queue = l.chat_queue.unwrap_or(a.server_queue);
    a.agent_concurrency = l.agent_chat_concurrency.unwrap_or(a.agent_concurrency);
    a.agent_queue = l.agent_chat_queue.unwrap_or(a.agent_queue);
    a.max_wait = seconds("chat-max-wait-secs", l.chat_max_wait_secs)?.unwrap_or(a.max_wait);
    config.public_timeout = seconds("public-timeout-secs", l.public_timeout_secs)?.unwrap_or(config.public_timeout);
    config.header_read_timeout =
        seconds("header-read-timeout-secs", l.header_read_timeout_secs)?.unwrap_or(config.header_read_timeout);
    config.idle_timeout = seconds("idle-timeout-secs", l.idle_timeout_secs)?.unwrap_or(config.idle_timeout);
    config.job_workers = l.job_workers.unwrap_or(config.job_workers);
    Ok(())
}

pub fn run(
    app: App,
    addr: &str,
    no_sample: bool,
    allow_private_network: bool,
    limits: &ServeLimits,
) -> anyhow::Result<ExitCode> {
    let grace = seconds("shutdown-grace-secs", Some(limits.shutdown_grace_secs))?.unwrap_or(Duration::from_secs(10));
    // Replicas starting together on an empty shared database: one of them (the holder of the first-start
    // lease) ingests the sample and makes the demo agent; the others start without.
    let first_start = !no_sample && app.jobs.acquire_lease("first-start", Duration::from_secs(600))?;
    if first_start {
        initialise(&app)?;
    }
    let demo_needed = first_start && app.store.kb("sample")?.is_some() && app.memory.agents()?.is_empty();
    let env_token = std::env::var(ENV_ADMIN_TOKEN).ok();
    let (auth, origin) = AdminAuth::init(app.jobs.as_ref(), env_token.as_deref())?;
    let embedder: Arc<dyn Embedder> = app.embedder()?;
    let stores = Stores {
        store: app.store.clone(),
        jobs: app.jobs.clone(),
        memory: app.memory.clone(),
        access: app.access.clone(),
    };
    let llm = super::agent::llm_config_from_env()?;
    let mut config = ServerConfig {
        ingest: app.config.ingest.clone(),
        search: app.config.search.clone(),
        web_dir: std::env::var_os("THROUGHLINE_WEB_DIR").map(Into::into),
        ..ServerConfig::default()
    };
    // The server-level private-network setting: every crawl and re-sync of a site source uses it.
    config.crawl.allow_private_network = allow_private_network || app.config.allow_private_network;
    apply_limits(&mut config, limits)?;
    if let Some(pg) = &app.shared {
        config.shared_store = true;
        config.job_heartbeat = (pg.job_lease() / 4).max(Duration::from_millis(500));
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let resolved = tokio::net::lookup_host(addr)
            .await
            .with_context(|| format!("{addr}: not an address to listen on"))?
            .next()
            .with_context(|| format!("{addr}: resolves to no address"))?;
        let listener = listen(resolved).with_context(|| format!("{addr}: cannot listen"))?;
        let local = listener.local_addr()?;
        let mut state = AppState::new(config, app.config.data_dir.clone(), stores, embedder, auth, llm);
        if let Some(pg) = &app.shared {
            state = state
                .with_notices(pg.listen(&[throughline_store::KB_CHANNEL, throughline_server::replicas::SESSION_CHANNEL]));
        }
        if demo_needed {
            let origins = vec![format!("http://{local}"), format!("http://localhost:{}", local.port())];
            let st = state.clone();
            let key = tokio::task::spawn_blocking(move || create_demo_agent(&st, &origins)).await??;
            println!("Published the demo agent `demo` (public key {key}); try it in the web UI's playground.");
        }
        println!(
            "Throughline is running at http://{local}/  (API under http://{local}/v1, OpenAPI at /v1/openapi.json)"
        );
        match origin {
            TokenOrigin::Generated(token) => {
                println!("Admin token (shown only now; rotate with `throughline admin-token rotate`): {token}")
            }
            TokenOrigin::Environment => println!("Admin token: taken from {ENV_ADMIN_TOKEN}"),
            TokenOrigin::Stored => {
                println!("Admin token: the one printed at the first start (lost it? `throughline admin-token rotate`)")
            }
        }
        if allow_private_network || app.config.allow_private_network {
            println!("Site sources may reach private and loopback addresses (cloud metadata endpoints stay refused).");
        }
        println!(
            "Data in {} (indexes and configuration in {}). Stop with Ctrl-C.",
            app.backend,
            app.config.data_dir.display()
        );
        let a = &state.config().admission;
        println!(
            "Public chat: {} at once ({} per agent), {} queued ({} per agent), {:.0} s longest wait; public requests time out after {:.0} s.",
            a.server_concurrency,
            a.agent_concurrency,
            a.server_queue,
            a.agent_queue,
            a.max_wait.as_secs_f64(),
            state.config().public_timeout.as_secs_f64()
        );
        throughline_server::serve(state, listener, throughline_server::termination(), grace).await?;
        anyhow::Ok(())
    })?;
    // Turns still computing are not waited for past a moment: they were not acknowledged to anyone.
    runtime.shutdown_timeout(Duration::from_millis(500));
    println!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Creates the agent `demo` over `sample` with defaults derived from it, and publishes it for the
/// server's own origins (the web UI's preview page). Returns its public key.
fn create_demo_agent(state: &AppState, origins: &[String]) -> anyhow::Result<String> {
    let kb = state.kb("sample").map_err(|e| anyhow::anyhow!(e.message))?;
    let config = AgentConfig::derive(kb.as_ref())?;
    Agent::save(state.memory(), "demo", &config)?;
    let p = throughline_server::routes::publication::publish_agent(state, "demo", origins)
        .map_err(|e| anyhow::anyhow!(e.message))?;
    Ok(p.public_key)
}

pub fn rotate_token(app: &App) -> anyhow::Result<ExitCode> {
    let token = AdminAuth::rotate_in(app.jobs.as_ref())?;
    println!("{token}");
    eprintln!("New admin token (shown only now). Restart a running server for it to take effect.");
    Ok(ExitCode::SUCCESS)
}

/// Connections the kernel may hold for the server before it accepts them. A crowd of visitors arriving at
/// once (hundreds of widgets opening after a campaign) must not overflow the queue: a dropped connection
/// attempt is retried by the client only after a second.
const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with a [`LISTEN_BACKLOG`]-deep accept queue.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        limits: ServeLimits,
    }

    fn limits(args: &[&str]) -> anyhow::Result<ServerConfig> {
        let flags = Flags::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))?;
        let mut config = ServerConfig::default();
        apply_limits(&mut config, &flags.limits)?;
        Ok(config)
    }

    #[test]
    fn limits_come_from_the_flags_and_zero_workers_or_slots_are_refused() {
        let config = limits(&["--job-workers", "3", "--chat-concurrency", "4", "--idle-timeout-secs", "30"]).unwrap();
        assert_eq!(config.job_workers, 3);
        assert_eq!((config.admission.server_concurrency, config.admission.agent_concurrency), (4, 4));
        assert_eq!(config.idle_timeout, Duration::from_secs(30));
        assert_eq!(limits(&[]).unwrap().job_workers, ServerConfig::default().job_workers);
        for flag in ["--job-workers", "--chat-concurrency", "--agent-chat-concurrency"] {
            let err = limits(&[flag, "0"]).unwrap_err().to_string();
            assert!(err.contains(&flag[2..]) && err.contains("at least 1"), "{flag}: {err}");
        }
        let err = limits(&["--idle-timeout-secs", "0"]).unwrap_err().to_string();
        assert!(err.contains("idle-timeout-secs"), "{err}");
    }
}
