//! The SDK's unit tests, run natively by `zig build test` against each
//! contract.

const std = @import("std");
const warrant = @import("warrant");
const c = warrant.c;
const testing = std.testing;

// Configuration -------------------------------------------------------------

/// A reader of `text`, already parsed.
fn parsed(arena: std.mem.Allocator, text: []const u8) !warrant.ConfigReader {
    var reader: warrant.ConfigReader = .{ .arena = arena };
    try reader.parse(text);
    return reader;
}

/// Expects `error.InvalidConfig` from `result`, with `problem` as the reason.
fn expectProblem(reader: *const warrant.ConfigReader, result: anytype, problem: []const u8) !void {
    try testing.expectError(error.InvalidConfig, result);
    try testing.expectEqualStrings(problem, reader.problem);
}

test "a configuration is one JSON object" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var reader: warrant.ConfigReader = .{ .arena = arena.allocator() };
    try reader.parse(" {\"maxAmountEuros\": 100} ");
    try testing.expectEqual(1, reader.fields.count());
    const Case = struct { []const u8, []const u8 };
    for ([_]Case{
        .{ "[]", "the configuration must be a JSON object" },
        .{ "null", "the configuration must be a JSON object" },
        .{ "\"{}\"", "the configuration must be a JSON object" },
        .{ "not json", "the configuration is not valid JSON" },
        .{ "{} {}", "the configuration is not valid JSON" },
        .{ "{\"a\": 1,}", "the configuration is not valid JSON" },
        .{ "", "the configuration is not valid JSON" },
        .{ "{\"a\": 1, \"a\": 2}", "the configuration repeats a field" },
    }) |case| {
        reader = .{ .arena = arena.allocator() };
        try expectProblem(&reader, reader.parse(case[0]), case[1]);
    }
}

test "unknown fields are refused" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var reader = try parsed(arena.allocator(), "{\"maxAmountEuros\": 1, \"colour\": \"red\"}");
    try expectProblem(&reader, reader.checkFields(&.{ "maxAmountEuros", "allow" }), "unknown field `colour`, expected one of `maxAmountEuros`, `allow`");
    try reader.checkFields(&.{ "colour", "maxAmountEuros" });
    reader = try parsed(arena.allocator(), "{\"strict\": true}");
    try expectProblem(&reader, reader.checkFields(&.{}), "unknown field `strict`, there are no fields");
    reader = try parsed(arena.allocator(), "{}");
    try reader.checkFields(&.{});
}

test "amount fields are read exactly, in minor units" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var reader = try parsed(arena.allocator(),
        \\{"max": 100, "review": 4.51, "none": null, "text": "100", "negative": -1,
        \\ "precise": 1.001, "large": 1e30, "exponent": 2.5E-1, "yen": 5000}
    );
    try testing.expectEqual(10_000, try reader.amount("max", 2));
    try testing.expectEqual(451, (try reader.optionalAmount("review", 2)).?);
    try testing.expectEqual(25, (try reader.optionalAmount("exponent", 2)).?);
    try testing.expectEqual(5000, try reader.amount("yen", 0));
    try testing.expectEqual(null, try reader.optionalAmount("none", 2));
    try testing.expectEqual(null, try reader.optionalAmount("absent", 2));
    try expectProblem(&reader, reader.amount("absent", 2), "missing field `absent`");
    try expectProblem(&reader, reader.amount("none", 2), "missing field `none`");
    try expectProblem(&reader, reader.amount("text", 2), "`text` must be a number");
    try expectProblem(&reader, reader.amount("negative", 2), "`negative` must not be negative");
    try expectProblem(&reader, reader.amount("precise", 2), "`precise` must have at most 2 decimals");
    try expectProblem(&reader, reader.amount("large", 2), "`large` is too large");
    try testing.expectEqual(1001, try reader.amount("precise", 3));
}

