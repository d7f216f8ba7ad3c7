//! `warrant serve` and `warrant tenant create`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use tokio::sync::watch;

use warrant_app::App;
use warrant_app::limits::RateLimit;
use warrant_app::tenants::{AdminKey, admin_key, create_tenant, rotate_admin_key};
use warrant_runtime::{Runtime, RuntimeConfig};
use warrant_server::http::operate::{MetricsEndpoint, Serving};
use warrant_store::{PostgresStore, SqliteStore, Store};

use crate::Failure;

/// Where Warrant keeps its data.
#[derive(clap::Args)]
pub struct StorageArgs {
    /// Directory for the embedded database and the compiled-plugin cache.
    #[arg(long, env = "WARRANT_DATA_DIR", default_value = "./warrant-data")]
    data_dir: PathBuf,
    /// Database URL: `sqlite:PATH`, or `postgres://USER@HOST:PORT/DB` for
    /// PostgreSQL, which several servers can share (the database is
    /// created if missing); the embedded SQLite database in `--data-dir`
    /// when absent.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// The key that seals the tenants' receipt-signing keys: 64 hex digits
    /// (32 bytes), never stored in the database. Every server of one
    /// database needs the same one (a server given another refuses to
    /// start). When absent, the one in `DATA_DIR/key-encryption-key`,
    /// made on first start. Prefer the environment variable: other users
    /// of the machine can see a flag.
    #[arg(long, env = "WARRANT_KEY_ENCRYPTION_KEY", hide_env_values = true)]
    key_encryption_key: Option<String>,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "WARRANT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    storage: StorageArgs,
    /// Directory for compiled plugins [default: DATA_DIR/plugin-cache].
    #[arg(long, env = "WARRANT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// How often intents whose time to live ended are expired, in
    /// milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    sweep_interval_ms: u64,
    /// How long a request may take, from its first byte to its answer (a
    /// client that stalls sending its body included), in milliseconds;
    /// past it the answer is 408 `E_TIMEOUT`.
    #[arg(long, env = "WARRANT_REQUEST_TIMEOUT_MS", default_value_t = 120_000,
          value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    request_timeout_ms: u64,
    /// Requests each API key, agent token or the admin key may make per
    /// second, on average, on this server; more are answered 429
    /// `E_RATE_LIMITED` with `Retry-After`. 0: no limit.
    #[arg(long, env = "WARRANT_RATE_LIMIT", default_value_t = 100)]
    rate_limit: u32,
    /// Requests each credential may make at once after a quiet while (at
    /// least `--rate-limit`).
    #[arg(long, env = "WARRANT_RATE_LIMIT_BURST", default_value_t = 500)]
    rate_limit_burst: u32,
    /// A TOML file of settings, one key per flag (`listen = "0.0.0.0:8080"`,
    /// `request-timeout-ms = 60000`, `log-format = "json"`); the command
    /// line and then the environment win over it.
    #[arg(long, env = "WARRANT_CONFIG")]
    config: Option<PathBuf>,
    /// The admin key, which creates tenants and changes their plans (at
    /// least 16 characters): it replaces the stored one, and stays after a
    /// restart without it. Prefer the environment variable: other users of
    /// the machine can see a flag.
    #[arg(long, env = "WARRANT_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// Serves `GET /metrics` (Prometheus text) to the bearer of this token;
    /// metrics are off without one. At least 16 characters.
    #[arg(long, env = "WARRANT_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Lets webhook endpoints be `http` and reach loopback and private
    /// addresses: for tests and local development only, never in
    /// production (it opens the server to request forgery).
    #[arg(long, env = "WARRANT_ALLOW_INSECURE_WEBHOOKS",
          value_parser = clap::builder::BoolishValueParser::new())]
    allow_insecure_webhooks: bool,
    /// The webhook retry schedule, scaled: 1 tries again for about three
    /// days; a smaller value shortens every wait (for tests).
    #[arg(long, env = "WARRANT_WEBHOOK_RETRY_SCALE", default_value_t = 1.0,
          value_parser = retry_scale)]
    webhook_retry_scale: f64,
    /// How long a webhook delivery attempt may take, in milliseconds.
    #[arg(long, env = "WARRANT_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=60_000))]
    webhook_timeout_ms: u64,
}

fn retry_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if (0.0001..=100.0).contains(&scale) => Ok(scale),
        _ => Err("must be a number from 0.0001 to 100".into()),
    }
}

#[derive(clap::Args)]
pub struct TenantCreateArgs {
    /// The tenant's name.
    #[arg(long)]
    name: String,
    #[command(flatten)]
    storage: StorageArgs,
}

