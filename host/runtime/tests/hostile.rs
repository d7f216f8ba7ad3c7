//! Hostile and broken components: each is refused or fails closed with its
//! own code, in bounded time, and the host stays healthy.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{builtin, context, guest, runtime};
use warrant_domain::decision::VerdictKind;
use warrant_domain::plugin::{Cancel, FailureKind, Limits, Plugin};
use warrant_domain::policy::{Mode, OnError, Outcome, Policy, Rule};
use warrant_fixtures::{GUESTS, core_module, garbage};
use warrant_runtime::{Runtime, RuntimeConfig};

/// Each test guest meets its declared fate under default limits, in under
/// two seconds, and a built-in plugin still answers afterwards. A guest whose
/// fate is not the deadline is given a longer one, so that on a loaded machine
/// its own limit (fuel, memory, output) is still what stops it.
#[test]
fn every_guest_gets_its_expected_code_in_bounded_time() {
    let runtime = runtime();
    let healthy = builtin(&runtime, "spend-limit");
    for fixture in GUESTS {
        let limits = if fixture.expect == "E_PLUGIN_TIMEOUT" {
            Limits::default()
        } else {
            Limits {
                timeout_ms: 1_500,
                ..Limits::default()
            }
        };
        let start = Instant::now();
        let got = match runtime.load(fixture.name, "0.0.0", &fixture.wasm()) {
            Err(refusal) => refusal.code().to_owned(),
            Ok((plugin, _)) => {
                let invocation = match fixture.world {
                    "risk" => {
                        let i =
                            plugin.assess(&context(Some(100), None), "{}", &limits, &Cancel::NEVER);
                        (i.outcome.map(|_| "assessed".to_owned()), i.duration)
                    }
                    _ => {
                        let i = plugin.evaluate(
                            &context(Some(100), None),
                            "{}",
                            &limits,
                            &Cancel::NEVER,
                        );
                        (
                            i.outcome.map(|d| d.verdict.kind().as_str().to_owned()),
                            i.duration,
                        )
                    }
                };
                match invocation.0 {
                    Ok(verdict) => verdict,
                    Err(failure) => failure.kind.code().to_owned(),
                }
            }
        };
        let took = start.elapsed();
        assert_eq!(got, fixture.expect, "guest `{}`", fixture.name);
        assert!(
            took < Duration::from_secs(2),
            "guest `{}` took {took:?}",
            fixture.name
        );

        let after = healthy.evaluate(
            &context(Some(451), None),
            r#"{"maxAmountEuros": 10}"#,
            &Limits::default(),
            &Cancel::NEVER,
        );
        assert_eq!(
            after.outcome.unwrap().verdict.kind(),
            VerdictKind::Approve,
            "after `{}`",
            fixture.name
        );
    }
}

/// Fuel enough to run for minutes, and a deadline of 100 ms.
fn deadline_of_100_ms() -> Limits {
    Limits {
        fuel: Limits::MAX.fuel,
        timeout_ms: 100,
        ..Limits::default()
    }
}

#[test]
fn a_plugin_past_its_deadline_times_out() {
    let runtime = runtime();
    let plugin = guest(&runtime, "loop-forever");
    let limits = deadline_of_100_ms();
    let invocation = plugin.evaluate(&context(None, None), "{}", &limits, &Cancel::NEVER);
    let failure = invocation.outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure}");
    assert!(
        invocation.duration >= Duration::from_millis(100),
        "{:?}",
        invocation.duration
    );
    assert!(
        invocation.duration < Duration::from_secs(2),
        "{:?}",
        invocation.duration
    );
}

/// A plugin that sleeps, through std or through WASI's poll itself, never
/// holds the thread: a wait past its deadline ends the call with
/// `E_PLUGIN_TIMEOUT` at once (it would wait an hour otherwise).
#[test]
fn a_plugin_that_sleeps_past_its_deadline_times_out_at_once() {
    let runtime = runtime();
    for name in ["sleep-std", "sleep-poll"] {
        let plugin = guest(&runtime, name);
        let limits = deadline_of_100_ms();
        let start = Instant::now();
        let invocation = plugin.evaluate(&context(None, None), "{}", &limits, &Cancel::NEVER);
        let took = start.elapsed();
        let failure = invocation.outcome.unwrap_err();
        assert_eq!(failure.kind, FailureKind::Timeout, "{name}: {failure}");
        assert!(
            failure.message.contains("past its deadline of 100 ms"),
            "{name}: {failure}"
        );
        assert!(
            took < Duration::from_millis(100 + 400),
            "{name} held the thread for {took:?}"
        );
    }
}

