//! The one narrow door between the domain and the plugins: the [`Plugin`]
//! trait, the limits a call runs under, and how a call can fail.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::EvaluationContext;
use crate::decision::{Assessment, Decision};

/// Which world of Warrant's WIT package a plugin targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum World {
    /// Exports `evaluate`: approve, deny or review.
    Policy,
    /// Exports `assess`: a risk score.
    Risk,
}

impl World {
    /// `policy` or `risk`.
    pub fn as_str(self) -> &'static str {
        match self {
            World::Policy => "policy",
            World::Risk => "risk",
        }
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a plugin is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginMeta {
    /// Its registered name, e.g. `spend-limit`.
    pub name: String,
    /// Its version, e.g. `0.1.0`.
    pub version: String,
    /// The sha256 of its component bytes, lower-case hex.
    pub sha256: String,
    /// The world it targets.
    pub world: World,
}

/// What one plugin call may use. Every field can be overridden per rule,
/// within [`Limits::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Limits {
    /// Instruction budget (wasmtime fuel; roughly one unit per wasm
    /// instruction), for instantiation and the call together.
    pub fuel: u64,
    /// Wall-clock budget in milliseconds, for instantiation and the call.
    pub timeout_ms: u32,
    /// Largest linear memory, in bytes.
    pub memory_bytes: u64,
    /// Largest table, in elements.
    pub table_elements: u32,
    /// Largest total size of the strings in the answer, in bytes.
    pub output_bytes: u32,
}

impl Limits {
    /// The defaults: ample for the built-in plugins and for interpreters
    /// such as Python and JavaScript compiled to components, tight enough
    /// that a runaway plugin is stopped within a fraction of a second.
    pub const DEFAULT: Limits = Limits {
        fuel: 100_000_000,
        timeout_ms: 250,
        memory_bytes: 64 << 20,
        table_elements: 20_000,
        output_bytes: 64 << 10,
    };

    /// The largest values a rule may ask for.
    pub const MAX: Limits = Limits {
        fuel: 10_000_000_000,
        timeout_ms: 10_000,
        memory_bytes: 512 << 20,
        table_elements: 1_000_000,
        output_bytes: 1 << 20,
    };

    /// Checks that every limit is above zero and within [`Limits::MAX`].
    pub fn check(&self) -> Result<(), LimitOutOfRange> {
        let max = Limits::MAX;
        let fields: [(&str, u64, u64); 5] = [
            ("fuel", self.fuel, max.fuel),
            ("timeoutMs", self.timeout_ms.into(), max.timeout_ms.into()),
            ("memoryBytes", self.memory_bytes, max.memory_bytes),
            (
                "tableElements",
                self.table_elements.into(),
                max.table_elements.into(),
            ),
            (
                "outputBytes",
                self.output_bytes.into(),
                max.output_bytes.into(),
            ),
        ];
        for (name, value, max) in fields {
            if value == 0 || value > max {
                return Err(LimitOutOfRange { name, max });
            }
        }
        Ok(())
    }

    /// The wall-clock budget.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.into())
    }
}

/// A limit outside what a rule may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` must be between 1 and {max}")]
pub struct LimitOutOfRange {
    /// The limit, as the API names it: `timeoutMs`, ….
    pub name: &'static str,
    /// The largest value allowed.
    pub max: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Why a plugin call produced no answer. Whatever the kind, the rule fails
/// closed: it is never an approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The plugin trapped (a panic, `unreachable`, a stack overflow, an
    /// out-of-bounds access) or exited.
    Trap,
    /// It used up its instruction budget.
    Fuel,
    /// It used up its wall-clock budget.
    Timeout,
    /// It tried to grow its memory or a table past its limit.
    Memory,
    /// Its answer broke the contract: too large, out of range, not UTF-8.
    Output,
    /// It could not be compiled or instantiated, or targets another world.
    Load,
    /// The plugin itself reported an error, e.g. an invalid configuration.
    Plugin {
        /// The plugin's own code, e.g. `invalid-config`.
        code: String,
    },
}

impl FailureKind {
    /// The stable error code shown in traces: `E_PLUGIN_TRAP`, ….
    pub fn code(&self) -> &'static str {
        match self {
            FailureKind::Trap => "E_PLUGIN_TRAP",
            FailureKind::Fuel => "E_PLUGIN_FUEL",
            FailureKind::Timeout => "E_PLUGIN_TIMEOUT",
            FailureKind::Memory => "E_PLUGIN_MEMORY",
            FailureKind::Output => "E_PLUGIN_OUTPUT",
            FailureKind::Load => "E_PLUGIN_LOAD",
            FailureKind::Plugin { .. } => "E_PLUGIN_ERROR",
        }
    }
}

/// A failed plugin call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginFailure {
    /// What went wrong.
    pub kind: FailureKind,
    /// Details for the trace.
    pub message: String,
}

impl PluginFailure {
    /// A failure of `kind`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        PluginFailure {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

/// How much a log line matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Details.
    Debug,
    /// Information.
    Info,
    /// Something odd.
    Warn,
    /// Something wrong.
    Error,
}

/// A line a plugin logged during a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// How much it matters.
    pub level: LogLevel,
    /// What it says.
    pub message: String,
}

/// The result of one plugin call, with what it cost.
#[derive(Clone, Debug)]
pub struct Invocation<T> {
    /// The answer, or why there is none.
    pub outcome: Result<T, PluginFailure>,
    /// Fuel spent, instantiation included.
    pub fuel_used: u64,
    /// Wall-clock time, instantiation included.
    pub duration: Duration,
    /// What the plugin logged.
    pub logs: Vec<LogLine>,
}

impl<T> Invocation<T> {
    /// A call that failed before the plugin ran: it cost nothing.
    pub fn failed(failure: PluginFailure) -> Self {
        Invocation {
            outcome: Err(failure),
            fuel_used: 0,
            duration: Duration::ZERO,
            logs: Vec::new(),
        }
    }
}

/// Stops the calls of a decision nobody waits for any more, such as one
/// whose request was abandoned: a call that sees it cancelled ends at once
/// (within a tick of the deadline clock), failing closed like a call past
/// its deadline, and later calls do not start. Clones share one flag.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
    /// A cancel that is never set, for calls that always run to the end.
    pub const NEVER: Cancel = Cancel(None);

    /// A cancel not yet set.
    pub fn new() -> Self {
        Cancel(Some(Arc::new(AtomicBool::new(false))))
    }

    /// Stops every call that shares this flag.
    pub fn cancel(&self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }
}

/// A loaded plugin the domain can call. Each call runs on a fresh instance
/// under `limits` and never panics: every failure is an
/// [`Invocation::outcome`] error. A call ends early, failing with
/// [`FailureKind::Timeout`], once `cancel` is cancelled.
pub trait Plugin: Send + Sync {
    /// Who the plugin is.
    fn meta(&self) -> &PluginMeta;

    /// Asks a policy plugin for a decision.
    fn evaluate(
        &self,
        context: &EvaluationContext,
        config: &str,
        limits: &Limits,
        cancel: &Cancel,
    ) -> Invocation<Decision>;

    /// Asks a risk plugin for an assessment.
    fn assess(
        &self,
        context: &EvaluationContext,
        config: &str,
        limits: &Limits,
        cancel: &Cancel,
    ) -> Invocation<Assessment>;
}
