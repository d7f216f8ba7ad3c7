//! A loaded plugin: a pre-instantiated component that runs every call on a
//! fresh instance, under limits, and turns every way a call can go wrong
//! into a fail-closed [`PluginFailure`].

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Func, InstancePre, Lift, Lower, ResourceTableError,
    TypedFunc,
};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use warrant_domain::context::EvaluationContext;
use warrant_domain::decision::{Assessment, Decision};
use warrant_domain::plugin::{
    Cancel, FailureKind, Invocation, Limits, Plugin, PluginFailure, PluginMeta, World,
};

use crate::EpochTicker;
use crate::bindings::{v1, v2, v3, v4, v5};
use crate::convert;
use crate::ctx::{MAX_RESOURCES, PluginCtx, WaitPastDeadline};
use crate::lowered;

/// The compiled, linked component of one world of one version of the
/// contract.
#[derive(Clone)]
pub(crate) enum Pre {
    PolicyV1(v1::policy::PolicyPre<PluginCtx>),
    RiskV1(v1::risk::RiskPre<PluginCtx>),
    PolicyV2(v2::policy::PolicyPre<PluginCtx>),
    RiskV2(v2::risk::RiskPre<PluginCtx>),
    PolicyV3(v3::policy::PolicyPre<PluginCtx>),
    RiskV3(v3::risk::RiskPre<PluginCtx>),
    PolicyV4(v4::policy::PolicyPre<PluginCtx>),
    RiskV4(v4::risk::RiskPre<PluginCtx>),
    PolicyV5(v5::policy::PolicyPre<PluginCtx>),
    RiskV5(v5::risk::RiskPre<PluginCtx>),
}

impl Pre {
    /// The compiled component.
    pub(crate) fn component(&self) -> &wasmtime::component::Component {
        match self {
            Pre::PolicyV1(pre) => pre.instance_pre().component(),
            Pre::RiskV1(pre) => pre.instance_pre().component(),
            Pre::PolicyV2(pre) => pre.instance_pre().component(),
            Pre::RiskV2(pre) => pre.instance_pre().component(),
            Pre::PolicyV3(pre) => pre.instance_pre().component(),
            Pre::RiskV3(pre) => pre.instance_pre().component(),
            Pre::PolicyV4(pre) => pre.instance_pre().component(),
            Pre::RiskV4(pre) => pre.instance_pre().component(),
            Pre::PolicyV5(pre) => pre.instance_pre().component(),
            Pre::RiskV5(pre) => pre.instance_pre().component(),
        }
    }

    /// The linked component, ready to instantiate.
    fn instance_pre(&self) -> &InstancePre<PluginCtx> {
        match self {
            Pre::PolicyV1(pre) => pre.instance_pre(),
            Pre::RiskV1(pre) => pre.instance_pre(),
            Pre::PolicyV2(pre) => pre.instance_pre(),
            Pre::RiskV2(pre) => pre.instance_pre(),
            Pre::PolicyV3(pre) => pre.instance_pre(),
            Pre::RiskV3(pre) => pre.instance_pre(),
            Pre::PolicyV4(pre) => pre.instance_pre(),
            Pre::RiskV4(pre) => pre.instance_pre(),
            Pre::PolicyV5(pre) => pre.instance_pre(),
            Pre::RiskV5(pre) => pre.instance_pre(),
        }
    }

    /// The function its world exports: `evaluate` or `assess`.
    fn export_name(&self) -> &'static str {
        match self {
            Pre::PolicyV1(_)
            | Pre::PolicyV2(_)
            | Pre::PolicyV3(_)
            | Pre::PolicyV4(_)
            | Pre::PolicyV5(_) => "evaluate",
            Pre::RiskV1(_) | Pre::RiskV2(_) | Pre::RiskV3(_) | Pre::RiskV4(_) | Pre::RiskV5(_) => {
                "assess"
            }
        }
    }

    /// Whether the plugin prepares its configurations (0.5.0 on).
    fn prepares(&self) -> bool {
        matches!(self, Pre::PolicyV5(_) | Pre::RiskV5(_))
    }

    /// The version of the contract the plugin targets, e.g. `0.2.0`.
    pub(crate) fn contract(&self) -> &'static str {
        match self {
            Pre::PolicyV1(_) | Pre::RiskV1(_) => "0.1.0",
            Pre::PolicyV2(_) | Pre::RiskV2(_) => "0.2.0",
            Pre::PolicyV3(_) | Pre::RiskV3(_) => "0.3.0",
            Pre::PolicyV4(_) | Pre::RiskV4(_) => "0.4.0",
            Pre::PolicyV5(_) | Pre::RiskV5(_) => "0.5.0",
        }
    }
}

