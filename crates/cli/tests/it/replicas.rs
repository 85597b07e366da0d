//! Two `throughline serve` replicas on two ports sharing one PostgreSQL database (the one named by
//! `THROUGHLINE_TEST_DATABASE_URL`, which `.ci/run` starts on loopback; each run gets a schema of its
//! own). Without it the test says so and passes, unless `THROUGHLINE_REQUIRE_POSTGRES` is set.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::crawl::site::{Route, Site};
use crate::harness::Env;
use crate::serve::{http, start, Server, TOKEN};

/// A database URL with a fresh schema, or `None` when no test database is configured.
fn database() -> Option<String> {
    let Ok(base) = std::env::var("THROUGHLINE_TEST_DATABASE_URL") else {
        assert!(
            std::env::var_os("THROUGHLINE_REQUIRE_POSTGRES").is_none(),
            "THROUGHLINE_REQUIRE_POSTGRES is set but THROUGHLINE_TEST_DATABASE_URL is not"
        );
        eprintln!("two replicas: skipped, THROUGHLINE_TEST_DATABASE_URL is not set");
        return None;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let schema = format!("replicas_{}_{nanos}", std::process::id());
    Some(throughline_store::schema_url(&base, &schema).expect("a schema for the test"))
}

/// A replica: its own data dir (derived indexes, replica name), the shared database, a short job lease
/// so that a killed replica's job is taken over within seconds.
fn replica(env: &Env, url: &str) -> Server {
    start(env, &["--allow-private-network"], &[("THROUGHLINE_DATABASE_URL", url), ("THROUGHLINE_JOB_LEASE_SECS", "2")])
}

fn page(title: &str, body: &str, links: &[&str]) -> Route {
    let links: String = links.iter().map(|l| format!("<a href=\"{l}\">{l}</a> ")).collect();
    Route::html(format!(
        "<html><head><title>{title}</title></head><body><main><h1>{title}</h1><p>{body}</p>{links}</main></body></html>"
    ))
}

/// Polls `f` every 200 ms until it returns `Some`, for at most `secs` seconds.
fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn job(server: &Server, id: &str) -> Value {
    http(&server.addr, "GET", &format!("/v1/jobs/{id}"), None).expect("job").1
}

fn add_site(server: &Server, kb: &str, url: &str) -> String {
    let (status, body) = http(&server.addr, "POST", &format!("/v1/kbs/{kb}/sources/site"), Some(&json!({"url": url})))
        .expect("add site");
    assert_eq!(status, 202, "{body}");
    body["job"]["id"].as_str().expect("job id").to_string()
}

fn bm25_paths(server: &Server, kb: &str, q: &str) -> Vec<String> {
    let (_, v) = http(&server.addr, "GET", &format!("/v1/kbs/{kb}/search?q={q}&mode=bm25"), None).expect("search");
    v["hits"]
        .as_array()
        .map(|h| h.iter().filter_map(|x| x["path"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Opens an event stream (`GET path` with the admin token) and returns the socket, read later.
fn events(server: &Server, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(&server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\n\r\n",
        server.addr
    )
    .expect("request");
    s
}

/// Reads the stream until `needle` shows up (or `secs` pass); returns what was read.
fn read_until(stream: &mut TcpStream, needle: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !String::from_utf8_lossy(&seen).contains(needle) {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A site of 25 pages that asks for one request a second (robots.txt), so its crawl takes half a minute.
fn slow_site() -> Site {
    let slow = Site::start();
    let names: Vec<String> = (0..24).map(|i| format!("/p{i}")).collect();
    let links: Vec<&str> = names.iter().map(String::as_str).collect();
    slow.set("/", page("Handbook", "The handbook of the platform team.", &links));
    slow.set("/robots.txt", Route::new(200, "text/plain", "User-agent: *\nCrawl-delay: 1\n"));
    for (i, n) in names.iter().enumerate() {
        slow.set(n, page(&format!("Chapter {i}"), &format!("Chapter {i} explains the zeppelin{i} procedure."), &[]));
    }
    slow
}

/// Whether `server` runs the job: the job's claim is not in the API, but only the running replica
/// streams its live progress events (another streams stored snapshots).
fn runs_on(server: &Server, id: &str) -> bool {
    let seen = read_until(&mut events(server, &format!("/v1/jobs/{id}/events")), "event: advanced", 4);
    seen.contains("event: advanced") || seen.contains("event: batch_committed") || seen.contains("event: stage_")
}

#[test]
fn two_replicas_share_one_postgres_database() {
    let Some(url) = database() else { return };
    let site = Site::start();
    site.set(
        "/",
        page("Staging docs", "Deployments on the staging cluster are promoted every Tuesday.", &["/promote"]),
    );
    site.set(
        "/promote",
        page("Promotion", "A release is promoted once its canary has run for two hours without errors.", &[]),
    );
    let (env_a, env_b) = (Env::new(), Env::new());
    let a = replica(&env_a, &url);
    let b = replica(&env_b, &url);

    // Ingested through A, searchable through B within seconds (B's own index catches up from the
    // stored vectors: B never embeds a page).
    let id = add_site(&a, "staging", &site.url("/"));
    let done = eventually(120, "the crawl through A", || {
        let j = job(&a, &id);
        matches!(j["status"].as_str(), Some("succeeded" | "failed")).then_some(j)
    });
    assert_eq!(done["status"], "succeeded", "{done}");
    let paths = eventually(20, "the page searchable on B", || {
        let p = bm25_paths(&b, "staging", "canary");
        (!p.is_empty()).then_some(p)
    });
    assert_eq!(paths, vec!["/promote".to_string()]);

    // An agent made through A answers through B, from the page ingested through A.
    let (status, body) =
        http(&a.addr, "POST", "/v1/agents", Some(&json!({"name": "support", "kb": "staging"}))).expect("create agent");
    assert_eq!(status, 201, "{body}");
    let (status, session) = http(&a.addr, "POST", "/v1/agents/support/sessions", Some(&json!({}))).expect("session");
    assert_eq!(status, 201, "{session}");
    let token = session["session"].as_str().expect("session token").to_string();
    let ask = |server: &Server, message: &str| {
        let (status, turn) =
            http(&server.addr, "POST", "/v1/agents/support/chat", Some(&json!({"session": token, "message": message})))
                .expect("chat");
        assert_eq!(status, 200, "{turn}");
        turn
    };
    let first = ask(&b, "when does a release get promoted?");
    assert!(first["answer"].as_str().unwrap_or("").contains("canary"), "{first}");
    assert_eq!(first["citations"][0]["path"], "/promote", "{first}");

    // The visitor's conversation continues on A: one conversation, both turns, whichever replica.
    let second = ask(&a, "and when are staging deployments promoted?");
    assert_eq!(second["conversation_id"], first["conversation_id"], "{second}");
    let (_, history) =
        http(&b.addr, "GET", &format!("/v1/agents/support/sessions/{token}/messages"), None).expect("history");
    let texts: Vec<&str> =
        history["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(texts.contains(&"when does a release get promoted?"), "{history}");
    assert!(texts.contains(&"and when are staging deployments promoted?"), "{history}");

    // A human's reply sent through A reaches the visitor's live stream open on B.
    let handoff = ask(&b, "I want to talk to a human please");
    let handoff_id = handoff["handoff"]["id"].as_str().unwrap_or_else(|| panic!("a handoff: {handoff}")).to_string();
    let (_, handoffs) = http(&a.addr, "GET", "/v1/agents/support/handoffs", None).expect("handoffs");
    assert!(handoffs.to_string().contains(&handoff_id), "the handoff is listed on A: {handoffs}");
    let mut stream = events(&b, &format!("/v1/agents/support/sessions/{token}/events"));
    let opened = read_until(&mut stream, "ready", 10);
    assert!(opened.contains("ready"), "{opened}");
    let (status, sent) = http(
        &a.addr,
        "POST",
        &format!("/v1/agents/support/handoffs/{handoff_id}/reply"),
        Some(&json!({"message": "Hi, Sam from support here."})),
    )
    .expect("reply");
    assert_eq!(status, 200, "{sent}");
    let live = read_until(&mut stream, "Sam from support", 15);
    assert!(live.contains("event: reply") && live.contains("Sam from support"), "{live}");

    // A cancel sent to the replica that does not run a crawl stops it: the runner sees the request at its
    // next heartbeat. That replica's event stream of the job follows the stored state to the end.
    let slow = slow_site();
    let first = add_site(&a, "handbook", &slow.url("/"));
    eventually(60, "the long crawl running", || (job(&a, &first)["status"] == "running").then_some(()));
    let other = if runs_on(&a, &first) { &b } else { &a };
    let mut job_stream = events(other, &format!("/v1/jobs/{first}/events"));
    let (status, body) = http(&other.addr, "POST", &format!("/v1/jobs/{first}/cancel"), None).expect("cancel");
    assert_eq!(status, 202, "{body}");
    let stopped = eventually(30, "the crawl cancelled", || {
        let j = job(other, &first);
        matches!(j["status"].as_str(), Some("succeeded" | "failed" | "cancelled")).then_some(j)
    });
    assert_eq!(stopped["status"], "cancelled", "{stopped}");
    let streamed = read_until(&mut job_stream, "event: job_finished", 10);
    assert!(streamed.contains("event: snapshot") && streamed.contains("\"status\":\"cancelled\""), "{streamed}");

    // kill -9 the replica running a long crawl: the other takes the job over once its lease runs out
    // and finishes it from its last committed batch.
    let crawl = add_site(&a, "manual", &slow.url("/"));
    let running = eventually(60, "the long crawl running", || {
        let j = job(&a, &crawl);
        (j["status"] == "running").then_some(j)
    });
    assert_eq!(running["attempts"], 1);
    // Whichever replica claimed it: kill -9 that one (its heartbeat stops, its lease runs out).
    std::thread::sleep(Duration::from_millis(1500));
    let runner_is_a = runs_on(&a, &crawl);
    let (survivor, mut dead) = if runner_is_a { (b, a) } else { (a, b) };
    dead.child.kill().expect("kill -9");
    dead.child.wait().expect("reaped");
    let finished = eventually(180, "the job taken over and finished", || {
        let j = job(&survivor, &crawl);
        matches!(j["status"].as_str(), Some("succeeded" | "failed" | "cancelled")).then_some(j)
    });
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(finished["attempts"], 2, "resumed by a second attempt on the survivor: {finished}");
    let found = eventually(20, "every chapter searchable on the survivor", || {
        let p = bm25_paths(&survivor, "manual", "zeppelin23");
        (!p.is_empty()).then_some(p)
    });
    assert_eq!(found, vec!["/p23".to_string()]);
}

#[test]
fn an_install_moves_from_sqlite_to_postgres_and_answers_from_there() {
    let Some(url) = database() else { return };
    let env = Env::new();
    crate::harness::copy_sample(&env.src(), &["help/invite-users.md", "help/refund-policy.md"]);
    let src = env.src();
    let out = env.run(&["ingest", "--kb", "docs", src.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", crate::harness::stderr(&out));

    let out = env.run(&["migrate", "--to", &url]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", crate::harness::stderr(&out));
    assert!(said.contains("1 knowledge bases, 2 documents"), "{said}");

    // A new replica on the database: its indexes come from the copied vectors, and it finds the page.
    let replica = Env::new();
    let out = replica.run(&["--database-url", &url, "search", "--kb", "docs", "how do I invite a teammate", "--json"]);
    assert!(out.status.success(), "{}", crate::harness::stderr(&out));
    assert!(crate::harness::stderr(&out).contains("(rebuilt)"), "{}", crate::harness::stderr(&out));
    let hits: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(crate::harness::hit_paths(&hits)[0], "help/invite-users.md", "{hits}");

    // The database is no longer empty: a second copy is refused, naming it; so is a URL that is not one.
    let again = env.run(&["migrate", "--to", &url]);
    assert!(!again.status.success());
    assert!(crate::harness::stderr(&again).contains("the database is not empty"), "{}", crate::harness::stderr(&again));
    let wrong = env.run(&["migrate", "--to", "mysql://x/y"]);
    assert!(crate::harness::stderr(&wrong).contains("is not a postgres:// URL"), "{}", crate::harness::stderr(&wrong));
}
