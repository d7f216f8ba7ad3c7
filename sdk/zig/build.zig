//! The `warrant` module: the SDK (`warrant.zig`) with the C bindings that
//! `wit-bindgen c` generates for the `policy` world of Warrant's WIT.
//!
//! A plugin's `build.zig` takes it from its dependency:
//!
//!     const warrant = b.dependency("warrant", .{
//!         .target = target,
//!         .optimize = optimize,
//!         .contract = .@"0.3.0",
//!         .wit = b.path("wit/0.3.0"),
//!         .@"wit-bindgen" = "/path/to/wit-bindgen",
//!     });
//!     root_module.addImport("warrant", warrant.module("warrant"));
//!
//! The bindings are generated into Zig's cache, again only when the WIT or
//! the `wit-bindgen` command changes. For a WebAssembly target the module
//! brings their C code and the component type they describe, so that the
//! plugin links them; natively (unit tests) it needs only their header.
//!
//! `zig build test` runs the SDK's unit tests natively, against both
//! contracts (with the WIT of Warrant's repository, `../../wit`), and checks
//! that asking for an action under WIT 0.1.0 does not compile.

const std = @import("std");

/// The versions of Warrant's WIT the SDK builds against.
const Contract = enum {
    @"0.1.0",
    @"0.3.0",

    /// Where Warrant's repository keeps that version's WIT, from here.
    fn witFolder(contract: Contract) []const u8 {
        return switch (contract) {
            .@"0.1.0" => "../../wit",
            .@"0.3.0" => "../../wit/0.3.0",
        };
    }
};

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const contract = b.option(Contract, "contract", "The version of Warrant's WIT to build against (default 0.3.0)") orelse .@"0.3.0";
    const wit = b.option(std.Build.LazyPath, "wit", "The folder of that version's warrant.wit (default: the repository's, ../../wit or ../../wit/0.3.0 from here)") orelse
        b.path(contract.witFolder());
    const wit_bindgen = b.option([]const u8, "wit-bindgen", "The wit-bindgen command (default: wit-bindgen, from PATH)") orelse "wit-bindgen";

    const module = warrantModule(b, .{ .target = target, .optimize = optimize, .contract = contract, .wit = wit, .wit_bindgen = wit_bindgen });
    b.modules.put(b.dupe("warrant"), module) catch @panic("OOM");

    const test_step = b.step("test", "Run the SDK's unit tests, against both contracts");
    for ([_]Contract{ .@"0.3.0", .@"0.1.0" }) |tested| {
        const tested_module = warrantModule(b, .{
            .target = target,
            .optimize = optimize,
            .contract = tested,
            .wit = b.path(tested.witFolder()),
            .wit_bindgen = wit_bindgen,
        });
        const tests = b.addTest(.{
            .name = b.fmt("test-{s}", .{@tagName(tested)}),
            .root_module = b.createModule(.{
                .root_source_file = b.path("tests.zig"),
                .target = target,
                .optimize = optimize,
                .imports = &.{.{ .name = "warrant", .module = tested_module }},
            }),
        });
        test_step.dependOn(&b.addRunArtifact(tests).step);
        if (tested == .@"0.1.0") {
            // An action under 0.1.0 is a compile error, never dropped.
            const refused = b.addTest(.{
                .name = "actions-under-0.1.0",
                .root_module = b.createModule(.{
                    .root_source_file = b.path("tests_0_1_0_actions.zig"),
                    .target = target,
                    .optimize = optimize,
                    .imports = &.{.{ .name = "warrant", .module = tested_module }},
                }),
            });
            refused.expect_errors = .{ .contains = "error: actions need WIT 0.3.0; this plugin is built against WIT 0.1.0 (-Dcontract=0.1.0), whose decisions cannot carry them" };
            test_step.dependOn(&refused.step);
        }
    }
}

const Options = struct {
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.OptimizeMode,
    contract: Contract,
    wit: std.Build.LazyPath,
    wit_bindgen: []const u8,
};

/// The SDK with the bindings of `options.wit`.
fn warrantModule(b: *std.Build, options: Options) *std.Build.Module {
    const generate = b.addSystemCommand(&.{ options.wit_bindgen, "c", "--world", "policy", "--out-dir" });
    const bindings = generate.addOutputDirectoryArg("bindings");
    generate.addDirectoryArg(options.wit);
    // Run again when the WIT changes, not only its folder's name.
    generate.addFileInput(options.wit.path(b, "warrant.wit"));
    // It names the files it writes on stderr, which Zig would show as a
    // diagnostic.
    _ = generate.captureStdErr();

    const build_options = b.addOptions();
    build_options.addOption([]const u8, "contract", @tagName(options.contract));

    const module = b.createModule(.{
        .root_source_file = b.path("warrant.zig"),
        .target = options.target,
        .optimize = options.optimize,
        // `malloc` and `free`, which the bindings use for the answer.
        .link_libc = true,
    });
    module.addOptions("warrant_options", build_options);
    module.addIncludePath(bindings);
    if (options.target.result.cpu.arch.isWasm()) {
        module.addCSourceFile(.{ .file = bindings.path(b, "policy.c") });
        module.addObjectFile(bindings.path(b, "policy_component_type.o"));
    }
    return module;
}