/// A plugin ready to run: compiled, its imports resolved, its exports
/// checked against its world. Calls are independent and may run on many
/// threads at once; each gets its own instance and store.
#[derive(Clone)]
pub struct LoadedPlugin {
    meta: PluginMeta,
    pre: Pre,
    /// Where the component's export (`evaluate` or `assess`) is: looked up
    /// once, not at every instantiation.
    export: ComponentExportIndex,
    /// Where its `prepare` is, for a plugin that prepares its
    /// configurations (0.5.0 on).
    prepare: Option<ComponentExportIndex>,
    /// What `prepare` made of each configuration, shared by every clone.
    prepared: Arc<PreparedConfigs>,
    engine: Engine,
    /// Keeps the epoch advancing while the plugin exists.
    _ticker: Arc<EpochTicker>,
}

/// Calls a plugin's export with `params`, answering its one result.
///
/// # Safety
///
/// `export` must take `params` and answer `R`: it is not type-checked
/// again, as the bindings checked it when the plugin was loaded.
unsafe fn call_export<P, R>(
    export: Func,
    store: &mut Store<PluginCtx>,
    params: P,
) -> wasmtime::Result<R>
where
    P: ComponentNamedList + Lower,
    (R,): ComponentNamedList + Lift,
{
    // SAFETY: the caller vouches for the type.
    let typed = unsafe { TypedFunc::<P, (R,)>::new_unchecked(export) };
    let (answer,) = typed.call(store, params)?;
    Ok(answer)
}

/// What a plugin's `prepare` made of each configuration it was given:
/// the bytes, or the plugin's own refusal. At most [`MAX_PREPARED`]
/// configurations, and [`MAX_PREPARED_TOTAL`] bytes of them and their
/// texts, are kept: a plugin that prepares a megabyte from every one of
/// many configurations cannot make the host hold a gigabyte. Past either
/// bound everything kept is forgotten at once, and prepared again when
/// next used.
#[derive(Default)]
struct PreparedConfigs(RwLock<Kept>);

#[derive(Default)]
struct Kept {
    by_config: HashMap<String, Prepared>,
    /// The bytes of the texts and the prepared configurations kept.
    bytes: usize,
}

/// What `prepare` made of one configuration, or the plugin's refusal.
type Prepared = Result<Arc<[u8]>, PluginFailure>;

/// How many configurations of one plugin are kept prepared.
const MAX_PREPARED: usize = 1024;

/// How many bytes of configurations, as texts and as prepared, one
/// plugin keeps.
const MAX_PREPARED_TOTAL: usize = 16 << 20;

impl PreparedConfigs {
    fn get(&self, config: &str) -> Option<Prepared> {
        let kept = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.by_config.get(config).cloned()
    }

    fn keep(&self, config: &str, prepared: Prepared) {
        let size = config.len() + prepared.as_ref().map_or(0, |bytes| bytes.len());
        let mut kept = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.by_config.len() >= MAX_PREPARED || kept.bytes + size > MAX_PREPARED_TOTAL {
            *kept = Kept::default();
        }
        if kept.by_config.insert(config.to_owned(), prepared).is_none() {
            kept.bytes += size;
        }
    }

    fn len(&self) -> usize {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .by_config
            .len()
    }
}

/// Where in a call an error happened.
enum Phase {
    Instantiate,
    Call,
}

impl LoadedPlugin {
    /// A plugin of `pre`, whose bindings checked the type of its export
    /// against the contract: none when the component has no such export.
    pub(crate) fn new(
        meta: PluginMeta,
        pre: Pre,
        engine: Engine,
        ticker: Arc<EpochTicker>,
    ) -> Option<Self> {
        let (_, export) = pre.component().get_export(None, pre.export_name())?;
        let prepare = match pre.prepares() {
            true => Some(pre.component().get_export(None, "prepare")?.1),
            false => None,
        };
        Some(LoadedPlugin {
            meta,
            pre,
            export,
            prepare,
            prepared: Arc::default(),
            engine,
            _ticker: ticker,
        })
    }

    /// A new instance of the plugin in `store`, and its function `export`.
    fn instantiate(
        &self,
        store: &mut Store<PluginCtx>,
        export: ComponentExportIndex,
    ) -> wasmtime::Result<Func> {
        let instance = self.pre.instance_pre().instantiate(&mut *store)?;
        instance
            .get_func(&mut *store, export)
            .ok_or_else(|| wasmtime::format_err!("the instance has no such export"))
    }

