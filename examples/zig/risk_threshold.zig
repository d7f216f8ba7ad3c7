//! `risk-threshold` in Zig, a port of Warrant's built-in plugin
//! (plugins/risk-threshold): approves, reviews or denies an intent by the
//! risk score of the policy's risk plugins.
//!
//! Configuration: `{"autoApproveBelow": 30, "maxRiskThreshold": 80}`. Both
//! are scores from 0 to 100 and optional; each one left out defaults by the
//! agent's type:
//!
//! | agent type   | `autoApproveBelow` | `maxRiskThreshold` |
//! |--------------|--------------------|--------------------|
//! | `supervised` | 30                 | 80                 |
//! | `autonomous` | 20                 | 60                 |
//! | `advisory`   | 50                 | 90                 |
//! | `mcp-server` | 30                 | 80                 |
//!
//! `autoApproveBelow` above `maxRiskThreshold` (after the defaults) is an
//! invalid configuration.
//!
//! - no risk score (the policy has no risk plugins): review (`no-risk-score`);
//! - a score below `autoApproveBelow`: approve;
//! - a score above `maxRiskThreshold`: deny (`risk-above-max`);
//! - otherwise review (`risk-needs-review`).
//!
//! Reasons name the score, the thresholds and the strongest risk signals.
//! Decisions are annotated with `score`, `autoApproveBelow`,
//! `maxRiskThreshold` and `agentType`.

const std = @import("std");
const warrant = @import("warrant");
const c = warrant.c;

/// A safety check that fails traps rather than printing a message, which
/// would need WASI's stderr; the host treats a trap as a failure and never
/// approves.
pub const panic = std.debug.no_panic;

/// How many signals a reason names at most.
const top_signals = 3;

/// The thresholds of an agent type.
const Thresholds = struct { approve_below: u64, max: u64 };

fn defaults(agent_type: c.warrant_policy_types_agent_type_t) Thresholds {
    return switch (agent_type) {
        c.WARRANT_POLICY_TYPES_AGENT_TYPE_AUTONOMOUS => .{ .approve_below = 20, .max = 60 },
        c.WARRANT_POLICY_TYPES_AGENT_TYPE_ADVISORY => .{ .approve_below = 50, .max = 90 },
        // Supervised, and an MCP server.
        else => .{ .approve_below = 30, .max = 80 },
    };
}

fn typeName(agent_type: c.warrant_policy_types_agent_type_t) []const u8 {
    return switch (agent_type) {
        c.WARRANT_POLICY_TYPES_AGENT_TYPE_AUTONOMOUS => "autonomous",
        c.WARRANT_POLICY_TYPES_AGENT_TYPE_ADVISORY => "advisory",
        c.WARRANT_POLICY_TYPES_AGENT_TYPE_MCP_SERVER => "mcp-server",
        else => "supervised",
    };
}

/// The optional score field `name`, from 0 to 100.
fn score(reader: *warrant.ConfigReader, name: []const u8) warrant.ConfigReader.Error!?u64 {
    const value = try reader.optionalInteger(name, std.math.maxInt(u32)) orelse return null;
    if (value > 100) return reader.fail("`{s}` must be a score from 0 to 100, not {d}", .{ name, value });
    return value;
}

fn readThresholds(reader: *warrant.ConfigReader, text: []const u8, agent_type: c.warrant_policy_types_agent_type_t) warrant.ConfigReader.Error!Thresholds {
    try reader.parse(text);
    try reader.checkFields(&.{ "autoApproveBelow", "maxRiskThreshold" });
    const default = defaults(agent_type);
    const thresholds: Thresholds = .{
        .approve_below = try score(reader, "autoApproveBelow") orelse default.approve_below,
        .max = try score(reader, "maxRiskThreshold") orelse default.max,
    };
    if (thresholds.approve_below > thresholds.max) {
        return reader.fail("`autoApproveBelow` ({d}) is above `maxRiskThreshold` ({d}) for an agent of type {s}", .{
            thresholds.approve_below, thresholds.max, typeName(agent_type),
        });
    }
    return thresholds;
}

