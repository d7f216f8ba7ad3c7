//! Warrant's SDK for policy plugins written in Zig, on top of the C bindings
//! that `wit-bindgen c` generates for the `policy` world: reading a rule's
//! configuration strictly (amounts exactly, in minor units), building
//! decisions, actions and plugin errors, the export the bindings call, and
//! the memory rules of the canonical ABI.
//!
//! Memory: the export owns its `context` and `config` and frees them
//! (`exportPolicy` does). Every string and list of the answer must come from
//! C's `malloc`, because after the host has copied the answer the bindings
//! hand each one that is not empty to `free`: the builders below allocate
//! with `host_allocator` for that reason. Scratch work (the parsed
//! configuration, texts being built) goes to an arena that is freed when the
//! call ends.
//!
//! The contract: the build (`build.zig`) generates the bindings of WIT 0.3.0
//! or, with `-Dcontract=0.1.0`, of WIT 0.1.0. Under 0.1.0 the context has no
//! baseline, time zone, flagged usage or charge, and a decision has no
//! actions: the functions that add an action are compile errors.

const std = @import("std");
const builtin = @import("builtin");
const options = @import("warrant_options");

/// The generated bindings: the WIT types (`policy_decision_t`, …) and the
/// functions that free them.
pub const c = @cImport(@cInclude("policy.h"));

/// The version of Warrant's WIT contract the bindings were generated from:
/// `0.3.0`, or `0.1.0` for plugins that must run on older hosts.
pub const contract: []const u8 = options.contract;

/// Whether decisions can carry actions (WIT 0.2.0 and later).
pub const has_actions = @hasDecl(c, "warrant_policy_types_action_t");

comptime {
    if (has_actions == std.mem.eql(u8, contract, "0.1.0")) {
        @compileError("the bindings in policy.h are not those of WIT " ++ contract);
    }
}

/// `malloc` and `free` themselves, as the bindings expect for the answer.
pub const host_allocator = std.heap.raw_c_allocator;

/// A failed allocation traps, as `cabi_realloc` of the bindings does: the
/// host then fails closed.
fn outOfMemory() noreturn {
    @panic("out of memory");
}

// The export ----------------------------------------------------------------

/// What a policy answers: a decision, or its own error (the host never
/// approves when a plugin answers with an error).
pub const Answer = union(enum) {
    decision: c.policy_decision_t,
    failure: c.policy_plugin_error_t,
};

/// A policy: decides on `context.intent` with the rule's configuration
/// `config` (the text of a JSON value). `arena` is scratch memory freed when
/// the call ends; `context` and `config` live as long. The answer itself
/// must be built with the functions below, which allocate it with
/// `host_allocator`.
pub const Policy = fn (arena: std.mem.Allocator, context: *const c.policy_context_t, config: []const u8) error{OutOfMemory}!Answer;

/// Defines the export of the `policy` world that the generated bindings
/// call (`exports_policy_evaluate`) around `evaluate`: it gives `evaluate`
/// an arena, frees the arguments and the arena when the call ends, and traps
/// when memory runs out. Call it once, at top level:
///
///     comptime {
///         warrant.exportPolicy(evaluate);
///     }
///
/// Only WebAssembly builds export it; native builds (unit tests) call
/// `evaluate` themselves, or `testing.evaluate`.
pub fn exportPolicy(comptime evaluate: Policy) void {
    if (!builtin.target.cpu.arch.isWasm()) return;
    const glue = struct {
        fn call(
            context: *c.policy_context_t,
            config: *c.policy_string_t,
            decision: *c.policy_decision_t,
            failure: *c.policy_plugin_error_t,
        ) callconv(.c) bool {
            defer c.policy_context_free(context);
            defer c.policy_string_free(config);
            var arena = std.heap.ArenaAllocator.init(host_allocator);
            defer arena.deinit();
            switch (evaluate(arena.allocator(), context, slice(config.*)) catch outOfMemory()) {
                .decision => |answer| {
                    decision.* = answer;
                    return true;
                },
                .failure => |answer| {
                    failure.* = answer;
                    return false;
                },
            }
        }
    };
    @export(&glue.call, .{ .name = "exports_policy_evaluate" });
}

