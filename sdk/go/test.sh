#!/usr/bin/env bash
# Runs the SDK's unit tests for both contracts it targets: WIT 0.3.0, and
# 0.1.0 (the build tag warrant_wit_0_1_0). Also vets the SDK as built for
# WebAssembly (GOOS=wasip1), which the tests, run natively, do not compile,
# and checks that every file is as gofmt formats it. Installs Go on first
# use, through examples/tools.sh; downloads nothing else.
set -euo pipefail
here="$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)"
. "$here/../../examples/tools.sh"
go="$(tools_go)"
export GOENV=off GOWORK=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local GOCACHE="$WARRANT_TOOLS/go-cache"
cd "$here"

unformatted="$("$(dirname "$go")/gofmt" -l .)"
if [ -n "$unformatted" ]; then
    echo "not formatted by gofmt: $unformatted" >&2
    exit 1
fi
for contract in 0.3.0 0.1.0; do
    tags=""
    if [ "$contract" = 0.1.0 ]; then
        tags=warrant_wit_0_1_0
    fi
    echo "WIT $contract${tags:+ (-tags $tags)}:"
    "$go" vet -tags="$tags" ./...
    GOOS=wasip1 GOARCH=wasm "$go" vet -tags="$tags" ./...
    "$go" test -tags="$tags" ./...
done