test "integer fields are whole numbers up to a maximum" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var reader = try parsed(arena.allocator(),
        \\{"score": 30, "zero": 0, "none": null, "point": 30.0, "exponent": 3e1,
        \\ "negative": -1, "text": "30", "big": 101, "huge": 99999999999999999999999}
    );
    try testing.expectEqual(30, (try reader.optionalInteger("score", 100)).?);
    try testing.expectEqual(0, (try reader.optionalInteger("zero", 100)).?);
    try testing.expectEqual(null, try reader.optionalInteger("none", 100));
    try testing.expectEqual(null, try reader.optionalInteger("absent", 100));
    try expectProblem(&reader, reader.optionalInteger("point", 100), "`point` must be a whole number");
    try expectProblem(&reader, reader.optionalInteger("exponent", 100), "`exponent` must be a whole number");
    try expectProblem(&reader, reader.optionalInteger("negative", 100), "`negative` must not be negative");
    try expectProblem(&reader, reader.optionalInteger("text", 100), "`text` must be a number");
    try expectProblem(&reader, reader.optionalInteger("big", 100), "`big` must be at most 100, not 101");
    try expectProblem(&reader, reader.optionalInteger("huge", std.math.maxInt(u64)), "`huge` must be at most 18446744073709551615");
}

test "string lists decode escapes and refuse anything else" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var reader = try parsed(arena.allocator(),
        \\{"allow": ["hetzner.com", "b\u00fccher.example", "\ud83d\ude00"], "empty": [],
        \\ "none": null, "mixed": ["a", 1], "text": "a"}
    );
    const allow = try reader.strings("allow");
    try testing.expectEqual(3, allow.len);
    try testing.expectEqualStrings("hetzner.com", allow[0]);
    try testing.expectEqualStrings("bücher.example", allow[1]);
    try testing.expectEqualStrings("😀", allow[2]);
    try testing.expectEqual(0, (try reader.strings("empty")).len);
    try testing.expectEqual(0, (try reader.strings("absent")).len);
    try expectProblem(&reader, reader.strings("none"), "`none` must be a list of strings");
    try expectProblem(&reader, reader.strings("mixed"), "`mixed` must be a list of strings");
    try expectProblem(&reader, reader.strings("text"), "`text` must be a list of strings");
}

test "fail formats the problem" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var reader: warrant.ConfigReader = .{ .arena = arena.allocator() };
    try testing.expectEqual(error.InvalidConfig, reader.fail("`{s}` is above {d}", .{ "a", 3 }));
    try testing.expectEqualStrings("`a` is above 3", reader.problem);
}

// Amounts -------------------------------------------------------------------

test "amounts are read exactly" {
    const zeros90 = "0" ** 90;
    const Case = struct { []const u8, u64 };
    for ([_]Case{
        .{ "100", 10_000 },
        .{ "100.5", 10_050 },
        .{ "4.51", 451 },
        .{ "0.1", 10 },
        .{ "0", 0 },
        .{ "1e2", 10_000 },
        .{ "1E+2", 10_000 },
        .{ "100.0", 10_000 },
        .{ "2.5E-1", 25 },
        .{ "0.10e1", 100 },
        .{ "0e999999", 0 },
        .{ "0.0e-100000000000000000000", 0 },
        .{ "1" ++ zeros90 ++ "e-85", 10_000_000 },
        .{ "0." ++ zeros90 ++ "1e91", 100 },
        .{ "92233720368547758.07", std.math.maxInt(i64) },
        .{ "184467440737095516.15", std.math.maxInt(u64) },
        .{ "90071992547409.93", (1 << 53) + 1 },
    }) |case| {
        const cents = warrant.parseMinorUnits(case[0], 2) catch |err| {
            std.debug.print("{s}: {s}\n", .{ case[0], @errorName(err) });
            return err;
        };
        try testing.expectEqual(case[1], cents);
    }
    try testing.expectEqual(5000, try warrant.parseMinorUnits("5000", 0));
    try testing.expectEqual(1500, try warrant.parseMinorUnits("1.5", 3));
}

test "what is not an amount" {
    const Case = struct { []const u8, warrant.AmountError };
    for ([_]Case{
        .{ "-1", error.Negative },
        .{ "-0", error.Negative },
        .{ "-0.5", error.Negative },
        .{ "0.005", error.TooPrecise },
        .{ "1.001", error.TooPrecise },
        .{ "1e-9", error.TooPrecise },
        .{ "1e-1000000000000", error.TooPrecise },
        .{ "184467440737095516.16", error.TooLarge },
        .{ "1e30", error.TooLarge },
        .{ "1e999999999999999999999", error.TooLarge },
        .{ "", error.NotANumber },
        .{ ".5", error.NotANumber },
        .{ "5.", error.NotANumber },
        .{ "+1", error.NotANumber },
        .{ "01", error.NotANumber },
        .{ "abc", error.NotANumber },
        .{ "1.2.3", error.NotANumber },
        .{ "1e", error.NotANumber },
        .{ "1e+-2", error.NotANumber },
        .{ "0x10", error.NotANumber },
        .{ "-", error.NotANumber },
    }) |case| {
        try testing.expectError(case[1], warrant.parseMinorUnits(case[0], 2));
    }
}