// Text ----------------------------------------------------------------------

/// The bytes of a string of the bindings (borrowed).
pub fn slice(text: c.policy_string_t) []const u8 {
    return if (text.len == 0) "" else text.ptr[0..text.len];
}

/// A copy of `bytes` that the answer can carry.
pub fn string(bytes: []const u8) c.policy_string_t {
    const copy = host_allocator.dupe(u8, bytes) catch outOfMemory();
    return .{ .ptr = copy.ptr, .len = copy.len };
}

/// A string of the bindings that points at `bytes` without copying them:
/// for what the host only reads (a log line) and for contexts built in
/// tests. Never put one in an answer, whose strings the bindings free.
pub fn borrow(bytes: []const u8) c.policy_string_t {
    return .{ .ptr = @constCast(bytes.ptr), .len = bytes.len };
}

/// Formats text into `arena`, which frees it with everything else. Unlike
/// `std.fmt.allocPrint`, whose writer can also copy files and so brings in
/// `fstat`, a WASI import, it formats into a plain buffer: the plugin then
/// needs no WASI at all.
pub fn print(arena: std.mem.Allocator, comptime format: []const u8, args: anytype) error{OutOfMemory}![]u8 {
    var size: usize = 64;
    while (true) : (size *= 2) {
        const buffer = try arena.alloc(u8, size);
        if (std.fmt.bufPrint(buffer, format, args)) |text| return text else |_| arena.free(buffer);
    }
}

/// Cents, formatted by `{f}` as euros: `4.51 EUR`.
pub const Euros = struct {
    cents: u64,

    pub fn format(self: Euros, writer: *std.Io.Writer) std.Io.Writer.Error!void {
        try writer.print("{d}.{d:0>2} EUR", .{ self.cents / 100, self.cents % 100 });
    }
};

pub fn euros(cents: u64) Euros {
    return .{ .cents = cents };
}

/// Whether `code_point` has the Unicode White_Space property, as Rust's
/// `char::is_whitespace` and most languages' trim functions see it.
pub fn isWhiteSpace(code_point: u21) bool {
    return switch (code_point) {
        0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 => true,
        else => false,
    };
}

/// Whether `text` is empty or only Unicode white space. Text that is not
/// UTF-8 is not blank.
pub fn isBlank(text: []const u8) bool {
    const view = std.unicode.Utf8View.init(text) catch return false;
    var code_points = view.iterator();
    while (code_points.nextCodepoint()) |code_point| {
        if (!isWhiteSpace(code_point)) return false;
    }
    return true;
}

/// `text` without the Unicode white space at either end, like Rust's
/// `str::trim` (borrowed). It stops at bytes that are not UTF-8.
pub fn trim(text: []const u8) []const u8 {
    var start: usize = 0;
    while (start < text.len) {
        const len = std.unicode.utf8ByteSequenceLength(text[start]) catch break;
        if (start + len > text.len) break;
        const code_point = std.unicode.utf8Decode(text[start..][0..len]) catch break;
        if (!isWhiteSpace(code_point)) break;
        start += len;
    }
    var end = text.len;
    while (end > start) {
        var first = end - 1;
        while (first > start and text[first] & 0xC0 == 0x80) first -= 1;
        const code_point = std.unicode.utf8Decode(text[first..end]) catch break;
        if (!isWhiteSpace(code_point)) break;
        end = first;
    }
    return text[start..end];
}

// Decisions and errors ------------------------------------------------------

pub fn approve() c.policy_decision_t {
    return .{ .verdict = .{ .tag = c.WARRANT_POLICY_TYPES_VERDICT_APPROVE } };
}