/// `; strongest signals: a (60), b (30)`, the names of the highest-scoring
/// signals, each once; empty when no signal scores above 0.
fn strongestSignals(arena: std.mem.Allocator, risk: c.warrant_policy_types_risk_summary_t) error{OutOfMemory}![]const u8 {
    const signals: []const c.warrant_policy_types_signal_t = if (risk.signals.len == 0) &.{} else risk.signals.ptr[0..risk.signals.len];
    var ranked: std.ArrayList(c.warrant_policy_types_signal_t) = .empty;
    for (signals) |signal| {
        if (signal.score > 0) try ranked.append(arena, signal);
    }
    // Stable: among equal scores, the policy's order.
    std.sort.insertion(c.warrant_policy_types_signal_t, ranked.items, {}, struct {
        fn higher(_: void, a: c.warrant_policy_types_signal_t, b: c.warrant_policy_types_signal_t) bool {
            return a.score > b.score;
        }
    }.higher);
    var named: std.ArrayList(c.warrant_policy_types_signal_t) = .empty;
    for (ranked.items) |signal| {
        if (named.items.len == top_signals) break;
        const seen = for (named.items) |other| {
            if (std.mem.eql(u8, warrant.slice(other.name), warrant.slice(signal.name))) break true;
        } else false;
        if (!seen) try named.append(arena, signal);
    }
    if (named.items.len == 0) return "";
    var text: std.ArrayList(u8) = .empty;
    try text.appendSlice(arena, if (named.items.len == 1) "; strongest signal: " else "; strongest signals: ");
    for (named.items, 0..) |signal, i| {
        if (i > 0) try text.appendSlice(arena, ", ");
        try text.appendSlice(arena, try warrant.print(arena, "{s} ({d})", .{ warrant.slice(signal.name), signal.score }));
    }
    return text.items;
}

fn evaluate(arena: std.mem.Allocator, context: *const c.policy_context_t, config_text: []const u8) error{OutOfMemory}!warrant.Answer {
    const agent_type = context.agent.agent_type;
    var reader: warrant.ConfigReader = .{ .arena = arena };
    const thresholds = readThresholds(&reader, config_text, agent_type) catch |failure| switch (failure) {
        error.InvalidConfig => return .{ .failure = warrant.invalidConfig(reader.problem) },
        error.OutOfMemory => return error.OutOfMemory,
    };

    var decision = decision: {
        if (!context.risk.is_some) {
            var decision = warrant.review("the policy has no risk score, so the risk threshold cannot be checked");
            warrant.addCode(&decision, "no-risk-score");
            break :decision decision;
        }
        const risk = context.risk.val;
        const signals = try strongestSignals(arena, risk);
        var decision = if (risk.score < thresholds.approve_below)
            warrant.approve()
        else if (risk.score > thresholds.max) denied: {
            var decision = warrant.deny(try warrant.print(arena, "the risk score {d} is above the maximum of {d}{s}", .{
                risk.score, thresholds.max, signals,
            }));
            warrant.addCode(&decision, "risk-above-max");
            break :denied decision;
        } else reviewed: {
            var decision = warrant.review(try warrant.print(
                arena,
                "the risk score {d} is between the auto-approval threshold of {d} and the maximum of {d}{s}",
                .{ risk.score, thresholds.approve_below, thresholds.max, signals },
            ));
            warrant.addCode(&decision, "risk-needs-review");
            break :reviewed decision;
        };
        warrant.addAnnotation(&decision, "score", try warrant.print(arena, "{d}", .{risk.score}));
        break :decision decision;
    };
    warrant.addAnnotation(&decision, "autoApproveBelow", try warrant.print(arena, "{d}", .{thresholds.approve_below}));
    warrant.addAnnotation(&decision, "maxRiskThreshold", try warrant.print(arena, "{d}", .{thresholds.max}));
    warrant.addAnnotation(&decision, "agentType", typeName(agent_type));
    return .{ .decision = decision };
}

