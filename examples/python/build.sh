#!/usr/bin/env bash
# Builds a plugin of this folder into a WebAssembly component and prints
# its path as the last line: the reference policy (no argument, or
# `reference-policy`), `risk-threshold` or `recurring-match`. Needs python3
# with pip; installs componentize-py (and what else the plugin needs) from
# PyPI through tools.sh when it is missing.
#
# The component targets WIT 0.3.0 (`wit/0.3.0`), or the contract that
# WARRANT_CONTRACT names: `WARRANT_CONTRACT=0.1.0 build.sh` builds against
# `wit/warrant.wit` into `target/<plugin>-0.1.0.wasm` (the reference policy
# and risk-threshold; recurring-match checks charges, which 0.1.0 lacks).
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
# Warrant's WIT, SDK and toolchain script: the repository, two levels up.
warrant="$here/../.."
. "$warrant/examples/tools.sh"
# The Python SDK, a package that pip installs from its folder.
sdk="$warrant/sdk/python"

plugin="${1:-reference-policy}"
module="${plugin//-/_}"
case "$plugin" in
    reference-policy) source="$here/$module.py" ;;
    risk-threshold | recurring-match) source="$here/$module/$module.py" ;;
    *)
        echo "build.sh: no plugin \`$plugin\`: reference-policy, risk-threshold or recurring-match" >&2
        exit 2
        ;;
esac

contract="${WARRANT_CONTRACT:-0.3.0}"
case "$contract" in
    0.3.0)
        wit="$warrant/wit/0.3.0"
        out="$here/target/$plugin.wasm"
        ;;
    0.1.0)
        if [ "$plugin" = recurring-match ]; then
            echo "build.sh: recurring-match checks charges, which WIT 0.1.0 does not have" >&2
            exit 2
        fi
        wit="$warrant/wit"
        out="$here/target/$plugin-0.1.0.wasm"
        ;;
    *)
        echo "build.sh: WARRANT_CONTRACT must be 0.3.0 or 0.1.0, not \`$contract\`" >&2
        exit 2
        ;;
esac

# Nothing to do when the component is newer than every input. Python's
# bytecode caches are not inputs.
if [ -e "$out" ] && [ -z "$(find "$source" "$here/build.sh" "$sdk" "$warrant/wit" \
    "$warrant/examples/tools.sh" -name __pycache__ -prune -o -type f -newer "$out" -print | head -n 1)" ]; then
    echo "$out"
    exit 0
fi

componentize_py="$(tools_componentize_py)"
flit_core="$(tools_flit_core)"

# The app: the plugin's module, copied, and the SDK, installed by pip from
# its folder (its build backend, flit_core, comes from tools.sh, so pip
# needs no index). componentize-py runs them in its own Python to build
# the component, which writes bytecode caches beside the sources it
# imports: hence target/.
app="$here/target/app/$(basename "$out" .wasm)"
rm -rf "$app"
mkdir -p "$app"
cp "$source" "$app/"
PIP_ROOT_USER_ACTION=ignore PYTHONPATH="$flit_core" python3 -m pip install --quiet \
    --disable-pip-version-check --no-build-isolation --no-index --no-deps --no-compile \
    --target "$app" "$sdk" >&2
paths=(-p "$app")
if [ "$plugin" = recurring-match ]; then
    # The IANA time zone database, which the plugin reads while it is built.
    paths+=(-p "$(tools_tzdata)")
fi

# componentize-py generates the bindings of the `policy` world (the module
# `wit_world`), imports the app module with everything it imports,
# snapshots that state, and bundles it with a CPython interpreter into the
# component. The app module must not be named after the world, hence
# `reference_policy`.
"$componentize_py" -d "$wit" -w policy componentize "${paths[@]}" "$module" \
    -o "$out.partial" >&2
mv "$out.partial" "$out"
echo "$out"
