//! Command-line definitions (clap). Each flag's doc comment is its `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Throughline: turn your docs, help center and pricing pages into one customer agent.
#[derive(Debug, Parser)]
#[command(name = "throughline", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where all state lives (SQLite database and indexes).
    #[arg(long, global = true, env = "THROUGHLINE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// A sentence-transformers BERT model folder (config.json, tokenizer.json, model.safetensors).
    /// Default: models/all-MiniLM-L6-v2 shipped with Throughline.
    #[arg(long, global = true, env = "THROUGHLINE_MODEL")]
    pub model: Option<PathBuf>,
    /// A PostgreSQL database (`postgres://user:password@host:port/dbname`) holding everything the SQLite
    /// file in the data dir holds otherwise, shared by several `serve` replicas. The data dir then keeps
    /// only this replica's derived search indexes and its configuration. Default: SQLite in the data dir.
    #[arg(long, global = true, env = "THROUGHLINE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// What to do with the admin token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum AdminTokenAction {
    /// Generate a new token, print it once, and store only its hash (a running server keeps the old one
    /// until restarted).
    Rotate,
}

/// Retrieval modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Keyword search (BM25).
    Bm25,
    /// Embedding search (cosine).
    Vector,
    /// Both, fused.
    Hybrid,
}

/// Embedding engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// Direct kernels, no padding, one sequence per core.
    Fast,
    /// candle-transformers' BertModel.
    Candle,
}

