//! The state of one plugin call: its limits, its log, and the locked-down
//! WASI that language runtimes need.

use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};
use wasmtime_wasi::{
    Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView,
};

use warrant_domain::plugin::{Limits, LogLevel, LogLine};

/// Lines kept per call; later lines are counted, not kept.
pub const MAX_LOG_LINES: usize = 32;
/// Bytes kept per line; a longer line is cut at a character boundary.
pub const MAX_LOG_LINE_BYTES: usize = 1024;

/// The WASI resources (pollables, streams) a call may hold at once.
pub const MAX_RESOURCES: usize = 4096;

/// The data of the store of one plugin call.
pub(crate) struct PluginCtx {
    pub(crate) limiter: Limiter,
    pub(crate) log: LogBuffer,
    /// The decision's time, which is all a plugin's clocks ever say.
    now: Duration,
    /// What the plugin may wait for in all (its deadline), and what it
    /// asked to wait for so far.
    wait_budget: Duration,
    waited: Duration,
    /// Built on the first WASI call: plugins that import no WASI, like the
    /// built-in ones, never pay for it.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
}

impl PluginCtx {
    pub(crate) fn new(limits: &Limits, now: Duration) -> Self {
        // Host memory the limiter does not count: a plugin that keeps its
        // clock subscriptions (ready at once) or streams alive cannot grow
        // it past this many entries.
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        PluginCtx {
            limiter: Limiter::new(limits),
            log: LogBuffer::default(),
            now,
            wait_budget: limits.timeout(),
            waited: Duration::ZERO,
            wasi: None,
            table,
        }
    }

    /// A subscription to the monotonic clock `wait` from now, as
    /// `subscribe-duration` asks for it.
    ///
    /// The clocks stand still, so a plugin never really waits: the
    /// subscription is ready at once. What it asked to wait for is added
    /// up, and once the sum passes its deadline the call ends with
    /// [`WaitPastDeadline`] (`E_PLUGIN_TIMEOUT`) — a plugin whose waits
    /// would have outlived its deadline gets the same answer at once, and
    /// the same answer every time.
    pub(crate) fn wait(&mut self, wait: Duration) -> wasmtime::Result<Resource<DynPollable>> {
        self.waited = self.waited.saturating_add(wait);
        if self.waited > self.wait_budget {
            return Err(wasmtime::Error::new(WaitPastDeadline {
                waited: self.waited,
                deadline: self.wait_budget,
            }));
        }
        let ready = self.table.push(Ready)?;
        subscribe(&mut self.table, ready)
    }

    /// A subscription to the monotonic clock reaching `when` (nanoseconds),
    /// as `subscribe-instant` asks for it: a wait from the frozen now.
    pub(crate) fn wait_until(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let now = FrozenMonotonicClock(self.now).now();
        self.wait(Duration::from_nanos(when.saturating_sub(now)))
    }
}

/// Why a call ended: the plugin asked its clocks to wait past its deadline.
#[derive(Debug, thiserror::Error)]
#[error(
    "the plugin asked to wait {} ms, past its deadline of {} ms (a plugin's clocks stand still: it cannot wait)",
    waited.as_millis(),
    deadline.as_millis()
)]
pub(crate) struct WaitPastDeadline {
    /// What it asked to wait for in all.
    pub(crate) waited: Duration,
    /// Its deadline.
    pub(crate) deadline: Duration,
}

/// A clock subscription, ready at once.
struct Ready;

impl Pollable for Ready {
    fn ready<'a, 'f>(&'a mut self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'f>>
    where
        'a: 'f,
        Self: 'f,
    {
        Box::pin(std::future::ready(()))
    }
}

impl WasiView for PluginCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let now = self.now;
        WasiCtxView {
            ctx: self.wasi.get_or_insert_with(|| locked_down_wasi(now)),
            table: &mut self.table,
        }
    }
}

/// The seed of every randomness a plugin can ask WASI for: fixed, so that
/// the same inputs give the same decision.
const RANDOM_CYCLE: [u8; 16] = *b"warrant-policy-1";

/// A WASI context with no authority: no arguments, environment, files,
/// network or standard input; output goes nowhere; both clocks stand still
/// at the decision's time; randomness is a fixed sequence.
fn locked_down_wasi(now: Duration) -> WasiCtx {
    WasiCtx::builder()
        .wall_clock(FrozenWallClock(now))
        .monotonic_clock(FrozenMonotonicClock(now))
        .secure_random(Deterministic::new(RANDOM_CYCLE.to_vec()))
        .insecure_random(Deterministic::new(RANDOM_CYCLE.to_vec()))
        .insecure_random_seed(u128::from_le_bytes(RANDOM_CYCLE))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build()
}

/// A wall clock that always reads the decision's time.
struct FrozenWallClock(Duration);

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.0
    }
}

/// A monotonic clock that never advances.
struct FrozenMonotonicClock(Duration);

impl HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }

    /// The decision's time in nanoseconds since 1970, never zero: where a
    /// monotonic clock starts is arbitrary, and some language runtimes (Go's)
    /// refuse to start on a clock that reads zero, as it would for a
    /// decision at or before 1970 or an instance made without a decision.
    fn now(&self) -> u64 {
        u64::try_from(self.0.as_nanos()).unwrap_or(u64::MAX).max(1)
    }
}

/// Enforces a call's memory and table limits, and remembers whether it had
/// to refuse a growth, so that the trap that usually follows is reported
/// as `E_PLUGIN_MEMORY` rather than as a plain trap.
pub(crate) struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    pub(crate) refused: Option<String>,
}

