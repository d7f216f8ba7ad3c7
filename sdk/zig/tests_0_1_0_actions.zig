//! Compiled by `zig build test` against WIT 0.1.0, where it must fail to
//! compile: a decision of 0.1.0 cannot carry an action, and the SDK says so
//! rather than dropping it.

const warrant = @import("warrant");

test "an action under WIT 0.1.0" {
    var decision = warrant.approve();
    warrant.addAlert(&decision, "never sent");
}
