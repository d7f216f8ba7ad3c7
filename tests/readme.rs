//! README.md as a path: every `console` block, in order, run as written in
//! one shell against a fresh server, each answer compared with the shape
//! the README shows.
//!
//! A block's lines that start with `$ ` are commands (continued while the
//! shell finds them incomplete); the lines after a command, up to the next
//! one, are what it prints. In what it prints, `…` stands for any text, ids
//! (`ag_01M8…` in full) and times stand for any id of their kind and any
//! time. A command with no output shown must not answer an error. The
//! shell runs in an empty folder beside the repository's `examples/`, with
//! the binary under test as `warrant`; the README's port 8080 is replaced by
//! a free one.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use regex::Regex;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const DONE: &str = "@@walk-done@@";

/// One command of the README and what it shows it printing.
#[derive(Debug)]
struct Step {
    command: String,
    expected: Vec<String>,
}

/// Whether bash finds `command` complete (not waiting for a closing quote,
/// `done` or a continued line).
fn is_complete(command: &str) -> bool {
    if command.ends_with('\\') {
        return false;
    }
    let output = Command::new("bash")
        .args(["-n", "-c", command])
        .output()
        .unwrap();
    if output.status.success() {
        return true;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unexpected end of file") || stderr.contains("unexpected EOF"),
        "README command does not parse: {command}\n{stderr}"
    );
    false
}

/// The steps of every `console` block of `readme`, in order.
fn steps(readme: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for block in readme.split("```console\n").skip(1) {
        let block = block.split("\n```").next().unwrap();
        let mut lines = block.lines().peekable();
        while let Some(line) = lines.next() {
            let Some(first) = line.strip_prefix("$ ") else {
                let step = steps
                    .last_mut()
                    .expect("a console block starts with a command");
                step.expected.push(line.to_owned());
                continue;
            };
            let mut command = first.to_owned();
            while !is_complete(&command) {
                let next = lines
                    .next()
                    .unwrap_or_else(|| panic!("README command never ends: {command}"));
                command.push('\n');
                command.push_str(next);
            }
            steps.push(Step {
                command,
                expected: Vec::new(),
            });
        }
    }
    steps
}

/// `expected` as a pattern: `…` any text, ids and times any of their kind.
fn pattern(expected: &str) -> Regex {
    let special = Regex::new(
        r"…|\b(tn|pol|ag|tok|int|plg|chg|aev|ev)_[0-9A-Z]{26}\b|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
    )
    .unwrap();
    let mut text = String::from("(?s)^");
    let mut rest = 0;
    for found in special.captures_iter(expected) {
        let whole = found.get(0).unwrap();
        text.push_str(&regex::escape(&expected[rest..whole.start()]));
        text.push_str(&match found.get(1) {
            Some(kind) => format!("{}_[0-9A-Z]{{26}}", kind.as_str()),
            None if whole.as_str() == "…" => ".*?".to_owned(),
            None => r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z".to_owned(),
        });
        rest = whole.end();
    }
    text.push_str(&regex::escape(&expected[rest..]));
    text.push('$');
    Regex::new(&text).unwrap()
}

/// A shell that runs one command at a time and gives what it printed.
struct Shell {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// Background processes it started (the server), killed at the end.
    background: Vec<u32>,
}

impl Shell {
    fn start(dir: &Path, port: u16) -> Self {
        let bin = Path::new(env!("CARGO_BIN_EXE_warrant")).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut child = Command::new("bash")
            .arg("--norc")
            .current_dir(dir)
            .env("PATH", path)
            .env("WARRANT_LISTEN", format!("127.0.0.1:{port}"))
            .env("WARRANT_CACHE_DIR", support::shared_cache())
            .env_remove("WARRANT_ADMIN_KEY")
            .env_remove("WARRANT_DATA_DIR")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if send.send(line.unwrap()).is_err() {
                    return;
                }
            }
        });
        Shell {
            child,
            stdin,
            lines,
            background: Vec::new(),
        }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(120))
            .expect("the shell answers within two minutes")
    }

    /// Runs `command`; gives its output and exit status. A command that
    /// starts a server in the background waits until it listens.
    fn run(&mut self, command: &str) -> (Vec<String>, i32) {
        writeln!(self.stdin, "{command}\necho; echo \"{DONE} $?\"").unwrap();
        self.stdin.flush().unwrap();
        let mut output = Vec::new();
        let status = loop {
            let line = self.line();
            if let Some(status) = line.strip_prefix(DONE) {
                break status.trim().parse().unwrap();
            }
            output.push(line);
        };
        // The empty line echoed before the marker, for output without one.
        if output.last().is_some_and(String::is_empty) {
            output.pop();
        }
        if command.trim_end().ends_with('&') {
            writeln!(self.stdin, "echo \"{DONE} $!\"").unwrap();
            self.stdin.flush().unwrap();
            loop {
                let line = self.line();
                if let Some(pid) = line.strip_prefix(DONE) {
                    self.background.push(pid.trim().parse().unwrap());
                    break;
                }
                output.push(line);
            }
            while !output.iter().any(|line| line.starts_with("listening on ")) {
                output.push(self.line());
            }
        }
        (output, status)
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        for pid in &self.background {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn every_console_example_of_the_readme_runs_as_written() {
    for tool in ["curl", "jq"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "the README's examples need `{tool}`: `scripts/test` installs it"
        );
    }
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let steps = steps(&readme);
    assert!(steps.len() > 30, "{} commands", steps.len());

    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        Path::new(ROOT).join("examples"),
        dir.path().join("examples"),
    )
    .unwrap();
    let port = support::free_port();
    let here = |text: &str| text.replace(":8080", &format!(":{port}"));
    let mut shell = Shell::start(dir.path(), port);
    for step in &steps {
        let command = here(&step.command);
        eprintln!("$ {command}");
        let (output, status) = shell.run(&command);
        let actual = output.join("\n");
        let expected = here(&step.expected.join("\n"));
        let shown_failing = expected.contains("E_") || expected.contains("error");
        assert!(
            status == 0 || shown_failing,
            "`{command}` exited with {status}:\n{actual}"
        );
        if expected.is_empty() {
            assert!(
                !actual.contains(r#"{"error":{"#),
                "`{command}` answered an error the README does not show:\n{actual}"
            );
        } else {
            assert!(
                pattern(&expected).is_match(&actual),
                "`{command}` printed\n{actual}\nwhere the README shows\n{expected}"
            );
        }
    }
}

#[test]
fn a_pattern_matches_the_shapes_the_readme_shows() {
    let shown = r#"{"id":"ag_01M83XCDGNR1M0T1H8YMA7A7EN","name":"ops bot","createdAt":"2026-12-05T10:13:46.861Z",…}"#;
    let pattern = pattern(shown);
    assert!(pattern.is_match(
        r#"{"id":"ag_01M9ZZZZZZZZZZZZZZZZZZZZZZ","name":"ops bot","createdAt":"2027-01-01T00:00:00Z","x":1}"#
    ));
    assert!(!pattern.is_match(
        r#"{"id":"ag_01M9ZZZZZZZZZZZZZZZZZZZZZZ","name":"ops cat","createdAt":"2027-01-01T00:00:00Z"}"#
    ));
    assert!(!pattern.is_match(
        r#"{"id":"pol_01M9ZZZZZZZZZZZZZZZZZZZZZZ","name":"ops bot","createdAt":"2027-01-01T00:00:00Z"}"#
    ));
}