    /// What the plugin's `prepare` makes of `config`: kept from an earlier
    /// call, or prepared now on an instance of its own. A failure of the
    /// call is the decision's, as the call's failures are, with what the
    /// failed call cost.
    fn prepared<T>(
        &self,
        config: &str,
        context: &EvaluationContext,
        limits: &Limits,
        cancel: &Cancel,
    ) -> Result<Arc<[u8]>, Invocation<T>> {
        if let Some(kept) = self.prepared.get(config) {
            return kept.map_err(Invocation::failed);
        }
        let Some(prepare) = self.prepare else {
            return Ok(Arc::from(config.as_bytes()));
        };
        let call = self.invoke(
            context,
            limits,
            cancel,
            |_| (),
            |store| self.instantiate(store, prepare),
            // SAFETY: the component's `prepare`, whose type its bindings
            // (`pre`) checked when it was loaded.
            |export, store, ()| unsafe { call_export(export, store, (config,)) },
            |answer| convert::v5::prepared(answer, limits),
        );
        match call.outcome {
            Ok(bytes) => {
                let bytes: Arc<[u8]> = Arc::from(bytes);
                self.prepared.keep(config, Ok(bytes.clone()));
                Ok(bytes)
            }
            Err(failure) => {
                // The plugin's own refusal depends on the configuration
                // alone; a trap, or running out of fuel or time, may not.
                if matches!(failure.kind, FailureKind::Plugin { .. }) {
                    self.prepared.keep(config, Err(failure.clone()));
                }
                Err(Invocation {
                    outcome: Err(failure),
                    fuel_used: call.fuel_used,
                    duration: call.duration,
                    logs: call.logs,
                })
            }
        }
    }

    /// Runs `call` in a new store set up with `limits` and the decision's
    /// time, instantiates the plugin with `instantiate`, passes it the
    /// context (converted by `convert`) with `call`, then checks its answer
    /// with `accept`.
    #[allow(clippy::too_many_arguments)]
    fn invoke<'c, C, I, R, T>(
        &self,
        context: &'c EvaluationContext,
        limits: &Limits,
        cancel: &Cancel,
        convert: impl FnOnce(&'c EvaluationContext) -> C,
        instantiate: impl FnOnce(&mut Store<PluginCtx>) -> wasmtime::Result<I>,
        call: impl FnOnce(I, &mut Store<PluginCtx>, &C) -> wasmtime::Result<R>,
        accept: impl FnOnce(R) -> Result<T, PluginFailure>,
    ) -> Invocation<T> {
        let start = Instant::now();
        if cancel.is_cancelled() {
            return Invocation::failed(abandoned());
        }
        let input = convert(context);
        let now = Duration::try_from(context.now - time::OffsetDateTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let mut store = Store::new(&self.engine, PluginCtx::new(limits, now));
        store.limiter(|ctx| &mut ctx.limiter);
        // Every tick, the call ends if it is past its deadline or nobody
        // waits for it any more.
        let deadline = start + limits.timeout();
        let cancel = cancel.clone();
        store.epoch_deadline_callback(move |_| {
            if cancel.is_cancelled() {
                return Err(wasmtime::Error::new(Abandoned));
            }
            Ok(if Instant::now() >= deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Continue(1)
            })
        });
        store.set_epoch_deadline(1);
        let fuel_set = store.set_fuel(limits.fuel);

        // Wasmtime reports guest misbehaviour as errors; a panic here would
        // be a host bug, and it must not take the process down either.
        let result = catch_unwind(AssertUnwindSafe(|| {
            fuel_set.map_err(|e| (Phase::Instantiate, e))?;
            let instance = instantiate(&mut store).map_err(|e| (Phase::Instantiate, e))?;
            call(instance, &mut store, &input).map_err(|e| (Phase::Call, e))
        }));
        let fuel_used = limits.fuel - store.get_fuel().unwrap_or(0);
        let outcome = match result {
            Ok(Ok(answer)) => accept(answer),
            Ok(Err((phase, error))) => Err(self.classify(phase, &error, store.data(), limits)),
            Err(_) => Err(PluginFailure::new(
                FailureKind::Trap,
                "the host failed while running the plugin",
            )),
        };
        Invocation {
            outcome,
            fuel_used,
            duration: start.elapsed(),
            logs: store.into_data().log.into_lines(),
        }
    }

