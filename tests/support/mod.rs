//! Runs the real `warrant serve` on a free loopback port with a data
//! directory of its own, and talks to it over HTTP.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// A running server.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    data_dir: PathBuf,
    extra: Vec<String>,
    http: ureq::Agent,
    /// What it logged on stderr, when started with `--log-format`.
    logs: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
    _tmp: Option<tempfile::TempDir>,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub replayed: bool,
    /// The `Request-Id` header.
    pub request_id: Option<String>,
    /// The `Retry-After` header.
    pub retry_after: Option<String>,
    /// Every `Set-Cookie` header.
    pub set_cookies: Vec<String>,
    /// The `Stripe-Version` header (Stripe's adapter answers with it).
    pub stripe_version: Option<String>,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// `body[key]` as text.
    pub fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no `{key}` in {}", self.text))
            .to_owned()
    }

    /// Asserts the status and returns self.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "{}", self.text);
        self
    }

    /// Asserts an error status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        assert_eq!((self.status, self.code()), (status, code), "{}", self.text);
        self
    }
}

/// The key-encryption key of the servers (and other commands) on a
/// PostgreSQL database; on SQLite, each data directory makes its own.
pub const POSTGRES_KEK: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

/// Whether servers run on PostgreSQL (`WARRANT_E2E_DATABASE=postgres`,
/// with `WARRANT_TEST_POSTGRES` naming the server) instead of SQLite.
pub fn e2e_on_postgres() -> bool {
    std::env::var("WARRANT_E2E_DATABASE").is_ok_and(|db| db == "postgres")
}

/// The URL of a new database on the test PostgreSQL server (created by
/// the first server that connects to it).
pub fn new_postgres_database(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let server = std::env::var("WARRANT_TEST_POSTGRES")
        .expect("WARRANT_TEST_POSTGRES names a PostgreSQL server (see scripts/with-postgres)");
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}/{prefix}_{}_{n}_{nanos}",
        server.trim_end_matches('/'),
        std::process::id()
    )
}

