//! `recurring-match` in Zig, a port of Warrant's built-in plugin
//! (plugins/recurring-match): checks each charge reported against a
//! recurring intent: that it comes in the window of a due date, once per
//! due date, for about the expected amount, from the intent's merchant.
//!
//! Configuration: `{}`. The terms are the intent's own (`intent.recurring`).
//!
//! When an intent is being declared (`context.charge` is none) the rule
//! approves, annotating `recurring` with the cadence (`monthly`) or `no`.
//!
//! When a charge is being checked:
//!
//! - an intent without recurring terms: deny (`not-recurring`).
//! - Dates are whole days in the policy's time zone (`usage.timezone`).
//!   This port knows only UTC (and an empty name, as UTC): Zig has no time
//!   zone database to put in a component, so any other zone is the
//!   plugin's error `unknown-timezone`, never a date in the wrong zone. The
//!   series starts on the date it was declared, and a charge falls on the
//!   date it was made.
//! - Due dates: due(k) = the series' first date plus k periods, for
//!   k = 0, 1, 2, …: k days (daily), 7k days (weekly), k months on the same
//!   day of the month (monthly), k years (yearly). A day past the end of a
//!   month is clamped to its last day: a series started on 31 January is
//!   due on 28 (or 29) February and on 31 March; one started on 29
//!   February is due on 28 February in common years.
//! - The window of due(k) runs from `windowStartDaysBefore` days before it
//!   to `windowEndDaysAfter` days after it, both days included: with both
//!   at 0 (the default), a charge at any time of the due date is in it. A
//!   charge in several windows belongs to the one whose due date is
//!   nearest.
//! - The calendar ends with the year 9999 (as Rust's jiff has it, the last
//!   instant is 9999-12-30T22:00:00.999999999Z): a series has no due dates
//!   after it.
//!
//! A charge is flagged, with every code that applies, in this order:
//!
//! - `outside-window`: it is in no window (the reason names the nearest
//!   due date); this includes any charge before the first window;
//! - `duplicate-charge`: an earlier accepted charge (`charge.previous`) is
//!   in the same window;
//! - `no-amount`: the intent has no amount to compare with;
//! - `currency-mismatch`: the charge is in another currency than the
//!   intent's amount;
//! - `amount-beyond-tolerance`: |charge − expected| × 10 000 > expected ×
//!   `amountToleranceBps`;
//! - `merchant-mismatch`: the terms require the intent's merchant and the
//!   charge comes from another one (ignoring letter case), or the intent
//!   names none.
//!
//! A flagged charge is denied; any other is approved. When the charge is in
//! a window, the decision is annotated with the period k (`period`) and its
//! due date (`dueDate`, `YYYY-MM-DD`).

const std = @import("std");
const warrant = @import("warrant");
const lowercase = @import("recurring_match/lowercase.zig").lowercase;
const c = warrant.c;

comptime {
    if (!@hasField(c.policy_context_t, "charge")) {
        @compileError("recurring-match checks charges, which WIT " ++ warrant.contract ++ " does not have: build it against 0.3.0");
    }
}

/// A safety check that fails traps rather than printing a message, which
/// would need WASI's stderr; the host treats a trap as a failure and never
/// approves.
pub const panic = std.debug.no_panic;

const Cadence = enum { daily, weekly, monthly, yearly };

fn cadenceOf(cadence: c.warrant_policy_types_cadence_t) Cadence {
    return switch (cadence) {
        c.WARRANT_POLICY_TYPES_CADENCE_DAILY => .daily,
        c.WARRANT_POLICY_TYPES_CADENCE_WEEKLY => .weekly,
        c.WARRANT_POLICY_TYPES_CADENCE_MONTHLY => .monthly,
        else => .yearly,
    };
}

// Time ------------------------------------------------------------------------

/// Instants are nanoseconds since 1970-01-01T00:00:00Z; a date is the
/// instant of its midnight in UTC, so that dates compare and add as
/// instants do.
const day_ns: i128 = 86_400 * std.time.ns_per_s;

/// The calendar's first and last instants, those of Rust's jiff (whose
/// dates run from the year -9999 to 9999, in any UTC offset): -9999-01-02
/// 01:59:59 and 9999-12-30 22:00:00.999999999.
const min_ns: i128 = -377_705_023_201 * std.time.ns_per_s;
const max_ns: i128 = 253_402_207_200 * std.time.ns_per_s + 999_999_999;

fn onCalendar(ns: i128) bool {
    return min_ns <= ns and ns <= max_ns;
}

fn nanos(t: c.warrant_policy_types_timestamp_t) i128 {
    return @as(i128, t.seconds) * std.time.ns_per_s + t.nanoseconds;
}

