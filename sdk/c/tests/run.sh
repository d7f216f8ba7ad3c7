#!/usr/bin/env bash
# Runs the unit tests of the C SDK (warrant.h), natively, from anywhere:
#
#     sdk/c/tests/run.sh
#
# test_warrant.c is compiled twice, with `zig cc` for the machine it runs
# on: against the bindings of WIT 0.3.0, and against those of WIT 0.1.0
# with WARRANT_WIT_0_1_0 defined. Then three builds that must fail are
# checked to fail with the SDK's own message. Prints one line per test and
# `N passed, M failed` last; exits non-zero when a test failed. Installs
# its pinned tools on first use through examples/tools.sh.
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
sdk="$here/.."
warrant="$here/../../.."
. "$warrant/examples/tools.sh"

zig="$(tools_zig)"
wit_bindgen="$(tools_wit_bindgen)"
jsmn="$(tools_jsmn)"
pkg_config="$(tools_pkg_config)"
export ZIG_GLOBAL_CACHE_DIR="${ZIG_GLOBAL_CACHE_DIR:-$WARRANT_TOOLS/zig-cache}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export ZIG_LOCAL_CACHE_DIR="$work/zig-cache"

# The SDK's include flags, as a plugin's build gets them. (`read` without
# -r undoes the backslashes pkg-config escapes spaces with.)
# shellcheck disable=SC2162
read -a sdk_cflags <<<"$(PKG_CONFIG_PATH="$sdk" "$pkg_config" --cflags warrant)"
# The tests and the SDK compile with every warning as an error; the
# generated bindings are not written for -Wpedantic, and their WebAssembly
# import and export attributes mean nothing natively, so they get the
# compiler's defaults without that warning. Undefined behaviour traps.
cc=("$zig" cc -std=c11 -g -O0 -fsanitize=undefined -fsanitize-trap=undefined)
strict=(-Wall -Wextra -Wpedantic -Werror)

bindings() { # CONTRACT WIT-DIR: generates the bindings into $work/CONTRACT
    mkdir -p "$work/$1"
    local output
    output="$("$wit_bindgen" c --world policy --out-dir "$work/$1" "$2" 2>&1)" || {
        echo "$output" >&2
        return 1
    }
}
bindings 0.3.0 "$warrant/wit/0.3.0"
bindings 0.1.0 "$warrant/wit"
"${cc[@]}" "${strict[@]}" -c "$here/alloc.c" -o "$work/alloc.o"

passed=0
failed=0
pass() {
    echo "PASS  $1"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL  $1"
    failed=$((failed + 1))
}

# The unit tests against one contract's bindings.
unit_tests() { # CONTRACT [FLAGS...]
    local contract="$1"
    shift
    local dir="$work/$contract"
    "${cc[@]}" "${strict[@]}" "$@" -include "$here/alloc.h" -I "$dir" "${sdk_cflags[@]}" -isystem "$jsmn" \
        -c "$here/test_warrant.c" -o "$dir/test_warrant.o"
    "${cc[@]}" -Wno-unknown-attributes -include "$here/alloc.h" -c "$dir/policy.c" -o "$dir/bindings.o"
    "${cc[@]}" "$dir/test_warrant.o" "$dir/bindings.o" "$work/alloc.o" -o "$dir/test_warrant"
    local output status=0
    output="$("$dir/test_warrant")" || status=$?
    echo "$output" | sed '$d'
    local summary
    summary="$(echo "$output" | tail -n 1)"
    if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
    fi
    if [ "$status" -ne 0 ] && [ "${BASH_REMATCH[2]:-0}" -eq 0 ]; then
        fail "the unit tests against WIT $contract ran to the end (exit status $status)"
    fi
}
unit_tests 0.3.0
unit_tests 0.1.0 -DWARRANT_WIT_0_1_0

# A build that must fail, with MESSAGE among the compiler's errors.
must_not_compile() { # NAME MESSAGE CONTRACT SOURCE [FLAGS...]
    local name="$1" message="$2" contract="$3" source="$4"
    shift 4
    local errors
    if errors="$("${cc[@]}" "${strict[@]}" "$@" -I "$work/$contract" "${sdk_cflags[@]}" -isystem "$jsmn" \
        -c "$source" -o "$work/refused.o" 2>&1)"; then
        fail "$name (it compiled)"
    elif [[ "$errors" == *"$message"* ]]; then
        pass "$name"
    else
        echo "$errors" >&2
        fail "$name (not with \`$message\`)"
    fi
}
must_not_compile "asking for an action does not compile for WIT 0.1.0" \
    "actions need WIT 0.3.0" 0.1.0 "$here/needs_wit_0_3_0.c" -DWARRANT_WIT_0_1_0
must_not_compile "WARRANT_WIT_0_1_0 with the bindings of WIT 0.3.0 does not compile" \
    "the bindings are not those of WIT 0.1.0" 0.3.0 "$here/test_warrant.c" -DWARRANT_WIT_0_1_0 \
    -include "$here/alloc.h"
must_not_compile "the bindings of WIT 0.1.0 without WARRANT_WIT_0_1_0 do not compile" \
    "warrant_policy_types_list_action_t" 0.1.0 "$here/test_warrant.c" -include "$here/alloc.h"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
