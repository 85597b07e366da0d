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
    _multi: MultiProgress,
    extract: ProgressBar,
    embed: ProgressBar,
}

struct LineState {
    started: Instant,
    tokens: u64,
    extracted: u64,
    extract_total: u64,
}

impl CliProgress {
    /// Bars when stderr is a terminal, lines otherwise.
    pub fn new() -> Self {
        let state = Mutex::new(LineState { started: Instant::now(), tokens: 0, extracted: 0, extract_total: 0 });
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
        Self { bars: Some(Bars { _multi: multi, extract, embed }), state }
    }

    /// Clears the bars.
    pub fn finish(&self) {
        if let Some(b) = &self.bars {
            b.extract.finish_and_clear();
            b.embed.finish_and_clear();
        }
    }
}

impl ProgressSink for CliProgress {
    fn emit(&self, event: ProgressEvent) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match (&self.bars, event) {
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
            (None, ProgressEvent::BatchCommitted { seq, documents, chunks }) => {
                let secs = st.started.elapsed().as_secs_f64().max(1e-3);
                eprintln!(
                    "committed batch {seq}: {documents} documents, {chunks} chunks ({}/{} files extracted, {:.0} tokens/s)",
                    st.extracted,
                    st.extract_total,
                    st.tokens as f64 / secs
                );
            }
            (None, _) => {}
        }
    }
}