/// Fusion methods for hybrid search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fusion {
    /// Reciprocal rank fusion.
    Rrf,
    /// Weighted blend of normalised scores.
    Weighted,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest the embedded sample knowledge base (if not done yet) as `sample` and show searches on it.
    Demo,
    /// Ingest a folder, a file or a site URL into a knowledge base (created if needed). Re-running is
    /// incremental (a site is re-crawled with conditional requests).
    Ingest {
        /// Knowledge base name (letters, digits, '-' and '_').
        #[arg(long)]
        kb: String,
        /// A folder or a file (Markdown/MDX, HTML, text, FAQ JSON/CSV, PDF), or an http(s):// URL to crawl.
        path: PathBuf,
        #[command(flatten)]
        crawl: CrawlArgs,
        /// Documents per committed batch.
        #[arg(long)]
        batch_size: Option<usize>,
        /// Largest file accepted, in bytes.
        #[arg(long)]
        max_file_bytes: Option<u64>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search a knowledge base.
    Search {
        /// Knowledge base name.
        #[arg(long)]
        kb: String,
        /// The query.
        query: String,
        /// Retrieval mode.
        #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
        mode: Mode,
        /// Only these page types (docs, help, pricing, faq, blog, changelog, legal, other); repeatable.
        #[arg(long = "type", value_name = "TYPE")]
        page_types: Vec<String>,
        /// Only this source id; repeatable.
        #[arg(long = "source", value_name = "ID")]
        sources: Vec<String>,
        /// Number of results.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Return every matching chunk instead of the best one per document.
        #[arg(long)]
        all_chunks: bool,
        /// Fusion method for hybrid mode (default from config: rrf).
        #[arg(long, value_enum)]
        fusion: Option<Fusion>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate retrieval on a labelled query file (nDCG@10, Recall@10, Recall@50, MRR@10 per mode).
    Eval {
        /// Knowledge base name.
        #[arg(long)]
        kb: String,
        /// JSONL file of {"id", "question", "relevant"} objects.
        #[arg(long)]
        queries: PathBuf,
        /// Evaluate only this mode (default: all three).
        #[arg(long, value_enum)]
        mode: Option<Mode>,
        /// Fusion method for hybrid mode.
        #[arg(long, value_enum)]
        fusion: Option<Fusion>,
        /// Print the metrics as one JSON object.
        #[arg(long)]
        json: bool,
        /// Also print each query's hybrid metrics and top documents.
        #[arg(long)]
        verbose: bool,
    },
    /// List knowledge bases.
    Kbs {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the documents of a knowledge base.
    Docs {
        /// Knowledge base name.
        #[arg(long)]
        kb: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a knowledge base with its documents and indexes.
    DeleteKb {
        /// Knowledge base name.
        name: String,
    },
    /// Measure embedding throughput and single-query latency.
    BenchEmbed {
        /// JSONL passages with `text` and `tokens`.
        #[arg(long)]
        passages: PathBuf,
        /// JSONL queries with `text`.
        #[arg(long)]
        queries: PathBuf,
        /// Passages per forward pass.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Timed passes over the passages (the median is reported).
        #[arg(long, default_value_t = 5)]
        passes: usize,
        /// Forward-pass implementation: `fast` (default) or `candle` (the reference).
        #[arg(long, value_enum, default_value_t = EngineArg::Fast)]
        engine: EngineArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the HTTP API, the web UI and the public chat (the main job). An empty data dir is first
    /// initialised with the sample knowledge base (`sample`).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "THROUGHLINE_ADDR", default_value = "127.0.0.1:7800")]
        addr: String,
        /// Do not create the sample knowledge base on an empty data dir.
        #[arg(long)]
        no_sample: bool,
        /// Let site sources (crawls and re-syncs run by the server), agents' webhooks and the LLM
        /// endpoint reach private and loopback addresses: an intranet wiki, a staging site, a model
        /// server on the LAN. Cloud metadata and link-local addresses stay refused. Also
        /// THROUGHLINE_ALLOW_PRIVATE_NETWORK=true or `[crawl] allow_private_network = true`.
        #[arg(long)]
        allow_private_network: bool,
        #[command(flatten)]
        limits: ServeLimits,
    },
    /// Manage the admin token of the HTTP API.
    AdminToken {
        #[command(subcommand)]
        action: AdminTokenAction,
    },
    /// Show the crawl report: every URL site crawls discovered, with status (indexed, unchanged, skipped,
    /// failed) and reason.
    CrawlReport {
        /// Knowledge base name.
        #[arg(long)]
        kb: String,
        /// Only this site source (id from `--json` output or `throughline ingest`).
        #[arg(long, value_name = "ID")]
        source: Option<String>,
        /// Only URLs with this status.
        #[arg(long, value_enum)]
        status: Option<CrawlStatusArg>,
        /// Print a JSON array of {"url", "status", "reason"}.
        #[arg(long)]
        json: bool,
    },
    /// Create, show, export or import an agent.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Talk to an agent in the terminal (reads stdin line by line; `/help` lists commands).
    Chat {
        /// Agent name.
        #[arg(long)]
        agent: String,
        /// Contact key (visitor id, email or user id); a new visitor id when omitted.
        #[arg(long)]
        contact: Option<String>,
        /// Print each answer's trace (rewritten query, stage and why, retrieved chunks, evidence).
        #[arg(long)]
        trace: bool,
    },
    /// Record a product event for a contact (`signed_up`, `limit_reached metric=monitors plan=Starter`…).
    Event {
        /// Agent name (optional when there is only one agent).
        #[arg(long)]
        agent: Option<String>,
        /// Contact key.
        #[arg(long)]
        contact: String,
        /// Event name.
        name: String,
        /// Properties as key=value.
        properties: Vec<String>,
    },
    /// Evaluate an agent's answers on a labelled query file (fact recall, citation precision, stage
    /// accuracy, "I don't know" precision and recall, latency).
    EvalAnswers {
        /// Agent name.
        #[arg(long)]
        agent: String,
        /// JSONL file of {"id", "question", "relevant", "stage", "answer_facts"} objects.
        #[arg(long)]
        queries: PathBuf,
        /// Print the metrics as one JSON object.
        #[arg(long)]
        json: bool,
        /// Also print each question's answer, stage and confidence.
        #[arg(long)]
        verbose: bool,
    },
    /// Show the pricing plans extracted from a knowledge base's pricing pages.
    Plans {
        /// Knowledge base name.
        #[arg(long)]
        kb: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the pages that changed or left a knowledge base since an answer quoted them, with the
    /// conversations that quoted the old text.
    StaleAnswers {
        /// Knowledge base name.
        #[arg(long)]
        kb: String,
        /// Print JSON (the same document as `GET /v1/kbs/{kb}/stale-answers`).
        #[arg(long)]
        json: bool,
    },
    /// Copy this data dir's SQLite database (knowledge, vectors, agents, memory, jobs, publications)
    /// into an empty PostgreSQL database, without re-embedding; then run `serve` with `--database-url`.
    /// The search indexes are rebuilt from the copied vectors at each replica's first use.
    Migrate {
        /// The PostgreSQL database to fill (`postgres://user:password@host:port/dbname`).
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// (internal) Extract a PDF's text in an isolated child process.
    #[command(hide = true)]
    ExtractPdf {
        /// The PDF file.
        path: PathBuf,
    },
}

/// Crawl settings of `ingest URL` (ignored for folders and files).
#[derive(Debug, Clone, Args)]
pub struct CrawlArgs {
    /// Most pages fetched.
    #[arg(long)]
    pub max_pages: Option<usize>,
    /// Most links followed from the start URL.
    #[arg(long)]
    pub max_depth: Option<u32>,
    /// Only crawl URL paths matching this glob (`/help/*`) or `re:REGEX`; repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Skip URL paths matching this glob or `re:REGEX`; repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Allow private and loopback addresses (intranet sites). Cloud metadata and link-local addresses stay refused.
    #[arg(long)]
    pub allow_private_network: bool,
    /// Remove stored pages even when the re-crawl would remove more than half of them (by default such a
    /// crawl keeps them and says so).
    #[arg(long)]
    pub confirm_removal: bool,
    /// Milliseconds between request starts (robots.txt Crawl-delay may raise it).
    #[arg(long)]
    pub delay_ms: Option<u64>,
    /// Requests in flight at once.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Seconds allowed for each response.
    #[arg(long)]
    pub timeout_secs: Option<u64>,
}

/// Crawl report statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrawlStatusArg {
    /// Fetched and written.
    Indexed,
    /// Already current.
    Unchanged,
    /// Not ingested on purpose.
    Skipped,
    /// Could not be ingested.
    Failed,
}

/// Agent subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an agent with defaults derived from a knowledge base (or a new version from a file).
    Create {
        /// Agent name (letters, digits, '-' and '_').
        #[arg(long)]
        name: String,
        /// Knowledge base it answers from.
        #[arg(long)]
        kb: String,
        /// A TOML configuration to use instead of the derived defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Show an agent's configuration (latest version unless --version).
    Show {
        /// Agent name.
        name: String,
        /// A specific version.
        #[arg(long)]
        version: Option<u32>,
        /// Also show the per-stage audit, leads and handoffs.
        #[arg(long)]
        audit: bool,
    },
    /// Print an agent's configuration as TOML (to a file with --out).
    Export {
        /// Agent name.
        name: String,
        /// Output file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Save a TOML configuration as a new version of an agent.
    Import {
        /// Agent name.
        name: String,
        /// The TOML file.
        file: PathBuf,
    },
    /// List agents.
    List,
}

/// Load limits of `serve` (defaults sized from the machine's cores; see README "Operations").
#[derive(Debug, Clone, Args)]
pub struct ServeLimits {
    /// Public chats computed at once, server-wide. Default: the number of cores.
    #[arg(long, env = "THROUGHLINE_CHAT_CONCURRENCY")]
    pub chat_concurrency: Option<usize>,
    /// Public chats waiting for a slot, server-wide, before new ones get 503 with Retry-After.
    /// Default: 48 per core.
    #[arg(long, env = "THROUGHLINE_CHAT_QUEUE")]
    pub chat_queue: Option<usize>,
    /// Public chats computed at once for one agent. Default: the server-wide value.
    #[arg(long, env = "THROUGHLINE_AGENT_CHAT_CONCURRENCY")]
    pub agent_chat_concurrency: Option<usize>,
    /// Public chats waiting for one agent. Default: 32 per core.
    #[arg(long, env = "THROUGHLINE_AGENT_CHAT_QUEUE")]
    pub agent_chat_queue: Option<usize>,
    /// Longest wait in the chat queue, in seconds, before a 503. Default 5.
    #[arg(long, env = "THROUGHLINE_CHAT_MAX_WAIT_SECS")]
    pub chat_max_wait_secs: Option<f64>,
    /// Time limit of a public request, queue wait included, in seconds. Default 10.
    #[arg(long, env = "THROUGHLINE_PUBLIC_TIMEOUT_SECS")]
    pub public_timeout_secs: Option<f64>,
    /// Time for a client to send a request's headers (and longest keep-alive pause), in seconds. Default 10.
    #[arg(long, env = "THROUGHLINE_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<f64>,
    /// A connection with no byte read or written for this many seconds is closed. Default 60.
    #[arg(long, env = "THROUGHLINE_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<f64>,
    /// Ingestion jobs run at once, each of a different knowledge base (one knowledge base's jobs run in
    /// order). Default 2.
    #[arg(long, env = "THROUGHLINE_JOB_WORKERS")]
    pub job_workers: Option<usize>,
    /// Seconds a shutdown (SIGTERM, Ctrl-C) may take before open connections are dropped. Default 10.
    #[arg(long, env = "THROUGHLINE_SHUTDOWN_GRACE_SECS", default_value_t = 10.0)]
    pub shutdown_grace_secs: f64,
}
