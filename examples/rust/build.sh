#!/usr/bin/env bash
# Builds the reference policy into a WebAssembly component and prints its
# path as the last line. Needs rustup; adds the wasm32-wasip2 target when
# it is missing.
set -euo pipefail
cd "$(dirname "$0")"
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2 >&2
fi
cargo build --target wasm32-wasip2 --profile plugin --target-dir target >&2
echo "$(pwd)/target/wasm32-wasip2/plugin/reference_policy.wasm"
