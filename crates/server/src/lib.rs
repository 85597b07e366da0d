//! The HTTP API of Throughline (axum): knowledge bases, uploads and background jobs with live
//! Server-Sent Events, the search API, health and Prometheus metrics, the OpenAPI document, and the web
//! UI's static files (embedded from `web/`).
//!
//! The binary builds an [`AppState`] from concrete parts (SQLite store, BERT embedder) and calls
//! [`serve`]. Every route but health, the OpenAPI document and the static files needs the admin token
//! (`Authorization: Bearer …`). Errors are JSON with a stable code and a message naming the bad field.
#![warn(missing_docs)]

pub mod admission;
pub mod agents;
pub mod answering;
pub mod auth;
pub mod connection;
pub mod error;
pub mod identity;
pub mod jobs;
pub mod live;
pub mod mcp;
pub mod metrics;
pub mod paging;
pub mod ratelimit;
pub mod replicas;
pub mod routes;
pub mod security;
mod state;
pub mod timeout;
pub mod upload;
pub mod widget;
pub mod wire;

use std::future::Future;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, options};
use axum::Router;
use tower_http::timeout::TimeoutLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::{AppState, ServerConfig, Stores, PRIVATE_NETWORK_SETTING};

use routes::{
    agents as agent_routes, freshness, jobs as job_routes, kbs, memory, openai, plans, publication, search, sessions,
    system,
};

/// Every API route as (method, path), read from the typed routers that [`router`] serves and the
/// OpenAPI document is generated from: one list, kept by the handlers' `#[utoipa::path]`.
pub fn api_routes() -> Vec<(String, String)> {
    operations(typed_routes())
}

/// Paths that answer without the admin token (health, the OpenAPI document, and the public chat, which
/// checks the agent's public key itself).
pub fn public_paths() -> Vec<String> {
    let mut paths: Vec<String> = operations(typed_public_routes()).into_iter().map(|(_, p)| p).collect();
    paths.dedup();
    paths
}

fn operations(routes: OpenApiRouter<AppState>) -> Vec<(String, String)> {
    let doc = serde_json::to_value(routes.split_for_parts().1).unwrap_or_default();
    let mut out: Vec<(String, String)> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, ops)| ops.as_object().into_iter().flatten().map(move |(m, _)| (m.clone(), path.clone())))
        .filter(|(m, _)| matches!(m.as_str(), "get" | "put" | "post" | "delete" | "patch" | "head" | "options"))
        .collect();
    out.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    out
}

/// Every API route: handlers typed by [`wire`] and documented by `#[utoipa::path]`, from which the
/// OpenAPI document ([`routes::system::document`]) and [`api_routes`] are generated; [`router`] serves the same routers
/// with their layers.
pub fn typed_routes() -> OpenApiRouter<AppState> {
    typed_timed_routes().merge(typed_stream_routes()).merge(typed_upload_routes(0)).merge(typed_public_routes())
}

/// Typed routes that answer without the admin token.
fn typed_public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(system::health))
        .routes(routes!(system::openapi))
        .routes(routes!(sessions::create_session))
        .routes(routes!(sessions::chat))
        .routes(routes!(sessions::session_messages))
        .routes(routes!(sessions::session_events))
        .routes(routes!(sessions::widget_config))
        .routes(routes!(openai::completions))
        .routes(routes!(openai::models))
        .routes(routes!(openai::model))
}

/// The upload, with its own body limit (not bound by the request timeout either).
fn typed_upload_routes(max_body_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(kbs::upload)).layer(DefaultBodyLimit::max(max_body_bytes))
}

/// Typed admin routes under the ordinary request timeout.
fn typed_timed_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(kbs::list, kbs::create))
        .routes(routes!(kbs::get, kbs::delete))
        .routes(routes!(kbs::documents))
        .routes(routes!(kbs::sources))
        .routes(routes!(kbs::delete_source))
        .routes(routes!(kbs::resync))
        .routes(routes!(kbs::add_site))
        .routes(routes!(kbs::report))
        .routes(routes!(freshness::stale_answers))
        .routes(routes!(search::get, search::post))
        .routes(routes!(agent_routes::list, agent_routes::create))
        .routes(routes!(agent_routes::get, agent_routes::update, agent_routes::delete))
        .routes(routes!(plans::get, plans::put, plans::delete))
        .routes(routes!(agent_routes::versions))
        .routes(routes!(agent_routes::version))
        .routes(routes!(publication::publish))
        .routes(routes!(publication::unpublish))
        .routes(routes!(publication::identity))
        .routes(routes!(publication::rotate_identity))
        .routes(routes!(publication::widget_settings, publication::put_widget_settings))
        .routes(routes!(job_routes::list))
        .routes(routes!(job_routes::get))
        .routes(routes!(job_routes::cancel))
        .routes(routes!(memory::contacts))
        .routes(routes!(memory::contact, memory::delete_contact))
        .routes(routes!(memory::event))
        .routes(routes!(memory::leads))
        .routes(routes!(memory::handoffs))
        .routes(routes!(memory::reply))
        .routes(routes!(memory::resolve))
        .routes(routes!(memory::audit))
        .routes(routes!(mcp::post, mcp::get, mcp::delete))
}