    /// Calls a plugin that prepares its configurations (0.5.0 on): the
    /// prepared `config`, then a fresh instance's export with it. `split`
    /// takes the log out of the answer, which goes to the call's log;
    /// `accept` checks the rest.
    ///
    /// # Safety
    ///
    /// `A` must be the answer of the plugin's export (`policy-answer` for
    /// a policy plugin, `risk-answer` for a risk one): it is not
    /// type-checked again.
    unsafe fn invoke_prepared<A, R, T>(
        &self,
        context: &EvaluationContext,
        config: &str,
        limits: &Limits,
        cancel: &Cancel,
        split: impl FnOnce(A) -> (v5::types::Log, R),
        accept: impl FnOnce(R) -> Result<T, PluginFailure>,
    ) -> Invocation<T>
    where
        (A,): ComponentNamedList + Lift,
    {
        let prepared = match self.prepared(config, context, limits, cancel) {
            Ok(prepared) => prepared,
            Err(failed) => return failed,
        };
        let metadata = convert::metadata_text(&context.agent);
        self.invoke(
            context,
            limits,
            cancel,
            |context| lowered::Context::of(context, &metadata),
            |store| self.instantiate(store, self.export),
            |export, store, input| {
                // SAFETY: the export of this plugin's component, whose type
                // its bindings (`pre`) checked against 0.5.0's WIT when it
                // was loaded; the lowered context has that WIT's `context`
                // type (checked by Wasmtime in this module's tests), and
                // the caller vouches for the answer.
                let answer: A = unsafe { call_export(export, store, (input, &prepared[..])) }?;
                let (log, outcome) = split(answer);
                convert::v5::keep_log(log, &mut store.data_mut().log);
                Ok(outcome)
            },
            accept,
        )
    }

    /// Names what went wrong in a call.
    fn classify(
        &self,
        phase: Phase,
        error: &wasmtime::Error,
        ctx: &PluginCtx,
        limits: &Limits,
    ) -> PluginFailure {
        if let Some(refusal) = &ctx.limiter.refused {
            return PluginFailure::new(FailureKind::Memory, refusal.clone());
        }
        if let Some(wait) = error.downcast_ref::<WaitPastDeadline>() {
            return PluginFailure::new(FailureKind::Timeout, wait.to_string());
        }
        if error.downcast_ref::<Abandoned>().is_some() {
            return abandoned();
        }
        if let Some(ResourceTableError::Full) = error.downcast_ref::<ResourceTableError>() {
            return PluginFailure::new(
                FailureKind::Memory,
                format!("the plugin holds more than {MAX_RESOURCES} WASI resources at once"),
            );
        }
        if let Some(trap) = error.downcast_ref::<Trap>() {
            let (kind, message) = match trap {
                Trap::OutOfFuel => (
                    FailureKind::Fuel,
                    format!("the plugin used up its fuel of {} units", limits.fuel),
                ),
                Trap::Interrupt => (
                    FailureKind::Timeout,
                    format!(
                        "the plugin ran past its deadline of {} ms",
                        limits.timeout_ms
                    ),
                ),
                Trap::StringOutOfBounds
                | Trap::ListOutOfBounds
                | Trap::InvalidDiscriminant
                | Trap::InvalidChar
                | Trap::UnalignedPointer => (
                    FailureKind::Output,
                    format!("the plugin's answer cannot be read: {trap}"),
                ),
                Trap::StackOverflow => (
                    FailureKind::Trap,
                    "the plugin overflowed its stack".to_owned(),
                ),
                other => (FailureKind::Trap, format!("the plugin trapped: {other}")),
            };
            return PluginFailure::new(kind, message);
        }
        if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return PluginFailure::new(
                FailureKind::Trap,
                format!("the plugin exited with status {}", exit.0),
            );
        }
        match phase {
            Phase::Instantiate => PluginFailure::new(
                FailureKind::Load,
                format!("the plugin cannot be instantiated: {error:#}"),
            ),
            // Past instantiation, an error that is not a trap comes from
            // lifting the answer out of the plugin's memory.
            Phase::Call => PluginFailure::new(
                FailureKind::Output,
                format!("the plugin's answer cannot be read: {error:#}"),
            ),
        }
    }

    fn wrong_world<T>(&self, wanted: World) -> Invocation<T> {
        Invocation::failed(PluginFailure::new(
            FailureKind::Load,
            format!(
                "plugin `{}` is a {} plugin, not a {wanted} plugin",
                self.meta.name, self.meta.world
            ),
        ))
    }
}