/// Waits within the deadline are answered at once, as if the time had
/// passed; the waits of one call add up, so many short ones cannot
/// outlast the deadline either.
#[test]
fn waits_within_the_deadline_return_at_once_and_add_up() {
    let runtime = runtime();
    let limits = Limits {
        timeout_ms: 250,
        ..Limits::default()
    };
    for name in ["sleep-std", "sleep-poll"] {
        let plugin = guest(&runtime, name);
        let start = Instant::now();
        let short = plugin.evaluate(
            &context(None, None),
            r#"{"sleepMs": 100}"#,
            &limits,
            &Cancel::NEVER,
        );
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "{name} waited"
        );
        assert_eq!(
            short.outcome.unwrap().verdict.kind(),
            VerdictKind::Approve,
            "{name}"
        );
    }
    // sleep-poll waits twice: 2 × 150 ms is past 250 ms.
    let plugin = guest(&runtime, "sleep-poll");
    let twice = plugin.evaluate(
        &context(None, None),
        r#"{"sleepMs": 150}"#,
        &limits,
        &Cancel::NEVER,
    );
    let failure = twice.outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure}");
    assert!(
        failure.message.contains("asked to wait 300 ms"),
        "{failure}"
    );
}

/// A call whose decision nobody waits for any more stops within a tick,
/// failing closed; a call that starts after that does not run at all.
#[test]
fn a_cancelled_call_stops_at_once() {
    let runtime = runtime();
    let plugin = guest(&runtime, "loop-forever");
    let limits = Limits {
        fuel: Limits::MAX.fuel,
        timeout_ms: Limits::MAX.timeout_ms,
        ..Limits::default()
    };
    let cancel = Cancel::new();
    let stopper = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            cancel.cancel();
        })
    };
    let invocation = plugin.evaluate(&context(None, None), "{}", &limits, &cancel);
    stopper.join().unwrap();
    let failure = invocation.outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure}");
    assert!(failure.message.contains("stopped"), "{failure}");
    assert!(
        invocation.duration < Duration::from_secs(2),
        "{:?}",
        invocation.duration
    );

    let after = plugin.evaluate(&context(None, None), "{}", &limits, &cancel);
    assert_eq!(after.outcome.unwrap_err().kind, FailureKind::Timeout);
    assert_eq!(after.fuel_used, 0);
}

/// A plugin kept after its runtime is gone (as a command that loads it and
/// returns it does) still meets its deadline.
#[test]
fn a_plugin_outliving_its_runtime_still_times_out() {
    let plugin = {
        let runtime = runtime();
        guest(&runtime, "loop-forever")
    };
    let limits = deadline_of_100_ms();
    let invocation = plugin.evaluate(&context(None, None), "{}", &limits, &Cancel::NEVER);
    let failure = invocation.outcome.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure}");
    assert!(
        invocation.duration < Duration::from_secs(2),
        "{:?}",
        invocation.duration
    );
}

#[test]
fn fuel_used_is_reported_and_bounded_by_the_limit() {
    let runtime = runtime();
    let plugin = guest(&runtime, "loop-forever");
    let limits = Limits {
        fuel: 1_000_000,
        ..Limits::default()
    };
    let invocation = plugin.evaluate(&context(None, None), "{}", &limits, &Cancel::NEVER);
    assert_eq!(invocation.outcome.unwrap_err().kind, FailureKind::Fuel);
    assert_eq!(invocation.fuel_used, 1_000_000);
}

#[test]
fn a_memory_limit_below_the_initial_memory_fails_at_instantiation() {
    let runtime = runtime();
    let plugin = builtin(&runtime, "spend-limit");
    let limits = Limits {
        memory_bytes: 64 << 10,
        ..Limits::default()
    };
    let failure = plugin
        .evaluate(
            &context(Some(1), None),
            r#"{"maxAmountEuros": 1}"#,
            &limits,
            &Cancel::NEVER,
        )
        .outcome
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Memory, "{failure}");
}

#[test]
fn a_panic_is_a_trap_whose_message_reaches_the_trace() {
    let runtime = runtime();
    let policy = Policy {
        risk: Vec::new(),
        rules: vec![Rule {
            plugin: Arc::new(guest(&runtime, "panics")),
            config: "{}".into(),
            on_error: OnError::Review,
            mode: Mode::Enforce,
            limits: Limits::default(),
        }],
    };
    let decision = policy.evaluate(&context(None, None), &Cancel::NEVER);
    assert_eq!(decision.outcome, Outcome::PendingApproval);
    let entry = &decision.trace[0];
    assert_eq!(entry.code.as_deref(), Some("E_PLUGIN_TRAP"));
    assert!(
        entry
            .logs
            .iter()
            .any(|l| l.message.contains("no amount for renew the server")),
        "{:?}",
        entry.logs
    );
}

#[test]
fn refuses_what_is_not_a_component_each_with_its_code() {
    let runtime = runtime();
    let cases = [
        (core_module(), "E_PLUGIN_CORE_MODULE"),
        (garbage(), "E_PLUGIN_NOT_WASM"),
        (Vec::new(), "E_PLUGIN_NOT_WASM"),
        // A component header followed by nonsense.
        (
            b"\0asm\x0d\0\x01\0\xff\xff\xff".to_vec(),
            "E_PLUGIN_INVALID",
        ),
    ];
    for (bytes, code) in cases {
        let refusal = runtime.load("x", "1.0.0", &bytes).err().expect("refused");
        assert_eq!(refusal.code(), code, "{refusal}");
    }
}

