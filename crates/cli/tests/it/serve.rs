//! `throughline serve` with the server-level private-network setting (flag, environment, or
//! `throughline.toml`): site sources on 127.0.0.1 are crawled; without it the crawl job fails and its
//! reason names the setting.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::crawl::site::{Route, Site};
use crate::harness::Env;

pub(crate) const TOKEN: &str = "tla_serve_test_token";

/// A running `throughline serve`, killed on drop.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// One HTTP/1.1 request with the admin token; returns the status and the JSON body.
pub(crate) fn http(addr: &str, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

pub(crate) fn start(env: &Env, extra: &[&str], vars: &[(&str, &str)]) -> Server {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut cmd = env.cmd();
    cmd.args(["serve", "--no-sample", "--addr", &addr]).args(extra);
    cmd.env("THROUGHLINE_ADMIN_TOKEN", TOKEN).env_remove("THROUGHLINE_ALLOW_PRIVATE_NETWORK");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start serve");
    let server = Server { child, addr };
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http(&server.addr, "GET", "/health", None) {
            return server;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the server did not come up on {}", server.addr);
}

/// Adds the site as a source of `kb` and waits for its crawl job; returns the job.
fn crawl(server: &Server, kb: &str, url: &str) -> Value {
    let (status, body) = http(&server.addr, "POST", &format!("/v1/kbs/{kb}/sources/site"), Some(&json!({"url": url})))
        .expect("add site");
    assert_eq!(status, 202, "{body}");
    let id = body["job"]["id"].as_str().expect("job id").to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let (_, job) = http(&server.addr, "GET", &format!("/v1/jobs/{id}"), None).expect("job");
        if matches!(job["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
            return job;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("job {id} did not finish");
}

fn docs_site() -> Site {
    let site = Site::start();
    site.set(
        "/",
        Route::html(
            "<html><head><title>Staging docs</title></head><body><main><h1>Staging docs</h1>\
             <p>Deployments on the staging cluster are promoted to production every Tuesday.</p>\
             <a href=\"/promote\">Promotion</a></main></body></html>",
        ),
    );
    site.set(
        "/promote",
        Route::html(
            "<html><head><title>Promotion</title></head><body><main><h1>Promotion</h1>\
             <p>A release is promoted once its canary has run for two hours without errors.</p></main></body></html>",
        ),
    );
    site
}

#[test]
fn serve_with_the_private_network_setting_crawls_a_loopback_site_and_refuses_it_without() {
    let site = docs_site();
    let url = site.url("/");

    // The flag.
    let env = Env::new();
    let server = start(&env, &["--allow-private-network"], &[]);
    let job = crawl(&server, "staging", &url);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["progress"]["summary"]["added"], 2, "{job}");
    drop(server);

    // The environment variable.
    let env = Env::new();
    let server = start(&env, &[], &[("THROUGHLINE_ALLOW_PRIVATE_NETWORK", "true")]);
    assert_eq!(crawl(&server, "staging", &url)["status"], "succeeded");
    drop(server);

    // The configuration file.
    let env = Env::new();
    std::fs::create_dir_all(env.data()).expect("data dir");
    std::fs::write(env.data().join("throughline.toml"), "[crawl]\nallow_private_network = true\n").expect("toml");
    let server = start(&env, &[], &[]);
    assert_eq!(crawl(&server, "staging", &url)["status"], "succeeded");
    drop(server);

    // None of them: refused, and the job fails naming the setting.
    site.clear_log();
    let env = Env::new();
    let server = start(&env, &[], &[]);
    let job = crawl(&server, "staging", &url);
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(error.contains("refused address 127.0.0.1 (loopback; allow with the server setting"), "{error}");
    assert!(error.contains("`throughline serve --allow-private-network`"), "{error}");
    assert!(site.log().is_empty(), "nothing was requested from the site");
    drop(server);

    // A bad value is a clear error at start.
    let env = Env::new();
    let out = env.cmd().args(["serve", "--no-sample"]).env("THROUGHLINE_ALLOW_PRIVATE_NETWORK", "perhaps").output();
    let out = out.expect("run serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("THROUGHLINE_ALLOW_PRIVATE_NETWORK=\"perhaps\" is not a valid value (true or false)"),
        "{err}"
    );
}
