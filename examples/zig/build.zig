//! Builds one of the plugins of this folder into a WebAssembly core module,
//! a reactor (a library whose exports the host calls, without `main`), with
//! the `warrant` module of the SDK (`sdk/zig`, the dependency in
//! `build.zig.zon`). `build.sh` runs it and makes the module a component.
//!
//!     zig build -Dplugin=risk-threshold -Dcontract=0.3.0 -Dwit=… -Dwit-bindgen=…
//!
//! installs `risk_threshold.core.wasm` into the prefix (`zig-out`, or
//! `--prefix`); `zig build test -Dplugin=…` runs the plugin's unit tests
//! natively.

const std = @import("std");

/// The plugins of this folder, each one root source file.
const Plugin = enum {
    @"reference-policy",
    @"risk-threshold",
    @"recurring-match",

    fn source(plugin: Plugin) []const u8 {
        return switch (plugin) {
            .@"reference-policy" => "policy.zig",
            .@"risk-threshold" => "risk_threshold.zig",
            .@"recurring-match" => "recurring_match.zig",
        };
    }

    /// The module's name: `reference_policy`, …
    fn name(plugin: Plugin, b: *std.Build) []const u8 {
        const text = b.dupe(@tagName(plugin));
        std.mem.replaceScalar(u8, text, '-', '_');
        return text;
    }
};

const Contract = enum { @"0.1.0", @"0.3.0" };

pub fn build(b: *std.Build) void {
    const plugin = b.option(Plugin, "plugin", "The plugin to build (default reference-policy)") orelse .@"reference-policy";
    const contract = b.option(Contract, "contract", "The version of Warrant's WIT to build against (default 0.3.0)") orelse .@"0.3.0";
    const wit = b.option(std.Build.LazyPath, "wit", "The folder of that version's warrant.wit");
    const wit_bindgen = b.option([]const u8, "wit-bindgen", "The wit-bindgen command");
    const optimize = b.option(std.builtin.OptimizeMode, "optimize", "Optimization mode (default ReleaseSmall)") orelse .ReleaseSmall;
    const target = b.resolveTargetQuery(.{ .cpu_arch = .wasm32, .os_tag = .wasi });

    const warrant = b.dependency("warrant", .{
        .target = target,
        .optimize = optimize,
        .contract = contract,
        .wit = wit,
        .@"wit-bindgen" = wit_bindgen,
    });
    const core = b.addExecutable(.{
        .name = b.fmt("{s}.core", .{plugin.name(b)}),
        .root_module = b.createModule(.{
            .root_source_file = b.path(plugin.source()),
            .target = target,
            .optimize = optimize,
            .strip = true,
            .imports = &.{.{ .name = "warrant", .module = warrant.module("warrant") }},
        }),
    });
    core.wasi_exec_model = .reactor;
    b.installArtifact(core);

    // The plugin's unit tests, run natively with the SDK built for this
    // machine.
    const native = b.dependency("warrant", .{
        .target = b.graph.host,
        .contract = contract,
        .wit = wit,
        .@"wit-bindgen" = wit_bindgen,
    });
    const tests = b.addTest(.{
        .root_module = b.createModule(.{
            .root_source_file = b.path(plugin.source()),
            .target = b.graph.host,
            .imports = &.{.{ .name = "warrant", .module = native.module("warrant") }},
        }),
    });
    b.step("test", "Run the plugin's unit tests natively").dependOn(&b.addRunArtifact(tests).step);
}
