//! Site crawling: from a start URL to indexed pages, politely and safely.
//!
//! [`crawl_site`] reads robots.txt ([`robots`]), the sitemaps it lists (or `/sitemap.xml`,
//! [`sitemap`]), then walks links breadth-first within the start URL's host and path prefix
//! ([`frontier`]: normalisation, scope, patterns, traps). Pages are fetched by [`fetch`] (bounded
//! redirects, body size, timeouts, retries, pacing) through the shared outbound policy of `throughline-net` (a
//! DNS resolver that refuses private and metadata addresses, [`address`]). Fetched pages go through the same loaders and the same
//! batch write path as folders (`batch.rs`). Every discovered URL ends with a status and a reason in the
//! crawl report ([`report`], SQLite), which also keeps the ETag/Last-Modified validators so a re-crawl
//! sends conditional requests: 304 pages stay, changed pages are re-indexed, and pages gone (404/410) or
//! no longer linked are removed from the store and both indexes.
//!
//! Fetching runs on a small tokio runtime inside the call; extraction, embedding and commits run on the
//! calling thread while the next pages download. Results are processed in the order they were
//! scheduled, so a crawl of the same site gives the same report whatever the timing.

mod fetch;
pub mod frontier;
mod report;
pub mod robots;
pub mod sitemap;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use throughline_core::{
    CancelToken, CrawlRecord, CrawlStatus, DocId, DocumentMeta, ExtractedDoc, IngestStage, ProgressEvent, ProgressSink,
    SourceId, SourceKind,
};
use url::Url;

use self::fetch::{BodyKind, FetchLimits, Fetched, Fetcher, HopCheck, Outcome, Validators};
use self::frontier::{doc_path, normalize, Patterns, Scope, TrapDetector, TrapLimits};
use self::robots::Robots;
use crate::batch::{now, Added, BatchWriter, DocInput, Timer};
use crate::chunk::document_hash;
use crate::load::{html, markdown, text};
use crate::{IngestConfig, IngestError, IngestSummary, KnowledgeBase, Result};
/// The outbound network policy, shared with the agent's webhooks and LLM client (`throughline-net`).
pub use throughline_net::policy as address;
use throughline_net::NetworkPolicy;

pub use self::report::{count_reasons, crawl_report, crawl_report_in, reason_kind};

/// The default User-Agent: a product token robots.txt files can name, and where to read about it.
pub const DEFAULT_USER_AGENT: &str =
    concat!("ThroughlineBot/", env!("CARGO_PKG_VERSION"), " (+https://github.com/throughline/throughline)");

/// How a site is crawled.
#[derive(Debug, Clone, PartialEq)]
pub struct CrawlConfig {
    /// Most pages fetched (robots.txt and sitemaps not counted). Default 500.
    pub max_pages: usize,
    /// Most links followed from the start URL (sitemap entries are depth 1). Default 10.
    pub max_depth: u32,
    /// Only URL paths matching one of these are crawled (globs with `*`/`?`, or `re:REGEX`); empty = all.
    pub include: Vec<String>,
    /// URL paths matching any of these are skipped.
    pub exclude: Vec<String>,
    /// Requests in flight at once to the site. Default 2.
    pub concurrency: usize,
    /// Time between request starts (raised to robots.txt's Crawl-delay, up to 30 s). Default 250 ms.
    pub delay: Duration,
    /// Time to establish a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Time for a whole response, body included. Default 30 s.
    pub timeout: Duration,
    /// Largest body accepted, counted after decompression. Default 10 MB.
    pub max_body_bytes: u64,
    /// Most redirects followed per URL. Default 5.
    pub max_redirects: usize,
    /// Retries on 429 and 5xx. Default 2.
    pub max_retries: u32,
    /// Longest wait honoured for a Retry-After or backoff. Default 10 s.
    pub max_retry_wait: Duration,
    /// Allow private, loopback, link-local, unique-local and CGNAT addresses (intranets). Cloud metadata
    /// endpoints stay refused. Default false.
    pub allow_private_network: bool,
    /// Allow loopback addresses only (a site served on this machine). Default false.
    pub allow_loopback: bool,
    /// The setting that allows private addresses, named in refusals ("allow with …"). Default
    /// `--allow-private-network` (the `ingest` command's flag); a server names its own setting.
    pub private_network_setting: &'static str,
    /// The User-Agent sent, whose first token robots.txt groups are matched against.
    pub user_agent: String,
    /// Read robots.txt's `Sitemap:` lines (or `/sitemap.xml`). Default true.
    pub use_sitemaps: bool,
    /// Crawler-trap limits.
    pub traps: TrapLimits,
    /// Chunking, batch size and PDF extraction (shared with folder ingestion).
    pub ingest: IngestConfig,
    /// A re-crawl that would remove more than this share of the source's stored pages removes nothing
    /// and says so, unless `confirm_removal` is set (a site answering 404 everywhere, or a start page
    /// that lost its links, must not empty a knowledge base). Default 0.5.
    pub max_removal_share: f32,
    /// Remove even more than `max_removal_share` of the stored pages. Default false.
    pub confirm_removal: bool,
}

