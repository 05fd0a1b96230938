#!/usr/bin/env bash
# Runs the framewire server with the frame inspector at http://127.0.0.1:9090/.
# Builds the wasm bundle first when www/pkg/ is missing or older than its sources.
# Arguments go to `framewire serve` (for example: --addr 127.0.0.1:9191).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

WASM=www/pkg/framewire_wasm_bg.wasm
stale=
if [ ! -f "$WASM" ] || [ ! -f www/pkg/framewire_wasm.js ] || [ ! -f www/pkg/framewire_analysis_bg.wasm ]; then
    stale="missing"
elif [ -n "$(find core/src core/Cargo.toml wasm-client/src wasm-client/Cargo.toml Cargo.lock \
    -newer "$WASM" -print -quit)" ]; then
    stale="older than its sources"
fi
if [ -n "$stale" ]; then
    echo "==> serve: the wasm bundle is $stale; building it (scripts/build-wasm.sh)"
    scripts/build-wasm.sh
fi

exec cargo run --release -p framewire-cli -- serve "$@"
