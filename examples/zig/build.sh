#!/usr/bin/env bash
# Builds the reference policy in Zig into a WebAssembly component and prints
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
inputs=("$here"/*.zig "$here/build.sh" "$warrant/wit" "$warrant/examples/tools.sh")
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
export ZIG_LOCAL_CACHE_DIR="$target/zig-cache"

# The C bindings: the canonical ABI glue, which policy.zig imports with
# @cImport and which Zig compiles and links with it.
bindings="$target/bindings"
rm -rf "$bindings"
mkdir -p "$bindings"
"$wit_bindgen" c --world policy --out-dir "$bindings" "$warrant/wit" >&2

# A reactor: a library whose exports the host calls, without `main`. libc
# provides the malloc and free that the bindings use for the answer.
"$zig" build-exe "$here/policy.zig" "$bindings/policy.c" "$bindings/policy_component_type.o" \
    -target wasm32-wasi -mexec-model=reactor -O ReleaseSmall -fstrip -lc -I "$bindings" \
    -femit-bin="$target/reference_policy.core.wasm" >&2

# The policy uses no WASI (see README.md): the core module then imports
# nothing and becomes a component as it is. Code that does use WASI needs
# the preview 1 adapter, fetched only then. (No `grep -q`: it would stop
# reading early, and the SIGPIPE of the writer would fail the pipeline under
# pipefail.)
adapt=()
if "$wasm_tools" print "$target/reference_policy.core.wasm" | grep '(import "wasi_snapshot_preview1"' >/dev/null; then
    adapt=(--adapt "wasi_snapshot_preview1=$(tools_wasi_adapter)")
fi
"$wasm_tools" component new "$target/reference_policy.core.wasm" "${adapt[@]}" -o "$component.partial"
mv "$component.partial" "$component"
echo "$component"
