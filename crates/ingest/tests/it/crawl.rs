//! Crawling a real HTTP test site on 127.0.0.1 into a real knowledge base (SQLite, tantivy, the
//! embedding model), asserting exactly which pages are indexed and the status and reason of every other
//! discovered URL.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use throughline_core::{
    CancelToken, CrawlStatus, Embedder, KnowledgeStore, NoProgress, PageType, ProgressEvent, SearchConfig, SearchMode,
    SearchRequest,
};
use throughline_embed::{BertEmbedder, EmbedConfig};
use throughline_ingest::crawl::frontier::TrapLimits;
use throughline_ingest::{crawl_report, crawl_site, CrawlConfig, KbPaths, KnowledgeBase};
use throughline_store::SqliteStore;

use crate::site::{Route, Site};

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2")
}

pub fn open_kb(dir: &Path) -> KnowledgeBase {
    let store: Arc<dyn KnowledgeStore> = Arc::new(SqliteStore::open(&dir.join("throughline.db")).expect("store"));
    let embedder: Arc<dyn Embedder> = Arc::new(BertEmbedder::load(&EmbedConfig::new(model_dir())).expect("model"));
    KnowledgeBase::open(&KbPaths::new(dir), store, embedder, "site", SearchConfig::default(), true).expect("kb").0
}

/// Settings for a site on this machine: loopback allowed (other private ranges and metadata still
/// refused), short timeouts, no politeness delay.
fn test_config() -> CrawlConfig {
    let mut cfg = CrawlConfig {
        max_pages: 60,
        max_depth: 3,
        concurrency: 4,
        delay: Duration::ZERO,
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        max_body_bytes: 200_000,
        max_retries: 1,
        max_retry_wait: Duration::from_secs(2),
        allow_loopback: true,
        traps: TrapLimits { max_date_variants: 3, ..Default::default() },
        ..Default::default()
    };
    cfg.ingest.batch_docs = 6;
    cfg
}

/// A page with realistic chrome around `main`: cookie banner, header navigation, sidebar, footer.
fn layout(title: &str, main: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} | Uptrail</title>
<meta name="description" content="{title} at Uptrail, uptime monitoring for teams."></head>
<body>
<div class="cookie-banner" id="cookie-consent">We use cookies to improve your experience. <button>Accept all cookies</button></div>
<header class="site-header"><a href="/" class="logo">Uptrail</a>
<nav class="navbar"><a href="/docs/getting-started">Docs</a> <a href="/help/invite-users">Help</a> <a href="/pricing">Pricing</a> <a href="/plans">Plans</a></nav></header>
<div class="layout">
<aside class="sidebar"><h4>Popular</h4><ul><li><a href="/help/billing?utm_source=sidebar">Billing questions</a></li></ul></aside>
<main>{main}</main>
</div>
<footer class="site-footer"><p>© 2024 Uptrail Inc. All rights reserved.</p><a href="/legal/terms">Terms</a> <a href="mailto:support@uptrail.example">Contact</a></footer>
</body></html>"#
    )
}

fn article(title: &str, body: &str) -> String {
    layout(title, &format!("<article><h1>{title}</h1>{body}</article>"))
}

const INVITE: &str = "<p>Owners and admins can invite teammates from <strong>Settings → Members</strong>.</p>\
<ol><li>Open Settings and choose Members.</li><li>Click <em>Invite teammate</em> and enter their email.</li>\
<li>Pick a role: Viewer, Responder or Admin.</li></ol><p>Invitations expire after 7 days.</p>";

const PRICING_TABLE: &str = r#"<h1>Pricing</h1><p>Simple plans that grow with your team. Prices exclude VAT.</p>
<table class="plan-comparison"><thead><tr><th>Feature</th><th>Starter</th><th>Team</th><th>Business</th></tr></thead>
<tbody><tr><td>Price</td><td>$0/mo</td><td>$29/mo</td><td>$99/mo</td></tr>
<tr><td>Monitors</td><td>10 monitors</td><td>50 monitors</td><td>500 monitors</td></tr>
<tr><td>Check interval</td><td>5 minutes</td><td>1 minute</td><td>30 seconds</td></tr>
<tr><td>Status pages</td><td>1</td><td>5</td><td>Unlimited</td></tr>
<tr><td>SSO (SAML)</td><td>—</td><td>—</td><td>Included</td></tr></tbody></table>
<p>Pay yearly and save 20%.</p>"#;