/// Why a call ended: its [`Cancel`] was cancelled.
#[derive(Debug, thiserror::Error)]
#[error("the call was stopped: nobody waits for its decision any more")]
struct Abandoned;

fn abandoned() -> PluginFailure {
    PluginFailure::new(FailureKind::Timeout, Abandoned.to_string())
}

/// One instance of a policy plugin kept for many calls. It exists to
/// measure what instantiation costs (see `BENCHMARKS.md`); decisions never
/// use it, since an instance that outlives a call could carry state from
/// one decision into the next.
#[doc(hidden)]
pub struct ReusedInstance {
    store: Store<PluginCtx>,
    instance: ReusedPolicy,
    fuel: u64,
    /// The plugin, whose prepared configurations a 0.5.0 instance takes.
    plugin: LoadedPlugin,
}

enum ReusedPolicy {
    V1(v1::policy::Policy),
    V2(v2::policy::Policy),
    V3(v3::policy::Policy),
    V4(v4::policy::Policy),
    /// A 0.5.0 plugin's `evaluate`, called with the lowered context as
    /// every decision calls it.
    V5(Func),
}

impl ReusedInstance {
    /// Calls `evaluate` on the kept instance.
    pub fn evaluate(&mut self, context: &EvaluationContext, config: &str) -> Option<Decision> {
        self.store.set_fuel(self.fuel).ok()?;
        self.store.set_epoch_deadline(u64::MAX / 2);
        let answer = match &self.instance {
            ReusedPolicy::V1(instance) => convert::v1::decision(
                instance
                    .call_evaluate(&mut self.store, &convert::v1::context(context), config)
                    .ok()?,
            ),
            ReusedPolicy::V2(instance) => convert::v2::decision(
                instance
                    .call_evaluate(&mut self.store, &convert::v2::context(context), config)
                    .ok()?,
            ),
            ReusedPolicy::V3(instance) => convert::v3::decision(
                instance
                    .call_evaluate(&mut self.store, &convert::v3::context(context), config)
                    .ok()?,
            ),
            ReusedPolicy::V4(instance) => convert::v4::decision(
                instance
                    .call_evaluate(&mut self.store, &convert::v4::context(context), config)
                    .ok()?,
            ),
            ReusedPolicy::V5(export) => {
                let prepared = self
                    .plugin
                    .prepared::<Decision>(config, context, &Limits::default(), &Cancel::NEVER)
                    .ok()?;
                let metadata = convert::metadata_text(&context.agent);
                let input = lowered::Context::of(context, &metadata);
                // SAFETY: the export of a 0.5.0 policy plugin, whose type
                // its bindings checked when it was loaded, called as every
                // decision calls it (see `invoke_prepared`).
                let answer: v5::types::PolicyAnswer =
                    unsafe { call_export(*export, &mut self.store, (&input, &prepared[..])) }
                        .ok()?;
                convert::v5::decision(answer.outcome)
            }
        };
        convert::decision(answer, &Limits::default()).ok()
    }
}

impl LoadedPlugin {
    /// Instantiates a policy plugin once, for [`ReusedInstance`].
    #[doc(hidden)]
    pub fn reused_instance(&self) -> Option<ReusedInstance> {
        let limits = Limits::default();
        let mut store = Store::new(&self.engine, PluginCtx::new(&limits, Duration::ZERO));
        store.limiter(|ctx| &mut ctx.limiter);
        store.set_fuel(limits.fuel).ok()?;
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = match &self.pre {
            Pre::PolicyV1(pre) => ReusedPolicy::V1(pre.instantiate(&mut store).ok()?),
            Pre::PolicyV2(pre) => ReusedPolicy::V2(pre.instantiate(&mut store).ok()?),
            Pre::PolicyV3(pre) => ReusedPolicy::V3(pre.instantiate(&mut store).ok()?),
            Pre::PolicyV4(pre) => ReusedPolicy::V4(pre.instantiate(&mut store).ok()?),
            Pre::PolicyV5(_) => ReusedPolicy::V5(self.instantiate(&mut store, self.export).ok()?),
            Pre::RiskV1(_) | Pre::RiskV2(_) | Pre::RiskV3(_) | Pre::RiskV4(_) | Pre::RiskV5(_) => {
                return None;
            }
        };
        Some(ReusedInstance {
            store,
            instance,
            fuel: limits.fuel,
            plugin: self.clone(),
        })
    }