test "euros are formatted with two decimals" {
    var buffer: [64]u8 = undefined;
    try testing.expectEqualStrings("100.00 EUR", try std.fmt.bufPrint(&buffer, "{f}", .{warrant.euros(10_000)}));
    try testing.expectEqualStrings("4.51 EUR", try std.fmt.bufPrint(&buffer, "{f}", .{warrant.euros(451)}));
    try testing.expectEqualStrings("0.05 EUR", try std.fmt.bufPrint(&buffer, "{f}", .{warrant.euros(5)}));
    try testing.expectEqualStrings("184467440737095516.15 EUR", try std.fmt.bufPrint(&buffer, "{f}", .{warrant.euros(std.math.maxInt(u64))}));
}

// Decisions, codes, annotations, actions -----------------------------------

test "decisions carry a verdict, codes and annotations" {
    var decision = warrant.deny("over the limit");
    try testing.expectEqual(.deny, warrant.verdictOf(decision));
    try testing.expectEqualStrings("over the limit", warrant.reasonOf(decision).?);
    try warrant.testing.expectCodes(decision, &.{});
    warrant.addCode(&decision, "amount-over-max");
    warrant.addCode(&decision, "merchant-not-allowed");
    try warrant.testing.expectCodes(decision, &.{ "amount-over-max", "merchant-not-allowed" });
    try testing.expect(warrant.hasCode(decision, "merchant-not-allowed"));
    try testing.expect(!warrant.hasCode(decision, "merchant"));
    warrant.addAnnotation(&decision, "maxAmount", "100.00 EUR");
    warrant.addAnnotation(&decision, "maxAmount", "second");
    try testing.expectEqualStrings("100.00 EUR", warrant.annotationOf(decision, "maxAmount").?);
    try testing.expectEqual(null, warrant.annotationOf(decision, "other"));
    try testing.expectEqual(2, decision.annotations.len);

    const approval = warrant.approve();
    try testing.expectEqual(.approve, warrant.verdictOf(approval));
    try testing.expectEqual(null, warrant.reasonOf(approval));
    try testing.expectEqual(null, warrant.annotationOf(approval, "maxAmount"));
    const request = warrant.review("a human must look");
    try testing.expectEqual(.review, warrant.verdictOf(request));
    try testing.expectEqualStrings("a human must look", warrant.reasonOf(request).?);
}

test "the answer's texts are copies in malloc's memory" {
    var reason = "temporary".*;
    var decision = warrant.deny(&reason);
    warrant.addCode(&decision, &reason);
    reason[0] = 'T';
    try testing.expectEqualStrings("temporary", warrant.reasonOf(decision).?);
    try testing.expectEqualStrings("temporary", warrant.slice(warrant.codesOf(decision)[0]));
    // The bindings free them with `free`.
    warrant.host_allocator.free(warrant.slice(decision.verdict.val.deny));
    const copy = warrant.string("");
    try testing.expectEqual(0, copy.len);
}

test "decisions ask for actions under WIT 0.3.0" {
    if (comptime !warrant.has_actions) return error.SkipZigTest;
    var decision = warrant.deny("the agent is running away");
    try testing.expect(!warrant.hasAction(decision, warrant.action_kind.alert));
    warrant.addSuspendAgent(&decision, "spent 10x its usual amount");
    warrant.addAlert(&decision, "look at this agent");
    warrant.addAction(&decision, "page-on-call", "wake someone");
    try testing.expectEqual(3, decision.actions.len);
    const actions = decision.actions.ptr[0..decision.actions.len];
    try testing.expectEqualStrings("suspend-agent", warrant.slice(actions[0].kind));
    try testing.expectEqualStrings("spent 10x its usual amount", warrant.slice(actions[0].message));
    try testing.expectEqualStrings("alert", warrant.slice(actions[1].kind));
    try testing.expectEqualStrings("look at this agent", warrant.slice(actions[1].message));
    try testing.expectEqualStrings("page-on-call", warrant.slice(actions[2].kind));
    try testing.expect(warrant.hasAction(decision, warrant.action_kind.suspend_agent));
    try testing.expect(warrant.hasAction(decision, "alert"));
    try testing.expect(warrant.hasAction(decision, "page-on-call"));
    try testing.expect(!warrant.hasAction(decision, "suspend"));
    // Actions leave the verdict, codes and annotations alone.
    try testing.expectEqual(.deny, warrant.verdictOf(decision));
    try testing.expectEqual(0, decision.codes.len);
    try testing.expect(!warrant.hasAction(warrant.approve(), "alert"));
}

