#!/usr/bin/env bash
# THE test command of framewire: installs what is missing (scripts/setup.sh), then runs every
# check and test in order, stopping at the first failure. Prints a timed summary at the end.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LOG_DIR=$TARGET_DIR/test-logs
mkdir -p "$LOG_DIR"

summary=()
total_start=$(date +%s)

print_summary() {
    printf '\n==== test.sh summary ====\n'
    for line in "${summary[@]}"; do
        printf '  %s\n' "$line"
    done
    printf '  total: %ss\n' "$(($(date +%s) - total_start))"
}

# step NAME COMMAND...: runs COMMAND, records its time, stops everything when it fails.
# COMMAND runs where `set -e` does not apply, so the functions below return their failures.
step() {
    local name=$1 start status=0
    shift
    printf '\n==> test: %s\n' "$name"
    start=$(date +%s)
    "$@" || status=$?
    local took=$(($(date +%s) - start))
    if [ "$status" -ne 0 ]; then
        summary+=("FAILED  $name (${took}s, exit status $status)")
        print_summary
        printf '\ntest.sh FAILED at step: %s\n' "$name" >&2
        exit 1
    fi
    summary+=("ok      $name (${took}s)${step_note:+: $step_note}")
    step_note=
}
step_note=

# sum_passed LOG: total of "N passed" over the "test result:" lines of a test log.
sum_passed() {
    grep -Eo 'test result: ok\. [0-9]+ passed' "$1" | awk '{n += $4} END {print n + 0}'
}

cargo_tests() {
    local log=$LOG_DIR/cargo-test.log
    cargo test --workspace 2>&1 | tee "$log" || return 1
    step_note="$(sum_passed "$log") tests passed"
}

build_wasm_bundle() {
    if [ -f scripts/build-wasm.sh ]; then
        scripts/build-wasm.sh
    else
        echo "scripts/build-wasm.sh is not in the repository yet; the browser bundle is not built"
        step_note="skipped: no scripts/build-wasm.sh"
    fi
}

core_without_tokio() {
    local tree
    tree=$(cargo tree -p framewire-core -e normal --target all) || return 1
    if grep -Eq '^[^a-z]*(tokio|mio|async-std|smol)[ -]' <<<"$tree"; then
        grep -E '(tokio|mio|async-std|smol)' <<<"$tree" >&2
        echo "framewire-core must not depend on an async runtime or sockets (see above)" >&2
        return 1
    fi
    step_note="none of tokio/mio/async-std/smol among its normal dependencies (all targets)"
}

# The library must not bring the command line's dependencies to its users: they belong to
# framewire-cli (native-server/cli/), which builds the `framewire` binary.
server_lib_without_cli_deps() {
    local tree
    tree=$(cargo tree -p framewire-server -e normal --target all) || return 1
    if grep -Eq '^[^a-z]*(clap|tracing-subscriber|mimalloc)[ -]' <<<"$tree"; then
        grep -E '(clap|tracing-subscriber|mimalloc)' <<<"$tree" >&2
        echo "the framewire-server library must not depend on clap, tracing-subscriber or mimalloc" \
            "(see above): they are the command line's, in framewire-cli (native-server/cli/)" >&2
        return 1
    fi
    step_note="none of clap/tracing-subscriber/mimalloc among framewire-server's normal dependencies (all targets)"
}

wasm_browser_tests() {
    local log=$LOG_DIR/wasm-pack-test.log passed
    wasm-pack test --headless --firefox wasm-client --features analysis 2>&1 | tee "$log" || return 1
    passed=$(sum_passed "$log")
    if [ "$passed" -eq 0 ]; then
        echo "wasm-pack test ran no test (no 'test result: ok. N passed' with N > 0)" >&2
        return 1
    fi
    step_note="$passed tests passed in headless Firefox"
}