impl Default for CrawlConfig {
    fn default() -> Self {
        Self {
            max_pages: 500,
            max_depth: 10,
            include: Vec::new(),
            exclude: Vec::new(),
            concurrency: 2,
            delay: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: 10_000_000,
            max_redirects: 5,
            max_retries: 2,
            max_retry_wait: Duration::from_secs(10),
            allow_private_network: false,
            allow_loopback: false,
            private_network_setting: address::DEFAULT_PRIVATE_NETWORK_SETTING,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            use_sitemaps: true,
            traps: TrapLimits::default(),
            ingest: IngestConfig::default(),
            max_removal_share: 0.5,
            confirm_removal: false,
        }
    }
}

/// What a crawl did.
#[derive(Debug, Clone, PartialEq)]
pub struct CrawlSummary {
    /// The site source (its id filters searches and the crawl report).
    pub source: SourceId,
    /// The normalised start URL.
    pub start_url: String,
    /// URLs discovered (every one has a row in the crawl report).
    pub discovered: usize,
    /// Responses received for pages (robots.txt and sitemaps not counted).
    pub fetched: usize,
    /// Pages newly indexed.
    pub added: usize,
    /// Pages re-indexed because their content changed.
    pub updated: usize,
    /// Pages already current (304, or the same content).
    pub unchanged: usize,
    /// Stored pages removed (404/410, or no longer linked).
    pub removed: usize,
    /// URLs skipped on purpose.
    pub skipped: usize,
    /// URLs that failed.
    pub failed: usize,
    /// Conditional requests sent (If-None-Match / If-Modified-Since).
    pub conditional_requests: usize,
    /// 304 Not Modified answers.
    pub not_modified: usize,
    /// Body bytes received (after decompression).
    pub bytes_fetched: u64,
    /// Chunks written.
    pub chunks_written: usize,
    /// Word pieces embedded.
    pub tokens_embedded: u64,
    /// Batches committed.
    pub batches: u64,
    /// Skipped and failed URLs per (status, reason kind), most frequent first.
    pub reasons: Vec<(CrawlStatus, String, usize)>,
    /// Time per stage on the crawling thread: `fetch` is time spent waiting for downloads (they overlap
    /// extraction and embedding), then extract, chunk, embed, index; `discover` is robots.txt and sitemaps.
    pub stage_times: Vec<(IngestStage, Duration)>,
    /// Sum of the time each page download took (overlapping downloads counted separately).
    pub fetch_busy: Duration,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Whether the crawl was cancelled (it stopped at a commit boundary; nothing was removed).
    pub cancelled: bool,
    /// Stored pages the crawl would have removed but kept, and why (the site could not be reached, or
    /// the removal needs confirmation).
    pub removal_withheld: Option<(usize, String)>,
}

/// One discovered URL during a crawl.
struct Entry {
    /// The URL fetched (normalised).
    url: Url,
    depth: u32,
    status: Option<CrawlStatus>,
    reason: String,
    doc_path: Option<String>,
    validators: Validators,
    links: Vec<String>,
    /// An HTTP 404/410: the page is gone.
    gone: bool,
}

/// Where a URL was found.
#[derive(Clone, Copy)]
enum Found {
    Start,
    Sitemap,
    Link(u32),
}

struct Crawl<'a> {
    kb: &'a KnowledgeBase,
    cfg: &'a CrawlConfig,
    progress: &'a dyn ProgressSink,
    scope: Arc<Scope>,
    patterns: Patterns,
    robots: Arc<Robots>,
    traps: TrapDetector,
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
    queue: VecDeque<usize>,
    previous: HashMap<String, CrawlRecord>,
    existing: HashMap<String, DocumentMeta>,
    hashes: HashMap<String, usize>,
    paths: HashMap<String, usize>,
    waiting: Vec<usize>,
    timer: Timer,
    ingest: IngestSummary,
    summary: CrawlSummary,
}

