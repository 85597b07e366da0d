//! Renders the library's progress events: indicatif bars on a terminal, plain lines otherwise (CI logs,
//! pipes, tests), both on stderr so stdout stays clean for results and JSON.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use throughline_core::{IngestStage, ProgressEvent, ProgressSink};

/// A progress sink for the terminal.
pub struct CliProgress {
    bars: Option<Bars>,
    state: Mutex<LineState>,
}

struct Bars {
    multi: MultiProgress,
    extract: ProgressBar,
    embed: ProgressBar,
    /// Shown once a crawl starts fetching: pages fetched out of URLs queued.
    crawl: std::sync::OnceLock<ProgressBar>,
}

struct LineState {
    started: Instant,
    tokens: u64,
    extracted: u64,
    extract_total: u64,
    pages: PageCounts,
}

/// Per-page outcomes of a crawl so far.
#[derive(Default)]
struct PageCounts {
    discovered: u64,
    fetched: u64,
    indexed: u64,
    unchanged: u64,
    skipped: u64,
    failed: u64,
}

impl PageCounts {
    fn message(&self) -> String {
        format!(
            "{} indexed · {} unchanged · {} skipped · {} failed",
            self.indexed, self.unchanged, self.skipped, self.failed
        )
    }
}

impl CliProgress {
    /// Bars when stderr is a terminal, lines otherwise.
    pub fn new() -> Self {
        let state = Mutex::new(LineState {
            started: Instant::now(),
            tokens: 0,
            extracted: 0,
            extract_total: 0,
            pages: PageCounts::default(),
        });
        if !std::io::stderr().is_terminal() {
            return Self { bars: None, state };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix:>8} {bar:32.cyan/blue} {pos:>5}/{len:5} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let extract = multi.add(ProgressBar::new(0).with_style(style.clone()).with_prefix("extract"));
        let spinner = ProgressStyle::with_template("{prefix:>8} {spinner} {pos:>6} chunks {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let embed = multi.add(ProgressBar::new_spinner().with_style(spinner).with_prefix("embed"));
        Self { bars: Some(Bars { multi, extract, embed, crawl: std::sync::OnceLock::new() }), state }
    }

    /// Clears the bars.
    pub fn finish(&self) {
        if let Some(b) = &self.bars {
            b.extract.finish_and_clear();
            b.embed.finish_and_clear();
            if let Some(c) = b.crawl.get() {
                c.finish_and_clear();
            }
        }
    }
}

impl ProgressSink for CliProgress {
    fn emit(&self, event: ProgressEvent) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // Per-page crawl events: counted for both renderings.
        match &event {
            ProgressEvent::PageDiscovered { .. } => st.pages.discovered += 1,
            ProgressEvent::PageFetched { .. } => st.pages.fetched += 1,
            ProgressEvent::PageIndexed { unchanged: false, .. } => st.pages.indexed += 1,
            ProgressEvent::PageIndexed { unchanged: true, .. } => st.pages.unchanged += 1,
            ProgressEvent::PageSkipped { .. } => st.pages.skipped += 1,
            ProgressEvent::PageFailed { .. } => st.pages.failed += 1,
            _ => {}
        }
        if let Some(b) = &self.bars {
            if let Some(bar) = b.crawl.get() {
                bar.set_length(st.pages.discovered);
                let p = &st.pages;
                bar.set_position(p.indexed + p.unchanged + p.skipped + p.failed);
                bar.set_message(st.pages.message());
            }
        }
        match (&self.bars, event) {
            (Some(b), ProgressEvent::StageStarted { stage: IngestStage::Fetch, .. }) => {
                let style = ProgressStyle::with_template("{prefix:>8} {bar:32.green/blue} {pos:>5}/{len:5} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                let bar =
                    b.multi.insert(0, ProgressBar::new(st.pages.discovered).with_style(style).with_prefix("crawl"));
                let _ = b.crawl.set(bar);
            }
            (Some(b), ProgressEvent::PageFailed { url, reason }) => {
                b.extract.println(format!("failed  {url}: {reason}"));
            }
            (Some(b), ProgressEvent::StageStarted { stage: IngestStage::Extract, total }) => {
                b.extract.set_length(total.unwrap_or(0));
            }
            (Some(b), ProgressEvent::Advanced { stage: IngestStage::Extract, done, .. }) => b.extract.inc(done),
            (Some(b), ProgressEvent::Advanced { stage: IngestStage::Embed, done, tokens }) => {
                st.tokens += tokens;
                b.embed.inc(done);
                let secs = st.started.elapsed().as_secs_f64().max(1e-3);
                b.embed.set_message(format!("{:.0} tokens/s", st.tokens as f64 / secs));
            }
            (Some(b), ProgressEvent::ItemProblem { item, failed, reason }) => {
                b.extract.println(format!("{} {item}: {reason}", if failed { "failed " } else { "skipped" }));
            }
            (Some(_), _) => {}
            (None, ProgressEvent::StageStarted { stage: IngestStage::Extract, total }) => {
                st.extract_total = total.unwrap_or(0);
            }
            (None, ProgressEvent::Advanced { stage: IngestStage::Extract, done, .. }) => {
                st.extracted += done;
            }
            (None, ProgressEvent::Advanced { stage: IngestStage::Embed, tokens, .. }) => st.tokens += tokens,
            (None, ProgressEvent::ItemProblem { item, failed, reason }) => {
                eprintln!("{} {item}: {reason}", if failed { "failed " } else { "skipped" });
            }
            (None, ProgressEvent::PageSkipped { url, reason }) => eprintln!("skipped {url}: {reason}"),
            (None, ProgressEvent::PageFailed { url, reason }) => eprintln!("failed  {url}: {reason}"),
            (None, ProgressEvent::BatchCommitted { seq, documents, chunks }) => {
                let secs = st.started.elapsed().as_secs_f64().max(1e-3);
                if st.pages.discovered > 0 {
                    eprintln!(
                        "committed batch {seq}: {documents} documents, {chunks} chunks ({} pages fetched of {} discovered; {}; {:.0} tokens/s)",
                        st.pages.fetched,
                        st.pages.discovered,
                        st.pages.message(),
                        st.tokens as f64 / secs
                    );
                } else {
                    eprintln!(
                        "committed batch {seq}: {documents} documents, {chunks} chunks ({}/{} files extracted, {:.0} tokens/s)",
                        st.extracted,
                        st.extract_total,
                        st.tokens as f64 / secs
                    );
                }
            }
            (None, _) => {}
        }
    }
}