    /// The version of the contract the plugin targets: `0.1.0` to `0.5.0`.
    pub fn contract(&self) -> &'static str {
        self.pre.contract()
    }

    /// How many configurations the plugin keeps prepared (0.5.0 on): each
    /// configuration is prepared once, by its first call.
    pub fn prepared_configs(&self) -> usize {
        self.prepared.len()
    }

    /// Its compiled component.
    pub(crate) fn component(&self) -> &wasmtime::component::Component {
        self.pre.component()
    }
}

impl Plugin for LoadedPlugin {
    fn meta(&self) -> &PluginMeta {
        &self.meta
    }

    fn evaluate(
        &self,
        context: &EvaluationContext,
        config: &str,
        limits: &Limits,
        cancel: &Cancel,
    ) -> Invocation<Decision> {
        match &self.pre {
            // SAFETY: a 0.5.0 policy plugin's `evaluate` answers a
            // `policy-answer`.
            Pre::PolicyV5(_) => unsafe {
                self.invoke_prepared(
                    context,
                    config,
                    limits,
                    cancel,
                    |answer: v5::types::PolicyAnswer| (answer.log, answer.outcome),
                    |outcome| convert::decision(convert::v5::decision(outcome), limits),
                )
            },
            Pre::PolicyV4(_) => self.invoke(
                context,
                limits,
                cancel,
                convert::v4::context,
                |store| self.instantiate(store, self.export),
                // SAFETY: the export of this plugin's component, whose type
                // its bindings (`pre`) checked when it was loaded.
                |export, store, input| unsafe { call_export(export, store, (input, config)) },
                |answer| convert::decision(convert::v4::decision(answer), limits),
            ),
            Pre::PolicyV3(_) => self.invoke(
                context,
                limits,
                cancel,
                convert::v3::context,
                |store| self.instantiate(store, self.export),
                // SAFETY: the export of this plugin's component, whose type
                // its bindings (`pre`) checked when it was loaded.
                |export, store, input| unsafe { call_export(export, store, (input, config)) },
                |answer| convert::decision(convert::v3::decision(answer), limits),
            ),
            Pre::PolicyV2(_) => self.invoke(
                context,
                limits,
                cancel,
                convert::v2::context,
                |store| self.instantiate(store, self.export),
                // SAFETY: the export of this plugin's component, whose type
                // its bindings (`pre`) checked when it was loaded.
                |export, store, input| unsafe { call_export(export, store, (input, config)) },
                |answer| convert::decision(convert::v2::decision(answer), limits),
            ),
            Pre::PolicyV1(_) => self.invoke(
                context,
                limits,
                cancel,
                convert::v1::context,
                |store| self.instantiate(store, self.export),
                // SAFETY: the export of this plugin's component, whose type
                // its bindings (`pre`) checked when it was loaded.
                |export, store, input| unsafe { call_export(export, store, (input, config)) },
                |answer| convert::decision(convert::v1::decision(answer), limits),
            ),
            Pre::RiskV1(_) | Pre::RiskV2(_) | Pre::RiskV3(_) | Pre::RiskV4(_) | Pre::RiskV5(_) => {
                self.wrong_world(World::Policy)
            }
        }
    }

