//! A plugin with std that looks for every authority it could have and
//! reports what it found in its annotations: the tests check it found
//! nothing, and the same nothing every time.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use warrant_sdk::prelude::*;
use warrant_sdk::serde::de::IgnoredAny;

static CALLS: AtomicU32 = AtomicU32::new(0);

fn evaluate(_: &Context, _: IgnoredAny) -> Result<Decision, PluginError> {
    let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    let file = match std::fs::read_to_string("/etc/passwd") {
        Ok(_) => "read".to_owned(),
        Err(e) => format!("refused: {:?}", e.kind()),
    };
    let listing = std::fs::read_dir(".").map(|entries| entries.count()).ok();
    let network = std::net::TcpStream::connect("127.0.0.1:80").is_ok();
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let started = Instant::now();
    let mut spin = 0u64;
    for i in 0..100_000u64 {
        spin = std::hint::black_box(spin.wrapping_add(i));
    }
    let elapsed = started.elapsed().as_nanos();
    let hash = RandomState::new().hash_one(42u64);
    let nan = (std::hint::black_box(0.0f64) / std::hint::black_box(0.0f64)).to_bits();
    println!("stdout goes nowhere");
    eprintln!("stderr goes nowhere");
    for i in 0..100 {
        warrant_sdk::log::info(&format!("line {i}: {}", "y".repeat(2000)));
    }
    Ok(approve()
        .with_annotation("calls", calls)
        .with_annotation("env", std::env::vars().count())
        .with_annotation("args", std::env::args().count())
        .with_annotation("file", file)
        .with_annotation("listing", format!("{listing:?}"))
        .with_annotation("network", network)
        .with_annotation("clock", clock)
        .with_annotation("elapsedNanos", elapsed)
        .with_annotation("hash", hash)
        .with_annotation("nan", format!("{nan:#x}"))
        .with_annotation("spin", spin))
}

warrant_sdk::export_policy!(evaluate);
