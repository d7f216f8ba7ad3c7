#!/usr/bin/env bash
# Builds the reference policy in C into a WebAssembly component and prints
# its path as the last line (everything else goes to stderr). Installs its
# pinned toolchain on first use: see README.md.
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
# Warrant's WIT, SDK and toolchain script: the repository, two levels up.
warrant="$here/../.."
. "$warrant/examples/tools.sh"

target="$here/target"
component="$target/reference_policy.wasm"

# Nothing to do when the component is newer than everything it is built from.
inputs=("$here/policy.c" "$here/build.sh" "$warrant/sdk/c" "$warrant/wit" "$warrant/examples/tools.sh")
if [ -e "$component" ] && [ -z "$(find "${inputs[@]}" -newer "$component" -print -quit)" ]; then
    echo "$component"
    exit 0
fi

zig="$(tools_zig)"
wasm_tools="$(tools_wasm_tools)"
wit_bindgen="$(tools_wit_bindgen)"
jsmn="$(tools_jsmn)"
# Zig caches what it compiles (wasi-libc takes a while the first time); keep
# it with the toolchains, shared by every build, rather than in ~/.cache/zig.
export ZIG_GLOBAL_CACHE_DIR="${ZIG_GLOBAL_CACHE_DIR:-$WARRANT_TOOLS/zig-cache}"
export ZIG_LOCAL_CACHE_DIR="$target/zig-cache"

bindings="$target/bindings"
rm -rf "$bindings"
mkdir -p "$bindings"
"$wit_bindgen" c --world policy --out-dir "$bindings" "$warrant/wit" >&2

# The policy compiles with every warning as an error; the generated bindings
# are not written for -Wpedantic, so they get the compiler's defaults.
cc=("$zig" cc -target wasm32-wasi -Oz -std=c11)
"${cc[@]}" -Wall -Wextra -Wpedantic -Werror -I "$bindings" -I "$warrant/sdk/c" -isystem "$jsmn" \
    -c "$here/policy.c" -o "$target/policy.o"
"${cc[@]}" -c "$bindings/policy.c" -o "$target/bindings.o"
# A reactor: a library whose exports the host calls, without `main`.
"${cc[@]}" -mexec-model=reactor "$target/policy.o" "$target/bindings.o" "$bindings/policy_component_type.o" \
    -o "$target/reference_policy.core.wasm"

# The policy uses no WASI (no stdio, files or clocks): the core module then
# imports nothing and becomes a component as it is. Code that does use WASI
# (printf, say) needs the preview 1 adapter, fetched only then.
# (No `grep -q`: it would stop reading early, and the SIGPIPE of the writer
# would fail the pipeline under pipefail.)
adapt=()
if "$wasm_tools" print "$target/reference_policy.core.wasm" | grep '(import "wasi_snapshot_preview1"' >/dev/null; then
    adapt=(--adapt "wasi_snapshot_preview1=$(tools_wasi_adapter)")
fi
"$wasm_tools" component new "$target/reference_policy.core.wasm" "${adapt[@]}" -o "$component.partial"
mv "$component.partial" "$component"
echo "$component"
