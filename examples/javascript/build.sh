#!/usr/bin/env bash
# Builds the reference policy into a WebAssembly component and prints its
# path as the last line. Needs Node.js and npm; installs componentize-js and
# esbuild from npm through tools.sh when they are missing.
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
# Warrant's WIT, SDK and toolchain script: the repository, two levels up.
warrant="$here/../.."
. "$warrant/examples/tools.sh"

out="$here/target/reference-policy.wasm"
inputs=("$here"/*.js "$warrant/sdk/js" "$warrant/wit" "$here/build.sh" "$warrant/examples/tools.sh")
if [ -e "$out" ] && [ -z "$(find "${inputs[@]}" -newer "$out" -print -quit)" ]; then
    echo "$out"
    exit 0
fi

node_modules="$(tools_node_modules)"
mkdir -p "$here/target"

# componentize-js takes a single module: bundle the policy with the SDK.
# The host's interface stays an import, which componentize-js binds to the
# component's import of `warrant:policy/host`.
"$node_modules/.bin/esbuild" "$here/policy.js" \
    --bundle --format=esm --platform=neutral \
    --alias:warrant-sdk="$warrant/sdk/js/warrant.js" \
    --external:'warrant:*' \
    --log-level=warning \
    --outfile="$here/target/policy.bundle.js" >&2

# Every optional feature of the engine is disabled, so the component imports
# no WASI at all: no HTTP, no clocks or randomness (a policy must use
# `context.now` and be deterministic), no stdio (the host keeps no output;
# the SDK writes errors to the host's log instead).
cd "$here/target"
"$node_modules/.bin/componentize-js" policy.bundle.js \
    --wit "$warrant/wit" --world-name policy \
    --disable http fetch-event clocks random stdio \
    --out reference-policy.wasm.partial >&2
mv reference-policy.wasm.partial "$out"
echo "$out"
