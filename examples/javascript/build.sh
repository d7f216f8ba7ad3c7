#!/usr/bin/env bash
# Builds a plugin of this folder into a WebAssembly component and prints its
# path as the last line (everything else goes to stderr):
#
#   build.sh            the reference policy, policy.js
#   build.sh NAME       NAME.js, e.g. `build.sh risk-threshold`
#
# against WIT 0.3.0, into target/NAME.wasm; with WARRANT_CONTRACT=0.1.0,
# against WIT 0.1.0 (wit/warrant.wit), into target/NAME-0.1.0.wasm. Needs
# Node.js and npm; installs componentize-js and esbuild from npm through
# tools.sh when they are missing.
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
# Warrant's WIT, SDK and toolchain script: the repository, two levels up.
warrant="$here/../.."
sdk="$warrant/sdk/js"
. "$warrant/examples/tools.sh"

plugin="${1:-reference-policy}"
if [[ ! "$plugin" =~ ^[a-z][a-z0-9-]*$ ]]; then
    echo "build.sh: \`$plugin\` is not a plugin name (lowercase letters, digits and hyphens)" >&2
    exit 2
fi
if [ "$plugin" = reference-policy ]; then
    source="$here/policy.js"
else
    source="$here/$plugin.js"
fi
if [ ! -f "$source" ]; then
    echo "build.sh: there is no plugin \`$plugin\`: $source does not exist" >&2
    exit 2
fi

# The contract: the WIT to bind to, and the esbuild condition that makes the
# SDK's `#host` that contract's host interface (see the SDK's package.json).
contract="${WARRANT_CONTRACT:-0.3.0}"
case "$contract" in
    0.3.0)
        wit="$warrant/wit/0.3.0"
        name="$plugin"
        conditions=()
        ;;
    0.1.0)
        wit="$warrant/wit"
        name="$plugin-0.1.0"
        conditions=(--conditions=warrant-0.1.0)
        ;;
    *)
        echo "build.sh: WARRANT_CONTRACT must be 0.3.0 or 0.1.0, not \`$contract\`" >&2
        exit 2
        ;;
esac

out="$here/target/$name.wasm"
inputs=("$here"/*.js "$here/package.json" "$sdk" "$wit"/*.wit "$here/build.sh" "$warrant/examples/tools.sh")
if [ -e "$out" ] && [ -z "$(find "${inputs[@]}" -newer "$out" -print -quit)" ]; then
    echo "$out"
    exit 0
fi

node_modules="$(tools_node_modules)"
mkdir -p "$here/target"

# package.json depends on the SDK's package by path (`file:`): npm links it
# into node_modules, from the folder itself, with nothing to download.
(cd "$here" && npm install --offline --no-audit --no-fund --no-package-lock --silent) >&2

# componentize-js takes a single module: bundle the plugin with the SDK.
# The host's interface stays an import, which componentize-js binds to the
# component's import of `warrant:policy/host`.
"$node_modules/.bin/esbuild" "$source" \
    --bundle --format=esm --platform=neutral \
    ${conditions[@]+"${conditions[@]}"} \
    --external:'warrant:*' \
    --log-level=warning \
    --outfile="$here/target/$name.bundle.js" >&2

# Every optional feature of the engine is disabled, so the component imports
# no WASI at all: no HTTP, no clocks or randomness (a policy must use
# `context.now` and be deterministic), no stdio (the host keeps no output;
# the SDK writes errors to the host's log instead).
cd "$here/target"
"$node_modules/.bin/componentize-js" "$name.bundle.js" \
    --wit "$wit" --world-name policy \
    --disable http fetch-event clocks random stdio \
    --out "$name.wasm.partial" >&2
mv "$name.wasm.partial" "$out"
echo "$out"
