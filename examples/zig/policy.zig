//! Warrant's reference policy in Zig, the same in every language of examples/.
//!
//! Configuration: `{"maxAmountEuros": n, "reviewAboveEuros": n?, "allow": [merchant, …]?}`.
//!
//! Findings, checked in this order:
//! - no amount: review, `no-amount`;
//! - an amount in another currency than EUR: review, `currency-mismatch`;
//! - an amount over `maxAmountEuros`: deny, `amount-over-max`;
//! - an amount over `reviewAboveEuros`: review, `amount-over-review-threshold`;
//! - with a non-empty `allow`: no merchant: review, `no-merchant`; a
//!   merchant not in it (exact, ignoring ASCII letter case): deny,
//!   `merchant-not-allowed`.
//!
//! Any deny finding denies, with the codes of the deny findings; else any
//! review finding reviews, with the codes of the review findings; else the
//! intent is approved. Every answer carries the annotation `maxAmount`
//! (`100.00 EUR`). An invalid configuration is the plugin's own error
//! (`invalid-config`), never an approval.

const std = @import("std");
const warrant = @import("warrant");
const c = warrant.c;

/// A safety check that fails traps rather than printing a message, which
/// would need WASI's stderr; the host treats a trap as a failure and never
/// approves.
pub const panic = std.debug.no_panic;

/// The rule's configuration; amounts in cents.
const Config = struct {
    max_amount: u64,
    review_above: ?u64,
    allow: []const []const u8,
};

fn readConfig(reader: *warrant.ConfigReader, text: []const u8) warrant.ConfigReader.Error!Config {
    try reader.parse(text);
    try reader.checkFields(&.{ "maxAmountEuros", "reviewAboveEuros", "allow" });
    const config: Config = .{
        .max_amount = try reader.amount("maxAmountEuros", 2),
        .review_above = try reader.optionalAmount("reviewAboveEuros", 2),
        .allow = try reader.strings("allow"),
    };
    if (config.review_above) |threshold| {
        if (threshold > config.max_amount) return reader.fail("`reviewAboveEuros` is above `maxAmountEuros`", .{});
    }
    for (config.allow) |merchant| {
        if (warrant.isBlank(merchant)) return reader.fail("`allow` must list merchants, not empty strings", .{});
    }
    return config;
}

/// A reason code and the text people read.
const Finding = struct { code: []const u8, reason: []const u8 };

fn decide(arena: std.mem.Allocator, config: Config, intent: *const c.warrant_policy_types_intent_t) !c.policy_decision_t {
    var denies: std.ArrayList(Finding) = .empty;
    var reviews: std.ArrayList(Finding) = .empty;

    if (!intent.amount.is_some) {
        try reviews.append(arena, .{ .code = "no-amount", .reason = "the intent has no amount" });
    } else {
        const amount = intent.amount.val;
        const currency = warrant.slice(amount.currency);
        if (!std.mem.eql(u8, currency, "EUR")) {
            try reviews.append(arena, .{
                .code = "currency-mismatch",
                .reason = try warrant.print(arena, "the limits are in EUR, the intent in {s}", .{currency}),
            });
        } else if (amount.minor_units > config.max_amount) {
            try denies.append(arena, .{
                .code = "amount-over-max",
                .reason = try warrant.print(arena, "{f} is over the limit of {f}", .{
                    warrant.euros(amount.minor_units), warrant.euros(config.max_amount),
                }),
            });
        } else if (config.review_above) |threshold| {
            if (amount.minor_units > threshold) {
                try reviews.append(arena, .{
                    .code = "amount-over-review-threshold",
                    .reason = try warrant.print(arena, "{f} is above the review threshold of {f}", .{
                        warrant.euros(amount.minor_units), warrant.euros(threshold),
                    }),
                });
            }
        }
    }

    if (config.allow.len > 0) {
        if (!intent.merchant.is_some) {
            try reviews.append(arena, .{ .code = "no-merchant", .reason = "the intent names no merchant" });
        } else {
            const merchant = warrant.slice(intent.merchant.val);
            const allowed = for (config.allow) |candidate| {
                if (std.ascii.eqlIgnoreCase(candidate, merchant)) break true;
            } else false;
            if (!allowed) {
                try denies.append(arena, .{
                    .code = "merchant-not-allowed",
                    .reason = try warrant.print(arena, "`{s}` is not an allowed merchant", .{merchant}),
                });
            }
        }
    }

    var decision = if (denies.items.len > 0)
        warrant.deny(denies.items[0].reason)
    else if (reviews.items.len > 0)
        warrant.review(reviews.items[0].reason)
    else
        warrant.approve();
    const findings = if (denies.items.len > 0) denies.items else reviews.items;
    for (findings) |finding| warrant.addCode(&decision, finding.code);
    warrant.addAnnotation(&decision, "maxAmount", try warrant.print(arena, "{f}", .{warrant.euros(config.max_amount)}));
    return decision;
}

/// The policy: the configuration read first, an invalid one the plugin's
/// own error.
fn evaluate(arena: std.mem.Allocator, context: *const c.policy_context_t, config_text: []const u8) error{OutOfMemory}!warrant.Answer {
    var reader: warrant.ConfigReader = .{ .arena = arena };
    const config = readConfig(&reader, config_text) catch |failure| switch (failure) {
        error.InvalidConfig => return .{ .failure = warrant.invalidConfig(reader.problem) },
        error.OutOfMemory => return error.OutOfMemory,
    };
    return .{ .decision = try decide(arena, config, &context.intent) };
}

comptime {
    warrant.exportPolicy(evaluate);
}

// Tests, run natively: `zig build test` ---------------------------------------

const testing = std.testing;
const test_config = "{\"maxAmountEuros\": 100, \"reviewAboveEuros\": 50, \"allow\": [\"hetzner.com\"]}";

/// The answer to an intent for `cents` at `merchant`.
fn answer(cents: ?u64, merchant: ?[]const u8, config_text: []const u8) warrant.Answer {
    var context = warrant.testing.context();
    if (cents) |amount| context.intent.amount = warrant.testing.money(amount, "EUR");
    if (merchant) |name| context.intent.merchant = .{ .is_some = true, .val = warrant.borrow(name) };
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    return warrant.testing.evaluate(evaluate, arena.allocator(), &context, config_text);
}

test "approves an allowed merchant under the threshold" {
    const decision = answer(45_00, "HETZNER.com", test_config).decision;
    try testing.expectEqual(.approve, warrant.verdictOf(decision));
    try testing.expectEqualStrings("100.00 EUR", warrant.annotationOf(decision, "maxAmount").?);
}

test "a deny outranks a review" {
    const decision = answer(150_00, null, test_config).decision;
    try testing.expectEqual(.deny, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{"amount-over-max"});
    try testing.expectEqualStrings("150.00 EUR is over the limit of 100.00 EUR", warrant.reasonOf(decision).?);
    try warrant.testing.expectCodes(answer(75_00, null, test_config).decision, &.{ "amount-over-review-threshold", "no-merchant" });
}

test "an invalid configuration is the plugin's own error" {
    const failure = answer(45_00, "hetzner.com", "{\"maxAmountEuros\": \"100\"}").failure;
    try testing.expectEqualStrings("invalid-config", warrant.slice(failure.code));
    try testing.expectEqualStrings("`maxAmountEuros` must be a number", warrant.slice(failure.message));
}
