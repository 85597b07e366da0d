//! `throughline ingest --kb NAME URL` against a site served on 127.0.0.1, and `crawl-report`.

#[path = "../../../ingest/tests/it/site.rs"]
#[allow(dead_code)]
pub(crate) mod site;

use serde_json::json;
use site::{Route, Site};

use crate::harness::{stderr, Env};

fn page(title: &str, body: &str) -> Route {
    Route::html(format!(
        "<html><head><title>{title}</title></head><body><nav><a href=\"/\">Home</a> <a href=\"/private/notes\">Notes</a></nav>\
         <main><h1>{title}</h1>{body}</main><footer>© Example</footer></body></html>"
    ))
}

#[test]
fn ingest_url_crawls_and_crawl_report_explains_every_url() {
    let site = Site::start();
    site.set("/robots.txt", Route::new(200, "text/plain", "User-agent: *\nDisallow: /private/\n"));
    site.set("/", page("Help center", r#"<p>Start here.</p><a href="/help/sso">SSO</a> <a href="/help/gone">Old</a> <a href="https://elsewhere.example/x">Partner</a>"#));
    site.set(
        "/help/sso",
        page("Set up SSO", "<p>Upload your identity provider metadata under Settings → Security → SAML.</p>"),
    );
    let env = Env::new();
    let url = site.url("/");

    // Without the opt-in, a loopback site is refused and nothing is indexed.
    let out = env.run(&["ingest", "--kb", "site", &url, "--delay-ms", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report = env.json(&["crawl-report", "--kb", "site", "--json"]);
    assert_eq!(
        report,
        json!([{"url": url, "status": "failed", "reason": "refused address 127.0.0.1 (loopback; allow with --allow-private-network)"}])
    );
    assert!(site.log().is_empty());

    let summary = env.json(&[
        "ingest",
        "--kb",
        "site",
        &url,
        "--allow-private-network",
        "--delay-ms",
        "0",
        "--max-pages",
        "10",
        "--json",
    ]);
    assert_eq!(summary["added"], 2);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["skipped"], 2);
    let source = summary["source_id"].as_str().unwrap().to_string();
    let b = &site.base;
    let report = env.json(&["crawl-report", "--kb", "site", "--source", &source, "--json"]);
    assert_eq!(
        report,
        json!([
            {"url": format!("{b}/"), "status": "indexed", "reason": ""},
            {"url": format!("{b}/help/gone"), "status": "failed", "reason": "HTTP 404"},
            {"url": format!("{b}/help/sso"), "status": "indexed", "reason": ""},
            {"url": format!("{b}/private/notes"), "status": "skipped", "reason": "robots.txt disallows"},
            {"url": "https://elsewhere.example/x", "status": "skipped", "reason": "out of scope: other host elsewhere.example"},
        ])
    );
    let skipped = env.json(&["crawl-report", "--kb", "site", "--status", "skipped", "--json"]);
    assert_eq!(skipped.as_array().unwrap().len(), 2);
    // Crawled pages are searchable under their URL path.
    let hits = env.json(&["search", "--kb", "site", "identity provider metadata", "--json"]);
    assert_eq!(hits["hits"][0]["path"], "/help/sso");
    // The human-readable report names reasons; bad input is named.
    let out = env.run(&["crawl-report", "--kb", "site", "--status", "failed"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("(HTTP 404)"));
    let out = env.run(&["crawl-report", "--kb", "site", "--source", "nothex"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--source"), "{}", stderr(&out));
    let out = env.run(&["ingest", "--kb", "site", "https://", "--allow-private-network"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("https://: not a crawlable URL"), "{}", stderr(&out));
}