/// A date and a time of day, in UTC.
const Civil = struct {
    year: i64,
    month: u8,
    day: u8,
    /// Nanoseconds since midnight.
    time: i128,

    fn of(ns: i128) Civil {
        const days = @divFloor(ns, day_ns);
        const date = dateOfDays(@intCast(days));
        return .{ .year = date.year, .month = date.month, .day = date.day, .time = ns - days * day_ns };
    }

    fn toNanos(self: Civil) i128 {
        return @as(i128, daysOfDate(self.year, self.month, self.day)) * day_ns + self.time;
    }
};

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`).
fn daysOfDate(year: i64, month: u8, day: u8) i64 {
    const y = if (month <= 2) year - 1 else year;
    const era = @divFloor(y, 400);
    const year_of_era = y - era * 400;
    const shifted_month: i64 = if (month > 2) month - 3 else month + 9;
    const day_of_year = @divFloor(153 * shifted_month + 2, 5) + day - 1;
    const day_of_era = year_of_era * 365 + @divFloor(year_of_era, 4) - @divFloor(year_of_era, 100) + day_of_year;
    return era * 146_097 + day_of_era - 719_468;
}

const Date = struct { year: i64, month: u8, day: u8 };

/// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn dateOfDays(days: i64) Date {
    const z = days + 719_468;
    const era = @divFloor(z, 146_097);
    const day_of_era = z - era * 146_097;
    const year_of_era = @divFloor(day_of_era - @divFloor(day_of_era, 1460) + @divFloor(day_of_era, 36_524) - @divFloor(day_of_era, 146_096), 365);
    const day_of_year = day_of_era - (365 * year_of_era + @divFloor(year_of_era, 4) - @divFloor(year_of_era, 100));
    const shifted_month = @divFloor(5 * day_of_year + 2, 153);
    const day: u8 = @intCast(day_of_year - @divFloor(153 * shifted_month + 2, 5) + 1);
    const month: u8 = @intCast(if (shifted_month < 10) shifted_month + 3 else shifted_month - 9);
    return .{ .year = year_of_era + era * 400 + @intFromBool(month <= 2), .month = month, .day = day };
}

fn daysInMonth(year: i64, month: u8) u8 {
    return switch (month) {
        2 => if (@mod(year, 4) == 0 and (@mod(year, 100) != 0 or @mod(year, 400) == 0)) 29 else 28,
        4, 6, 9, 11 => 30,
        else => 31,
    };
}

/// The date `ns` falls on, as its midnight; instants beyond the calendar,
/// and those whose midnight is before its start, stay as they are.
fn dayOf(ns: i128) i128 {
    if (!onCalendar(ns)) return ns;
    const midnight = @divFloor(ns, day_ns) * day_ns;
    return if (midnight < min_ns) ns else midnight;
}

/// The due dates of a series.
const Series = struct {
    cadence: Cadence,
    /// due(0).
    start: i128,
    /// due(0) as a date and time, for months and years; none beyond the
    /// calendar.
    civil: ?Civil,

    /// The most months and years jiff adds at once (19,998 years).
    const max_months = 239_976;
    const max_years = 19_998;

    fn init(cadence: Cadence, start: i128) Series {
        return .{ .cadence = cadence, .start = start, .civil = if (onCalendar(start)) Civil.of(start) else null };
    }

    /// due(k); none beyond the calendar (after the year 9999), where a
    /// series ends.
    fn due(self: Series, k: u64) ?i128 {
        if (k == 0) return self.start;
        const periods: i128 = k;
        switch (self.cadence) {
            .daily => return upToEnd(self.start + periods * day_ns),
            .weekly => return upToEnd(self.start + periods * 7 * day_ns),
            .monthly, .yearly => {
                if (k > @as(u64, if (self.cadence == .monthly) max_months else max_years)) return null;
                const start = self.civil orelse return null;
                const months: i64 = @intCast(if (self.cadence == .monthly) k else k * 12);
                const index = start.year * 12 + (start.month - 1) + months;
                const year = @divFloor(index, 12);
                if (year > 9999) return null;
                const month: u8 = @intCast(@mod(index, 12) + 1);
                const day = @min(start.day, daysInMonth(year, month));
                const civil: Civil = .{ .year = year, .month = month, .day = day, .time = start.time };
                const ns = civil.toNanos();
                return if (onCalendar(ns)) ns else null;
            },
        }
    }

    fn upToEnd(ns: i128) ?i128 {
        return if (ns <= max_ns) ns else null;
    }

    /// The last period due at or before `t`; none before the series.
    fn lastDueBy(self: Series, at: i128) ?u64 {
        if (at < self.start) return null;
        // No due date but the first comes after the calendar's end.
        const t = @min(at, @max(max_ns, self.start));
        const elapsed = t - self.start;
        switch (self.cadence) {
            .daily => return std.math.cast(u64, @divFloor(elapsed, day_ns)),
            .weekly => return std.math.cast(u64, @divFloor(elapsed, 7 * day_ns)),
            .monthly, .yearly => {
                // Only due(0) is on the calendar.
                const start = self.civil orelse return 0;
                const then = Civil.of(t);
                const years = then.year - start.year;
                const estimate = if (self.cadence == .monthly)
                    years * 12 + @as(i64, then.month) - start.month
                else
                    years;
                // The estimate is the period due in the same month (or
                // year) as `t`, which is at most one period late.
                var k: u64 = std.math.cast(u64, estimate) orelse 0;
                while (k > 0 and if (self.due(k)) |due_k| due_k > t else true) k -= 1;
                while (if (self.due(k + 1)) |due_next| due_next <= t else false) k += 1;
                return k;
            },
        }
    }

    const Period = struct { k: u64, due: i128 };

    /// The period whose window, from `before` before its due date to
    /// `after` after it, holds `at`, and its due date; the nearest due date
    /// when several windows do.
    fn windowContaining(self: Series, at: i128, before: i128, after: i128) ?Period {
        // The windows that hold `at` are those due from `at - after` to
        // `at + before`: periods `first..=last`.
        const last = self.lastDueBy(at + before) orelse return null;
        const earliest = at - after;
        const first = if (self.lastDueBy(earliest)) |k|
            (if (self.due(k) == earliest) k else k + 1)
        else
            0;
        if (first > last) return null;
        const below, const above = if (self.lastDueBy(at)) |k| .{ k, k + 1 } else .{ 0, 0 };
        var best: ?Period = null;
        for ([_]u64{ below, above }) |candidate| {
            const k = std.math.clamp(candidate, first, last);
            const due_k = self.due(k) orelse continue;
            // The earlier one on a tie.
            if (best) |b| {
                const distance, const best_distance = .{ @abs(due_k - at), @abs(b.due - at) };
                if (distance > best_distance or (distance == best_distance and k >= b.k)) continue;
            }
            best = .{ .k = k, .due = due_k };
        }
        return best;
    }

    /// The due date nearest to `at`, the earlier one on a tie.
    fn nearest(self: Series, at: i128) i128 {
        const candidates: [2]?u64 = if (self.lastDueBy(at)) |k| .{ k, k + 1 } else .{ 0, null };
        var best: ?i128 = null;
        for (candidates) |candidate| {
            const due_k = self.due(candidate orelse continue) orelse continue;
            if (best) |b| {
                const distance, const best_distance = .{ @abs(due_k - at), @abs(b - at) };
                if (distance > best_distance or (distance == best_distance and due_k >= b)) continue;
            }
            best = due_k;
        }
        return best orelse self.start;
    }
};

/// `2026-04-01`, the date of `ns` in UTC, as Rust's jiff writes it
/// (`-009999-01-02` before the year 0).
fn formatDate(arena: std.mem.Allocator, ns: i128) error{OutOfMemory}![]const u8 {
    if (!onCalendar(ns)) return if (ns > 0) "a date after the year 9999" else "a date before the year -9999";
    const civil = Civil.of(ns);
    const sign = if (civil.year < 0) "-00" else "";
    return warrant.print(arena, "{s}{d:0>4}-{d:0>2}-{d:0>2}", .{ sign, @abs(civil.year), civil.month, civil.day });
}

fn dayCount(arena: std.mem.Allocator, n: u32) error{OutOfMemory}![]const u8 {
    return if (n == 1) "1 day" else warrant.print(arena, "{d} days", .{n});
}

// Money -----------------------------------------------------------------------

/// `45.00 EUR`, `4500 JPY`, `1.500 KWD`: minor units in the currency's
/// usual decimals.
fn money(arena: std.mem.Allocator, minor_units: u128, currency: []const u8) error{OutOfMemory}![]const u8 {
    return switch (decimals(currency)) {
        0 => warrant.print(arena, "{d} {s}", .{ minor_units, currency }),
        3 => warrant.print(arena, "{d}.{d:0>3} {s}", .{ minor_units / 1000, minor_units % 1000, currency }),
        else => warrant.print(arena, "{d}.{d:0>2} {s}", .{ minor_units / 100, minor_units % 100, currency }),
    };
}

/// The decimals of an ISO 4217 currency: 2 but for the few with none or
/// three.
fn decimals(currency: []const u8) u32 {
    const none = [_][]const u8{ "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF" };
    const three = [_][]const u8{ "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND" };
    for (none) |code| if (std.mem.eql(u8, code, currency)) return 0;
    for (three) |code| if (std.mem.eql(u8, code, currency)) return 3;
    return 2;
}

// The policy ------------------------------------------------------------------

fn evaluate(arena: std.mem.Allocator, context: *const c.policy_context_t, config_text: []const u8) error{OutOfMemory}!warrant.Answer {
    var reader: warrant.ConfigReader = .{ .arena = arena };
    readConfig(&reader, config_text) catch |failure| switch (failure) {
        error.InvalidConfig => return .{ .failure = warrant.invalidConfig(reader.problem) },
        error.OutOfMemory => return error.OutOfMemory,
    };

    const intent = &context.intent;
    if (!context.charge.is_some) {
        var decision = warrant.approve();
        const recurring = if (intent.recurring.is_some) @tagName(cadenceOf(intent.recurring.val.cadence)) else "no";
        warrant.addAnnotation(&decision, "recurring", recurring);
        return .{ .decision = decision };
    }
    const charge = &context.charge.val;
    if (!intent.recurring.is_some) {
        var decision = warrant.deny("the intent is not recurring, so no charge can be accepted against it");
        warrant.addCode(&decision, "not-recurring");
        return .{ .decision = decision };
    }
    const terms = intent.recurring.val;

    // The policy's time zone; an empty name (a 0.1.0 context) is UTC.
    const zone = warrant.slice(context.usage.timezone);
    if (zone.len > 0 and !std.mem.eql(u8, zone, "UTC")) {
        return .{ .failure = warrant.pluginError("unknown-timezone", try warrant.print(
            arena,
            "the policy's time zone `{s}` is not one this plugin knows: it computes dates in UTC only",
            .{zone},
        )) };
    }

    const cadence = cadenceOf(terms.cadence);
    const series = Series.init(cadence, dayOf(nanos(charge.series_start)));
    const before = @as(i128, terms.window_start_days_before) * day_ns;
    const after = @as(i128, terms.window_end_days_after) * day_ns;
    const at = dayOf(nanos(charge.at));

    var codes: std.ArrayList([]const u8) = .empty;
    var reasons: std.ArrayList([]const u8) = .empty;
    const period = series.windowContaining(at, before, after);
    if (period) |p| {
        const from, const to = .{ p.due - before, p.due + after };
        const previous: []const c.warrant_policy_types_timestamp_t = if (charge.previous.len == 0) &.{} else charge.previous.ptr[0..charge.previous.len];
        for (previous) |earlier| {
            const day = dayOf(nanos(earlier));
            if (from <= day and day <= to) {
                try codes.append(arena, "duplicate-charge");
                try reasons.append(arena, try warrant.print(arena, "a charge on {s} was already accepted for the payment due {s} (period {d})", .{
                    try formatDate(arena, day), try formatDate(arena, p.due), p.k,
                }));
                break;
            }
        }
    } else {
        try codes.append(arena, "outside-window");
        try reasons.append(arena, try warrant.print(
            arena,
            "the charge on {s} falls in no window of the {s} series; the nearest due date is {s}, and a charge may come from {s} before to {s} after a due date",
            .{
                try formatDate(arena, at),
                @tagName(cadence),
                try formatDate(arena, series.nearest(at)),
                try dayCount(arena, terms.window_start_days_before),
                try dayCount(arena, terms.window_end_days_after),
            },
        ));
    }

    const charged = charge.amount.minor_units;
    const charged_currency = warrant.slice(charge.amount.currency);
    if (!intent.amount.is_some) {
        try codes.append(arena, "no-amount");
        try reasons.append(arena, "the intent has no amount, so the charge's amount cannot be checked");
    } else if (!std.ascii.eqlIgnoreCase(warrant.slice(intent.amount.val.currency), charged_currency)) {
        try codes.append(arena, "currency-mismatch");
        try reasons.append(arena, try warrant.print(arena, "the charge is in {s} and the intent in {s}", .{
            charged_currency, warrant.slice(intent.amount.val.currency),
        }));
    } else {
        const expected: u128 = intent.amount.val.minor_units;
        const currency = warrant.slice(intent.amount.val.currency);
        const diff: u128 = if (charged > expected) charged - expected else expected - charged;
        const bps = terms.amount_tolerance_bps;
        if (diff * 10_000 > expected * bps) {
            try codes.append(arena, "amount-beyond-tolerance");
            try reasons.append(arena, try warrant.print(
                arena,
                "the charge of {s} differs from the expected {s} by {s}, more than the tolerance of {d}.{d:0>2}% ({s})",
                .{
                    try money(arena, charged, currency),
                    try money(arena, expected, currency),
                    try money(arena, diff, currency),
                    bps / 100,
                    bps % 100,
                    try money(arena, expected * bps / 10_000, currency),
                },
            ));
        }
    }

    if (terms.merchant_match) {
        const charged_by = warrant.trim(warrant.slice(charge.merchant));
        if (intent.merchant.is_some) {
            const merchant = warrant.trim(warrant.slice(intent.merchant.val));
            if (!std.mem.eql(u8, try lowercase(arena, merchant), try lowercase(arena, charged_by))) {
                try codes.append(arena, "merchant-mismatch");
                try reasons.append(arena, try warrant.print(arena, "the charge comes from `{s}`, not from the intent's merchant `{s}`", .{
                    charged_by, merchant,
                }));
            }
        } else {
            try codes.append(arena, "merchant-mismatch");
            try reasons.append(arena, try warrant.print(arena, "the charge comes from `{s}` and the intent names no merchant to match it with", .{charged_by}));
        }
    }

    var decision = if (codes.items.len == 0)
        warrant.approve()
    else
        warrant.deny(try std.mem.join(arena, "; ", reasons.items));
    for (codes.items) |code| warrant.addCode(&decision, code);
    if (period) |p| {
        warrant.addAnnotation(&decision, "period", try warrant.print(arena, "{d}", .{p.k}));
        warrant.addAnnotation(&decision, "dueDate", try formatDate(arena, p.due));
    }
    return .{ .decision = decision };
}

/// The configuration: an empty object.
fn readConfig(reader: *warrant.ConfigReader, text: []const u8) warrant.ConfigReader.Error!void {
    try reader.parse(text);
    try reader.checkFields(&.{});
}

comptime {
    warrant.exportPolicy(evaluate);
}

// Tests, run natively: `zig build test -Dplugin=recurring-match` --------------

const testing = std.testing;

/// An RFC 3339 instant in UTC, `2026-01-15T10:00:00Z` or with up to nine
/// digits of a second, as the contract's timestamp.
fn ts(text: []const u8) c.warrant_policy_types_timestamp_t {
    const number = struct {
        fn at(digits: []const u8) i64 {
            return std.fmt.parseInt(i64, digits, 10) catch unreachable;
        }
    }.at;
    const date_days = daysOfDate(number(text[0..4]), @intCast(number(text[5..7])), @intCast(number(text[8..10])));
    const seconds = date_days * 86_400 + number(text[11..13]) * 3600 + number(text[14..16]) * 60 + number(text[17..19]);
    var nanoseconds: u32 = 0;
    if (text[19] == '.') {
        const digits = text[20 .. text.len - 1];
        nanoseconds = @intCast(number(digits) * std.math.pow(i64, 10, @intCast(9 - digits.len)));
    }
    return .{ .seconds = seconds, .nanoseconds = nanoseconds };
}

const monthly = c.WARRANT_POLICY_TYPES_CADENCE_MONTHLY;
const monthly_start = "2026-01-15T10:00:00Z";

fn recurringTerms(cadence: c.warrant_policy_types_cadence_t, before: u32, after: u32) c.warrant_policy_types_recurring_terms_t {
    return .{
        .cadence = cadence,
        .window_start_days_before = before,
        .window_end_days_after = after,
        .amount_tolerance_bps = 1000,
        .merchant_match = true,
    };
}

/// A context checking a charge of 10.00 EUR from `hetzner.com` at `at`
/// against an intent for 10.00 EUR at `hetzner.com`, recurring with
/// `recurring` since `start`.
fn chargeContext(recurring: c.warrant_policy_types_recurring_terms_t, start: []const u8, at: []const u8) c.policy_context_t {
    var context = warrant.testing.context();
    context.intent.amount = warrant.testing.money(10_00, "EUR");
    context.intent.merchant = .{ .is_some = true, .val = warrant.borrow("hetzner.com") };
    context.intent.recurring = .{ .is_some = true, .val = recurring };
    context.charge = .{ .is_some = true, .val = .{
        .amount = .{ .minor_units = 10_00, .currency = warrant.borrow("EUR") },
        .merchant = warrant.borrow("hetzner.com"),
        .at = ts(at),
        .series_start = ts(start),
    } };
    return context;
}

fn answer(context: *const c.policy_context_t, config: []const u8) warrant.Answer {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    return warrant.testing.evaluate(evaluate, arena.allocator(), context, config);
}

fn decide(context: *const c.policy_context_t) c.policy_decision_t {
    return answer(context, "{}").decision;
}

fn expectAnnotation(decision: c.policy_decision_t, key: []const u8, expected: ?[]const u8) !void {
    const actual = warrant.annotationOf(decision, key);
    if (expected) |value| {
        try testing.expectEqualStrings(value, actual orelse return error.TestExpectedEqual);
    } else {
        try testing.expectEqual(null, actual);
    }
}

fn expectReason(decision: c.policy_decision_t, expected: []const u8) !void {
    try testing.expectEqualStrings(expected, warrant.reasonOf(decision) orelse "");
}

fn expectReasonContains(decision: c.policy_decision_t, part: []const u8) !void {
    const text = warrant.reasonOf(decision) orelse "";
    if (std.mem.indexOf(u8, text, part) == null) {
        std.debug.print("`{s}` is not in `{s}`\n", .{ part, text });
        return error.TestExpectedEqual;
    }
}

/// Expects the charge at `at` of a series with `recurring` since `start`
/// accepted for period `k`, due on `due`; or, when `due` is null, outside
/// every window.
fn expectPeriod(recurring: c.warrant_policy_types_recurring_terms_t, start: []const u8, at: []const u8, k: u64, due: ?[]const u8) !void {
    const context = chargeContext(recurring, start, at);
    const decision = decide(&context);
    errdefer std.debug.print("at {s}: {s}\n", .{ at, warrant.reasonOf(decision) orelse "approved" });
    if (due) |date| {
        try testing.expectEqual(.approve, warrant.verdictOf(decision));
        var buffer: [24]u8 = undefined;
        try expectAnnotation(decision, "period", try std.fmt.bufPrint(&buffer, "{d}", .{k}));
        try expectAnnotation(decision, "dueDate", date);
    } else {
        try warrant.testing.expectCodes(decision, &.{"outside-window"});
        try expectAnnotation(decision, "period", null);
    }
}

fn expectOutside(recurring: c.warrant_policy_types_recurring_terms_t, start: []const u8, at: []const u8) !void {
    try expectPeriod(recurring, start, at, 0, null);
}

test "approves the declaration of an intent" {
    var context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, monthly_start);
    context.charge.is_some = false;
    var decision = decide(&context);
    try testing.expectEqual(.approve, warrant.verdictOf(decision));
    try expectAnnotation(decision, "recurring", "monthly");
    context.intent.recurring.is_some = false;
    decision = decide(&context);
    try testing.expectEqual(.approve, warrant.verdictOf(decision));
    try expectAnnotation(decision, "recurring", "no");
    const Case = struct { cadence: c.warrant_policy_types_cadence_t, name: []const u8 };
    for ([_]Case{
        .{ .cadence = c.WARRANT_POLICY_TYPES_CADENCE_DAILY, .name = "daily" },
        .{ .cadence = c.WARRANT_POLICY_TYPES_CADENCE_WEEKLY, .name = "weekly" },
        .{ .cadence = c.WARRANT_POLICY_TYPES_CADENCE_YEARLY, .name = "yearly" },
    }) |case| {
        context.intent.recurring = .{ .is_some = true, .val = recurringTerms(case.cadence, 0, 0) };
        try expectAnnotation(decide(&context), "recurring", case.name);
    }
}

test "denies a charge against an intent that is not recurring" {
    var context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, monthly_start);
    context.intent.recurring.is_some = false;
    const decision = decide(&context);
    try testing.expectEqual(.deny, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{"not-recurring"});
    try expectReason(decision, "the intent is not recurring, so no charge can be accepted against it");
}

test "accepts a monthly charge on its due date" {
    const context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, "2026-03-15T10:00:00Z");
    const decision = decide(&context);
    try testing.expectEqual(.approve, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{});
    try expectAnnotation(decision, "period", "2");
    try expectAnnotation(decision, "dueDate", "2026-03-15");
    // The first charge, at the start of the series, is period 0.
    try expectPeriod(recurringTerms(monthly, 3, 5), monthly_start, monthly_start, 0, "2026-01-15");
}

test "the window includes both ends" {
    const t = recurringTerms(monthly, 3, 5);
    // Whole days: from the first instant of the 12th to the last of the
    // 20th, whatever the series' time of day.
    try expectPeriod(t, monthly_start, "2026-03-12T00:00:00Z", 2, "2026-03-15");
    try expectOutside(t, monthly_start, "2026-03-11T23:59:59.999999999Z");
    try expectPeriod(t, monthly_start, "2026-03-20T23:59:59.999999999Z", 2, "2026-03-15");
    try expectOutside(t, monthly_start, "2026-03-21T00:00:00Z");
}

test "dates are in UTC, the only time zone this port knows" {
    // Declared at 01:00 UTC on 5 December: due on the 5th of every month.
    const start = "2026-12-05T01:00:00Z";
    var context = chargeContext(recurringTerms(monthly, 0, 0), start, "2027-01-05T23:59:00Z");
    for ([_][]const u8{ "UTC", "" }) |zone| {
        context.usage.timezone = warrant.borrow(zone);
        try expectAnnotation(decide(&context), "dueDate", "2027-01-05");
    }
    context.charge.val.at = ts("2027-01-04T23:59:59Z");
    context.usage.timezone = warrant.borrow("UTC");
    try warrant.testing.expectCodes(decide(&context), &.{"outside-window"});
    // Any other zone is the plugin's error, never a date in the wrong zone.
    for ([_][]const u8{ "Europe/Berlin", "America/New_York", "utc", "Etc/UTC", "Mars/Olympus" }) |zone| {
        context.usage.timezone = warrant.borrow(zone);
        const failure = answer(&context, "{}").failure;
        try testing.expectEqualStrings("unknown-timezone", warrant.slice(failure.code));
    }
    context.usage.timezone = warrant.borrow("Europe/Berlin");
    try testing.expectEqualStrings(
        "the policy's time zone `Europe/Berlin` is not one this plugin knows: it computes dates in UTC only",
        warrant.slice(answer(&context, "{}").failure.message),
    );
    // Declaring an intent needs no dates.
    context.charge.is_some = false;
    try testing.expectEqual(.approve, warrant.verdictOf(decide(&context)));
}

test "denies a charge outside every window" {
    var context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, "2026-04-02T08:00:00Z");
    var decision = decide(&context);
    try testing.expectEqual(.deny, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{"outside-window"});
    try expectReason(decision, "the charge on 2026-04-02 falls in no window of the monthly series; the nearest due date is 2026-04-15, and a charge may come from 3 days before to 5 days after a due date");
    context = chargeContext(recurringTerms(monthly, 1, 1), monthly_start, "2026-03-20T08:00:00Z");
    decision = decide(&context);
    try expectReasonContains(decision, "the nearest due date is 2026-03-15, and a charge may come from 1 day before to 1 day after");
}

test "a charge before the first window is outside" {
    var t = recurringTerms(monthly, 3, 5);
    try expectPeriod(t, monthly_start, "2026-01-12T00:00:00Z", 0, "2026-01-15");
    try expectOutside(t, monthly_start, "2026-01-11T23:59:59Z");
    const context = chargeContext(t, monthly_start, "2025-06-01T00:00:00Z");
    const decision = decide(&context);
    try warrant.testing.expectCodes(decision, &.{"outside-window"});
    try expectReasonContains(decision, "the nearest due date is 2026-01-15");
    // Without a window before the due date, nothing before the start.
    t = recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_DAILY, 0, 0);
    try expectOutside(t, monthly_start, "2026-01-14T23:59:59Z");
    // But the whole first day.
    try expectPeriod(t, monthly_start, "2026-01-15T00:00:00Z", 0, "2026-01-15");
}

test "monthly due dates are clamped to the end of the month" {
    const start = "2026-01-31T10:00:00Z";
    const t = recurringTerms(monthly, 0, 0);
    try expectPeriod(t, start, "2026-02-28T10:00:00Z", 1, "2026-02-28");
    // Not the 28th of every later month: each period counts from the start.
    try expectOutside(t, start, "2026-03-28T10:00:00Z");
    try expectPeriod(t, start, "2026-03-31T10:00:00Z", 2, "2026-03-31");
    try expectPeriod(t, start, "2026-04-30T10:00:00Z", 3, "2026-04-30");
    try expectPeriod(t, start, "2027-02-28T10:00:00Z", 13, "2027-02-28");
    try expectPeriod(t, start, "2028-02-29T10:00:00Z", 25, "2028-02-29");
    // Any time of the due date; not the day after.
    try expectPeriod(t, start, "2026-02-28T23:59:59Z", 1, "2026-02-28");
    try expectOutside(t, start, "2026-03-01T00:00:00Z");
}

test "yearly due dates clamp the 29th of February" {
    const start = "2024-02-29T12:00:00Z";
    var t = recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_YEARLY, 0, 0);
    try expectPeriod(t, start, "2025-02-28T12:00:00Z", 1, "2025-02-28");
    try expectOutside(t, start, "2025-03-01T12:00:00Z");
    try expectPeriod(t, start, "2027-02-28T12:00:00Z", 3, "2027-02-28");
    try expectPeriod(t, start, "2028-02-29T12:00:00Z", 4, "2028-02-29");
    try expectOutside(t, start, "2028-02-28T12:00:00Z");
    t = recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_YEARLY, 10, 10);
    try expectPeriod(t, start, "2026-03-05T00:00:00Z", 2, "2026-02-28");
}

test "daily and weekly due dates" {
    const start = "2026-01-01T00:00:00Z";
    const daily = recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_DAILY, 0, 0);
    try expectPeriod(daily, start, "2026-01-11T00:00:00Z", 10, "2026-01-11");
    try expectPeriod(daily, start, "2026-01-11T23:00:00Z", 10, "2026-01-11");
    // On the 12th: in the windows of the 11th and the 12th, nearest the 12th.
    try expectPeriod(recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_DAILY, 0, 1), start, "2026-01-12T03:00:00Z", 11, "2026-01-12");
    const weekly = recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_WEEKLY, 1, 1);
    try expectPeriod(weekly, start, "2026-01-15T00:00:00Z", 2, "2026-01-15");
    try expectPeriod(weekly, start, "2026-01-16T00:00:00Z", 2, "2026-01-15");
    try expectOutside(weekly, start, "2026-01-17T00:00:00Z");
    try expectPeriod(weekly, start, "2026-01-21T00:00:00Z", 3, "2026-01-22");
}

test "a charge in overlapping windows belongs to the nearest due date" {
    const start = "2026-01-01T00:00:00Z";
    var t = recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_WEEKLY, 5, 5);
    // Day 3 is 3 days after due(0) and 4 before due(1).
    try expectPeriod(t, start, "2026-01-04T00:00:00Z", 0, "2026-01-01");
    try expectPeriod(t, start, "2026-01-05T00:00:00Z", 1, "2026-01-08");
    // Any time of the 4th is its day: 3 days after due(0).
    try expectPeriod(t, start, "2026-01-04T23:00:00Z", 0, "2026-01-01");
    // Windows much longer than the period: the due date is the day.
    t = recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_DAILY, 400, 400);
    try expectPeriod(t, start, "2026-01-04T13:00:00Z", 3, "2026-01-04");
    try expectPeriod(t, start, "2025-01-01T00:00:00Z", 0, "2026-01-01");
    // Halfway between two due dates: the earlier one.
    t = recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_WEEKLY, 4, 4);
    try expectPeriod(t, start, "2026-01-04T12:00:00Z", 0, "2026-01-01");
}

test "a charge belongs to the window that holds it, not the nearest due date" {
    // Charges come up to 20 days late, never early: on 20 January the
    // nearest due date is 1 February, but only January's window holds it.
    const start = "2026-01-01T00:00:00Z";
    var t = recurringTerms(monthly, 0, 20);
    try expectPeriod(t, start, "2026-01-20T00:00:00Z", 0, "2026-01-01");
    try expectOutside(t, start, "2026-01-25T00:00:00Z");
    const context = chargeContext(t, start, "2026-01-25T00:00:00Z");
    try expectReasonContains(decide(&context), "the nearest due date is 2026-02-01");
    // And charges up to 20 days early.
    t = recurringTerms(monthly, 20, 0);
    try expectPeriod(t, start, "2026-01-12T00:00:00Z", 1, "2026-02-01");
    try expectOutside(t, start, "2026-01-05T00:00:00Z");
}

test "flags a second charge in the same window" {
    var context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, "2026-03-16T10:00:00Z");
    var previous = [_]c.warrant_policy_types_timestamp_t{ ts("2026-01-15T10:00:00Z"), ts("2026-02-15T10:00:00Z"), ts("2026-03-13T08:00:00Z") };
    context.charge.val.previous = .{ .ptr = &previous, .len = previous.len };
    var decision = decide(&context);
    try testing.expectEqual(.deny, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{"duplicate-charge"});
    try expectReason(decision, "a charge on 2026-03-13 was already accepted for the payment due 2026-03-15 (period 2)");
    try expectAnnotation(decision, "period", "2");
    try expectAnnotation(decision, "dueDate", "2026-03-15");

    // Earlier charges in other windows are no duplicates, nor are those
    // just outside this one.
    previous = .{ ts("2026-02-15T10:00:00Z"), ts("2026-03-11T23:59:59Z"), ts("2026-03-21T00:00:00Z") };
    decision = decide(&context);
    try testing.expectEqual(.approve, warrant.verdictOf(decision));
    // The same instant is a duplicate.
    var same = [_]c.warrant_policy_types_timestamp_t{ts("2026-03-16T10:00:00Z")};
    context.charge.val.previous = .{ .ptr = &same, .len = same.len };
    try warrant.testing.expectCodes(decide(&context), &.{"duplicate-charge"});
}

fn decideCharged(cents: u64, bps: u32) c.policy_decision_t {
    var t = recurringTerms(monthly, 3, 5);
    t.amount_tolerance_bps = bps;
    var context = chargeContext(t, monthly_start, monthly_start);
    context.charge.val.amount.minor_units = cents;
    return decide(&context);
}

test "checks the amount within the tolerance" {
    // 10 % of 10.00 EUR.
    for ([_]u64{ 9_00, 10_00, 11_00 }) |cents| {
        try testing.expectEqual(.approve, warrant.verdictOf(decideCharged(cents, 1000)));
    }
    for ([_]u64{ 8_99, 11_01, 0, std.math.maxInt(u64) }) |cents| {
        const decision = decideCharged(cents, 1000);
        try testing.expectEqual(.deny, warrant.verdictOf(decision));
        try warrant.testing.expectCodes(decision, &.{"amount-beyond-tolerance"});
    }
    try expectReason(decideCharged(12_50, 1000), "the charge of 12.50 EUR differs from the expected 10.00 EUR by 2.50 EUR, more than the tolerance of 10.00% (1.00 EUR)");
    // No tolerance: the exact amount only.
    try testing.expectEqual(.approve, warrant.verdictOf(decideCharged(10_00, 0)));
    try warrant.testing.expectCodes(decideCharged(10_01, 0), &.{"amount-beyond-tolerance"});
    try warrant.testing.expectCodes(decideCharged(9_99, 0), &.{"amount-beyond-tolerance"});
    // 0.25 %: 2.5 cents of 10.00 EUR.
    try testing.expectEqual(.approve, warrant.verdictOf(decideCharged(10_02, 25)));
    try testing.expectEqual(.deny, warrant.verdictOf(decideCharged(10_03, 25)));
    try expectReasonContains(decideCharged(10_03, 25), "tolerance of 0.25% (0.02 EUR)");
}

test "amounts in currencies without cents or with three decimals" {
    var context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, monthly_start);
    context.intent.amount = warrant.testing.money(4500, "JPY");
    context.charge.val.amount = .{ .minor_units = 5000, .currency = warrant.borrow("jpy") };
    try expectReason(decide(&context), "the charge of 5000 JPY differs from the expected 4500 JPY by 500 JPY, more than the tolerance of 10.00% (450 JPY)");
    context.intent.amount = warrant.testing.money(1500, "KWD");
    context.charge.val.amount = .{ .minor_units = 1000, .currency = warrant.borrow("KWD") };
    try expectReason(decide(&context), "the charge of 1.000 KWD differs from the expected 1.500 KWD by 0.500 KWD, more than the tolerance of 10.00% (0.150 KWD)");
}

test "checks amounts at the edge of u64" {
    var t = recurringTerms(monthly, 3, 5);
    t.amount_tolerance_bps = std.math.maxInt(u32);
    var context = chargeContext(t, monthly_start, monthly_start);
    context.intent.amount = warrant.testing.money(std.math.maxInt(u64), "EUR");
    context.charge.val.amount.minor_units = 0;
    try testing.expectEqual(.approve, warrant.verdictOf(decide(&context)));
    context.intent.recurring.val.amount_tolerance_bps = 9_999;
    try warrant.testing.expectCodes(decide(&context), &.{"amount-beyond-tolerance"});
    // An expected amount of zero tolerates nothing but zero.
    context.intent.amount = warrant.testing.money(0, "EUR");
    context.intent.recurring.val.amount_tolerance_bps = std.math.maxInt(u32);
    try testing.expectEqual(.approve, warrant.verdictOf(decide(&context)));
    context.charge.val.amount.minor_units = 1;
    try warrant.testing.expectCodes(decide(&context), &.{"amount-beyond-tolerance"});
}

test "flags a missing amount or another currency" {
    var context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, monthly_start);
    context.intent.amount.is_some = false;
    var decision = decide(&context);
    try testing.expectEqual(.deny, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{"no-amount"});
    try expectReason(decision, "the intent has no amount, so the charge's amount cannot be checked");
    try expectAnnotation(decision, "period", "0");

    context.intent.amount = warrant.testing.money(10_00, "USD");
    decision = decide(&context);
    try warrant.testing.expectCodes(decision, &.{"currency-mismatch"});
    try expectReason(decision, "the charge is in EUR and the intent in USD");
}

test "checks the merchant when the terms ask for it" {
    var context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, monthly_start);
    context.charge.val.merchant = warrant.borrow("Hetzner.COM");
    try testing.expectEqual(.approve, warrant.verdictOf(decide(&context)));
    // Trimmed, and lower case beyond ASCII.
    context.intent.merchant.val = warrant.borrow("\u{2003}Bücher.example ");
    context.charge.val.merchant = warrant.borrow("BÜCHER.EXAMPLE\t");
    try testing.expectEqual(.approve, warrant.verdictOf(decide(&context)));
    context.intent.merchant.val = warrant.borrow("hetzner.com");

    context.charge.val.merchant = warrant.borrow("evilhetzner.com");
    var decision = decide(&context);
    try testing.expectEqual(.deny, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{"merchant-mismatch"});
    try expectReason(decision, "the charge comes from `evilhetzner.com`, not from the intent's merchant `hetzner.com`");

    context.intent.merchant.is_some = false;
    decision = decide(&context);
    try warrant.testing.expectCodes(decision, &.{"merchant-mismatch"});
    try expectReason(decision, "the charge comes from `evilhetzner.com` and the intent names no merchant to match it with");

    // Terms that do not ask for the merchant accept any.
    context.intent.recurring.val.merchant_match = false;
    try testing.expectEqual(.approve, warrant.verdictOf(decide(&context)));
}

test "lowercases as Rust does" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    const Case = struct { []const u8, []const u8 };
    for ([_]Case{
        .{ "HETZNER.com", "hetzner.com" },
        .{ "ÀÉÎÕÜ ÆØÅ Þ", "àéîõü æøå þ" },
        .{ "ĀĂĄ ŁŃ Ÿ", "āăą łń ÿ" },
        .{ "ΑΒΓ ΣΣ", "αβγ σσ" },
        .{ "ДОБРЫЙ", "добрый" },
        .{ "İstanbul", "i\u{307}stanbul" },
        .{ "ǅ Ω K Å", "ǆ ω k å" },
        .{ "ẞ", "ß" },
        .{ "𐐀𞤀", "𐐨𞤢" },
        .{ "ß ﬀ 日本 ς", "ß ﬀ 日本 ς" },
    }) |case| {
        try testing.expectEqualStrings(case[1], try lowercase(arena.allocator(), case[0]));
    }
}

test "names every problem in order" {
    var context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, "2026-03-01T00:00:00Z");
    context.intent.amount = warrant.testing.money(10_00, "USD");
    context.charge.val.merchant = warrant.borrow("other.example");
    const decision = decide(&context);
    try warrant.testing.expectCodes(decision, &.{ "outside-window", "currency-mismatch", "merchant-mismatch" });
    try testing.expectEqual(3, std.mem.count(u8, warrant.reasonOf(decision).?, "; "));
    try expectAnnotation(decision, "period", null);

    context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, "2026-03-15T10:00:00Z");
    context.intent.amount.is_some = false;
    context.intent.merchant.is_some = false;
    var previous = [_]c.warrant_policy_types_timestamp_t{ts("2026-03-14T10:00:00Z")};
    context.charge.val.previous = .{ .ptr = &previous, .len = previous.len };
    try warrant.testing.expectCodes(decide(&context), &.{ "duplicate-charge", "no-amount", "merchant-mismatch" });

    context.intent.amount = warrant.testing.money(20_00, "EUR");
    try warrant.testing.expectCodes(decide(&context), &.{ "duplicate-charge", "amount-beyond-tolerance", "merchant-mismatch" });
}

test "far dates are found quickly" {
    try expectPeriod(recurringTerms(monthly, 3, 5), monthly_start, "9999-11-15T10:00:00Z", 95_686, "9999-11-15");
    const daily = recurringTerms(c.WARRANT_POLICY_TYPES_CADENCE_DAILY, 0, 0);
    try expectPeriod(daily, monthly_start, "9999-12-30T10:00:00Z", 2_912_427, "9999-12-30");
    // The calendar's last day, 9999-12-31, is past its last instant.
    try expectOutside(daily, monthly_start, "9999-12-30T23:00:00Z");
    // Beyond the calendar, for every cadence, at both ends of time.
    for ([_]c.warrant_policy_types_cadence_t{
        c.WARRANT_POLICY_TYPES_CADENCE_DAILY,
        c.WARRANT_POLICY_TYPES_CADENCE_WEEKLY,
        monthly,
        c.WARRANT_POLICY_TYPES_CADENCE_YEARLY,
    }) |cadence| {
        for ([_]c.warrant_policy_types_timestamp_t{
            .{ .seconds = std.math.maxInt(i64), .nanoseconds = 999_999_999 },
            .{ .seconds = std.math.minInt(i64), .nanoseconds = 0 },
        }) |at| {
            var context = chargeContext(recurringTerms(cadence, 3, 5), monthly_start, monthly_start);
            context.charge.val.at = at;
            try warrant.testing.expectCodes(decide(&context), &.{"outside-window"});
        }
    }
    var context = chargeContext(daily, monthly_start, monthly_start);
    context.charge.val.at.seconds = std.math.maxInt(i64);
    try expectReasonContains(decide(&context), "the charge on a date after the year 9999");
    context.charge.val.at.seconds = std.math.minInt(i64);
    try expectReasonContains(decide(&context), "the charge on a date before the year -9999 falls in no window of the daily series; the nearest due date is 2026-01-15,");
    // A series started beyond the calendar has only its first due date.
    context = chargeContext(recurringTerms(monthly, 0, 0), monthly_start, monthly_start);
    context.charge.val.series_start.seconds = @divTrunc(std.math.maxInt(i64), 2);
    context.charge.val.at.seconds = @divTrunc(std.math.maxInt(i64), 2);
    try expectAnnotation(decide(&context), "period", "0");
    context.charge.val.at.seconds += 86_400 * 31;
    try warrant.testing.expectCodes(decide(&context), &.{"outside-window"});
}

test "dates at the start of the calendar" {
    // Jiff writes years before 0 with a sign and six digits.
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    try testing.expectEqualStrings("-009999-01-02", try formatDate(arena.allocator(), min_ns));
    try testing.expectEqualStrings("0000-03-01", try formatDate(arena.allocator(), @as(i128, daysOfDate(0, 3, 1)) * day_ns));
    try testing.expectEqualStrings("9999-12-30", try formatDate(arena.allocator(), max_ns));
    // The first day of the calendar has no midnight on it: its instants
    // stay as they are, and a monthly series started then keeps its time.
    try testing.expectEqual(min_ns + 5, dayOf(min_ns + 5));
    const series = Series.init(.monthly, min_ns);
    try testing.expectEqual(min_ns + 31 * day_ns, series.due(1).?);
    try testing.expectEqual(@as(?u64, 1), series.lastDueBy(min_ns + 40 * day_ns));
}

test "refuses invalid configurations" {
    const context = chargeContext(recurringTerms(monthly, 3, 5), monthly_start, monthly_start);
    try testing.expectEqual(.approve, warrant.verdictOf(answer(&context, " {} ").decision));
    for ([_][]const u8{ "{\"strict\": true}", "{\"cadence\": \"monthly\"}", "[]", "null", "1", "\"{}\"", "{} {}", "not json" }) |config| {
        try testing.expectEqualStrings("invalid-config", warrant.slice(answer(&context, config).failure.code));
    }
}