comptime {
    warrant.exportPolicy(evaluate);
}

// Tests, run natively: `zig build test -Dplugin=risk-threshold` ---------------

const testing = std.testing;

fn testSignal(name: []const u8, value: u8) c.warrant_policy_types_signal_t {
    return .{ .name = warrant.borrow(name), .score = value, .detail = warrant.borrow("detail") };
}

fn answerAs(agent_type: c.warrant_policy_types_agent_type_t, risk_score: ?u8, signals: []const c.warrant_policy_types_signal_t, config: []const u8) warrant.Answer {
    var context = warrant.testing.context();
    context.agent.agent_type = agent_type;
    if (risk_score) |value| {
        context.risk = .{ .is_some = true, .val = .{ .score = value, .signals = .{ .ptr = @constCast(signals.ptr), .len = signals.len } } };
    }
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    return warrant.testing.evaluate(evaluate, arena.allocator(), &context, config);
}

fn decideAs(agent_type: c.warrant_policy_types_agent_type_t, risk_score: ?u8, signals: []const c.warrant_policy_types_signal_t, config: []const u8) !c.policy_decision_t {
    return switch (answerAs(agent_type, risk_score, signals, config)) {
        .decision => |decision| decision,
        .failure => |failure| {
            std.debug.print("{s}: {s}\n", .{ config, warrant.slice(failure.message) });
            return error.TestUnexpectedError;
        },
    };
}

const supervised = c.WARRANT_POLICY_TYPES_AGENT_TYPE_SUPERVISED;
const explicit = "{\"autoApproveBelow\": 30, \"maxRiskThreshold\": 70}";

fn decide(risk_score: u8, config: []const u8) !c.policy_decision_t {
    return decideAs(supervised, risk_score, &.{}, config);
}

fn expectAnnotation(decision: c.policy_decision_t, key: []const u8, expected: ?[]const u8) !void {
    const actual = warrant.annotationOf(decision, key);
    if (expected) |value| {
        try testing.expectEqualStrings(value, actual orelse return error.TestExpectedEqual);
    } else {
        try testing.expectEqual(null, actual);
    }
}

test "approves a score below the auto-approval threshold" {
    const decision = try decide(29, explicit);
    try testing.expectEqual(.approve, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{});
    try expectAnnotation(decision, "score", "29");
    try expectAnnotation(decision, "autoApproveBelow", "30");
    try expectAnnotation(decision, "maxRiskThreshold", "70");
    try expectAnnotation(decision, "agentType", "supervised");
    try testing.expectEqual(.approve, warrant.verdictOf(try decide(0, explicit)));
}

test "reviews a score between the thresholds, both included" {
    for ([_]u8{ 30, 50, 70 }) |value| {
        const decision = try decide(value, explicit);
        try testing.expectEqual(.review, warrant.verdictOf(decision));
        try warrant.testing.expectCodes(decision, &.{"risk-needs-review"});
    }
    try testing.expectEqualStrings(
        "the risk score 30 is between the auto-approval threshold of 30 and the maximum of 70",
        warrant.reasonOf(try decide(30, explicit)).?,
    );
}

test "denies a score above the maximum" {
    const decision = try decide(71, explicit);
    try testing.expectEqual(.deny, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{"risk-above-max"});
    try testing.expectEqualStrings("the risk score 71 is above the maximum of 70", warrant.reasonOf(decision).?);
    try expectAnnotation(decision, "score", "71");
    try testing.expectEqual(.deny, warrant.verdictOf(try decide(100, explicit)));
}