/// A denial; `reason` is copied.
pub fn deny(reason: []const u8) c.policy_decision_t {
    return .{ .verdict = .{ .tag = c.WARRANT_POLICY_TYPES_VERDICT_DENY, .val = .{ .deny = string(reason) } } };
}

/// A request for review; `reason` is copied.
pub fn review(reason: []const u8) c.policy_decision_t {
    return .{ .verdict = .{ .tag = c.WARRANT_POLICY_TYPES_VERDICT_REVIEW, .val = .{ .review = string(reason) } } };
}

/// Grows a list of the bindings by one item, in `malloc`'s memory.
fn push(comptime T: type, items: *[*c]T, len: *usize, item: T) void {
    const old: []T = if (len.* == 0) &.{} else items.*[0..len.*];
    const grown = host_allocator.realloc(old, len.* + 1) catch outOfMemory();
    grown[len.*] = item;
    items.* = grown.ptr;
    len.* += 1;
}

/// Adds the reason code `code` (copied), e.g. `amount-over-max`.
pub fn addCode(decision: *c.policy_decision_t, code: []const u8) void {
    push(c.policy_string_t, &decision.codes.ptr, &decision.codes.len, string(code));
}

/// Adds the annotation `key` = `value` (both copied).
pub fn addAnnotation(decision: *c.policy_decision_t, key: []const u8, value: []const u8) void {
    const annotation: c.warrant_policy_types_annotation_t = .{ .key = string(key), .value = string(value) };
    push(c.warrant_policy_types_annotation_t, &decision.annotations.ptr, &decision.annotations.len, annotation);
}

/// The kinds of action the host carries out.
pub const action_kind = struct {
    /// Suspends the agent.
    pub const suspend_agent = "suspend-agent";
    /// Records an alert event for the agent.
    pub const alert = "alert";
};

const no_actions = "actions need WIT 0.3.0; this plugin is built against WIT " ++ contract ++
    " (-Dcontract=" ++ contract ++ "), whose decisions cannot carry them";

/// Asks the host for an action of `kind` (copied), saying why in `message`
/// (copied). The host carries out `suspend-agent` and `alert` in the
/// transaction that records the intent, unless the rule is in monitor mode
/// or the evaluation is a dry run; it ignores (and traces) other kinds.
/// A compile error under WIT 0.1.0.
pub fn addAction(decision: *c.policy_decision_t, kind: []const u8, message: []const u8) void {
    if (comptime !has_actions) @compileError(no_actions);
    const action: c.warrant_policy_types_action_t = .{ .kind = string(kind), .message = string(message) };
    push(c.warrant_policy_types_action_t, &decision.actions.ptr, &decision.actions.len, action);
}

/// Asks the host to suspend the agent, saying why. A compile error under
/// WIT 0.1.0.
pub fn addSuspendAgent(decision: *c.policy_decision_t, reason: []const u8) void {
    if (comptime !has_actions) @compileError(no_actions);
    addAction(decision, action_kind.suspend_agent, reason);
}

/// Asks the host to record an alert event for the agent. A compile error
/// under WIT 0.1.0.
pub fn addAlert(decision: *c.policy_decision_t, message: []const u8) void {
    if (comptime !has_actions) @compileError(no_actions);
    addAction(decision, action_kind.alert, message);
}

/// The plugin's own error `code` (copied), e.g. `unknown-timezone`, with a
/// message (copied) for the person who wrote the configuration.
pub fn pluginError(code: []const u8, message: []const u8) c.policy_plugin_error_t {
    return .{ .code = string(code), .message = string(message) };
}

/// The plugin error `invalid-config`; `message` is copied.
pub fn invalidConfig(message: []const u8) c.policy_plugin_error_t {
    return pluginError("invalid-config", message);
}

// Reading decisions (for tests, and for plugins that combine their own) -----

pub const Verdict = enum { approve, deny, review };