/// Crawls the site at `start_url` into `kb` as one site source (re-crawling it incrementally when it
/// was crawled before), writes the crawl report, and returns a summary. Per-page problems are report
/// rows, not errors; errors are a bad URL or settings, or a store/index/embedder failure. A cancelled
/// crawl stops at a commit boundary.
pub fn crawl_site(
    kb: &KnowledgeBase,
    start_url: &str,
    cfg: &CrawlConfig,
    progress: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<CrawlSummary> {
    let started = Instant::now();
    let bad = |reason: &str| IngestError::BadUrl { url: start_url.to_string(), reason: reason.to_string() };
    let parsed = Url::parse(start_url.trim()).map_err(|e| bad(&e.to_string()))?;
    let start = normalize(&parsed).ok_or_else(|| bad("only http and https URLs can be crawled"))?;
    let bad_cfg = |reason: String| IngestError::BadCrawlConfig { reason };
    if cfg.max_pages == 0 {
        return Err(bad_cfg("max pages must be at least 1".into()));
    }
    if cfg.concurrency == 0 {
        return Err(bad_cfg("concurrency must be at least 1".into()));
    }
    let patterns = Patterns::new(&cfg.include, &cfg.exclude).map_err(bad_cfg)?;
    let setup = |reason: String| IngestError::CrawlSetup { url: start.to_string(), reason };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("throughline-crawl")
        .enable_all()
        .build()
        .map_err(|e| setup(format!("cannot start the network runtime: {e}")))?;
    let policy = NetworkPolicy {
        allow_private: cfg.allow_private_network,
        allow_loopback: cfg.allow_loopback,
        setting: cfg.private_network_setting,
    };
    let limits = FetchLimits {
        user_agent: cfg.user_agent.clone(),
        connect_timeout: cfg.connect_timeout,
        timeout: cfg.timeout,
        max_body_bytes: cfg.max_body_bytes,
        max_redirects: cfg.max_redirects,
        max_retries: cfg.max_retries,
        max_retry_wait: cfg.max_retry_wait,
        delay: cfg.delay,
    };
    let fetcher = Arc::new(Fetcher::new(limits, policy, cfg.concurrency).map_err(setup)?);

    let store = kb.store().clone();
    let kb_id = kb.info().id;
    let source = store.ensure_source(kb_id, SourceKind::Site, start.as_str())?;
    let previous: HashMap<String, CrawlRecord> =
        store.crawl_records(kb_id, Some(source.id))?.into_iter().map(|r| (r.url.clone(), r)).collect();
    let existing: HashMap<String, DocumentMeta> =
        store.documents(kb_id, Some(source.id))?.into_iter().map(|d| (d.path.clone(), d)).collect();

    let mut crawl = Crawl {
        kb,
        cfg,
        progress,
        scope: Arc::new(Scope::of(&start)),
        patterns,
        robots: Arc::new(Robots::AllowAll),
        traps: TrapDetector::new(cfg.traps),
        entries: Vec::new(),
        index: HashMap::new(),
        queue: VecDeque::new(),
        previous,
        existing,
        hashes: HashMap::new(),
        paths: HashMap::new(),
        waiting: Vec::new(),
        timer: Timer::default(),
        ingest: IngestSummary { source: Some(source.id), ..Default::default() },
        summary: CrawlSummary {
            source: source.id,
            start_url: start.to_string(),
            discovered: 0,
            fetched: 0,
            added: 0,
            updated: 0,
            unchanged: 0,
            removed: 0,
            skipped: 0,
            failed: 0,
            conditional_requests: 0,
            not_modified: 0,
            bytes_fetched: 0,
            chunks_written: 0,
            tokens_embedded: 0,
            batches: 0,
            reasons: Vec::new(),
            stage_times: Vec::new(),
            fetch_busy: Duration::ZERO,
            elapsed: Duration::ZERO,
            cancelled: false,
            removal_withheld: None,
        },
    };

    progress.emit(ProgressEvent::StageStarted { stage: IngestStage::Discover, total: None });
    let discover_started = Instant::now();
    runtime.block_on(crawl.read_robots_and_sitemaps(&fetcher, &start));
    crawl.timer.add(IngestStage::Discover, discover_started.elapsed());
    progress.emit(ProgressEvent::StageFinished {
        stage: IngestStage::Discover,
        elapsed: crawl.timer.get(IngestStage::Discover),
    });

    progress.emit(ProgressEvent::StageStarted { stage: IngestStage::Fetch, total: None });
    progress.emit(ProgressEvent::StageStarted { stage: IngestStage::Embed, total: None });
    let cancelled = crawl.run(&runtime, &fetcher, source.id, cancel)?;
    // Downloads still in flight (after a cancel) are dropped with the runtime.
    runtime.shutdown_background();
    crawl.finish(source.id, cancelled)?;
    let mut summary = crawl.summary;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

impl Crawl<'_> {
    /// What every redirect hop of a page fetch must pass, like a discovered link: the scope, the
    /// include/exclude patterns and robots.txt (a redirect from an allowed URL to a disallowed one is
    /// not followed).
    fn hop_check(&self) -> Arc<HopCheck> {
        let scope = self.scope.clone();
        let patterns = self.patterns.clone();
        let robots = self.robots.clone();
        Arc::new(move |u: &Url| scope.check(u).or_else(|| patterns.check(u)).or_else(|| robots.check(u.as_str())))
    }

    async fn read_robots_and_sitemaps(&mut self, fetcher: &Fetcher, start: &Url) {
        let same_host: Arc<HopCheck> = {
            let scope = self.scope.clone();
            Arc::new(move |u: &Url| (!scope.same_host(u)).then(|| "to another host".to_string()))
        };
        let mut robots_url = start.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        let got = fetcher.fetch(robots_url, &Validators::default(), same_host.as_ref(), true).await;
        self.robots = Arc::new(match got.outcome {
            Outcome::Page(p) => Robots::parse(&self.cfg.user_agent, &p.body),
            // RFC 9309: a server error means "assume everything is disallowed".
            Outcome::Failed { status: Some(s), reason } if s >= 500 => Robots::Unreachable(reason),
            // 4xx: no rules. Network errors: the pages' own fetches fail with the precise reason.
            _ => Robots::AllowAll,
        });
        if let Some(d) = self.robots.delay_secs() {
            fetcher.raise_delay(Duration::from_secs_f32(d.clamp(0.0, 30.0)));
        }
        self.discover(start.as_str(), start, Found::Start);
        if !self.cfg.use_sitemaps {
            return;
        }
        let mut sitemaps: VecDeque<Url> = self
            .robots
            .sitemaps()
            .iter()
            .filter_map(|s| Url::parse(s).ok())
            .filter(|u| self.scope.same_host(u))
            .collect();
        if sitemaps.is_empty() {
            let mut u = start.clone();
            u.set_path("/sitemap.xml");
            u.set_query(None);
            sitemaps.push_back(u);
        }
        let mut read = HashSet::new();
        while let Some(url) = sitemaps.pop_front() {
            // A sitemap index may nest; a bound keeps a hostile one from looping.
            if read.len() >= 20 || !read.insert(url.to_string()) {
                continue;
            }
            let got = fetcher.fetch(url.clone(), &Validators::default(), same_host.as_ref(), true).await;
            let Outcome::Page(p) = got.outcome else { continue };
            match sitemap::sitemap_text(&p.body, sitemap::MAX_SITEMAP_BYTES).and_then(|t| sitemap::parse_sitemap(&t)) {
                Ok(entries) => {
                    for page in entries.pages.iter().take(50_000) {
                        self.discover(page, &url, Found::Sitemap);
                    }
                    for s in entries.sitemaps {
                        if let Ok(u) = Url::parse(&s) {
                            if self.scope.same_host(&u) {
                                sitemaps.push_back(u);
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(sitemap = %url, "sitemap ignored: {e}"),
            }
        }
    }

    /// Records a URL the first time it is seen and decides whether it will be fetched.
    fn discover(&mut self, raw: &str, base: &Url, found: Found) -> Option<usize> {
        let joined = base.join(raw.trim()).ok()?;
        let url = normalize(&joined)?;
        let key = url.to_string();
        if let Some(&i) = self.index.get(&key) {
            return Some(i);
        }
        let depth = match found {
            Found::Start => 0,
            Found::Sitemap => 1,
            Found::Link(d) => d,
        };
        let i = self.entries.len();
        self.entries.push(Entry {
            url: url.clone(),
            depth,
            status: None,
            reason: String::new(),
            doc_path: None,
            validators: Validators::default(),
            links: Vec::new(),
            gone: false,
        });
        self.index.insert(key.clone(), i);
        self.summary.discovered += 1;
        self.progress.emit(ProgressEvent::PageDiscovered { url: key.clone(), depth });
        let skip = self
            .scope
            .check(&url)
            .or_else(|| if matches!(found, Found::Start) { None } else { self.patterns.check(&url) })
            .or_else(|| self.robots.check(url.as_str()))
            .or_else(|| self.traps.check(&url))
            .or_else(|| (depth > self.cfg.max_depth).then(|| format!("depth limit ({})", self.cfg.max_depth)));
        match skip {
            // RFC 9309: robots.txt answering 5xx means nothing may be crawled; that is a failure, not a choice.
            Some(reason) if reason.starts_with("robots.txt unreachable") => self.settle(i, CrawlStatus::Failed, reason),
            Some(reason) => self.settle(i, CrawlStatus::Skipped, reason),
            None => self.queue.push_back(i),
        }
        Some(i)
    }

    /// Gives an entry its final status and tells the progress stream.
    fn settle(&mut self, i: usize, status: CrawlStatus, reason: String) {
        let url = self.entries[i].url.to_string();
        match status {
            CrawlStatus::Skipped => {
                self.summary.skipped += 1;
                self.progress.emit(ProgressEvent::PageSkipped { url, reason: reason.clone() });
            }
            CrawlStatus::Failed => {
                self.summary.failed += 1;
                self.progress.emit(ProgressEvent::PageFailed { url, reason: reason.clone() });
            }
            CrawlStatus::Indexed => {
                let path = self.entries[i].doc_path.clone().unwrap_or_default();
                self.progress.emit(ProgressEvent::PageIndexed { url, path, unchanged: false });
            }
            CrawlStatus::Unchanged => {
                self.summary.unchanged += 1;
                let path = self.entries[i].doc_path.clone().unwrap_or_default();
                self.progress.emit(ProgressEvent::PageIndexed { url, path, unchanged: true });
            }
        }
        let e = &mut self.entries[i];
        e.status = Some(status);
        e.reason = reason;
    }

    /// Validators for a conditional request: only when the page is stored exactly as last crawled.
    fn validators_for(&self, i: usize) -> Validators {
        let e = &self.entries[i];
        let Some(prev) = self.previous.get(e.url.as_str()) else { return Validators::default() };
        let stored = prev.doc_path.as_ref().is_some_and(|p| self.existing.contains_key(p));
        if stored && matches!(prev.status, CrawlStatus::Indexed | CrawlStatus::Unchanged) {
            Validators { etag: prev.etag.clone(), last_modified: prev.last_modified.clone() }
        } else {
            Validators::default()
        }
    }

    /// The fetch loop: keeps downloads scheduled ahead, processes results in scheduling order, commits
    /// batches. Returns whether it was cancelled.
    fn run(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        fetcher: &Arc<Fetcher>,
        source: SourceId,
        cancel: &CancelToken,
    ) -> Result<bool> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, usize, Fetched)>();
        let ahead = self.cfg.concurrency * 4 + self.cfg.ingest.batch_docs.max(1);
        let mut scheduled: u64 = 0;
        let mut next: u64 = 0;
        let mut dispatched_pages = 0usize;
        let mut ready: BTreeMap<u64, (usize, Fetched)> = BTreeMap::new();
        let hop = self.hop_check();
        let (kb, cfg) = (self.kb, self.cfg);
        let mut writer = BatchWriter::new(kb, source, &cfg.ingest.chunk);
        loop {
            if cancel.is_cancelled() {
                return Ok(true);
            }
            while scheduled - next < ahead as u64 {
                let Some(i) = self.queue.pop_front() else { break };
                if dispatched_pages >= self.cfg.max_pages {
                    self.settle(i, CrawlStatus::Skipped, format!("page limit ({})", self.cfg.max_pages));
                    continue;
                }
                dispatched_pages += 1;
                let validators = self.validators_for(i);
                let (url, f, hop, tx, seq) =
                    (self.entries[i].url.clone(), fetcher.clone(), hop.clone(), tx.clone(), scheduled);
                runtime.spawn(async move {
                    let got = f.fetch(url, &validators, hop.as_ref(), false).await;
                    let _ = tx.send((seq, i, got));
                });
                scheduled += 1;
            }
            if next == scheduled {
                break;
            }
            // Process strictly in scheduling order: the report does not depend on timing.
            while !ready.contains_key(&next) {
                let got = match rx.try_recv() {
                    Ok(x) => Some(x),
                    Err(_) => {
                        let wait = Instant::now();
                        // Poll in slices so a cancel is noticed while a slow host holds us up.
                        let got = runtime.block_on(async {
                            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await.ok().flatten()
                        });
                        self.timer.add(IngestStage::Fetch, wait.elapsed());
                        got
                    }
                };
                if let Some((seq, i, f)) = got {
                    ready.insert(seq, (i, f));
                } else if cancel.is_cancelled() {
                    return Ok(true);
                }
            }
            let Some((i, fetched)) = ready.remove(&next) else { continue };
            next += 1;
            self.progress.emit(ProgressEvent::Advanced { stage: IngestStage::Fetch, done: 1, tokens: 0 });
            self.process(i, fetched, &mut writer);
            if writer.pending() >= self.cfg.ingest.batch_docs.max(1) {
                self.flush(&mut writer)?;
            }
        }
        self.flush(&mut writer)?;
        Ok(false)
    }

    fn flush(&mut self, writer: &mut BatchWriter<'_>) -> Result<()> {
        writer.flush(&mut self.timer, &mut self.ingest, self.progress)?;
        for i in std::mem::take(&mut self.waiting) {
            // A page indexed in part keeps its budget's reason in the report.
            let path = self.entries[i].doc_path.as_deref().unwrap_or_default();
            let reason = self.ingest.truncated.iter().find(|p| p.item == path).map(|p| p.reason.clone());
            self.settle(i, CrawlStatus::Indexed, reason.unwrap_or_default());
        }
        Ok(())
    }

    /// Handles one download: redirects, 304s, failures, extraction, links, canonical, duplicates.
    fn process(&mut self, i: usize, fetched: Fetched, writer: &mut BatchWriter<'_>) {
        self.summary.fetched += 1;
        self.summary.fetch_busy += fetched.elapsed;
        if fetched.conditional {
            self.summary.conditional_requests += 1;
        }
        let bytes = match &fetched.outcome {
            Outcome::Page(p) => p.body.len() as u64,
            _ => 0,
        };
        self.summary.bytes_fetched += bytes;
        self.progress.emit(ProgressEvent::PageFetched {
            url: self.entries[i].url.to_string(),
            status: fetched.status,
            bytes,
        });
        let depth = self.entries[i].depth;
        // A redirect to another page: this URL is settled as a redirect, the target is a page of its own.
        let mut target = i;
        if let Some(final_url) = normalize(&fetched.final_url) {
            if final_url != self.entries[i].url && matches!(fetched.outcome, Outcome::Page(_) | Outcome::NotModified(_))
            {
                let known = self.index.contains_key(final_url.as_str());
                self.settle(i, CrawlStatus::Skipped, format!("redirects to {final_url}"));
                if known {
                    return;
                }
                let Some(t) = self.discover(final_url.as_str(), &final_url, Found::Link(depth)) else { return };
                // Checked like any discovered URL; if accepted it is handled with this response now.
                if self.entries[t].status.is_some() {
                    return;
                }
                self.queue.retain(|&q| q != t);
                target = t;
            }
        }
        match fetched.outcome {
            Outcome::Skipped(reason) => self.settle(target, CrawlStatus::Skipped, reason),
            Outcome::Failed { reason, status } => {
                self.entries[target].gone = matches!(status, Some(404 | 410));
                self.settle(target, CrawlStatus::Failed, reason);
            }
            Outcome::NotModified(validators) => {
                self.summary.not_modified += 1;
                let prev = self.previous.get(self.entries[target].url.as_str()).cloned();
                let links = prev.as_ref().map(|p| p.links.clone()).unwrap_or_default();
                let base = self.entries[target].url.clone();
                for l in &links {
                    self.discover(l, &base, Found::Link(depth + 1));
                }
                let e = &mut self.entries[target];
                e.validators = validators;
                e.links = links;
                e.doc_path = prev.and_then(|p| p.doc_path);
                if let Some(p) = &e.doc_path {
                    self.paths.insert(p.clone(), target);
                    if let Some(meta) = self.existing.get(p) {
                        self.hashes.insert(meta.content_hash.clone(), target);
                    }
                }
                self.settle(target, CrawlStatus::Unchanged, String::new());
            }
            Outcome::Page(page) => self.ingest_page(target, depth, &fetched.final_url, page, writer),
        }
    }

    fn ingest_page(&mut self, i: usize, depth: u32, final_url: &Url, page: fetch::Page, writer: &mut BatchWriter<'_>) {
        let url = self.entries[i].url.clone();
        let path = doc_path(&url);
        let extract_started = Instant::now();
        let extracted = extract(&page, &path, &self.cfg.ingest);
        self.timer.add(IngestStage::Extract, extract_started.elapsed());
        self.progress.emit(ProgressEvent::Advanced { stage: IngestStage::Extract, done: 1, tokens: 0 });
        let mut doc = match extracted {
            Ok(d) => d,
            Err(reason) => return self.settle(i, CrawlStatus::Failed, reason),
        };
        // Links first: a canonical or duplicate page still leads to the rest of the site.
        let mut canonical = None;
        let mut links = Vec::new();
        for link in std::mem::take(&mut doc.links) {
            if let Some(c) = link.strip_prefix("canonical:") {
                canonical = final_url.join(c.trim()).ok().and_then(|u| normalize(&u));
                continue;
            }
            let lower = link.trim_start().to_ascii_lowercase();
            if ["mailto:", "tel:", "javascript:", "data:", "#"].iter().any(|p| lower.starts_with(p)) {
                continue;
            }
            if let Some(t) = self.discover(&link, final_url, Found::Link(depth + 1)) {
                let key = self.entries[t].url.to_string();
                if self.scope.check(&self.entries[t].url).is_none() && t != i && !links.contains(&key) {
                    links.push(key);
                }
            }
        }
        self.entries[i].links = links;
        self.entries[i].validators = page.validators.clone();
        if let Some(c) = canonical.filter(|c| *c != url && self.scope.check(c).is_none()) {
            self.discover(c.as_str(), &c, Found::Link(depth));
            return self.settle(i, CrawlStatus::Skipped, format!("canonical to {c}"));
        }
        let hash = document_hash(&doc, &self.cfg.ingest.chunk);
        if let Some(&first) = self.hashes.get(&hash) {
            let other = self.entries[first].url.to_string();
            return self.settle(i, CrawlStatus::Skipped, format!("duplicate of {other}"));
        }
        if let Some(&first) = self.paths.get(&path) {
            let other = self.entries[first].url.to_string();
            return self.settle(i, CrawlStatus::Skipped, format!("duplicate of {other}"));
        }
        self.hashes.insert(hash, i);
        self.paths.insert(path.clone(), i);
        self.entries[i].doc_path = Some(path.clone());
        let html = std::str::from_utf8(&page.body).ok();
        let input =
            DocInput { path: &path, url: Some(url.as_str()), doc: &doc, byte_size: page.body.len() as u64, html };
        let existing = self.existing.get(&path);
        match writer.add(input, existing, &mut self.timer, &mut self.ingest) {
            Added::Unchanged => {
                self.settle(i, CrawlStatus::Unchanged, String::new());
            }
            Added::Queued => self.waiting.push(i),
        }
    }

    /// Removes pages gone or no longer linked, writes the report, persists the indexes.
    fn finish(&mut self, source: SourceId, cancelled: bool) -> Result<()> {
        self.summary.cancelled = cancelled;
        for i in std::mem::take(&mut self.waiting) {
            // Prepared but never committed (cancelled before its batch): it is fetched again next time.
            self.entries[i].validators = Validators::default();
            self.settle(i, CrawlStatus::Skipped, "crawl cancelled before this page was committed".into());
        }
        for i in 0..self.entries.len() {
            if self.entries[i].status.is_none() {
                self.settle(i, CrawlStatus::Skipped, "crawl cancelled".into());
            }
        }
        let (kb, cfg) = (self.kb, self.cfg);
        let writer = BatchWriter::new(kb, source, &cfg.ingest.chunk);
        if !cancelled {
            // Keep what is current, and what failed for a passing reason (a timeout must not erase a page).
            let mut keep: HashSet<String> = HashSet::new();
            for e in &self.entries {
                let passing = match e.status {
                    Some(CrawlStatus::Indexed | CrawlStatus::Unchanged) => true,
                    Some(CrawlStatus::Failed) => !e.gone,
                    Some(CrawlStatus::Skipped) => {
                        e.reason.starts_with("page limit") || e.reason.starts_with("depth limit")
                    }
                    None => false,
                };
                if passing {
                    keep.insert(e.doc_path.clone().unwrap_or_else(|| doc_path(&e.url)));
                }
            }
            // Pages that answered 404/410 are gone whatever else happened.
            let answered_gone: HashSet<String> = self
                .entries
                .iter()
                .filter(|e| e.gone)
                .map(|e| e.doc_path.clone().unwrap_or_else(|| doc_path(&e.url)))
                .collect();
            let mut gone: Vec<&DocumentMeta> = self.existing.values().filter(|d| !keep.contains(&d.path)).collect();
            // A crawl that reached no page says nothing about which pages the site still has: it removes
            // only what answered 404/410.
            let reached =
                self.entries.iter().any(|e| matches!(e.status, Some(CrawlStatus::Indexed | CrawlStatus::Unchanged)));
            if !reached {
                let unknown = gone.iter().filter(|d| !answered_gone.contains(&d.path)).count();
                if unknown > 0 {
                    self.summary.removal_withheld = Some((
                        unknown,
                        "the site could not be reached: stored pages were kept (only pages that answered 404/410 are removed)".into(),
                    ));
                }
                gone.retain(|d| answered_gone.contains(&d.path));
            }
            let stored = self.existing.len();
            let over = stored > 0 && gone.len() as f32 > cfg.max_removal_share * stored as f32;
            if over && !cfg.confirm_removal && !gone.is_empty() {
                self.summary.removal_withheld = Some((
                    gone.len(),
                    format!(
                        "the crawl would remove {} of {stored} stored pages (over {:.0}%): nothing was removed; confirm to remove them",
                        gone.len(),
                        cfg.max_removal_share * 100.0
                    ),
                ));
                gone.clear();
            }
            let gone: Vec<DocId> = gone.into_iter().map(|d| d.id).collect();
            writer.delete(gone, &mut self.timer, &mut self.ingest, self.progress)?;
        }
        let records: Vec<CrawlRecord> = self
            .entries
            .iter()
            .map(|e| {
                let status = e.status.unwrap_or(CrawlStatus::Skipped);
                let current = matches!(status, CrawlStatus::Indexed | CrawlStatus::Unchanged);
                // A page that failed for a passing reason keeps what the last crawl knew of it.
                let prev = (!current && !e.gone).then(|| self.previous.get(e.url.as_str())).flatten();
                CrawlRecord {
                    source_id: source,
                    url: e.url.to_string(),
                    status,
                    reason: e.reason.clone(),
                    depth: e.depth,
                    doc_path: if current { e.doc_path.clone() } else { prev.and_then(|p| p.doc_path.clone()) },
                    etag: if current { e.validators.etag.clone() } else { prev.and_then(|p| p.etag.clone()) },
                    last_modified: if current {
                        e.validators.last_modified.clone()
                    } else {
                        prev.and_then(|p| p.last_modified.clone())
                    },
                    links: if current { e.links.clone() } else { prev.map(|p| p.links.clone()).unwrap_or_default() },
                    checked_at: now(),
                }
            })
            .collect();
        let store = kb.store();
        self.timer.time(IngestStage::Index, || store.replace_crawl_records(source, &records))?;
        self.timer.time(IngestStage::Index, || kb.index().persist())?;
        if !cancelled {
            store.mark_source_synced(source)?;
        }
        for stage in [IngestStage::Fetch, IngestStage::Extract, IngestStage::Embed, IngestStage::Index] {
            self.progress.emit(ProgressEvent::StageFinished { stage, elapsed: self.timer.get(stage) });
        }
        let s = &mut self.summary;
        s.added = self.ingest.added;
        s.updated = self.ingest.updated;
        s.removed = self.ingest.deleted;
        s.chunks_written = self.ingest.chunks_written;
        s.tokens_embedded = self.ingest.tokens_embedded;
        s.batches = self.ingest.batches;
        s.reasons = count_reasons(&records);
        s.stage_times = [
            IngestStage::Discover,
            IngestStage::Fetch,
            IngestStage::Extract,
            IngestStage::Chunk,
            IngestStage::Embed,
            IngestStage::Index,
        ]
        .into_iter()
        .map(|st| (st, self.timer.get(st)))
        .collect();
        Ok(())
    }
}

/// Extracts a downloaded body with the loader for its type. The error is the report's reason.
fn extract(page: &fetch::Page, path: &str, cfg: &IngestConfig) -> std::result::Result<ExtractedDoc, String> {
    let essence = page.content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let doc = if page.kind == BodyKind::Pdf {
        let mut file = tempfile::Builder::new()
            .prefix("throughline-crawl-")
            .suffix(".pdf")
            .tempfile()
            .map_err(|e| format!("cannot stage the PDF: {e}"))?;
        std::io::Write::write_all(&mut file, &page.body).map_err(|e| format!("cannot stage the PDF: {e}"))?;
        let text = crate::pdf::extract_isolated(&cfg.pdf, file.path()).map_err(|e| e.reason())?;
        text::parse_paragraphs(&text, path, false)
    } else {
        if page.body.iter().take(65_536).any(|&b| b == 0) {
            let served = if essence.is_empty() { "text".to_string() } else { essence };
            return Err(format!("binary content served as {served}"));
        }
        let body = String::from_utf8_lossy(&page.body);
        let body = body.trim_start_matches('\u{feff}');
        if body.trim().is_empty() {
            return Err("empty response body".into());
        }
        match page.kind {
            BodyKind::Html => {
                let mut doc = html::parse_html(body, path);
                // Content links plus the chrome's (navigation is how pages are found); canonical first.
                let mut links: Vec<String> =
                    doc.links.iter().filter(|l| l.starts_with("canonical:")).cloned().collect();
                links.extend(html::all_links(body));
                doc.links = links;
                doc
            }
            BodyKind::Markdown => markdown::parse_markdown(body, path),
            _ => text::parse_text(body, path),
        }
    };
    if doc.is_empty() {
        return Err("no text content".into());
    }
    Ok(doc)
}