const PRICING_CARDS: &str = r#"<h1>Plans for every team</h1>
<div class="plans">
<div class="plan-card"><h3 class="plan-name">Hobby</h3><div class="price">€0 <span>per month</span></div>
<ul class="features"><li>3 monitors</li><li>Email alerts</li><li>1 user</li></ul></div>
<div class="plan-card"><h3 class="plan-name">Pro</h3><div class="price">€290 per year</div>
<ul class="features"><li>25 monitors</li><li>Slack and SMS alerts</li><li>5 users</li></ul></div>
<div class="plan-card featured"><h3 class="plan-name">Scale</h3><div class="price">€990 per year</div>
<ul class="features"><li>200 monitors</li><li>SAML single sign-on</li><li>Unlimited users</li></ul></div>
</div>"#;

/// The full test site. Returns the sizes of the two oversize bodies.
fn build_site(site: &Site) -> usize {
    let b = &site.base;
    site.set(
        "/robots.txt",
        Route::new(200, "text/plain", format!("User-agent: *\nDisallow: /private/\n\nSitemap: {b}/sitemap.xml\n")),
    );
    site.set(
        "/sitemap.xml",
        Route::new(
            200,
            "application/xml",
            format!(r#"<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{b}/sitemap-help.xml</loc></sitemap></sitemapindex>"#),
        ),
    );
    site.set(
        "/sitemap-help.xml",
        Route::new(
            200,
            "application/xml",
            format!(
                r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{b}/help/billing</loc></url><url><loc>{b}/help/invite-users</loc></url><url><loc>{b}/private/secret</loc></url></urlset>"#
            ),
        ),
    );
    let home_links = [
        ("/docs/getting-started", "Get started"),
        ("/docs/getting-started/print", "Printable guide"),
        ("/help/invite-users-copy", "Inviting (old link)"),
        ("/help/account-deletion", "Delete your account"),
        ("/old-docs", "API (old address)"),
        ("/loop-a", "Loop"),
        ("/missing", "Missing page"),
        ("/slow", "Slow page"),
        ("/big", "Big page"),
        ("/stream", "Streamed page"),
        ("/logo.html", "Logo"),
        ("/assets/diagram.png", "Diagram"),
        ("http://external.example/partner", "Our partner"),
        ("/calendar/2024/01", "Events"),
        ("/docs/docs/docs/intro", "Intro"),
        ("/flaky", "Flaky"),
        ("/down", "Down"),
        ("/go-metadata", "Metadata"),
        ("/go-intranet", "Intranet"),
        ("/docs/guide.md", "Guide (Markdown)"),
        ("/docs/limits.txt", "Limits (text)"),
        ("/private/secret", "Secret"),
        ("/help/invite-users#roles", "Roles"),
    ];
    let list: String = home_links.iter().map(|(h, t)| format!(r#"<li><a href="{h}">{t}</a></li>"#)).collect();
    site.set(
        "/",
        Route::html(layout(
            "Uptrail",
            &format!("<h1>Uptrail help center</h1><p>Uptime monitoring for teams that ship.</p><ul>{list}</ul>"),
        )),
    );
    let getting_started =
        "<p>Create your first monitor in two minutes: add a URL, pick regions, choose alert channels.</p>\
<h2>Next steps</h2><p>Read the <a href=\"/docs/deep/a\">alerting deep dive</a>.</p>";
    site.set("/docs/getting-started", Route::html(article("Getting started", getting_started)));
    site.set(
        "/docs/getting-started/print",
        Route::html(
            article("Getting started", getting_started)
                .replace("<head>", r#"<head><link rel="canonical" href="/docs/getting-started">"#),
        ),
    );
    site.set("/docs/deep/a", Route::html(article("Alerting deep dive", "<p>Alerts escalate after three failed checks from two regions.</p><p><a href=\"/docs/deep/b\">Escalation policies</a></p>")));
    site.set("/docs/deep/b", Route::html(article("Escalation policies", "<p>Escalation policies page the on-call responder, then the team lead.</p><p><a href=\"/docs/deep/c\">Rotations</a></p>")));
    site.set("/docs/deep/c", Route::html(article("Rotations", "<p>Weekly rotations hand over on Mondays.</p>")));
    site.set("/help/invite-users", Route::html(article("Invite users", INVITE)));
    site.set("/help/invite-users-copy", Route::html(article("Invite users", INVITE)));
    site.set("/help/billing", Route::html(article("Billing questions", "<p>Invoices are issued on the first day of each billing period and can be paid by card or bank transfer.</p>")));
    site.set(
        "/help/account-deletion",
        Route::html(article(
            "Delete your account",
            "<p>Only the account owner can delete the account, from Settings → Account → Danger zone.</p>",
        )),
    );
    site.set(
        "/legal/terms",
        Route::html(article(
            "Terms of service",
            "<p>These terms govern your use of Uptrail. Either party may terminate with 30 days notice.</p>",
        )),
    );
    site.set("/old-docs", Route::redirect("/older-docs"));
    site.set("/older-docs", Route::redirect("/docs/api"));
    site.set("/docs/api", Route::html(article("API reference", "<p>Authenticate with a bearer token from Settings → API keys.</p><pre><code>curl -H 'Authorization: Bearer TOKEN' https://api.uptrail.example/v1/monitors</code></pre>")));
    site.set("/loop-a", Route::redirect("/loop-b"));
    site.set("/loop-b", Route::redirect("/loop-a"));
    let mut slow = Route::html(article("Slow page", "<p>This page takes too long.</p>"));
    slow.delay = Some(Duration::from_secs(3));
    site.set("/slow", slow);
    let filler = "<p>Lorem ipsum dolor sit amet, monitoring every region all the time.</p>".repeat(4_500);
    let big = article("Big page", &filler);
    let big_len = big.len();
    assert!(big_len > 200_000);
    site.set("/big", Route::html(big.clone()));
    let mut stream = Route::html(big);
    stream.no_length = true;
    site.set("/stream", stream);
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    png.extend(vec![0u8; 512]);
    site.set("/logo.html", Route::new(200, "text/html", png.clone()));
    site.set("/assets/diagram.png", Route::new(200, "image/png", png));
    for m in 1..=6 {
        site.set(
            &format!("/calendar/2024/{m:02}"),
            Route::html(article(
                &format!("Events in month {m}"),
                &format!(
                    "<p>Webinar number {m} on alert routing.</p><p><a href=\"/calendar/2024/{:02}\">Next month</a></p>",
                    m + 1
                ),
            )),
        );
    }
    let mut flaky =
        Route::html(article("Status history", "<p>The status history shows incidents of the last 90 days.</p>"));
    flaky.fail_first = 1;
    site.set("/flaky", flaky);
    site.set("/down", Route::new(500, "text/html", "<h1>Internal error</h1>"));
    let mut metadata = Route::redirect("http://169.254.169.254/latest/meta-data/");
    metadata.status = 302;
    site.set("/go-metadata", metadata);
    site.set("/go-intranet", Route::redirect("http://10.0.0.1/admin"));
    site.set(
        "/docs/guide.md",
        Route::new(
            200,
            "text/markdown; charset=utf-8",
            "# Monitoring guide\n\n## Regions\n\nChecks run from five regions.\n\n- Frankfurt\n- Virginia\n",
        ),
    );
    site.set(
        "/docs/limits.txt",
        Route::new(200, "text/plain", "Account limits\n\nEach workspace can hold 500 monitors and 20 status pages.\n"),
    );
    site.set("/pricing", Route::html(layout("Pricing", PRICING_TABLE)));
    site.set("/plans", Route::html(layout("Plans", PRICING_CARDS)));
    big_len
}

fn report_of(kb: &KnowledgeBase) -> Vec<(String, CrawlStatus, String)> {
    let mut rows: Vec<_> =
        crawl_report(kb, None, None).unwrap().into_iter().map(|r| (r.url, r.status, r.reason)).collect();
    rows.sort();
    rows
}

fn doc_paths(kb: &KnowledgeBase) -> Vec<String> {
    let mut p: Vec<String> = kb.store().documents(kb.info().id, None).unwrap().into_iter().map(|d| d.path).collect();
    p.sort();
    p
}

#[test]
fn a_site_crawl_indexes_exactly_the_right_pages_and_explains_the_rest() {
    let site = Site::start();
    let big_len = build_site(&site);
    let dir = tempfile::tempdir().unwrap();
    let kb = open_kb(dir.path());
    let events = Mutex::new(Vec::new());
    let sink = |e: ProgressEvent| events.lock().unwrap().push(e);
    let summary = crawl_site(&kb, &site.url("/"), &test_config(), &sink, &CancelToken::new()).unwrap();
    let b = &site.base;

    let indexed = [
        "/",
        "/calendar/2024/01",
        "/calendar/2024/02",
        "/calendar/2024/03",
        "/docs/api",
        "/docs/deep/a",
        "/docs/deep/b",
        "/docs/getting-started",
        "/docs/guide.md",
        "/docs/limits.txt",
        "/flaky",
        "/help/account-deletion",
        "/help/billing",
        "/help/invite-users",
        "/legal/terms",
        "/plans",
        "/pricing",
    ];
    assert_eq!(doc_paths(&kb), indexed.iter().map(|s| s.to_string()).collect::<Vec<_>>());

    let s = CrawlStatus::Skipped;
    let f = CrawlStatus::Failed;
    let mut expected: Vec<(String, CrawlStatus, String)> =
        indexed.iter().map(|p| (format!("{b}{p}"), CrawlStatus::Indexed, String::new())).collect();
    let others: Vec<(String, CrawlStatus, String)> = vec![
        (format!("{b}/private/secret"), s, "robots.txt disallows".into()),
        (format!("{b}/docs/deep/c"), s, "depth limit (3)".into()),
        (format!("{b}/docs/getting-started/print"), s, format!("canonical to {b}/docs/getting-started")),
        (format!("{b}/help/invite-users-copy"), s, format!("duplicate of {b}/help/invite-users")),
        (format!("{b}/old-docs"), s, format!("redirects to {b}/docs/api")),
        (format!("{b}/big"), s, format!("too large: {big_len} bytes, over the 200000-byte limit")),
        (format!("{b}/stream"), s, "too large: over the 200000-byte limit".into()),
        (format!("{b}/assets/diagram.png"), s, "wrong type: image/png".into()),
        ("http://external.example/partner".into(), s, "out of scope: other host external.example".into()),
        (
            format!("{b}/calendar/2024/04"),
            s,
            "trap: calendar-like dates (more than 3 pages like /calendar/{date})".into(),
        ),
        (format!("{b}/docs/docs/docs/intro"), s, "trap: path segment `docs` repeats more than 2 times".into()),
        (format!("{b}/loop-a"), f, format!("redirect loop: {b}/loop-a → {b}/loop-b → {b}/loop-a")),
        (format!("{b}/missing"), f, "HTTP 404".into()),
        (format!("{b}/slow"), f, "timeout".into()),
        (format!("{b}/logo.html"), f, "binary content served as text/html".into()),
        (format!("{b}/down"), f, "HTTP 500 (after 2 attempts)".into()),
        (
            format!("{b}/go-metadata"),
            f,
            "refused address 169.254.169.254 (cloud metadata endpoint, never fetched)".into(),
        ),
        (
            format!("{b}/go-intranet"),
            f,
            "refused address 10.0.0.1 (private network; allow with --allow-private-network)".into(),
        ),
    ];
    expected.extend(others);
    expected.sort();
    assert_eq!(report_of(&kb), expected);

    assert_eq!(summary.added, 17);
    assert_eq!((summary.updated, summary.unchanged, summary.removed), (0, 0, 0));
    assert_eq!(summary.discovered, expected.len());
    assert_eq!((summary.skipped, summary.failed), (11, 7));
    assert!(summary.batches >= 3, "17 pages in batches of 6: {}", summary.batches);
    for kind in ["trap", "too large"] {
        assert!(summary.reasons.contains(&(CrawlStatus::Skipped, kind.to_string(), 2)), "{:?}", summary.reasons);
    }
    assert!(summary.reasons.contains(&(CrawlStatus::Failed, "refused address".to_string(), 2)));

    // Nothing disallowed, out of depth, trapped or external was requested; the flaky page was retried.
    let requested = site.requested();
    for never in ["/private/secret", "/docs/deep/c", "/calendar/2024/04", "/docs/docs/docs/intro", "/partner"] {
        assert!(!requested.iter().any(|r| r == never), "{never} was requested: {requested:?}");
    }
    assert_eq!(requested.iter().filter(|r| *r == "/flaky").count(), 2);
    assert_eq!(requested.iter().filter(|r| *r == "/down").count(), 2);

    // Page types: both pricing pages are pricing; the rest by URL.
    let docs = kb.store().documents(kb.info().id, None).unwrap();
    let type_of = |p: &str| docs.iter().find(|d| d.path == p).map(|d| d.page_type);
    assert_eq!(type_of("/pricing"), Some(PageType::Pricing));
    assert_eq!(type_of("/plans"), Some(PageType::Pricing));
    assert_eq!(type_of("/help/invite-users"), Some(PageType::Help));
    assert_eq!(type_of("/docs/api"), Some(PageType::Docs));
    assert_eq!(type_of("/legal/terms"), Some(PageType::Legal));
    let pricing = docs.iter().find(|d| d.path == "/pricing").unwrap();
    assert_eq!(pricing.url.as_deref(), Some(format!("{b}/pricing").as_str()));

    // Chrome is gone from the indexed text; content (lists, tables, code) is kept.
    let ids = kb.store().chunk_ids(kb.info().id).unwrap();
    let chunks = kb.store().chunks_with_docs(kb.info().id, &ids).unwrap();
    let all_text: String = chunks.iter().map(|(_, c)| c.text.as_str()).collect::<Vec<_>>().join("\n");
    for chrome in ["We use cookies", "All rights reserved", "Accept all cookies", "Popular"] {
        assert!(!all_text.contains(chrome), "chrome text `{chrome}` was indexed");
    }
    assert!(all_text.contains("$29/mo"), "pricing table cells are kept");
    assert!(all_text.contains("€290 per year"), "plan card prices are kept");
    assert!(all_text.contains("curl -H 'Authorization: Bearer TOKEN'"), "code is kept");

    // The page is searchable under its URL path.
    let hits = kb.search(&SearchRequest { mode: SearchMode::Bm25, ..SearchRequest::new("invite teammates") }).unwrap();
    assert_eq!(hits[0].path, "/help/invite-users");

    // Per-page events: every discovered URL was announced, every indexed page reported.
    let events = events.into_inner().unwrap();
    let discovered = events.iter().filter(|e| matches!(e, ProgressEvent::PageDiscovered { .. })).count();
    assert_eq!(discovered, expected.len());
    let indexed_events =
        events.iter().filter(|e| matches!(e, ProgressEvent::PageIndexed { unchanged: false, .. })).count();
    assert_eq!(indexed_events, 17);
    assert!(events.iter().any(|e| matches!(e, ProgressEvent::PageFailed { reason, .. } if reason == "timeout")));

    // The report filters by status.
    let failed = crawl_report(&kb, Some(summary.source), Some(CrawlStatus::Failed)).unwrap();
    assert_eq!(failed.len(), 7);
}

/// A page with chrome that links nowhere else (the small site's URL set stays exact).
fn plain(title: &str, main: &str) -> String {
    format!(
        "<html><head><title>{title}</title></head><body><div class=\"cookie-banner\">We use cookies.</div>\
         <main><h1>{title}</h1>{main}</main><footer>© Uptrail</footer></body></html>"
    )
}

/// A small site whose pages can change between crawls.
fn small_site(site: &Site, with_c_in_sitemap: bool) {
    let b = &site.base;
    let c = if with_c_in_sitemap { format!("<url><loc>{b}/help/c</loc></url>") } else { String::new() };
    site.set(
        "/sitemap.xml",
        Route::new(
            200,
            "application/xml",
            format!(r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{c}</urlset>"#),
        ),
    );
    site.set(
        "/",
        Route::html(plain(
            "Home",
            r#"<h1>Home</h1><p>Welcome.</p><a href="/help/a">A</a> <a href="/help/b">B</a> <a href="/docs/x">X</a>"#,
        )),
    );
    site.set(
        "/help/a",
        Route::html(plain("Reset your password", "<p>Use the Forgot password link on the sign-in page.</p>")),
    );
    site.set(
        "/help/b",
        Route::html(plain("Export monitors", "<p>Export every monitor as CSV from Settings → Export.</p>")),
    );
    site.set(
        "/help/c",
        Route::html(plain("Pause alerts", "<p>Maintenance windows pause alerts for a chosen period.</p>")),
    );
    site.set(
        "/docs/x",
        Route::html(plain("Webhooks", "<p>Webhooks post a JSON payload to your endpoint for each incident.</p>")),
    );
}

#[test]
fn a_recrawl_sends_conditional_requests_and_updates_removes_and_keeps() {
    let site = Site::start();
    small_site(&site, true);
    let dir = tempfile::tempdir().unwrap();
    let kb = open_kb(dir.path());
    let cfg = test_config();
    let first = crawl_site(&kb, &site.url("/"), &cfg, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(first.added, 5);
    assert_eq!(doc_paths(&kb), ["/", "/docs/x", "/help/a", "/help/b", "/help/c"]);
    assert_eq!(first.conditional_requests, 0);

    // Change one page, delete one (404), drop one from the sitemap (no longer linked), keep the rest.
    site.set(
        "/help/a",
        Route::html(plain(
            "Reset your password",
            "<p>Passwords are now reset from the account menu, under Security.</p>",
        )),
    );
    site.remove("/help/b");
    small_site_without_c(&site);
    site.clear_log();
    let second = crawl_site(&kb, &site.url("/"), &cfg, &NoProgress, &CancelToken::new()).unwrap();
    let b = &site.base;
    assert_eq!(
        report_of(&kb),
        vec![
            (format!("{b}/"), CrawlStatus::Unchanged, String::new()),
            (format!("{b}/docs/x"), CrawlStatus::Unchanged, String::new()),
            (format!("{b}/help/a"), CrawlStatus::Indexed, String::new()),
            (format!("{b}/help/b"), CrawlStatus::Failed, "HTTP 404".to_string()),
        ]
    );
    assert_eq!(doc_paths(&kb), ["/", "/docs/x", "/help/a"]);
    assert_eq!((second.added, second.updated, second.unchanged, second.removed), (0, 1, 2, 2));
    assert_eq!((second.conditional_requests, second.not_modified), (4, 2));
    // The server saw the validators of the first crawl and answered 304 where nothing changed.
    let log = site.log();
    for page in ["/", "/docs/x", "/help/a", "/help/b"] {
        let seen = log.iter().find(|s| s.path == page).unwrap_or_else(|| panic!("{page} not requested"));
        assert!(seen.if_none_match.is_some() && seen.if_modified_since.is_some(), "{page}: {seen:?}");
    }
    let status_of = |p: &str| log.iter().find(|s| s.path == p).map(|s| s.status);
    assert_eq!(status_of("/"), Some(304));
    assert_eq!(status_of("/docs/x"), Some(304));
    assert_eq!(status_of("/help/a"), Some(200));
    // Removed pages are gone from both indexes too; the changed page answers with its new text.
    for (query, gone) in [("export monitors CSV", "/help/b"), ("maintenance windows pause alerts", "/help/c")] {
        for mode in [SearchMode::Bm25, SearchMode::Vector] {
            let hits = kb.search(&SearchRequest { mode, ..SearchRequest::new(query) }).unwrap();
            assert!(hits.iter().all(|h| h.path != gone), "{gone} still found by {mode:?}");
        }
    }
    let hits =
        kb.search(&SearchRequest { mode: SearchMode::Bm25, ..SearchRequest::new("account menu security") }).unwrap();
    assert_eq!(hits[0].path, "/help/a");

    // A third crawl with nothing changed writes nothing.
    let third = crawl_site(&kb, &site.url("/"), &cfg, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!((third.added, third.updated, third.unchanged, third.removed, third.batches), (0, 0, 3, 0, 0));
    assert_eq!(third.not_modified, 3);
}

fn small_site_without_c(site: &Site) {
    let b = &site.base;
    site.set(
        "/sitemap.xml",
        Route::new(
            200,
            "application/xml",
            format!(
                r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{b}/</loc></url></urlset>"#
            ),
        ),
    );
}

#[test]
fn private_addresses_are_refused_without_the_opt_in() {
    let site = Site::start();
    small_site(&site, false);
    let dir = tempfile::tempdir().unwrap();
    let kb = open_kb(dir.path());
    let closed = CrawlConfig { allow_loopback: false, ..test_config() };
    // A host name resolving to loopback is refused by the resolver, before any connection.
    let by_name = format!("http://localhost:{}/", site.port);
    crawl_site(&kb, &by_name, &closed, &NoProgress, &CancelToken::new()).unwrap();
    let rows = crawl_report(&kb, None, None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, CrawlStatus::Failed);
    assert!(
        rows[0].reason.starts_with("refused address ")
            && rows[0].reason.ends_with(" of localhost (loopback; allow with --allow-private-network)"),
        "{}",
        rows[0].reason
    );
    // A literal loopback address is refused too.
    let summary = crawl_site(&kb, &site.url("/"), &closed, &NoProgress, &CancelToken::new()).unwrap();
    let rows = crawl_report(&kb, Some(summary.source), None).unwrap();
    assert_eq!(
        rows.iter().map(|r| (r.url.as_str(), r.status, r.reason.as_str())).collect::<Vec<_>>(),
        vec![(
            format!("{}/", site.base).as_str(),
            CrawlStatus::Failed,
            "refused address 127.0.0.1 (loopback; allow with --allow-private-network)"
        )]
    );
    assert!(site.log().is_empty(), "the server was contacted: {:?}", site.requested());
    assert!(doc_paths(&kb).is_empty());
}

#[test]
fn limits_patterns_and_cancellation() {
    let site = Site::start();
    small_site(&site, true);
    let dir = tempfile::tempdir().unwrap();
    let kb = open_kb(dir.path());
    let b = &site.base;
    // Exclude a folder; allow two pages.
    let cfg = CrawlConfig { max_pages: 2, exclude: vec!["/docs/*".into()], ..test_config() };
    crawl_site(&kb, &site.url("/"), &cfg, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(
        report_of(&kb),
        vec![
            (format!("{b}/"), CrawlStatus::Indexed, String::new()),
            (format!("{b}/docs/x"), CrawlStatus::Skipped, "excluded by pattern `/docs/*`".to_string()),
            (format!("{b}/help/a"), CrawlStatus::Skipped, "page limit (2)".to_string()),
            (format!("{b}/help/b"), CrawlStatus::Skipped, "page limit (2)".to_string()),
            (format!("{b}/help/c"), CrawlStatus::Indexed, String::new()),
        ]
    );
    // A cancelled crawl stops before fetching pages and removes nothing.
    let cancel = CancelToken::new();
    cancel.cancel();
    let summary = crawl_site(&kb, &site.url("/"), &test_config(), &NoProgress, &cancel).unwrap();
    assert!(summary.cancelled);
    assert_eq!(summary.removed, 0);
    assert_eq!(doc_paths(&kb), ["/", "/help/c"]);
    // Bad input is a clear error naming it.
    let err = crawl_site(&kb, "ftp://example.com/", &test_config(), &NoProgress, &CancelToken::new()).unwrap_err();
    assert_eq!(err.to_string(), "ftp://example.com/: not a crawlable URL: only http and https URLs can be crawled");
    let bad = CrawlConfig { include: vec!["re:(".into()], ..test_config() };
    let err = crawl_site(&kb, &site.url("/"), &bad, &NoProgress, &CancelToken::new()).unwrap_err();
    assert!(err.to_string().starts_with("crawl settings: pattern `re:(` is not valid"), "{err}");
}

#[test]
fn a_gzip_sitemap_named_in_robots_txt_is_read() {
    use std::io::Write;
    let site = Site::start();
    let b = site.base.clone();
    site.set("/robots.txt", Route::new(200, "text/plain", format!("User-agent: *\nSitemap: {b}/sitemap.xml.gz\n")));
    let xml = format!(
        r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{b}/help/only-in-sitemap</loc></url></urlset>"#
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(xml.as_bytes()).unwrap();
    site.set("/sitemap.xml.gz", Route::new(200, "application/x-gzip", gz.finish().unwrap()));
    // The start page links nowhere: the second page is known only from the compressed sitemap.
    site.set("/", Route::html(plain("Home", "<p>Welcome to the help center.</p>")));
    site.set(
        "/help/only-in-sitemap",
        Route::html(plain("Rotate an API key", "<p>Rotate a key from Settings, API keys, then Rotate.</p>")),
    );
    let dir = tempfile::tempdir().unwrap();
    let kb = open_kb(dir.path());
    let summary = crawl_site(&kb, &site.url("/"), &test_config(), &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(summary.added, 2, "{summary:?}");
    let docs: Vec<String> = kb.store().documents(kb.info().id, None).unwrap().into_iter().map(|d| d.path).collect();
    assert!(docs.iter().any(|p| p.contains("only-in-sitemap")), "{docs:?}");
}

#[test]
fn issue_13_a_recrawl_that_cannot_reach_the_site_removes_nothing() {
    let site = Site::start();
    small_site(&site, true);
    let dir = tempfile::tempdir().unwrap();
    let kb = open_kb(dir.path());
    let cfg = test_config();
    let first = crawl_site(&kb, &site.url("/"), &cfg, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(first.added, 5);
    // The same source re-crawled under a policy that refuses the address (as a server without the
    // private-network setting would): every fetch fails, nothing is removed, and the summary says why.
    let refused = CrawlConfig { allow_loopback: false, ..test_config() };
    let second = crawl_site(&kb, &site.url("/"), &refused, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(second.removed, 0);
    assert_eq!(doc_paths(&kb), ["/", "/docs/x", "/help/a", "/help/b", "/help/c"]);
    // The start page failed for a passing reason and keeps its version like any such page; the four
    // pages the crawl never reached are the ones it would otherwise have removed.
    let (kept, why) = second.removal_withheld.expect("the kept pages are reported");
    assert_eq!(kept, 4);
    assert!(why.contains("could not be reached"), "{why}");
    // The site down (connection refused on a closed port): the same.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        port
    };
    let third =
        crawl_site(&kb, &format!("http://127.0.0.1:{closed}/"), &cfg, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(third.removed, 0);
    assert_eq!(doc_paths(&kb).len(), 5, "another source's pages are untouched too");
    let hits =
        kb.search(&SearchRequest { mode: SearchMode::Bm25, ..SearchRequest::new("export monitors CSV") }).unwrap();
    assert_eq!(hits[0].path, "/help/b", "the knowledge base still answers");
}

#[test]
fn issue_13_a_recrawl_that_would_remove_most_pages_asks_for_confirmation() {
    let site = Site::start();
    small_site(&site, true);
    let dir = tempfile::tempdir().unwrap();
    let kb = open_kb(dir.path());
    let cfg = test_config();
    crawl_site(&kb, &site.url("/"), &cfg, &NoProgress, &CancelToken::new()).unwrap();
    // The home page loses its links and the sitemap empties: 4 of 5 pages would go.
    small_site(&site, false);
    site.set("/", Route::html(plain("Home", "<p>We are redesigning; links are back soon.</p>")));
    site.set(
        "/sitemap.xml",
        Route::new(200, "application/xml", r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>"#),
    );
    let held = crawl_site(&kb, &site.url("/"), &cfg, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(held.removed, 0);
    let (n, why) = held.removal_withheld.expect("withheld");
    assert_eq!(n, 4);
    assert!(why.contains("4 of 5") && why.contains("confirm"), "{why}");
    assert_eq!(doc_paths(&kb).len(), 5);
    // Confirmed, the removal goes through.
    let confirmed = CrawlConfig { confirm_removal: true, ..test_config() };
    let done = crawl_site(&kb, &site.url("/"), &confirmed, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(done.removed, 4);
    assert!(done.removal_withheld.is_none());
    assert_eq!(doc_paths(&kb), ["/"]);
}

#[test]
fn issue_15_robots_txt_is_checked_on_every_redirect_hop() {
    let site = Site::start();
    site.set("/robots.txt", Route::new(200, "text/plain", "User-agent: *\nDisallow: /community/\n"));
    site.set("/", Route::html(plain("Home", r#"<p>Welcome to the help center.</p><a href="/community">Forum</a>"#)));
    // `/community` is allowed, but it redirects into the disallowed `/community/`.
    site.set("/community", Route::redirect("/community/"));
    site.set("/community/", Route::html(plain("Forum", "<p>Members-only discussion that robots.txt keeps out.</p>")));
    let dir = tempfile::tempdir().unwrap();
    let kb = open_kb(dir.path());
    let summary = crawl_site(&kb, &site.url("/"), &test_config(), &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(doc_paths(&kb), ["/"], "{summary:?}");
    let fetched: Vec<String> = site.log().into_iter().map(|s| s.path).collect();
    assert!(fetched.iter().any(|p| p == "/community"), "{fetched:?}");
    assert!(!fetched.iter().any(|p| p == "/community/"), "the disallowed page is never fetched: {fetched:?}");
}