/// A pinned PyPI package from `examples/tools.sh` (the name of its
/// function there, e.g. `tools_standardwebhooks`), installed on first use:
/// its directory for `PYTHONPATH`.
pub fn python_tool(function: &str) -> String {
    let lib = Command::new("bash")
        .args(["-c", &format!(". examples/tools.sh && {function}")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(lib.status.success(), "cannot install {function}");
    String::from_utf8(lib.stdout).unwrap().trim().to_owned()
}

/// Runs `python3 ARGS` with `pythonpath`, `input` on its standard input;
/// gives what it did.
pub fn python_with_input(args: &[&str], pythonpath: &str, input: &[u8]) -> Output {
    let mut child = Command::new("python3")
        .args(args)
        .env("PYTHONPATH", pythonpath)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    std::io::Write::write_all(child.stdin.as_mut().expect("a pipe"), input).expect("written");
    child.wait_with_output().expect("python3 ends")
}

/// Plugins compile once per test run, whatever the number of servers.
pub fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("server-plugin-cache")
}

/// Runs the `warrant` binary with `cache` for compiled plugins.
pub fn warrant(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warrant"))
        .args(args)
        .env("WARRANT_CACHE_DIR", cache)
        .output()
        .expect("the binary runs")
}

impl Server {
    /// Starts a server on a new data directory.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server on a new data directory with extra arguments.
    pub fn start_with(extra: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data_dir = tmp.path().join("data");
        let mut server = Server::spawn(data_dir, extra.iter().map(|s| s.to_string()).collect());
        server._tmp = Some(tmp);
        server
    }

    /// Starts a server on the PostgreSQL database of `url`, with its own
    /// data directory and compiled-plugin cache, as one node of several,
    /// with more arguments.
    pub fn start_node_with(url: &str, more: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let cache = tmp.path().join("plugin-cache");
        let mut extra = vec![
            "--database-url".to_owned(),
            url.to_owned(),
            "--cache-dir".to_owned(),
            cache.to_str().expect("a UTF-8 path").to_owned(),
        ];
        extra.extend(more.iter().map(|arg| arg.to_string()));
        let mut server = Server::spawn(tmp.path().join("data"), extra);
        server._tmp = Some(tmp);
        server
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it
    /// to exit; gives whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        signal(child.id(), "TERM");
        child.wait().expect("reaped").success()
    }

    /// Another server on this one's database, as a second node: the same
    /// PostgreSQL database, or the same SQLite file.
    pub fn sibling(&self) -> Self {
        let extra: Vec<String> = match self.database_url() {
            Some(url) => vec!["--database-url".to_owned(), url.to_owned()],
            None => Vec::new(),
        };
        Server::spawn(self.data_dir.clone(), extra)
    }

    fn spawn(data_dir: PathBuf, mut extra: Vec<String>) -> Self {
        if e2e_on_postgres() && !extra.iter().any(|arg| arg == "--database-url") {
            extra.push("--database-url".to_owned());
            extra.push(new_postgres_database("warrant_e2e"));
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_warrant"));
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir);
        if !extra.iter().any(|arg| arg == "--cache-dir") {
            command.arg("--cache-dir").arg(shared_cache());
        }
        // Logs are kept for the test that asks for a format; else they
        // go to the test's stderr.
        let keep_logs = extra.iter().any(|arg| arg == "--log-format");
        // Servers sharing a PostgreSQL database share the key that seals
        // its signing keys; on SQLite, the data directory keeps its own.
        if extra.iter().any(|arg| arg == "--database-url") {
            command.env("WARRANT_KEY_ENCRYPTION_KEY", POSTGRES_KEK);
        } else {
            command.env_remove("WARRANT_KEY_ENCRYPTION_KEY");
        }
        let mut child = command
            .args(&extra)
            .env("WARRANT_ADMIN_KEY", ADMIN_KEY)
            .env_remove("DATABASE_URL")
            .env_remove("WARRANT_LISTEN")
            .env_remove("WARRANT_DATA_DIR")
            .stdout(Stdio::piped())
            .stderr(if keep_logs {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("the server starts");
        let logs = child.stderr.take().map(|stderr| {
            let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = kept.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(|line| line.ok()) {
                    sink.lock().unwrap().push(line);
                }
            });
            kept
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server says where it listens")
                .expect("stdout is text");
            if let Some(address) = line.strip_prefix("listening on ") {
                break address.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            // A redirect is an answer to look at (the dashboard's).
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Server {
            child: Some(child),
            base,
            data_dir,
            extra,
            http,
            logs,
            _tmp: None,
        }
    }

    /// The lines the server logged so far (started with `--log-format`).
    pub fn log_lines(&self) -> Vec<String> {
        self.logs
            .as_ref()
            .expect("started with --log-format")
            .lock()
            .unwrap()
            .clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Kills the server with SIGKILL: no chance to finish anything. Other
    /// threads may still be sending requests.
    pub fn kill9_in_place(&self) {
        signal(self.pid(), "KILL");
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        signal(self.pid(), "TERM");
        self.terminate_wait()
    }

    /// Waits for the server to exit after a signal sent elsewhere.
    pub fn terminate_wait(&mut self) -> std::process::ExitStatus {
        self.child.take().expect("running").wait().expect("reaped")
    }

    /// Stops the server (unless it is stopped) and starts a new process on
    /// the same data directory.
    pub fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().expect("status").is_none() {
                signal(child.id(), "TERM");
            }
            child.wait().expect("reaped");
        }
        let tmp = self._tmp.take();
        let mut next = Server::spawn(self.data_dir.clone(), self.extra.clone());
        next._tmp = tmp;
        *self = next;
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The arguments that name this server's database to another command
    /// (with the key that seals its signing keys).
    pub fn storage_args(&self) -> Vec<String> {
        match self.database_url() {
            Some(url) => vec![
                "--database-url".to_owned(),
                url.to_owned(),
                "--key-encryption-key".to_owned(),
                POSTGRES_KEK.to_owned(),
            ],
            None => vec![
                "--data-dir".to_owned(),
                self.data_dir.to_str().expect("a UTF-8 path").to_owned(),
            ],
        }
    }

    /// The PostgreSQL database the server runs on, if any.
    pub fn database_url(&self) -> Option<&str> {
        let at = self.extra.iter().position(|arg| arg == "--database-url")?;
        self.extra.get(at + 1).map(String::as_str)
    }

    /// Every byte the database holds: SQLite's file and log, or a dump of
    /// the PostgreSQL database.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match self.database_url() {
            Some(url) => {
                let dump = Command::new("pg_dump")
                    .arg(url)
                    .output()
                    .expect("pg_dump runs");
                assert!(dump.status.success(), "{dump:?}");
                dump.stdout
            }
            None => {
                let mut bytes = std::fs::read(self.data_dir.join("warrant.db")).unwrap();
                bytes.extend(
                    std::fs::read(self.data_dir.join("warrant.db-wal")).unwrap_or_default(),
                );
                bytes
            }
        }
    }

    /// Sends a request; `body` is sent as is.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Answer {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        let mut request = match key {
            Some(key) => request.header("Authorization", format!("Bearer {key}")),
            None => request,
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = match body {
            Some(body) => self.http.run(request.body(body.to_vec()).unwrap()),
            None => self.http.run(request.body(()).unwrap()),
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let request_id = response
            .headers()
            .get("request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let stripe_version = response
            .headers()
            .get("stripe-version")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let set_cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::to_owned)
            .collect();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            text,
            replayed,
            request_id,
            retry_after,
            set_cookies,
            stripe_version,
        }
    }

    /// Posts, or gives none when the server is gone.
    pub fn try_post(&self, path: &str, key: &str, body: &str) -> Option<Answer> {
        let request = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {key}"))
            .body(body.as_bytes().to_vec())
            .unwrap();
        let mut response = self.http.run(request).ok()?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().ok()?;
        let body = serde_json::from_str(&text).ok()?;
        Some(Answer {
            status,
            body,
            text,
            replayed: false,
            request_id: None,
            retry_after: None,
            set_cookies: Vec::new(),
            stripe_version: None,
        })
    }

    pub fn get(&self, path: &str, key: &str) -> Answer {
        self.send("GET", path, Some(key), &[], None)
    }

    pub fn delete(&self, path: &str, key: &str) -> Answer {
        self.send("DELETE", path, Some(key), &[], None)
    }

    pub fn post(&self, path: &str, key: &str, body: Value) -> Answer {
        let text = body.to_string();
        self.send("POST", path, Some(key), &[], Some(text.as_bytes()))
    }

    pub fn post_text(&self, path: &str, key: &str, body: &str) -> Answer {
        self.send("POST", path, Some(key), &[], Some(body.as_bytes()))
    }

    pub fn post_once(&self, path: &str, key: &str, idempotency_key: &str, body: &str) -> Answer {
        self.send(
            "POST",
            path,
            Some(key),
            &[("Idempotency-Key", idempotency_key)],
            Some(body.as_bytes()),
        )
    }

    pub fn patch(&self, path: &str, key: &str, body: Value) -> Answer {
        let text = body.to_string();
        self.send("PATCH", path, Some(key), &[], Some(text.as_bytes()))
    }

    /// Uploads a plugin's component as `name@version`.
    pub fn upload(&self, key: &str, name: &str, version: &str, wasm: &[u8]) -> Answer {
        self.send(
            "POST",
            &format!("/plugins?name={name}&version={version}"),
            Some(key),
            &[("Content-Type", "application/wasm")],
            Some(wasm),
        )
    }

    /// Creates a tenant and returns its API key.
    pub fn tenant(&self, name: &str) -> String {
        self.post("/tenants", ADMIN_KEY, json!({ "name": name }))
            .expect(201)
            .str("apiKey")
    }

    /// Creates the quickstart policy: spend-limit (max 100, review above
    /// 50) and merchant-rules (block `casino.example`). Returns its id.
    pub fn policy(&self, key: &str) -> String {
        self.post(
            "/policies",
            key,
            json!({
                "name": "default",
                "rules": [
                    {"plugin": "spend-limit", "config": {"maxAmountEuros": 100, "reviewAboveEuros": 50}},
                    {"plugin": "merchant-rules", "config": {"block": ["casino.example"]}}
                ]
            }),
        )
        .expect(201)
        .str("id")
    }

    /// Creates an agent on `policy` with a card named `subscriptions` (the
    /// card [`Server::intent`] declares on) and returns its id.
    pub fn agent(&self, key: &str, policy: &str, name: &str) -> String {
        let agent = self.bare_agent(key, policy, name);
        self.card(key, &agent, "subscriptions");
        agent
    }

    /// Creates an agent on `policy`, without cards, and returns its id.
    pub fn bare_agent(&self, key: &str, policy: &str, name: &str) -> String {
        self.post(
            "/agents",
            key,
            json!({"name": name, "policyId": policy, "profile": {"purpose": "pays for servers"}}),
        )
        .expect(201)
        .str("id")
    }

    /// Gives `agent` a card named `name` and returns its id.
    pub fn card(&self, key: &str, agent: &str, name: &str) -> String {
        self.post("/cards", key, json!({"agentId": agent, "name": name}))
            .expect(201)
            .str("id")
    }

    /// Issues an agent token with every permission.
    pub fn token(&self, key: &str, agent: &str) -> String {
        self.post(&format!("/agents/{agent}/tokens"), key, json!({}))
            .expect(201)
            .str("token")
    }

    /// Declares an intent for `amount` euros at `hetzner.com`.
    pub fn intent(&self, key: &str, agent: &str, amount: &str) -> Answer {
        self.post_text(
            "/intents",
            key,
            &format!(
                r#"{{"agentId":"{agent}","cardName":"subscriptions","purpose":"renew the server","expectedAmountEuros":{amount},"expectedMerchant":"hetzner.com"}}"#
            ),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port free now (taken back at once, so a server can bind it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends a signal with `kill`.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid}");
}

/// A tenant with a policy, an agent on it and the agent's token.
pub struct Tenant {
    pub key: String,
    pub policy: String,
    pub agent: String,
    pub token: String,
}

impl Tenant {
    pub fn new(server: &Server, name: &str) -> Self {
        let key = server.tenant(name);
        let policy = server.policy(&key);
        let agent = server.agent(&key, &policy, &format!("{name} agent"));
        let token = server.token(&key, &agent);
        Tenant {
            key,
            policy,
            agent,
            token,
        }
    }
}
