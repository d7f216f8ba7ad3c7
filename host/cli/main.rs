//! `warrant`: authorizes what AI agents do with money. Every decision is
//! made by a sandboxed WebAssembly plugin.

mod config;
mod conformance;
mod eval;
mod mcp;
mod plugin_source;
mod policy_test;
mod receipt;
mod serve;
mod signing;
mod telemetry;
mod template;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "warrant", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines (on stderr) are written: `text`, or `json`, one object
    /// per line.
    #[arg(
        long,
        global = true,
        env = "WARRANT_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    /// What is logged: a level (`warn`, `info`: one line per request, …)
    /// or a filter such as `warn,warrant::request=info`
    /// [default: RUST_LOG, else WARRANT_LOG, else `warn`].
    #[arg(long, global = true, env = "WARRANT_LOG_LEVEL")]
    log_level: Option<String>,
    /// Sends traces (a span per request and per decision) to this
    /// OpenTelemetry collector over OTLP/HTTP, e.g. `http://127.0.0.1:4318`
    /// (`/v1/traces` is added); off when absent.
    #[arg(long, global = true, env = "WARRANT_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs to stderr as `cli` asks, and sends traces where it asks; gives
/// what sends them, to be flushed at exit.
fn init_logging(cli: &Cli) -> Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>, String> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let filter = match &cli.log_level {
        Some(level) => EnvFilter::try_new(level).map_err(|e| format!("`--log-level`: {e}"))?,
        None => EnvFilter::try_from_default_env()
            .or_else(|_| EnvFilter::try_from_env("WARRANT_LOG"))
            .unwrap_or_else(|_| EnvFilter::new("warn")),
    };
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match cli.log_format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs.json().flatten_event(true).boxed(),
    };
    let provider = cli
        .otlp_endpoint
        .as_deref()
        .map(telemetry::provider)
        .transpose()?;
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(provider.as_ref().map(telemetry::layer))
        .init();
    Ok(provider)
}

#[derive(Subcommand)]
enum Command {
    /// Serves the REST API: tenants, plugins, policies, agents and intents,
    /// stored in an embedded SQLite database.
    Serve(serve::ServeArgs),
    /// Serves the Model Context Protocol on stdin and stdout, for an MCP
    /// client that starts Warrant itself, as the bearer of `WARRANT_TOKEN`
    /// (an agent token or an API key): on the server at `WARRANT_URL`, or
    /// on the database itself when no URL is given.
    Mcp(mcp::McpArgs),
    /// Manages tenants directly in the database.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Runs one policy or risk plugin on one intent and prints its decision
    /// as JSON.
    Eval(eval::EvalArgs),
    /// Runs a plugin on a file of cases (intent, configuration, expected
    /// answer) and prints a pass/fail table; exits 1 if any case fails.
    Test(conformance::TestArgs),
    /// Works with plugin components.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Works with whole policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Works with decision receipts.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Manages the server's admin key.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Prints a completion script for a shell, e.g.
    /// `warrant completions bash > /etc/bash_completion.d/warrant`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Replaces the admin key with a new one and prints it (shown once);
    /// the one before stops working at once, on every server of the
    /// database.
    RotateKey(serve::RotateKeyArgs),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Decides a file of cases with a whole policy (the body of `POST
    /// /policies`, built-in names or `.wasm` paths) exactly as the server
    /// would, offline; prints a table, JSON or JUnit XML and exits 1 if
    /// any case fails.
    Test(policy_test::PolicyTestArgs),
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Verifies a receipt (or a run of a tenant's chain of receipts)
    /// offline against a JWK Set of public keys; exits 0 when it holds, 1
    /// with the reason when it does not.
    Verify(receipt::VerifyArgs),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Prints a component's world, imports, exports, sha256 and size.
    Inspect {
        /// A `.wasm` component, or the name of a built-in plugin.
        plugin: String,
    },
    /// Writes a ready-to-build plugin project: the reference policy in the
    /// chosen language, its SDK, the WIT and the conformance suite.
    New(template::NewArgs),
    /// Makes an Ed25519 key pair for signing plugins: writes the secret
    /// key (a JWK) to `--out`, readable by its owner alone, and prints the
    /// public key and its id, to register with `POST /publisher-keys`.
    Keygen(signing::KeygenArgs),
    /// Signs a component with a key of `warrant plugin keygen`: prints the
    /// value of the `Warrant-Plugin-Signature` header to upload it with
    /// (`keyid=…,sig=…`, Ed25519 over the component's sha256).
    Sign(signing::SignArgs),
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Creates a tenant and prints its id and API key (shown once).
    Create(serve::TenantCreateArgs),
}

/// Where compiled plugins are cached between runs, for commands that take
/// `--cache-dir`.
#[derive(clap::Args)]
pub struct CacheArgs {
    /// Directory for compiled plugins [default: $XDG_CACHE_HOME/warrant or
    /// ~/.cache/warrant].
    #[arg(long, env = "WARRANT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile every plugin anew; keep nothing on disk.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

impl CacheArgs {
    fn dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache"))
                })?;
            Some(base.join("warrant"))
        })
    }
}

/// How a command failed: a usage error (exit 2) or anything else (exit 1).
pub enum Failure {
    Usage(String),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Other(error)
    }
}

fn main() -> ExitCode {
    use clap::CommandFactory;
    let args = match config::with_config_file(&Cli::command(), std::env::args_os().collect()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(args);
    // Every HTTP client of the process (OTLP's, the webhook deliverer's)
    // takes its TLS from here.
    warrant_webhooks::install_tls();
    let traces = match init_logging(&cli) {
        Ok(traces) => traces,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Mcp(args) => mcp::run(args),
        Command::Tenant(TenantCommand::Create(args)) => serve::tenant_create(args),
        Command::Eval(args) => eval::run(args),
        Command::Test(args) => conformance::run(args),
        Command::Plugin(PluginCommand::Inspect { plugin }) => eval::inspect(&plugin),
        Command::Plugin(PluginCommand::New(args)) => template::run(args),
        Command::Plugin(PluginCommand::Keygen(args)) => signing::keygen(args),
        Command::Plugin(PluginCommand::Sign(args)) => signing::sign(args),
        Command::Policy(PolicyCommand::Test(args)) => policy_test::run(args),
        Command::Receipt(ReceiptCommand::Verify(args)) => receipt::verify(args),
        Command::Admin(AdminCommand::RotateKey(args)) => serve::rotate_key(args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "warrant",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    // The spans still waiting are sent before the process ends.
    if let Some(traces) = traces
        && let Err(e) = traces.shutdown()
    {
        eprintln!("warning: traces not all sent: {e}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Other(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