pub fn verdictOf(decision: c.policy_decision_t) Verdict {
    return switch (decision.verdict.tag) {
        c.WARRANT_POLICY_TYPES_VERDICT_APPROVE => .approve,
        c.WARRANT_POLICY_TYPES_VERDICT_DENY => .deny,
        else => .review,
    };
}

/// The reason of a deny or review; null for an approval.
pub fn reasonOf(decision: c.policy_decision_t) ?[]const u8 {
    return switch (verdictOf(decision)) {
        .approve => null,
        .deny => slice(decision.verdict.val.deny),
        .review => slice(decision.verdict.val.review),
    };
}

/// The decision's reason codes, in order.
pub fn codesOf(decision: c.policy_decision_t) []const c.policy_string_t {
    return if (decision.codes.len == 0) &.{} else decision.codes.ptr[0..decision.codes.len];
}

/// Whether the decision has the reason code `code`.
pub fn hasCode(decision: c.policy_decision_t, code: []const u8) bool {
    for (codesOf(decision)) |item| {
        if (std.mem.eql(u8, slice(item), code)) return true;
    }
    return false;
}

/// The value of the first annotation named `key`.
pub fn annotationOf(decision: c.policy_decision_t, key: []const u8) ?[]const u8 {
    if (decision.annotations.len == 0) return null;
    for (decision.annotations.ptr[0..decision.annotations.len]) |item| {
        if (std.mem.eql(u8, slice(item.key), key)) return slice(item.value);
    }
    return null;
}

/// Whether the decision asks for an action of `kind`; always false under
/// WIT 0.1.0, whose decisions have none.
pub fn hasAction(decision: c.policy_decision_t, kind: []const u8) bool {
    if (!has_actions or decision.actions.len == 0) return false;
    for (decision.actions.ptr[0..decision.actions.len]) |item| {
        if (std.mem.eql(u8, slice(item.kind), kind)) return true;
    }
    return false;
}

// Log -----------------------------------------------------------------------

/// How much a log line matters.
pub const LogLevel = enum { debug, info, warn, @"error" };

/// Writes `message` to the host's log (capped by the host; it never changes
/// the decision). In native builds the lines are kept for
/// `testing.takeLogs`.
pub fn log(level: LogLevel, message: []const u8) void {
    if (builtin.target.cpu.arch.isWasm()) {
        const wit_level: c.warrant_policy_host_log_level_t = switch (level) {
            .debug => c.WARRANT_POLICY_HOST_LOG_LEVEL_DEBUG,
            .info => c.WARRANT_POLICY_HOST_LOG_LEVEL_INFO,
            .warn => c.WARRANT_POLICY_HOST_LOG_LEVEL_WARN,
            .@"error" => c.WARRANT_POLICY_HOST_LOG_LEVEL_ERROR,
        };
        // Borrowed: the host copies it.
        var text = borrow(message);
        c.warrant_policy_host_log(wit_level, &text);
    } else {
        const line: testing.LogLine = .{ .level = level, .message = host_allocator.dupe(u8, message) catch outOfMemory() };
        testing.logged.append(host_allocator, line) catch outOfMemory();
    }
}

// Amounts -------------------------------------------------------------------

pub const AmountError = error{
    /// Not a JSON number.
    NotANumber,
    /// Below zero (`-0` included).
    Negative,
    /// Has a non-zero digit below the minor unit, e.g. `1.001` in cents.
    TooPrecise,
    /// Over 2^64 - 1 minor units.
    TooLarge,
};

