#!/usr/bin/env bash
# The browser decode bench (issue 14: decoding in the browser within 3x of native): headless
# Firefox and Chromium decode, through the inspector page's own wasm module as the live table
# does, a 16 MiB masked frame and a stream of 100,000 small text frames (64 KiB pushes); the
# same bytes are decoded natively by the same decoder (the core's inspector), and the ratios
# printed. Every frame's result is checked on both sides. Builds the wasm modules and the
# release `framewire` first (unless BENCH_NO_BUILD=1). The test is
# tests/tests/browser_bench.rs (its smoke runs in `cargo test`).
#
# Environment:
#   BENCH_BIG_BYTES=16777216  payload bytes of the big frame
#   BENCH_FRAMES=100000       small frames
#   BENCH_RUNS=5              timed runs of each (the best counts)
#   BENCH_NO_BUILD=1          use the wasm modules and binary already built
# Writes target/bench/browser.md (the table).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    scripts/build-wasm.sh
    cargo build --release -p framewire-cli
fi
cargo test --release -p framewire-tests --test browser_bench -- --ignored --nocapture browser_decode_bench