impl Limiter {
    fn new(limits: &Limits) -> Self {
        Limiter {
            memory_bytes: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            table_elements: usize::try_from(limits.table_elements).unwrap_or(usize::MAX),
            refused: None,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.refused = Some(format!(
                "the plugin asked for {desired} bytes of memory, over its limit of {} bytes",
                self.memory_bytes
            ));
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.refused = Some(format!(
                "the plugin asked for a table of {desired} elements, over its limit of {}",
                self.table_elements
            ));
            return Ok(false);
        }
        Ok(true)
    }

    // A component may hold several core instances (a language runtime and
    // its libraries), but never many.
    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        8
    }
}

/// The lines a plugin logs during one call, bounded in number and length.
#[derive(Default)]
pub(crate) struct LogBuffer {
    lines: Vec<LogLine>,
    dropped: usize,
    /// The message a 0.5.0 plugin gave for the trap it was about to cause,
    /// at most [`MAX_LOG_LINE_BYTES`] of it, and whether more came.
    trap_message: Vec<u8>,
    trap_message_cut: bool,
}

impl LogBuffer {
    pub(crate) fn push(&mut self, level: LogLevel, mut message: String) {
        if self.lines.len() >= MAX_LOG_LINES {
            self.dropped += 1;
            return;
        }
        if message.len() > MAX_LOG_LINE_BYTES {
            let mut cut = MAX_LOG_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        self.lines.push(LogLine { level, message });
    }

    /// Counts `lines` the plugin logged and did not keep itself.
    pub(crate) fn count_dropped(&mut self, lines: usize) {
        self.dropped = self.dropped.saturating_add(lines);
    }

    /// Adds the first `len` bytes of `bytes` (first byte lowest) to the
    /// trap message, as `trap-message` gives them.
    pub(crate) fn add_to_trap_message(&mut self, bytes: u64, len: u8) {
        let len = usize::from(len.min(8));
        let room = MAX_LOG_LINE_BYTES - self.trap_message.len();
        self.trap_message_cut |= len > room;
        self.trap_message
            .extend_from_slice(&bytes.to_le_bytes()[..len.min(room)]);
    }

    pub(crate) fn into_lines(mut self) -> Vec<LogLine> {
        if !self.trap_message.is_empty() {
            let mut message = String::from_utf8_lossy(&self.trap_message).into_owned();
            if self.trap_message_cut {
                message.push('…');
            }
            self.lines.push(LogLine {
                level: LogLevel::Error,
                message,
            });
        }
        if self.dropped > 0 {
            self.lines.push(LogLine {
                level: LogLevel::Warn,
                message: format!("{} more lines were not kept", self.dropped),
            });
        }
        self.lines
    }
}

/// The host imports of one version of the package: the same log for both.
macro_rules! host_imports {
    ($version:ident) => {
        impl crate::bindings::$version::host::Host for PluginCtx {
            fn log(&mut self, level: crate::bindings::$version::host::LogLevel, message: String) {
                use crate::bindings::$version::host::LogLevel as Wit;
                let level = match level {
                    Wit::Debug => LogLevel::Debug,
                    Wit::Info => LogLevel::Info,
                    Wit::Warn => LogLevel::Warn,
                    Wit::Error => LogLevel::Error,
                };
                self.log.push(level, message);
            }
        }

        impl crate::bindings::$version::types::Host for PluginCtx {}
    };
}

host_imports!(v1);
host_imports!(v2);
host_imports!(v3);
host_imports!(v4);

impl crate::bindings::v5::host::Host for PluginCtx {
    fn trap_message(&mut self, bytes: u64, len: u8) {
        self.log.add_to_trap_message(bytes, len);
    }
}

impl crate::bindings::v5::types::Host for PluginCtx {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_number_of_lines() {
        let mut log = LogBuffer::default();
        for i in 0..MAX_LOG_LINES + 5 {
            log.push(LogLevel::Info, format!("line {i}"));
        }
        let lines = log.into_lines();
        assert_eq!(lines.len(), MAX_LOG_LINES + 1);
        assert_eq!(lines.last().unwrap().message, "5 more lines were not kept");
    }

    #[test]
    fn cuts_long_lines_at_a_character_boundary() {
        let mut log = LogBuffer::default();
        log.push(LogLevel::Info, "é".repeat(MAX_LOG_LINE_BYTES));
        let line = &log.into_lines()[0].message;
        assert!(line.len() <= MAX_LOG_LINE_BYTES + '…'.len_utf8());
        assert!(line.ends_with('…'));
    }

    #[test]
    fn a_trap_message_comes_in_pieces_and_is_bounded() {
        let mut log = LogBuffer::default();
        for chunk in "plugin panicked: boom".as_bytes().chunks(8) {
            let mut bytes = [0u8; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            log.add_to_trap_message(u64::from_le_bytes(bytes), chunk.len() as u8);
        }
        assert_eq!(log.into_lines()[0].message, "plugin panicked: boom");

        let mut log = LogBuffer::default();
        for _ in 0..MAX_LOG_LINE_BYTES {
            log.add_to_trap_message(u64::from_le_bytes(*b"abcdefgh"), 200);
        }
        let line = &log.into_lines()[0];
        assert_eq!(line.level, LogLevel::Error);
        assert_eq!(line.message.len(), MAX_LOG_LINE_BYTES + '…'.len_utf8());
    }

    #[test]
    fn the_monotonic_clock_never_reads_zero() {
        assert_eq!(FrozenMonotonicClock(Duration::ZERO).now(), 1);
        assert_eq!(
            FrozenMonotonicClock(Duration::from_secs(2)).now(),
            2_000_000_000
        );
    }
}