test "the contract is the one the bindings were generated from" {
    if (warrant.has_actions) {
        try testing.expectEqualStrings("0.3.0", warrant.contract);
        try testing.expect(@hasField(c.policy_context_t, "charge"));
    } else {
        try testing.expectEqualStrings("0.1.0", warrant.contract);
        try testing.expect(!@hasField(c.policy_context_t, "charge"));
        // A 0.1.0 decision has no actions to ask about.
        try testing.expect(!warrant.hasAction(warrant.approve(), "alert"));
    }
}

test "plugin errors" {
    const invalid = warrant.invalidConfig("`maxAmountEuros` must be a number");
    try testing.expectEqualStrings("invalid-config", warrant.slice(invalid.code));
    try testing.expectEqualStrings("`maxAmountEuros` must be a number", warrant.slice(invalid.message));
    const own = warrant.pluginError("unknown-timezone", "UTC only");
    try testing.expectEqualStrings("unknown-timezone", warrant.slice(own.code));
    try testing.expectEqualStrings("UTC only", warrant.slice(own.message));
}

// Text ----------------------------------------------------------------------

test "blank text is empty or Unicode white space" {
    for ([_][]const u8{ "", " ", "\t\n\r", "\u{a0}", "\u{2003}\u{3000}", "\u{85}" }) |text| {
        try testing.expect(warrant.isBlank(text));
    }
    for ([_][]const u8{ "a", " a ", "\u{200b}", "\xff" }) |text| {
        try testing.expect(!warrant.isBlank(text));
    }
}

test "trim removes Unicode white space at both ends" {
    const Case = struct { []const u8, []const u8 };
    for ([_]Case{
        .{ "  hetzner.com\t", "hetzner.com" },
        .{ "\u{3000}bücher\u{a0}", "bücher" },
        .{ "a b", "a b" },
        .{ " ", "" },
        .{ "", "" },
        .{ "\u{200b}x\u{200b}", "\u{200b}x\u{200b}" },
        .{ "ü ", "ü" },
    }) |case| {
        try testing.expectEqualStrings(case[1], warrant.trim(case[0]));
    }
}

test "print formats into the arena without WASI" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    try testing.expectEqualStrings("4.51 EUR is over 1.00 EUR", try warrant.print(arena.allocator(), "{f} is over {f}", .{ warrant.euros(451), warrant.euros(100) }));
    // Longer than the first buffer it tries.
    const long = "x" ** 300;
    try testing.expectEqualStrings(long ++ "!", try warrant.print(arena.allocator(), "{s}!", .{long}));
}

test "strings of the bindings" {
    const borrowed = warrant.borrow("hetzner.com");
    try testing.expectEqualStrings("hetzner.com", warrant.slice(borrowed));
    try testing.expectEqualStrings("", warrant.slice(.{ .ptr = null, .len = 0 }));
}

// The export, tests and log -------------------------------------------------

/// A policy with a limit of 100.00 EUR, as a plugin would write it.
fn limit(arena: std.mem.Allocator, context: *const c.policy_context_t, config: []const u8) error{OutOfMemory}!warrant.Answer {
    var reader: warrant.ConfigReader = .{ .arena = arena };
    const max = readLimit(&reader, config) catch |err| switch (err) {
        error.InvalidConfig => return .{ .failure = warrant.invalidConfig(reader.problem) },
        error.OutOfMemory => return error.OutOfMemory,
    };
    warrant.log(.info, "checking the limit");
    const amount = context.intent.amount;
    if (amount.is_some and amount.val.minor_units > max) {
        var decision = warrant.deny(try warrant.print(arena, "{f} is over {f}", .{ warrant.euros(amount.val.minor_units), warrant.euros(max) }));
        warrant.addCode(&decision, "amount-over-max");
        return .{ .decision = decision };
    }
    return .{ .decision = warrant.approve() };
}