    fn assess(
        &self,
        context: &EvaluationContext,
        config: &str,
        limits: &Limits,
        cancel: &Cancel,
    ) -> Invocation<Assessment> {
        match &self.pre {
            // SAFETY: a 0.5.0 risk plugin's `assess` answers a
            // `risk-answer`.
            Pre::RiskV5(_) => unsafe {
                self.invoke_prepared(
                    context,
                    config,
                    limits,
                    cancel,
                    |answer: v5::types::RiskAnswer| (answer.log, answer.outcome),
                    |outcome| convert::assessment(convert::v5::assessment(outcome), limits),
                )
            },
            Pre::RiskV4(_) => self.invoke(
                context,
                limits,
                cancel,
                convert::v4::context,
                |store| self.instantiate(store, self.export),
                // SAFETY: the export of this plugin's component, whose type
                // its bindings (`pre`) checked when it was loaded.
                |export, store, input| unsafe { call_export(export, store, (input, config)) },
                |answer| convert::assessment(convert::v4::assessment(answer), limits),
            ),
            Pre::RiskV3(_) => self.invoke(
                context,
                limits,
                cancel,
                convert::v3::context,
                |store| self.instantiate(store, self.export),
                // SAFETY: the export of this plugin's component, whose type
                // its bindings (`pre`) checked when it was loaded.
                |export, store, input| unsafe { call_export(export, store, (input, config)) },
                |answer| convert::assessment(convert::v3::assessment(answer), limits),
            ),
            Pre::RiskV2(_) => self.invoke(
                context,
                limits,
                cancel,
                convert::v2::context,
                |store| self.instantiate(store, self.export),
                // SAFETY: the export of this plugin's component, whose type
                // its bindings (`pre`) checked when it was loaded.
                |export, store, input| unsafe { call_export(export, store, (input, config)) },
                |answer| convert::assessment(convert::v2::assessment(answer), limits),
            ),
            Pre::RiskV1(_) => self.invoke(
                context,
                limits,
                cancel,
                convert::v1::context,
                |store| self.instantiate(store, self.export),
                // SAFETY: the export of this plugin's component, whose type
                // its bindings (`pre`) checked when it was loaded.
                |export, store, input| unsafe { call_export(export, store, (input, config)) },
                |answer| convert::assessment(convert::v1::assessment(answer), limits),
            ),
            Pre::PolicyV1(_)
            | Pre::PolicyV2(_)
            | Pre::PolicyV3(_)
            | Pre::PolicyV4(_)
            | Pre::PolicyV5(_) => self.wrong_world(World::Risk),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Runtime, RuntimeConfig};
    use warrant_domain::context::{
        Agent, AgentProfile, AgentStatus, AgentType, Baseline, Cadence, Card, Charge, Intent,
        RecurringTerms, RiskSummary, Signal, Timestamp, Usage, WindowUsage,
    };
    use warrant_domain::money::{Currency, Money};

    /// A context with every field of the contract set, each to a value of
    /// its own.
    fn every_field() -> EvaluationContext {
        let at = |seconds: i64| time::OffsetDateTime::from_unix_timestamp(seconds).unwrap();
        let window = |n: u64| WindowUsage {
            count: n,
            spend: n * 100 + 1,
            flagged_count: n + 2,
            flagged_spend: n * 100 + 3,
        };
        let mut metadata = serde_json::Map::new();
        metadata.insert("team".into(), serde_json::json!(7));
        metadata.insert("regions".into(), serde_json::json!(["eu", "us"]));
        EvaluationContext {
            intent: Intent {
                id: "int_echo".into(),
                amount: Some(Money::eur(4_510)),
                merchant: Some("hetzner.com".into()),
                card: Card::Name("subscriptions".into()),
                purpose: "servers for the spring".into(),
                recurring: Some(RecurringTerms {
                    cadence: Cadence::Monthly,
                    window_start_days_before: 2,
                    window_end_days_after: 3,
                    amount_tolerance_bps: 1_000,
                    merchant_match: true,
                }),
                client_intent_id: Some("order-17".into()),
                ttl_minutes: 45,
                signed_by: Some("kid-9".into()),
            },
            agent: Agent {
                id: "ag_echo".into(),
                name: "buyer".into(),
                status: AgentStatus::Frozen,
                agent_type: AgentType::Supervised,
                profile: AgentProfile {
                    purpose: "buys servers".into(),
                    framework: Some("langgraph".into()),
                    capabilities: vec!["pay".into(), "compare".into()],
                    description: Some("the ops team's buyer".into()),
                    department: Some("ops".into()),
                    owner_contact: Some("ops@example.com".into()),
                },
                tags: vec!["prod".into(), "eu".into()],
                metadata,
                baseline: Some(Baseline {
                    currency: Currency::from_code("USD").unwrap(),
                    amount_mean: 2_000,
                    amount_std_dev: 350,
                    intents_per_day: 6,
                    active_hours: vec![8, 9, 17],
                    merchants: vec!["aws.com".into(), "ovh.com".into()],
                    set_at: at(1_700_000_000),
                }),
            },
            usage: Usage {
                currency: Currency::EUR,
                timezone: "Europe/Berlin".into(),
                last_minute: window(1),
                last_hour: window(2),
                last_day: window(3),
                last_week: window(4),
                last_month: window(5),
                calendar_day: window(6),
                calendar_month: window(7),
                merchant_last_month: window(8),
            },
            risk: Some(RiskSummary {
                score: 42,
                signals: vec![Signal {
                    name: "new-merchant".into(),
                    score: 30,
                    detail: "first time at hetzner.com".into(),
                }],
            }),
            now: at(1_764_000_000) + time::Duration::nanoseconds(123),
            charge: Some(Charge {
                amount: Money::eur(4_400),
                merchant: "billing.hetzner.com".into(),
                at: at(1_763_000_000),
                series_start: at(1_760_000_000),
                previous: vec![Timestamp(at(1_761_000_000)), Timestamp(at(1_762_000_000))],
            }),
        }
    }

    /// What a 0.5.0 plugin sees is the context the domain gave, every field
    /// of it, lowered from the domain's values: the same as the bindings
    /// lower from an owned copy of it (0.4.0's conversion, since 0.5.0 has
    /// 0.4.0's types), through a check of Wasmtime's own. The borrowed
    /// types themselves pass Wasmtime's check against a policy's and a risk
    /// plugin's export, which is what lets every 0.5.0 call skip it.
    #[test]
    fn a_plugin_sees_every_field_of_the_context_lowered_from_the_domain() {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        let echo = warrant_fixtures::guest("echo-context");
        let (plugin, _) = runtime.load(echo.name, "0.0.0", &echo.wasm()).unwrap();
        assert_eq!(plugin.contract(), "0.5.0");
        let cx = every_field();
        let limits = Limits::default();
        let echoed = |decision: Decision| decision.annotations[0].value.clone();

        let lowered = plugin.evaluate(&cx, "{}", &limits, &Cancel::NEVER);
        let lowered = echoed(lowered.outcome.unwrap());

        let prepared = plugin
            .prepared::<Decision>("{}", &cx, &limits, &Cancel::NEVER)
            .unwrap_or_else(|_| panic!("the echo prepares"));
        let mut store = Store::new(&plugin.engine, PluginCtx::new(&limits, Duration::ZERO));
        store.set_fuel(limits.fuel).unwrap();
        store.set_epoch_deadline(u64::MAX / 2);
        let export = plugin.instantiate(&mut store, plugin.export).unwrap();
        let owned = export
            .typed::<(&v4::types::Context, &[u8]), (v5::types::PolicyAnswer,)>(&store)
            .unwrap();
        let (answer,) = owned
            .call(&mut store, (&convert::v4::context(&cx), &prepared[..]))
            .unwrap();
        let owned = echoed(convert::v5::decision(answer.outcome).ok().unwrap());

        assert_eq!(lowered, owned);
        for value in [
            "int_echo",
            "4510",
            "subscriptions",
            "order-17",
            "kid-9",
            "ops@example.com",
            "the ops team's buyer",
            r#"{\"regions\":[\"eu\",\"us\"],\"team\":7}"#,
            "ovh.com",
            "Europe/Berlin",
            "flagged-spend: 803",
            "first time at hetzner.com",
            "billing.hetzner.com",
            "1762000000",
        ] {
            assert!(lowered.contains(value), "{value} not in {lowered}");
        }

        export
            .typed::<(&lowered::Context<'_>, &[u8]), (v5::types::PolicyAnswer,)>(&store)
            .unwrap();
        let anomaly = warrant_builtins::find("anomaly").unwrap();
        let (risk, _) = runtime
            .load(anomaly.name, anomaly.version, anomaly.wasm)
            .unwrap();
        assert_eq!(risk.contract(), "0.5.0");
        let mut store = Store::new(&risk.engine, PluginCtx::new(&limits, Duration::ZERO));
        store.set_fuel(limits.fuel).unwrap();
        store.set_epoch_deadline(u64::MAX / 2);
        risk.instantiate(&mut store, risk.export)
            .unwrap()
            .typed::<(&lowered::Context<'_>, &[u8]), (v5::types::RiskAnswer,)>(&store)
            .unwrap();
    }

    #[test]
    fn prepared_configurations_are_bounded_in_number_and_bytes() {
        let kept = PreparedConfigs::default();
        for n in 0..MAX_PREPARED + 10 {
            kept.keep(&n.to_string(), Ok(Arc::from(&b"x"[..])));
            assert!(kept.len() <= MAX_PREPARED);
        }
        let big: Arc<[u8]> = vec![0u8; MAX_PREPARED_TOTAL / 4].into();
        for n in 0..10 {
            kept.keep(&format!("big {n}"), Ok(big.clone()));
            let bytes = kept.0.read().unwrap().bytes;
            assert!(bytes <= MAX_PREPARED_TOTAL, "{bytes}");
        }
        // The same configuration kept twice is counted once.
        let kept = PreparedConfigs::default();
        kept.keep("a", Ok(big.clone()));
        kept.keep("a", Ok(big.clone()));
        assert_eq!(kept.0.read().unwrap().bytes, 1 + big.len());
        assert_eq!(kept.get("a").unwrap().unwrap().len(), big.len());
    }
}
