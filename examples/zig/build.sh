#!/usr/bin/env bash
# Builds a plugin of this folder into a WebAssembly component and prints its
# path as the last line (everything else goes to stderr):
#
#   build.sh                    the reference policy (policy.zig)
#   build.sh risk-threshold     risk_threshold.zig
#   build.sh recurring-match    recurring_match.zig
#
# against WIT 0.3.0, or against 0.1.0 with WARRANT_CONTRACT=0.1.0 (into
# target/reference_policy-0.1.0.wasm). Installs its pinned toolchain on
# first use: see README.md.
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
# Warrant's WIT, SDK and toolchain script: the repository, two levels up.
warrant="$here/../.."
. "$warrant/examples/tools.sh"
# The Zig SDK, which build.zig.zon names as the dependency `warrant`.
sdk="$warrant/sdk/zig"

plugin="${1:-reference-policy}"
case "$plugin" in
    reference-policy | risk-threshold | recurring-match) ;;
    *)
        echo "build.sh: unknown plugin \`$plugin\`: reference-policy, risk-threshold or recurring-match" >&2
        exit 2
        ;;
esac
contract="${WARRANT_CONTRACT:-0.3.0}"
case "$contract" in
    0.1.0) wit="$warrant/wit" suffix="-0.1.0" ;;
    0.3.0) wit="$warrant/wit/0.3.0" suffix="" ;;
    *)
        echo "build.sh: WARRANT_CONTRACT must be 0.1.0 or 0.3.0, not \`$contract\`" >&2
        exit 2
        ;;
esac

target="$here/target"
stem="${plugin//-/_}"
component="$target/$stem$suffix.wasm"

# Nothing to do when the component is newer than everything it is built from.
inputs=("$here"/*.zig "$here/build.zig.zon" "$here/build.sh"
    "$sdk"/*.zig "$sdk/build.zig.zon" "$wit/warrant.wit" "$warrant/examples/tools.sh")
if [ -d "$here/recurring_match" ]; then
    inputs+=("$here/recurring_match")
fi
if [ -e "$component" ] && [ -z "$(find "${inputs[@]}" -newer "$component" -print -quit)" ]; then
    echo "$component"
    exit 0
fi

zig="$(tools_zig)"
wasm_tools="$(tools_wasm_tools)"
wit_bindgen="$(tools_wit_bindgen)"
# Zig caches what it compiles (wasi-libc takes a while the first time); keep
# it with the toolchains, shared by every build, rather than in ~/.cache/zig.
export ZIG_GLOBAL_CACHE_DIR="${ZIG_GLOBAL_CACHE_DIR:-$WARRANT_TOOLS/zig-cache}"
# A hidden folder, which `zig fmt` does not search.
export ZIG_LOCAL_CACHE_DIR="$target/.zig-cache"

# build.zig compiles the plugin with the SDK's module, which generates the C
# bindings of the contract with wit-bindgen, into a reactor core module.
(cd "$here" && "$zig" build -Dplugin="$plugin" -Dcontract="$contract" -Dwit="$wit" \
    -Dwit-bindgen="$wit_bindgen" --prefix "$target" --prefix-exe-dir "$contract") >&2
core="$target/$contract/$stem.core.wasm"

# The plugins use no WASI (see README.md): the core module then imports
# nothing but the host's log and becomes a component as it is. Code that
# does use WASI needs the preview 1 adapter, fetched only then. (No
# `grep -q`: it would stop reading early, and the SIGPIPE of the writer
# would fail the pipeline under pipefail.)
adapt=()
if "$wasm_tools" print "$core" | grep '(import "wasi_snapshot_preview1"' >/dev/null; then
    adapt=(--adapt "wasi_snapshot_preview1=$(tools_wasi_adapter)")
fi
"$wasm_tools" component new "$core" "${adapt[@]}" -o "$component.partial"
mv "$component.partial" "$component"
echo "$component"