/// Reads the text of a JSON number (`4.51`, `100`, `1e2`, `1.5E1`, `100.0`)
/// exactly, never through a binary float, as an integer number of minor
/// units with `decimals` digits after the point: `4.51` is 451 cents with 2
/// decimals.
pub fn parseMinorUnits(text: []const u8, decimals: u32) AmountError!u64 {
    const negative = text.len > 0 and text[0] == '-';
    var mantissa = text[@intFromBool(negative)..];
    var exponent: i64 = 0;
    if (std.mem.indexOfAny(u8, mantissa, "eE")) |at| {
        exponent = try parseExponent(mantissa[at + 1 ..]);
        mantissa = mantissa[0..at];
    }
    const point = std.mem.indexOfScalar(u8, mantissa, '.');
    const whole = mantissa[0 .. point orelse mantissa.len];
    const fraction = if (point) |at| mantissa[at + 1 ..] else "";
    // The grammar of RFC 8259: digits on both sides of a point, no leading zero.
    if (!isDigits(whole) or (point != null and !isDigits(fraction)) or (whole.len > 1 and whole[0] == '0')) {
        return error.NotANumber;
    }
    if (negative) return error.Negative;

    // The value is the digits of whole and fraction read as one integer D,
    // times 10^(exponent - fraction.len); in minor units, times 10^decimals
    // more. Drop D's leading and trailing zeros first.
    const count = whole.len + fraction.len;
    const digitAt = struct {
        fn at(w: []const u8, f: []const u8, k: usize) u8 {
            return (if (k < w.len) w[k] else f[k - w.len]) - '0';
        }
    }.at;
    var first: usize = 0;
    while (first < count and digitAt(whole, fraction, first) == 0) first += 1;
    if (first == count) return 0;
    var last = count;
    while (digitAt(whole, fraction, last - 1) == 0) last -= 1;
    const power = exponent - @as(i64, @intCast(fraction.len)) + decimals + @as(i64, @intCast(count - last));
    // The last significant digit is not zero: below the minor unit, it is a
    // fraction of one.
    if (power < 0) return error.TooPrecise;
    if (@as(i64, @intCast(last - first)) + power > 20) return error.TooLarge;
    var value: u64 = 0;
    for (first..last + @as(usize, @intCast(power))) |k| {
        const digit: u64 = if (k < last) digitAt(whole, fraction, k) else 0;
        value = std.math.mul(u64, value, 10) catch return error.TooLarge;
        value = std.math.add(u64, value, digit) catch return error.TooLarge;
    }
    return value;
}

/// The exponent of a JSON number; it saturates, since past 10^9 the amount
/// no longer depends on it.
fn parseExponent(text: []const u8) AmountError!i64 {
    const signed = text.len > 0 and (text[0] == '-' or text[0] == '+');
    const digits = text[@intFromBool(signed)..];
    if (!isDigits(digits)) return error.NotANumber;
    var exponent: i64 = 0;
    for (digits) |digit| exponent = @min(exponent * 10 + (digit - '0'), 1_000_000_000);
    return if (text[0] == '-') -exponent else exponent;
}

fn isDigits(text: []const u8) bool {
    if (text.len == 0) return false;
    for (text) |char| if (!std.ascii.isDigit(char)) return false;
    return true;
}

// Configuration -------------------------------------------------------------

