//! `warrant mcp`: the Model Context Protocol over stdio. With a URL it
//! carries each message to that server's `/mcp` and its answer back;
//! without one it serves from the database itself.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::Failure;
use crate::serve::{StorageArgs, tokio_runtime};

#[derive(clap::Args)]
pub struct McpArgs {
    /// The Warrant server to reach, e.g. `https://warrant.example.com`;
    /// when absent, the database of `--data-dir` or `--database-url` is
    /// used directly.
    #[arg(long, env = "WARRANT_URL")]
    url: Option<String>,
    /// The credential the client acts with: an agent token (`at_…`) or a
    /// tenant's API key (`sk_…`). Prefer the environment variable: other
    /// users of the machine can see a flag.
    #[arg(long, env = "WARRANT_TOKEN", hide_env_values = true)]
    token: String,
    #[command(flatten)]
    storage: StorageArgs,
    /// Directory for compiled plugins [default: DATA_DIR/plugin-cache].
    #[arg(long, env = "WARRANT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

pub fn run(args: McpArgs) -> Result<(), Failure> {
    tokio_runtime()?.block_on(async {
        match &args.url {
            Some(url) => relay(url, args.token.trim()).await,
            None => {
                let store = args.storage.open().await?;
                let app = args
                    .storage
                    .app(store.clone(), args.cache_dir.clone())
                    .await?;
                let served = warrant_server::mcp::serve_stdio(app, args.token.trim()).await;
                store.close().await;
                served
            }
        }
    })?;
    Ok(())
}

/// Carries each JSON-RPC message of stdin to `url`'s `/mcp` with the
/// credential, and writes what the server answers to stdout, one message
/// per line; a server that cannot be reached answers the request with a
/// JSON-RPC error.
async fn relay(url: &str, token: &str) -> anyhow::Result<()> {
    let base = url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("WARRANT_URL must be an http:// or https:// address, not `{url}`");
    }
    let endpoint = format!("{base}/mcp");
    let client = reqwest::Client::builder()
        .build()
        .context("cannot make an HTTP client")?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    let mut protocol_version: Option<String> = None;
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let message: Option<Value> = serde_json::from_str(&line).ok();
        let id = message.as_ref().and_then(|m| m.get("id")).cloned();
        let mut request = client
            .post(&endpoint)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .body(line);
        if let Some(version) = &protocol_version {
            request = request.header("mcp-protocol-version", version);
        }
        let answers = match request.send().await {
            Ok(response) => read_answers(response).await,
            Err(e) => Err(format!("cannot reach {endpoint}: {e}")),
        };
        let answers = match answers {
            Ok(answers) => answers,
            // A notification has no answer to carry the failure.
            Err(_) if id.is_none() => continue,
            Err(message) => vec![json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": -32603, "message": message},
            })],
        };
        for answer in answers {
            if let Some(version) = answer
                .pointer("/result/protocolVersion")
                .and_then(Value::as_str)
            {
                protocol_version = Some(version.to_owned());
            }
            let mut text = serde_json::to_string(&answer)?;
            text.push('\n');
            stdout.write_all(text.as_bytes()).await?;
            stdout.flush().await?;
        }
    }
    Ok(())
}

/// The JSON-RPC messages of a response: none for an accepted notification,
/// one for a JSON body, each event's for a stream; an error answer's
/// message otherwise.
async fn read_answers(response: reqwest::Response) -> Result<Vec<Value>, String> {
    let status = response.status();
    let stream = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    let body = response
        .text()
        .await
        .map_err(|e| format!("the answer could not be read: {e}"))?;
    if status == reqwest::StatusCode::ACCEPTED {
        return Ok(Vec::new());
    }
    if stream {
        return Ok(body
            .split("\n\n")
            .filter_map(|event| {
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                serde_json::from_str(&data.join("\n")).ok()
            })
            .collect());
    }
    let value: Option<Value> = serde_json::from_str(&body).ok();
    match value {
        Some(value) if value.get("jsonrpc").is_some() => Ok(vec![value]),
        Some(value) => Err(format!(
            "the server answered {status}: {}",
            value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or(body.as_str())
        )),
        None => Err(format!("the server answered {status}")),
    }
}
