//! The reference policy in every language of `examples/`, measured by one
//! harness on the same intent and configuration: compiling the component
//! (cold, and loading it from the code cache), instantiating it, and
//! deciding the way Warrant does (a fresh instance per decision), plus a
//! call on a kept instance for comparison.
//!
//! `cargo bench --bench languages` builds each example with its `build.sh`
//! (not timed) and prints a table; `WARRANT_BENCH_LANGUAGES=c,zig` picks
//! languages. `cargo test` runs every step once, so that it cannot rot.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use warrant_domain::context::{Agent, Card, EvaluationContext, Intent, Usage};
use warrant_domain::money::Money;
use warrant_domain::plugin::{Cancel, Limits, Plugin};
use warrant_runtime::{Runtime, RuntimeConfig};

const LANGUAGES: &[&str] = &["rust", "python", "javascript", "c", "zig", "go"];
const CONFIG: &str = r#"{"maxAmountEuros": 100, "reviewAboveEuros": 50, "allow": ["hetzner.com", "github.com", "aws.amazon.com"]}"#;

/// 45.10 EUR to an allowed merchant: approved.
fn context() -> EvaluationContext {
    EvaluationContext {
        intent: Intent {
            id: "int_bench".into(),
            amount: Some(Money::eur(4510)),
            merchant: Some("hetzner.com".into()),
            card: Card::Name("subscriptions".into()),
            purpose: "renew the monthly server".into(),
            recurring: None,
            client_intent_id: None,
            ttl_minutes: 60,
            signed_by: None,
        },
        agent: Agent::default(),
        usage: Usage::default(),
        risk: None,
        now: time::macros::datetime!(2026-11-23 10:00 UTC),
        charge: None,
    }
}

fn build(language: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(language)
        .join("build.sh");
    let output = Command::new("bash")
        .arg(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("build.sh runs");
    assert!(output.status.success(), "{} failed", script.display());
    let stdout = String::from_utf8(output.stdout).unwrap();
    PathBuf::from(stdout.lines().last().expect("build.sh prints a path"))
}

/// Runs `op` `runs` times, or for `budget` when that is longer, and gives
/// the median and the 99th percentile.
fn measure(runs: usize, budget: Duration, mut op: impl FnMut()) -> (Duration, Duration) {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < runs || start.elapsed() < budget {
        let t = Instant::now();
        op();
        times.push(t.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

fn show(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 10_000.0 {
        format!("{:.0} ms", us / 1000.0)
    } else if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (compiles, budget) = if measuring {
        (3, Duration::from_secs(3))
    } else {
        (1, Duration::ZERO)
    };
    let chosen = std::env::var("WARRANT_BENCH_LANGUAGES").ok();
    let languages: Vec<&str> = LANGUAGES
        .iter()
        .copied()
        .filter(|l| {
            chosen
                .as_deref()
                .is_none_or(|c| c.split(',').any(|x| x == *l))
        })
        .collect();

    let cx = context();
    let limits = Limits::default();
    println!(
        "| language | size | compile | load from cache | instantiate | decision (fresh instance) p50 / p99 | call on a kept instance |"
    );
    println!("|---|---|---|---|---|---|---|");
    for language in languages {
        let path = build(language);
        let bytes = std::fs::read(&path).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let config = || RuntimeConfig {
            cache_dir: Some(cache.path().to_owned()),
            ..RuntimeConfig::default()
        };

        // Cold: an empty cache every time.
        let (compile, _) = measure(compiles, Duration::ZERO, || {
            let _ = std::fs::remove_dir_all(cache.path());
            let runtime = Runtime::new(config()).unwrap();
            runtime.load(language, "bench", &bytes).unwrap();
        });
        let (cached, _) = measure(compiles, Duration::ZERO, || {
            let runtime = Runtime::new(config()).unwrap();
            runtime.load(language, "bench", &bytes).unwrap();
        });

        let runtime = Runtime::new(config()).unwrap();
        let (plugin, _) = runtime.load(language, "bench", &bytes).unwrap();
        let decision = plugin
            .evaluate(&cx, CONFIG, &limits, &Cancel::NEVER)
            .outcome;
        let decision = decision.unwrap_or_else(|e| panic!("{language}: {e:?}"));
        assert_eq!(
            decision.verdict,
            warrant_domain::decision::Verdict::Approve,
            "{language}"
        );
        let mut kept = plugin.reused_instance().unwrap();
        assert_eq!(kept.evaluate(&cx, CONFIG).as_ref(), Some(&decision));

        let (instantiate, _) = measure(10, budget, || {
            plugin.reused_instance().unwrap();
        });
        let (fresh, fresh_p99) = measure(10, budget, || {
            plugin
                .evaluate(&cx, CONFIG, &limits, &Cancel::NEVER)
                .outcome
                .unwrap();
        });
        let (reused, _) = measure(10, budget, || {
            kept.evaluate(&cx, CONFIG).unwrap();
        });
        println!(
            "| {language} | {} KB | {} | {} | {} | {} / {} | {} |",
            bytes.len().div_ceil(1000),
            show(compile),
            show(cached),
            show(instantiate),
            show(fresh),
            show(fresh_p99),
            show(reused),
        );
    }
}
