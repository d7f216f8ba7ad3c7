#!/usr/bin/env bash
# Builds the reference policy into a WebAssembly component and prints its
# path as the last line. Needs python3 with pip; installs componentize-py
# from PyPI through tools.sh when it is missing.
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
# Warrant's WIT, SDK and toolchain script: the repository, two levels up.
warrant="$here/../.."
. "$warrant/examples/tools.sh"

out="$here/target/reference-policy.wasm"

# Nothing to do when the component is newer than every input. Python's
# bytecode caches are not inputs.
if [ -e "$out" ] && [ -z "$(find "$here"/*.py "$here/build.sh" "$warrant/sdk/python" "$warrant/wit" \
    "$warrant/examples/tools.sh" -name __pycache__ -prune -o -type f -newer "$out" -print | head -n 1)" ]; then
    echo "$out"
    exit 0
fi

componentize_py="$(tools_componentize_py)"

# The app and the SDK module, copied into target/: componentize-py runs
# them in its own Python to build the component, which writes bytecode
# caches beside the sources it imports.
app="$here/target/app"
rm -rf "$app"
mkdir -p "$app"
cp "$here"/*.py "$warrant/sdk/python/warrant_sdk.py" "$app/"

# componentize-py generates the bindings of the `policy` world (the module
# `wit_world`), imports the app module `reference_policy` with everything
# it imports, snapshots that state, and bundles it with a CPython
# interpreter into the component. The app module must not be named after
# the world, hence `reference_policy`.
"$componentize_py" -d "$warrant/wit" -w policy componentize -p "$app" reference_policy \
    -o "$here/target/reference-policy.wasm.partial" >&2
mv "$here/target/reference-policy.wasm.partial" "$out"
echo "$out"
