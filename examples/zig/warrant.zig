//! A small SDK for Warrant policy plugins written in Zig, on top of the C
//! bindings that `wit-bindgen c` generates for the `policy` world: reading a
//! rule's configuration strictly (amounts exactly, in minor units), building
//! decisions and plugin errors, and the memory rules of the canonical ABI.
//!
//! Memory: the exported function owns its `context` and `config` and frees
//! them (`policy_context_free`, `policy_string_free`). Every string and list
//! of the answer must come from C's `malloc`, because after the host has
//! copied the answer the bindings hand each one that is not empty to `free`:
//! the builders below allocate with `host_allocator` for that reason.
//! Scratch work (the parsed configuration, texts being built) goes to an
//! arena that is freed when the call ends.

const std = @import("std");

/// The generated bindings: the WIT types (`policy_decision_t`, …) and the
/// functions that free them.
pub const c = @cImport(@cInclude("policy.h"));

/// `malloc` and `free` themselves, as the bindings expect for the answer.
pub const host_allocator = std.heap.raw_c_allocator;

/// A failed allocation traps, as `cabi_realloc` of the bindings does: the
/// host then fails closed.
fn outOfMemory() noreturn {
    @panic("out of memory");
}

// Text --------------------------------------------------------------------

/// The bytes of a string of the bindings (borrowed).
pub fn slice(text: c.policy_string_t) []const u8 {
    return if (text.len == 0) "" else text.ptr[0..text.len];
}

/// A copy of `bytes` that the answer can carry.
pub fn string(bytes: []const u8) c.policy_string_t {
    const copy = host_allocator.dupe(u8, bytes) catch outOfMemory();
    return .{ .ptr = copy.ptr, .len = copy.len };
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

/// Whether `text` is empty or only Unicode white space (the White_Space
/// property, as Rust's `str::trim` and most languages' trim functions see it).
pub fn isBlank(text: []const u8) bool {
    const view = std.unicode.Utf8View.init(text) catch return false;
    var code_points = view.iterator();
    while (code_points.nextCodepoint()) |code_point| {
        switch (code_point) {
            0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 => {},
            else => return false,
        }
    }
    return true;
}

// Decisions and errors ----------------------------------------------------

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

/// The plugin error `invalid-config`; `message` is copied. The host never
/// approves when a plugin answers with an error.
pub fn invalidConfig(message: []const u8) c.policy_plugin_error_t {
    return .{ .code = string("invalid-config"), .message = string(message) };
}

/// Writes `message` to the host's log (capped by the host; it never changes
/// the decision).
pub fn log(level: c.warrant_policy_host_log_level_t, message: []const u8) void {
    // Borrowed: the host copies it.
    var text: c.policy_string_t = .{ .ptr = @constCast(message.ptr), .len = message.len };
    c.warrant_policy_host_log(level, &text);
}

// Amounts -----------------------------------------------------------------

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

// Configuration -----------------------------------------------------------

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
        const text = switch (self.fields.get(name) orelse return null) {
            .null => return null,
            .number_string => |text| text,
            else => return self.fail("`{s}` must be a number", .{name}),
        };
        return parseMinorUnits(text, decimals) catch |err| switch (err) {
            error.NotANumber => return self.fail("`{s}` must be a number", .{name}),
            error.Negative => return self.fail("`{s}` must not be negative", .{name}),
            error.TooPrecise => return self.fail("`{s}` must have at most {d} decimals", .{ name, decimals }),
            error.TooLarge => return self.fail("`{s}` is too large", .{name}),
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