fn readLimit(reader: *warrant.ConfigReader, text: []const u8) warrant.ConfigReader.Error!u64 {
    try reader.parse(text);
    try reader.checkFields(&.{"maxAmountEuros"});
    return reader.amount("maxAmountEuros", 2);
}

test "a policy runs natively on a test context" {
    var arena = std.heap.ArenaAllocator.init(testing.allocator);
    defer arena.deinit();
    var context = warrant.testing.context();
    _ = warrant.testing.takeLogs();
    try testing.expectEqual(.approve, warrant.verdictOf(warrant.testing.evaluate(limit, arena.allocator(), &context, "{\"maxAmountEuros\": 100}").decision));
    context.intent.amount = warrant.testing.money(150_00, "EUR");
    const decision = warrant.testing.evaluate(limit, arena.allocator(), &context, "{\"maxAmountEuros\": 100}").decision;
    try testing.expectEqualStrings("150.00 EUR is over 100.00 EUR", warrant.reasonOf(decision).?);
    try warrant.testing.expectCodes(decision, &.{"amount-over-max"});
    const failure = warrant.testing.evaluate(limit, arena.allocator(), &context, "{\"max\": 100}").failure;
    try testing.expectEqualStrings("invalid-config", warrant.slice(failure.code));
    try testing.expectEqualStrings("unknown field `max`, expected one of `maxAmountEuros`", warrant.slice(failure.message));

    const logs = warrant.testing.takeLogs();
    defer {
        for (logs) |line| warrant.host_allocator.free(line.message);
        warrant.host_allocator.free(logs);
    }
    try testing.expectEqual(2, logs.len);
    try testing.expectEqual(.info, logs[0].level);
    try testing.expectEqualStrings("checking the limit", logs[0].message);
    try testing.expectEqual(0, warrant.testing.takeLogs().len);
}

test "the test context fills every field of the contract" {
    const context = warrant.testing.context();
    try testing.expectEqualStrings("int_test", warrant.slice(context.intent.id));
    try testing.expect(!context.intent.amount.is_some);
    try testing.expect(!context.intent.merchant.is_some);
    try testing.expect(!context.intent.recurring.is_some);
    try testing.expectEqual(c.WARRANT_POLICY_TYPES_CARD_NAME, context.intent.card.tag);
    try testing.expectEqualStrings("main", warrant.slice(context.intent.card.val.name));
    try testing.expectEqualStrings("test", warrant.slice(context.intent.purpose));
    try testing.expectEqual(1440, context.intent.ttl_minutes);
    try testing.expectEqualStrings("ag_test", warrant.slice(context.agent.id));
    try testing.expectEqual(c.WARRANT_POLICY_TYPES_AGENT_STATUS_ACTIVE, context.agent.status);
    try testing.expectEqual(c.WARRANT_POLICY_TYPES_AGENT_TYPE_SUPERVISED, context.agent.agent_type);
    try testing.expectEqualStrings("testing", warrant.slice(context.agent.profile.purpose));
    try testing.expectEqualStrings("{}", warrant.slice(context.agent.metadata));
    try testing.expectEqualStrings("EUR", warrant.slice(context.usage.currency));
    try testing.expectEqual(0, context.usage.last_day.count);
    try testing.expect(!context.risk.is_some);
    try testing.expectEqual(1_767_225_600, context.now.seconds);
    if (warrant.has_actions) {
        try testing.expect(!context.agent.baseline.is_some);
        try testing.expectEqualStrings("UTC", warrant.slice(context.usage.timezone));
        try testing.expectEqual(0, context.usage.calendar_month.flagged_count);
        try testing.expectEqual(0, context.usage.merchant_last_month.flagged_spend);
        try testing.expect(!context.charge.is_some);
    }
    const money = warrant.testing.money(451, "EUR");
    try testing.expect(money.is_some);
    try testing.expectEqual(451, money.val.minor_units);
    try testing.expectEqualStrings("EUR", warrant.slice(money.val.currency));
}