# The cargo-fuzz targets of fuzz/, each for FUZZ_SECS (20 s unless set) from the
# committed seeds. They need a nightly toolchain: without one the step says so.
fuzzing() {
    local log=$LOG_DIR/fuzz.log
    if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        echo "no nightly toolchain: the fuzz targets are neither built nor run"
        step_note="skipped: no nightly toolchain"
        return 0
    fi
    FUZZ_SECS=${FUZZ_SECS:-20} scripts/fuzz.sh 2>&1 | tee "$log" || return 1
    step_note="${FUZZ_SECS:-20}s each, inputs run: $(sed -n 's/^fuzz summary: //p' "$log")"
}

autobahn() {
    local log=$LOG_DIR/autobahn.log status=0
    python3 tests/autobahn/test_summarize.py || return 1
    tests/autobahn/run.sh all 2>&1 | tee "$log" || status=$?
    step_note=$(grep -E '^autobahn (server|client|proxied): ' "$log" | paste -sd ';' - | sed 's/;/; /g')
    return "$status"
}

bench_smoke() {
    # One 1-second round per scenario against every echo server: shows the bench works and
    # that no server errs under it. The figures of a run this short mean nothing. The
    # fan-out runs 100 subscribers and 100 (20 B) or 50 (1 KiB) messages: a few seconds.
    BENCH_ROUNDS=1 BENCH_SECS=1 BENCH_IDLE_CONNS=200 \
        BENCH_FANOUT_SUBS=100 BENCH_FANOUT_SMALL=100 BENCH_FANOUT_LARGE=50 scripts/bench.sh
}

soak_smoke() {
    # 1,000 connections echoing for 20 s against framewire serve: fails on any error or
    # when the server's VmRSS drifts more than 5% (scripts/soak.sh; the real soak is 10 min).
    local log=$LOG_DIR/soak.log
    SOAK_SECS=${SOAK_SECS:-20} SOAK_CONNS=${SOAK_CONNS:-1000} scripts/soak.sh 2>&1 | tee "$log" ||
        return 1
    step_note=$(sed -n 's/^soak: //p' "$log" | head -1)
}

benchmarks_once() {
    # criterion's --test mode runs every benchmark once, without measuring.
    cargo bench -p framewire-core -- --test
}

step "setup (scripts/setup.sh)" scripts/setup.sh
step "cargo fmt --all --check" cargo fmt --all --check
step "cargo clippy --workspace --all-targets -- -D warnings" cargo clippy --workspace --all-targets -- -D warnings
step "cargo build --release -p framewire-cli" cargo build --release -p framewire-cli
step "wasm bundle for the browser tests (scripts/build-wasm.sh)" build_wasm_bundle
step "cargo test --workspace" cargo_tests
step "fuzz targets, ${FUZZ_SECS:-20}s each (scripts/fuzz.sh)" fuzzing
step "cargo build -p framewire-core --target wasm32-unknown-unknown" cargo build -p framewire-core --target wasm32-unknown-unknown
step "cargo test -p framewire-core --features small-inflate --lib --test deflate (inflate on miniz_oxide, as in the browser's decoder)" cargo test -p framewire-core --features small-inflate --lib --test deflate
step "framewire-core has no tokio in its dependency tree" core_without_tokio
step "framewire-server has no clap, tracing-subscriber or mimalloc in its dependency tree" server_lib_without_cli_deps
step "wasm-pack test --headless --firefox wasm-client --features analysis" wasm_browser_tests
step "Autobahn testsuite: server, client, and server through framewire proxy with the same verdicts (tests/autobahn/run.sh)" autobahn
step "benchmarks, once each (cargo bench -p framewire-core -- --test)" benchmarks_once
step "comparative load bench, one short round (scripts/bench.sh)" bench_smoke
step "soak smoke: 1,000 connections echoing for ${SOAK_SECS:-20}s (scripts/soak.sh)" soak_smoke

print_summary
printf '\ntest.sh: all steps passed\n'
