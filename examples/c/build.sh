#!/usr/bin/env bash
# Builds a plugin in C into a WebAssembly component and prints its path as
# the last line (everything else goes to stderr). Installs its pinned
# toolchain on first use: see README.md.
#
#   build.sh [PLUGIN]
#
# PLUGIN is `reference-policy` (the default), built from `policy.c`, or the
# name of another plugin in this folder, built from the source of that name
# with `_` for `-` (`risk-threshold` from `risk_threshold.c`). The component
# is `target/<PLUGIN with _ for ->.wasm`. WARRANT_CONTRACT=0.1.0 builds against
# Warrant's first contract (`wit/warrant.wit`) instead of WIT 0.3.0, into
# `target/<PLUGIN with _ for ->-0.1.0.wasm`.
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
# Warrant's WIT, SDK and toolchain script: the repository, two levels up.
warrant="$here/../.."
sdk="$warrant/sdk/c"
. "$warrant/examples/tools.sh"

plugin="${1:-reference-policy}"
if [[ ! "$plugin" =~ ^[a-z][a-z0-9-]*$ ]]; then
    echo "build.sh: \`$plugin\` is not a plugin name" >&2
    exit 2
fi
stem="${plugin//-/_}"
src="$here/$stem.c"
if [ "$plugin" = reference-policy ]; then
    src="$here/policy.c"
fi
if [ ! -f "$src" ]; then
    echo "build.sh: there is no plugin \`$plugin\` here (no $(basename "$src"))" >&2
    exit 2
fi

# The contract: its WIT, the SDK's switch for it, the component's name.
contract="${WARRANT_CONTRACT:-0.3.0}"
case "$contract" in
0.3.0)
    wit="$warrant/wit/0.3.0"
    defines=()
    name="$stem"
    ;;
0.1.0)
    wit="$warrant/wit"
    defines=(-DWARRANT_WIT_0_1_0)
    name="$stem-0.1.0"
    ;;
*)
    echo "build.sh: WARRANT_CONTRACT must be 0.3.0 or 0.1.0, not \`$contract\`" >&2
    exit 2
    ;;
esac

target="$here/target"
component="$target/$name.wasm"

# Nothing to do when the component is newer than everything it is built from.
inputs=("$src" "$here/build.sh" "$sdk" "$wit" "$warrant/examples/tools.sh")
if [ -e "$component" ] && [ -z "$(find "${inputs[@]}" -maxdepth 1 -newer "$component" -print -quit)" ]; then
    echo "$component"
    exit 0
fi

zig="$(tools_zig)"
wasm_tools="$(tools_wasm_tools)"
wit_bindgen="$(tools_wit_bindgen)"
jsmn="$(tools_jsmn)"
pkg_config="$(tools_pkg_config)"
# The SDK's include flags, from its pkg-config file. (`read` without -r
# undoes the backslashes pkg-config escapes spaces with.)
# shellcheck disable=SC2162
read -a sdk_cflags <<<"$(PKG_CONFIG_PATH="$sdk" "$pkg_config" --cflags warrant)"

work="$target/$name"
# Zig caches what it compiles (wasi-libc takes a while the first time); keep
# it with the toolchains, shared by every build, rather than in ~/.cache/zig.
export ZIG_GLOBAL_CACHE_DIR="${ZIG_GLOBAL_CACHE_DIR:-$WARRANT_TOOLS/zig-cache}"
export ZIG_LOCAL_CACHE_DIR="$target/zig-cache"

bindings="$work/bindings"
rm -rf "$work"
mkdir -p "$bindings"
"$wit_bindgen" c --world policy --out-dir "$bindings" "$wit" >&2

# The plugin compiles with every warning as an error; the generated bindings
# are not written for -Wpedantic, so they get the compiler's defaults.
cc=("$zig" cc -target wasm32-wasi -Oz -std=c11)
"${cc[@]}" -Wall -Wextra -Wpedantic -Werror "${defines[@]}" -I "$bindings" "${sdk_cflags[@]}" -isystem "$jsmn" \
    -c "$src" -o "$work/plugin.o"
"${cc[@]}" -c "$bindings/policy.c" -o "$work/bindings.o"
# A reactor: a library whose exports the host calls, without `main`.
"${cc[@]}" -mexec-model=reactor "$work/plugin.o" "$work/bindings.o" "$bindings/policy_component_type.o" \
    -o "$work/core.wasm"

# The plugins use no WASI (no stdio, files or clocks): the core module then
# imports nothing and becomes a component as it is. Code that does use WASI
# (printf, say) needs the preview 1 adapter, fetched only then.
# (No `grep -q`: it would stop reading early, and the SIGPIPE of the writer
# would fail the pipeline under pipefail.)
adapt=()
if "$wasm_tools" print "$work/core.wasm" | grep '(import "wasi_snapshot_preview1"' >/dev/null; then
    adapt=(--adapt "wasi_snapshot_preview1=$(tools_wasi_adapter)")
fi
"$wasm_tools" component new "$work/core.wasm" "${adapt[@]}" -o "$component.partial"
mv "$component.partial" "$component"
echo "$component"