test "reasons name the strongest signals" {
    const signals = [_]c.warrant_policy_types_signal_t{
        testSignal("unusual-hour", 25),
        testSignal("quiet", 0),
        testSignal("burst", 50),
        testSignal("new-merchant", 30),
        testSignal("amount-deviation", 45),
        testSignal("burst", 40),
    };
    try testing.expectEqualStrings(
        "the risk score 90 is above the maximum of 70; strongest signals: burst (50), amount-deviation (45), new-merchant (30)",
        warrant.reasonOf(try decideAs(supervised, 90, &signals, explicit)).?,
    );
    const one = [_]c.warrant_policy_types_signal_t{ testSignal("new-merchant", 30), testSignal("quiet", 0) };
    try testing.expectEqualStrings(
        "the risk score 40 is between the auto-approval threshold of 30 and the maximum of 70; strongest signal: new-merchant (30)",
        warrant.reasonOf(try decideAs(supervised, 40, &one, explicit)).?,
    );
    // Equal scores keep the policy's order.
    const tied = [_]c.warrant_policy_types_signal_t{ testSignal("b", 10), testSignal("a", 10), testSignal("c", 20) };
    try testing.expectEqualStrings(
        "the risk score 90 is above the maximum of 70; strongest signals: c (20), b (10), a (10)",
        warrant.reasonOf(try decideAs(supervised, 90, &tied, explicit)).?,
    );
}

test "defaults the thresholds by agent type" {
    const Case = struct { agent_type: c.warrant_policy_types_agent_type_t, name: []const u8, approve_below: u8, max: u8 };
    const cases = [_]Case{
        .{ .agent_type = supervised, .name = "supervised", .approve_below = 30, .max = 80 },
        .{ .agent_type = c.WARRANT_POLICY_TYPES_AGENT_TYPE_AUTONOMOUS, .name = "autonomous", .approve_below = 20, .max = 60 },
        .{ .agent_type = c.WARRANT_POLICY_TYPES_AGENT_TYPE_ADVISORY, .name = "advisory", .approve_below = 50, .max = 90 },
        .{ .agent_type = c.WARRANT_POLICY_TYPES_AGENT_TYPE_MCP_SERVER, .name = "mcp-server", .approve_below = 30, .max = 80 },
    };
    var buffer: [8]u8 = undefined;
    for (cases) |case| {
        const decision = try decideAs(case.agent_type, case.approve_below - 1, &.{}, "{}");
        try testing.expectEqual(.approve, warrant.verdictOf(decision));
        try expectAnnotation(decision, "agentType", case.name);
        try expectAnnotation(decision, "autoApproveBelow", try std.fmt.bufPrint(&buffer, "{d}", .{case.approve_below}));
        try expectAnnotation(decision, "maxRiskThreshold", try std.fmt.bufPrint(&buffer, "{d}", .{case.max}));
        try testing.expectEqual(.review, warrant.verdictOf(try decideAs(case.agent_type, case.approve_below, &.{}, "{}")));
        try testing.expectEqual(.review, warrant.verdictOf(try decideAs(case.agent_type, case.max, &.{}, "{}")));
        try warrant.testing.expectCodes(try decideAs(case.agent_type, case.max + 1, &.{}, "{}"), &.{"risk-above-max"});
    }
}

test "defaults only what is left out" {
    const autonomous = c.WARRANT_POLICY_TYPES_AGENT_TYPE_AUTONOMOUS;
    var decision = try decideAs(autonomous, 65, &.{}, "{\"maxRiskThreshold\": 70}");
    try testing.expectEqual(.review, warrant.verdictOf(decision));
    try expectAnnotation(decision, "autoApproveBelow", "20");
    decision = try decideAs(autonomous, 45, &.{}, "{\"autoApproveBelow\": 50}");
    try testing.expectEqual(.approve, warrant.verdictOf(decision));
    try expectAnnotation(decision, "maxRiskThreshold", "60");
    // Null is left out.
    decision = try decideAs(autonomous, 45, &.{}, "{\"autoApproveBelow\": null}");
    try expectAnnotation(decision, "autoApproveBelow", "20");
}

