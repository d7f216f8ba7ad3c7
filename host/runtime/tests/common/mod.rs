//! What the runtime's tests share.
#![allow(dead_code)]

use std::sync::Arc;

use warrant_domain::context::{Agent, Card, EvaluationContext, Intent, Usage};
use warrant_domain::money::Money;
use warrant_domain::plugin::Plugin;
use warrant_runtime::{LoadedPlugin, Runtime, RuntimeConfig};

/// A runtime without a code cache.
pub fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig::default()).expect("the runtime starts")
}

/// A built-in plugin, loaded.
pub fn builtin(runtime: &Runtime, name: &str) -> Arc<dyn Plugin> {
    let builtin = warrant_builtins::find(name).expect("a built-in plugin");
    let (plugin, _) = runtime
        .load(builtin.name, builtin.version, builtin.wasm)
        .expect("the built-in plugin loads");
    Arc::new(plugin)
}

/// A test guest, loaded.
pub fn guest(runtime: &Runtime, name: &str) -> LoadedPlugin {
    let guest = warrant_fixtures::guest(name);
    runtime
        .load(guest.name, "0.0.0", &guest.wasm())
        .unwrap_or_else(|e| panic!("guest `{name}` loads: {e}"))
        .0
}

/// An intent of `cents` euro cents (none when `None`) to `merchant`.
pub fn context(cents: Option<u64>, merchant: Option<&str>) -> EvaluationContext {
    EvaluationContext {
        intent: Intent {
            id: "int_test".into(),
            amount: cents.map(Money::eur),
            merchant: merchant.map(Into::into),
            card: Card::Name("subscriptions".into()),
            purpose: "renew the server".into(),
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