/// Reads a rule's configuration, a JSON object, strictly: unknown and
/// repeated fields are refused, so that a typo (`maxAmountEuro`) is an error
/// rather than a limit silently ignored. Every function fails with
/// `error.InvalidConfig` and leaves the reason in `problem`.
pub const ConfigReader = struct {
    /// Where the parsed configuration and `problem` live.
    arena: std.mem.Allocator,
    fields: std.json.ObjectMap = undefined,
    /// Why the configuration is invalid, after `error.InvalidConfig`.
    problem: []const u8 = "",

    pub const Error = error{ InvalidConfig, OutOfMemory };

    /// `error.InvalidConfig`, with `problem` set to the text of `format` and
    /// `args`: `return reader.fail(…);`.
    pub fn fail(self: *ConfigReader, comptime format: []const u8, args: anytype) Error {
        self.problem = print(self.arena, format, args) catch return error.OutOfMemory;
        return error.InvalidConfig;
    }

    /// Parses `text`, which must be one JSON object. Numbers are kept as
    /// their text (`parse_numbers = false`), never turned into floats.
    pub fn parse(self: *ConfigReader, text: []const u8) Error!void {
        const value = std.json.parseFromSliceLeaky(std.json.Value, self.arena, text, .{
            .parse_numbers = false,
            .duplicate_field_behavior = .@"error",
        }) catch |err| switch (err) {
            error.OutOfMemory => return error.OutOfMemory,
            error.DuplicateField => return self.fail("the configuration repeats a field", .{}),
            else => return self.fail("the configuration is not valid JSON", .{}),
        };
        if (value != .object) return self.fail("the configuration must be a JSON object", .{});
        self.fields = value.object;
    }

    /// Refuses a field whose name is not in `known`.
    pub fn checkFields(self: *ConfigReader, comptime known: []const []const u8) Error!void {
        next: for (self.fields.keys()) |name| {
            for (known) |field| {
                if (std.mem.eql(u8, name, field)) continue :next;
            }
            if (known.len == 0) return self.fail("unknown field `{s}`, there are no fields", .{name});
            const expected = try std.mem.join(self.arena, "`, `", known);
            return self.fail("unknown field `{s}`, expected one of `{s}`", .{ name, expected });
        }
    }

    /// Reads the amount field `name`, which must be present; see
    /// `optionalAmount`.
    pub fn amount(self: *ConfigReader, name: []const u8, decimals: u32) Error!u64 {
        return try self.optionalAmount(name, decimals) orelse return self.fail("missing field `{s}`", .{name});
    }

    /// Reads the optional amount field `name` into minor units with
    /// `decimals` digits after the point (2 for cents); null when the field
    /// is absent or null. The value must be a JSON number, not a string, of
    /// at least zero, with no non-zero digit below the minor unit.
    pub fn optionalAmount(self: *ConfigReader, name: []const u8, decimals: u32) Error!?u64 {
        const text = try self.number(name) orelse return null;
        return parseMinorUnits(text, decimals) catch |err| switch (err) {
            error.NotANumber => return self.fail("`{s}` must be a number", .{name}),
            error.Negative => return self.fail("`{s}` must not be negative", .{name}),
            error.TooPrecise => return self.fail("`{s}` must have at most {d} decimals", .{ name, decimals }),
            error.TooLarge => return self.fail("`{s}` is too large", .{name}),
        };
    }

    /// Reads the optional field `name`, a whole number from 0 to `max`
    /// written without a point or an exponent (`30`, not `30.0` or `3e1`);
    /// null when the field is absent or null.
    pub fn optionalInteger(self: *ConfigReader, name: []const u8, max: u64) Error!?u64 {
        const text = try self.number(name) orelse return null;
        if (std.mem.indexOfAny(u8, text, ".eE") != null) {
            return self.fail("`{s}` must be a whole number", .{name});
        }
        const value = parseMinorUnits(text, 0) catch |err| switch (err) {
            error.NotANumber => return self.fail("`{s}` must be a number", .{name}),
            error.Negative => return self.fail("`{s}` must not be negative", .{name}),
            error.TooPrecise => unreachable,
            error.TooLarge => return self.fail("`{s}` must be at most {d}", .{ name, max }),
        };
        if (value > max) return self.fail("`{s}` must be at most {d}, not {d}", .{ name, max, value });
        return value;
    }

    /// The text of the number field `name`; null when absent or null.
    fn number(self: *ConfigReader, name: []const u8) Error!?[]const u8 {
        return switch (self.fields.get(name) orelse return null) {
            .null => null,
            .number_string => |text| text,
            else => self.fail("`{s}` must be a number", .{name}),
        };
    }

    /// Reads the field `name`, a list of strings (escapes decoded). An absent
    /// field is an empty list; `null`, or anything but a list of strings, is
    /// an error.
    pub fn strings(self: *ConfigReader, name: []const u8) Error![]const []const u8 {
        const items = switch (self.fields.get(name) orelse return &.{}) {
            .array => |list| list.items,
            else => return self.fail("`{s}` must be a list of strings", .{name}),
        };
        const texts = try self.arena.alloc([]const u8, items.len);
        for (items, texts) |item, *text| {
            text.* = switch (item) {
                .string => |value| value,
                else => return self.fail("`{s}` must be a list of strings", .{name}),
            };
        }
        return texts;
    }
};