impl StorageArgs {
    /// Opens the database, creating the data directory (mode 0700) and
    /// running migrations as needed.
    pub(crate) async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        match &self.database_url {
            None => {
                create_private_dir(&self.data_dir)?;
                let path = self.data_dir.join("warrant.db");
                let store = SqliteStore::open(&path)
                    .await
                    .with_context(|| format!("cannot open the database `{}`", path.display()))?;
                Ok(Arc::new(store))
            }
            Some(url) if url.starts_with("sqlite:") => {
                create_private_dir(&self.data_dir)?;
                let store = SqliteStore::connect(url)
                    .await
                    .with_context(|| format!("cannot open the database `{url}`"))?;
                Ok(Arc::new(store))
            }
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let store = PostgresStore::connect(url)
                    .await
                    .with_context(|| format!("cannot open the database `{}`", redacted(url)))?;
                Ok(Arc::new(store))
            }
            Some(url) => bail!(
                "`{}` is not a database URL Warrant knows (`sqlite:PATH` or `postgres://…`)",
                redacted(url)
            ),
        }
    }
}

impl StorageArgs {
    /// The services on `store`, with compiled plugins cached in
    /// `cache_dir` [default: DATA_DIR/plugin-cache].
    pub(crate) async fn app(
        &self,
        store: Arc<dyn Store>,
        cache_dir: Option<PathBuf>,
    ) -> anyhow::Result<App> {
        let runtime_config = RuntimeConfig {
            cache_dir: Some(cache_dir.unwrap_or_else(|| self.data_dir.join("plugin-cache"))),
            ..RuntimeConfig::default()
        };
        let runtime = Runtime::new(runtime_config)?;
        let app = App::new(store, runtime)
            .map_err(|e| anyhow!("a built-in plugin cannot be loaded: {e}"))?;
        app.use_key_encryption_key(self.key_encryption_key()?)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        Ok(app)
    }

    /// The key-encryption key: given, or the data directory's (made on
    /// first use, readable by its owner alone). The file is reached
    /// through a capability of the data directory (`cap_std::fs::Dir`).
    fn key_encryption_key(&self) -> anyhow::Result<[u8; 32]> {
        const KEY_FILE: &str = "key-encryption-key";
        if let Some(text) = &self.key_encryption_key {
            return parse_kek(text).context("--key-encryption-key");
        }
        create_private_dir(&self.data_dir)?;
        let path = self.data_dir.join(KEY_FILE);
        let dir = cap_std::fs::Dir::open_ambient_dir(&self.data_dir, cap_std::ambient_authority())
            .with_context(|| {
                format!(
                    "cannot open the data directory `{}`",
                    self.data_dir.display()
                )
            })?;
        match dir.read_to_string(KEY_FILE) {
            Ok(text) => parse_kek(&text).with_context(|| format!("`{}`", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut kek = [0u8; 32];
                getrandom::fill(&mut kek).map_err(|e| anyhow!("no randomness: {e}"))?;
                let mut options = cap_std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                cap_std::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let written = dir.open_with(KEY_FILE, &options).and_then(|mut file| {
                    use std::io::Write as _;
                    writeln!(file, "{}", hex::encode(kek))?;
                    file.sync_all()
                });
                match written {
                    Ok(()) => Ok(kek),
                    // Another process made it first: use that one.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        parse_kek(&dir.read_to_string(KEY_FILE)?)
                    }
                    Err(e) => Err(e).with_context(|| format!("cannot write `{}`", path.display())),
                }
            }
            Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        }
    }
}

/// A key-encryption key written as 64 hex digits.
fn parse_kek(text: &str) -> anyhow::Result<[u8; 32]> {
    hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| anyhow!("a key-encryption key is 64 hex digits (32 bytes)"))
}

/// A database URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:…{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create the data directory `{}`", dir.display()))
}

pub(crate) fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn tenant_create(args: TenantCreateArgs) -> Result<(), Failure> {
    tokio_runtime()?.block_on(async {
        let store = args.storage.open().await?;
        let created = create_tenant(store.as_ref(), &args.name)
            .await
            .map_err(|e| Failure::Usage(e.to_string()))?;
        store.close().await;
        let text = serde_json::to_string_pretty(&created).map_err(anyhow::Error::from)?;
        println!("{text}");
        Ok(())
    })
}

/// The arguments of `warrant admin rotate-key`.
#[derive(clap::Args)]
pub struct RotateKeyArgs {
    #[command(flatten)]
    storage: StorageArgs,
}