/// Typed routes that stream (not bound by the request timeout).
fn typed_stream_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(job_routes::events))
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    let cfg = state.config().clone();
    let admin = Router::new()
        .merge(typed_timed_routes().split_for_parts().0)
        .route("/metrics", get(system::metrics))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, cfg.request_timeout));
    // Streams and uploads are not bound by the ordinary request timeout.
    let long = Router::new()
        .merge(typed_stream_routes().split_for_parts().0)
        .merge(typed_upload_routes(cfg.max_upload_bytes.saturating_add(1 << 20)).split_for_parts().0);
    let admin = admin.merge(long).route_layer(from_fn_with_state(state.clone(), auth::require_admin));
    // The public chat checks the agent's public key (or the admin token) itself, and answers CORS
    // preflights for the origins the agent allows.
    let public = Router::new()
        .merge(typed_public_routes().split_for_parts().0)
        // CORS preflights of the visitor routes.
        .route("/v1/agents/{agent}/sessions", options(sessions::preflight))
        .route("/v1/agents/{agent}/chat", options(sessions::preflight))
        .route("/v1/agents/{agent}/sessions/{session}/messages", options(sessions::preflight))
        .route("/v1/agents/{agent}/sessions/{session}/events", options(sessions::preflight))
        .route("/health", get(system::health))
        .layer(from_fn_with_state(state.clone(), timeout::public));
    let routed = Router::new()
        .merge(admin)
        .merge(public)
        .fallback(system::web)
        .method_not_allowed_fallback(system::method_not_allowed)
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(cfg.max_json_bytes))
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(state.clone());
    // A knowledge base is addressable by its id as well as its name: the id is swapped for the name
    // before routing, so every `/v1/kbs/{kb}/…` route takes either.
    Router::new().fallback_service(
        tower::ServiceBuilder::new().map_request(move |r| routes::kbs::by_id(&state, r)).service(routed),
    )
}

/// Serves until `signal` resolves, then shuts down gracefully: the listener closes, queued chats are
/// refused with `server_stopping`, open event streams end with a final `server_stopping` event (a chat
/// stream first gets up to [`answering::DRAIN`] to finish its turn, which is stored when it finishes),
/// each connection closes after its in-flight response, and each running job stops at its next
/// committed batch (and resumes at the next start). Whatever is still open `grace` after the signal
/// is dropped. Connections get the header-read and idle timeouts of the configuration.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    signal: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let worker = if state.0.config.run_jobs {
        // Only a process that runs jobs may take back what a stopped one left running.
        jobs::recover(&state).map_err(|e| std::io::Error::other(e.to_string()))?;
        tokio::spawn(jobs::freshness(state.clone()));
        tokio::spawn(jobs::worker(state.clone()))
    } else {
        tokio::spawn(async {})
    };
    if state.0.config.shared_store {
        let notices = state.0.notices.lock().unwrap_or_else(|p| p.into_inner()).take();
        let notices = notices.unwrap_or_else(|| tokio::sync::mpsc::unbounded_channel().1);
        tokio::spawn(replicas::follow(state.clone(), notices));
    }
    let st = state.clone();
    tokio::task::spawn_blocking(move || answering::open_published(&st));
    let app = router(state.clone());
    let limits = connection::ConnectionLimits {
        header_read_timeout: state.config().header_read_timeout,
        idle_timeout: state.config().idle_timeout,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    let signal = signal;
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    conns.spawn(connection::serve(stream, peer, app.clone(), limits, stop_rx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let deadline = tokio::time::Instant::now() + grace;
    tracing::info!(connections = conns.len(), "shutting down: ending streams, finishing in-flight requests");
    state.begin_shutdown();
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout_at(deadline, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(connections = conns.len(), "connections still open after {grace:?}: dropping them");
        conns.shutdown().await;
    }
    if tokio::time::timeout_at(deadline, worker).await.is_err() {
        tracing::warn!("a running job did not reach a checkpoint within {grace:?}");
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn termination() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