test "the extremes of the thresholds" {
    // Nothing is approved automatically below 0; everything above 0 is denied.
    const strict = "{\"autoApproveBelow\": 0, \"maxRiskThreshold\": 0}";
    try testing.expectEqual(.review, warrant.verdictOf(try decide(0, strict)));
    try testing.expectEqual(.deny, warrant.verdictOf(try decide(1, strict)));
    // Everything below 100 is approved; nothing is denied.
    const lax = "{\"autoApproveBelow\": 100, \"maxRiskThreshold\": 100}";
    try testing.expectEqual(.approve, warrant.verdictOf(try decide(99, lax)));
    try testing.expectEqual(.review, warrant.verdictOf(try decide(100, lax)));
    // Equal thresholds review exactly that score.
    const equal = "{\"autoApproveBelow\": 50, \"maxRiskThreshold\": 50}";
    try testing.expectEqual(.approve, warrant.verdictOf(try decide(49, equal)));
    try testing.expectEqual(.review, warrant.verdictOf(try decide(50, equal)));
    try testing.expectEqual(.deny, warrant.verdictOf(try decide(51, equal)));
}

test "reviews without a risk score" {
    const decision = try decideAs(c.WARRANT_POLICY_TYPES_AGENT_TYPE_AUTONOMOUS, null, &.{}, "{}");
    try testing.expectEqual(.review, warrant.verdictOf(decision));
    try warrant.testing.expectCodes(decision, &.{"no-risk-score"});
    try testing.expectEqualStrings("the policy has no risk score, so the risk threshold cannot be checked", warrant.reasonOf(decision).?);
    try expectAnnotation(decision, "score", null);
    try expectAnnotation(decision, "agentType", "autonomous");
}

test "refuses invalid configurations" {
    const configs = [_][]const u8{
        "{\"autoApproveBelow\": 101}",
        "{\"maxRiskThreshold\": 101}",
        "{\"autoApproveBelow\": -1}",
        "{\"autoApproveBelow\": 10.5}",
        "{\"autoApproveBelow\": 1e1}",
        "{\"autoApproveBelow\": \"10\"}",
        "{\"autoApproveBelow\": 99999999999999999999999}",
        "{\"autoApproveBelow\": 71, \"maxRiskThreshold\": 70}",
        // 90 is above the supervised default maximum of 80.
        "{\"autoApproveBelow\": 90}",
        // 20 is below the supervised default of 30.
        "{\"maxRiskThreshold\": 20}",
        "{\"threshold\": 50}",
        "{\"autoApproveBelow\": 10, \"autoApproveBelow\": 20}",
        "[]",
        "null",
        "not json",
    };
    for (configs) |config| {
        const failure = answerAs(supervised, 50, &.{}, config).failure;
        try testing.expectEqualStrings("invalid-config", warrant.slice(failure.code));
    }
    try testing.expectEqualStrings(
        "`autoApproveBelow` must be a score from 0 to 100, not 101",
        warrant.slice(answerAs(supervised, 50, &.{}, configs[0]).failure.message),
    );
    try testing.expectEqualStrings(
        "`autoApproveBelow` (90) is above `maxRiskThreshold` (80) for an agent of type supervised",
        warrant.slice(answerAs(supervised, 50, &.{}, configs[8]).failure.message),
    );
    // The same configuration is valid for an agent type whose default
    // allows it.
    _ = try decideAs(c.WARRANT_POLICY_TYPES_AGENT_TYPE_ADVISORY, 10, &.{}, "{\"autoApproveBelow\": 90}");
    // An invalid configuration is refused even without a risk score.
    try testing.expectEqualStrings("invalid-config", warrant.slice(answerAs(supervised, null, &.{}, configs[0]).failure.code));
}