/// `warrant admin rotate-key`: stores a new admin key and prints it, once;
/// the one before stops working at once, on every server of the database.
pub fn rotate_key(args: RotateKeyArgs) -> Result<(), Failure> {
    tokio_runtime()?.block_on(async {
        let store = args.storage.open().await?;
        let rotated = rotate_admin_key(store.as_ref())
            .await
            .map_err(|e| anyhow!("{e}"))?;
        store.close().await;
        if let AdminKey::Generated { key, .. } = rotated {
            println!("admin key (shown once; only its hash is stored): {key}");
        }
        Ok(())
    })
}

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    tokio_runtime()?.block_on(serve(args))?;
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = args.storage.open().await?;
    let admin = admin_key(store.as_ref(), args.admin_key.as_deref())
        .await
        .map_err(|e| anyhow!("{e}"))?;

    let app = args
        .storage
        .app(store.clone(), args.cache_dir.clone())
        .await?
        .with_rate_limit(RateLimit::new(args.rate_limit, args.rate_limit_burst))
        .with_insecure_webhooks(args.allow_insecure_webhooks);
    if args.allow_insecure_webhooks {
        tracing::warn!(
            "insecure webhooks allowed: endpoints may be `http` and reach loopback and private \
             addresses; for tests and local development only"
        );
    }
    let deliverer = warrant_webhooks::Deliverer::new(
        store.clone(),
        warrant_webhooks::Settings {
            insecure: args.allow_insecure_webhooks,
            retry_scale: args.webhook_retry_scale,
            timeout: Duration::from_millis(args.webhook_timeout_ms),
            ..warrant_webhooks::Settings::default()
        },
    )
    .map_err(|e| anyhow!("cannot start the webhook deliverer: {e}"))?;
    let removed = app
        .remove_unused_compiled()
        .await
        .map_err(|e| anyhow!("cannot read the registered plugins: {e}"))?;
    if removed > 0 {
        tracing::info!(removed, "removed compiled plugins no plugin uses any more");
    }

    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on `{}`", args.listen))?;
    let address = listener.local_addr()?;
    let stop = shutdown_signal()?;

    match &admin {
        AdminKey::Generated { key, .. } => {
            println!("admin key (shown once; only its hash is stored): {key}");
        }
        AdminKey::Configured { replaced: true, .. } => {
            println!(
                "admin key: the configured one replaced the stored admin key, which no longer works"
            );
        }
        AdminKey::Configured {
            replaced: false, ..
        } => {
            println!("admin key: the configured one");
        }
        AdminKey::Stored { .. } => {}
    }
    println!("listening on http://{address}");
    tracing::info!(%address, "serving");

    let sweeper = tokio::spawn({
        let app = app.clone();
        let interval = Duration::from_millis(args.sweep_interval_ms);
        let stop = stopped(stop.clone());
        async move { app.sweep(interval, stop).await }
    });
    let delivering = tokio::spawn(deliverer.run(stopped(stop.clone())));
    let serving = Serving {
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        metrics: args
            .metrics_token
            .as_deref()
            .map(metrics_endpoint)
            .transpose()?,
    };
    axum::serve(listener, warrant_server::router(app, serving))
        .with_graceful_shutdown(stopped(stop))
        .await
        .context("the server failed")?;
    sweeper.await.context("the sweeper failed")?;
    delivering.await.context("the webhook deliverer failed")?;
    store.close().await;
    eprintln!("stopped");
    Ok(())
}

/// Installs the process's metrics recorder and gives the `/metrics`
/// endpoint for `token`. Times are in seconds, fuel in instructions.
fn metrics_endpoint(token: &str) -> anyhow::Result<MetricsEndpoint> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let token = token.trim();
    if token.len() < 16 {
        bail!("the metrics token must be at least 16 characters");
    }
    let seconds = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let fuel = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];
    let sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    let handle = PrometheusBuilder::new()
        .set_buckets(&seconds)?
        .set_buckets_for_metric(Matcher::Suffix("_fuel".into()), &fuel)?
        .set_buckets_for_metric(Matcher::Suffix("_group_size".into()), &sizes)?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    // Histograms are drained into their buckets by upkeep, also when
    // nobody scrapes.
    tokio::spawn({
        let handle = handle.clone();
        async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(5));
            loop {
                ticks.tick().await;
                handle.run_upkeep();
            }
        }
    });
    Ok(MetricsEndpoint {
        token_sha256: warrant_app::secret_hash(token),
        render: Arc::new(move || handle.render()),
    })
}

/// A flag that turns true on SIGTERM or Ctrl-C. The handlers are installed
/// before this returns, so a signal that arrives once the server says it is
/// listening is never missed.
fn shutdown_signal() -> anyhow::Result<watch::Receiver<bool>> {
    let (tx, rx) = watch::channel(false);
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::spawn(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    Ok(rx)
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}