// Testing -------------------------------------------------------------------

/// For unit tests of plugins, run natively (`zig build test`).
pub const testing = struct {
    /// 2026-01-01T00:00:00Z, the `now` of `context`.
    pub const now: c.warrant_policy_types_timestamp_t = .{ .seconds = 1_767_225_600, .nanoseconds = 0 };

    /// A context to start a test from: an intent with no amount and no
    /// merchant, paid with the card named `main`, from an active supervised
    /// agent with no history and no baseline, usage in EUR counted in UTC,
    /// no risk score and no charge, at `now`. Its strings are borrowed
    /// (`borrow`): set fields with `borrow` too, never free it.
    pub fn context() c.policy_context_t {
        var result = std.mem.zeroes(c.policy_context_t);
        result.intent.id = borrow("int_test");
        result.intent.card = .{ .tag = c.WARRANT_POLICY_TYPES_CARD_NAME, .val = .{ .name = borrow("main") } };
        result.intent.purpose = borrow("test");
        result.intent.ttl_minutes = 1440;
        result.agent.id = borrow("ag_test");
        result.agent.name = borrow("test agent");
        result.agent.status = c.WARRANT_POLICY_TYPES_AGENT_STATUS_ACTIVE;
        result.agent.agent_type = c.WARRANT_POLICY_TYPES_AGENT_TYPE_SUPERVISED;
        result.agent.profile.purpose = borrow("testing");
        result.agent.metadata = borrow("{}");
        result.usage.currency = borrow("EUR");
        if (@hasField(@TypeOf(result.usage), "timezone")) result.usage.timezone = borrow("UTC");
        result.now = now;
        // Left zero: every usage window (flagged counts and spend included),
        // and the options (amount, merchant, recurring terms, baseline, risk,
        // charge), which are none.
        return result;
    }

    /// An amount for a context: `minor_units` of `currency` (borrowed).
    pub fn money(minor_units: u64, currency: []const u8) c.warrant_policy_types_option_money_t {
        return .{ .is_some = true, .val = .{ .minor_units = minor_units, .currency = borrow(currency) } };
    }

    /// Runs a policy as the export does, with `arena` as its scratch memory;
    /// running out of memory ends the test.
    pub fn evaluate(comptime evaluatePolicy: Policy, arena: std.mem.Allocator, input: *const c.policy_context_t, config: []const u8) Answer {
        return evaluatePolicy(arena, input, config) catch outOfMemory();
    }

    /// Fails unless the decision's reason codes are exactly `expected`.
    pub fn expectCodes(decision: c.policy_decision_t, expected: []const []const u8) !void {
        const actual = codesOf(decision);
        errdefer {
            std.debug.print("expected codes {any}, got", .{expected});
            for (actual) |code| std.debug.print(" {s}", .{slice(code)});
            std.debug.print("\n", .{});
        }
        try std.testing.expectEqual(expected.len, actual.len);
        for (expected, actual) |want, got| try std.testing.expectEqualStrings(want, slice(got));
    }

    pub const LogLine = struct { level: LogLevel, message: []const u8 };

    var logged: std.ArrayList(LogLine) = .empty;

    /// The lines logged so far (native builds only), which the caller owns
    /// (`host_allocator`); the next call returns only later lines.
    pub fn takeLogs() []LogLine {
        return logged.toOwnedSlice(host_allocator) catch outOfMemory();
    }
};