#[test]
fn refusals_name_what_is_wrong() {
    let runtime = runtime();
    let load = |name: &str| {
        let fixture = warrant_fixtures::guest(name);
        runtime
            .load(name, "0.0.0", &fixture.wasm())
            .err()
            .unwrap()
            .to_string()
    };
    assert!(
        load("foreign-import").contains("`test:sneaky/fetch`"),
        "{}",
        load("foreign-import")
    );
    assert!(
        load("wrong-world").contains("`add`"),
        "{}",
        load("wrong-world")
    );
    assert!(
        load("wrong-signature").contains("`policy` world"),
        "{}",
        load("wrong-signature")
    );
}

#[test]
fn refuses_a_component_over_the_size_cap() {
    let runtime = Runtime::new(RuntimeConfig {
        max_component_bytes: 1024,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let builtin = warrant_builtins::find("spend-limit").unwrap();
    let refusal = runtime
        .load("spend-limit", "1", builtin.wasm)
        .err()
        .unwrap();
    assert_eq!(refusal.code(), "E_PLUGIN_TOO_LARGE");
}

#[test]
fn a_plugin_of_one_world_called_as_the_other_fails_closed() {
    let runtime = runtime();
    let risk = guest(&runtime, "risk-out-of-range");
    let failure = risk
        .evaluate(
            &context(None, None),
            "{}",
            &Limits::default(),
            &Cancel::NEVER,
        )
        .outcome
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Load);
}

/// Thousands of failing calls on a pool of eight instances: every instance
/// goes back to the pool, trap or not.
#[test]
fn failed_calls_leak_no_instances() {
    let runtime = Runtime::new(RuntimeConfig {
        max_instances: 8,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let panics = guest(&runtime, "panics");
    let healthy = builtin(&runtime, "spend-limit");
    for _ in 0..2000 {
        let failure = panics
            .evaluate(
                &context(None, None),
                "{}",
                &Limits::default(),
                &Cancel::NEVER,
            )
            .outcome
            .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Trap);
    }
    let after = healthy.evaluate(
        &context(Some(1), None),
        r#"{"maxAmountEuros": 1}"#,
        &Limits::default(),
        &Cancel::NEVER,
    );
    assert!(after.outcome.is_ok());
}

/// Hostile and healthy plugins on many threads at once: the healthy ones
/// keep answering correctly.
#[test]
fn hostile_plugins_do_not_disturb_others_running_at_the_same_time() {
    let runtime = runtime();
    let healthy = builtin(&runtime, "spend-limit");
    let hostile: Vec<Arc<dyn Plugin>> = ["loop-forever", "grow-memory", "deep-recursion", "panics"]
        .into_iter()
        .map(|name| Arc::new(guest(&runtime, name)) as Arc<dyn Plugin>)
        .collect();
    std::thread::scope(|scope| {
        for plugin in &hostile {
            scope.spawn(move || {
                for _ in 0..3 {
                    assert!(
                        plugin
                            .evaluate(
                                &context(None, None),
                                "{}",
                                &Limits::default(),
                                &Cancel::NEVER
                            )
                            .outcome
                            .is_err()
                    );
                }
            });
        }
        for _ in 0..2 {
            let healthy = healthy.clone();
            scope.spawn(move || {
                for cents in 0..200u64 {
                    let decision = healthy
                        .evaluate(
                            &context(Some(cents * 100), None),
                            r#"{"maxAmountEuros": 100}"#,
                            &Limits::default(),
                            &Cancel::NEVER,
                        )
                        .outcome
                        .unwrap();
                    let expected = if cents > 100 {
                        VerdictKind::Deny
                    } else {
                        VerdictKind::Approve
                    };
                    assert_eq!(decision.verdict.kind(), expected);
                }
            });
        }
    });
}

/// A plugin whose `prepare` traps fails its rule closed on every call, with
/// the panic's message in the call's log, and keeps nothing: the next call
/// prepares again rather than reusing a failure that need not recur.
#[test]
fn a_preparation_that_traps_fails_every_call_and_is_not_kept() {
    let runtime = runtime();
    let plugin = guest(&runtime, "prepare-panics");
    for _ in 0..2 {
        let call = plugin.evaluate(
            &context(Some(100), None),
            "{}",
            &Limits::default(),
            &Cancel::NEVER,
        );
        let failure = call.outcome.unwrap_err();
        assert_eq!(failure.kind, FailureKind::Trap, "{}", failure.message);
        assert!(
            call.logs
                .iter()
                .any(|l| l.message.contains("cannot prepare this configuration")),
            "{:?}",
            call.logs
        );
        assert!(call.fuel_used > 0);
    }
    assert_eq!(plugin.prepared_configs(), 0);
}
