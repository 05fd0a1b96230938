#!/usr/bin/env bash
# Builds the cargo-fuzz targets of fuzz/ (nightly toolchain, AddressSanitizer, debug
# assertions on) and runs each for a bounded time, starting from its seeds in
# fuzz/corpus/<target>/. Fails when any target crashes, panics, leaks past the
# memory bound or takes over a second on one input; prints how many inputs each ran.
#
# Environment:
#   FUZZ_SECS      seconds of fuzzing per target (default 20: 11 runs, about 4 minutes)
#   FUZZ_RSS_MB    libFuzzer's -rss_limit_mb, the memory bound of a run (default 512)
#   FUZZ_TARGETS   the targets to run, space-separated (default: all of `cargo fuzz list`)
#   FUZZ_SMALL_INFLATE  the targets run a second time built with the feature
#                  `small-inflate` (inflate on miniz_oxide, as in the browser's decoder),
#                  reported as TARGET+miniz (default: "deflate inspector", those of them
#                  among FUZZ_TARGETS; empty to skip)
#   FUZZ_WORK      where new inputs, crash artifacts and logs go
#                  (default: $CARGO_TARGET_DIR/fuzz-work, else target/fuzz-work)
#
# The seeds stay as committed: new inputs go to $FUZZ_WORK/corpus/<target>/ (kept
# between local runs). To reproduce a crash: the command printed under it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
FUZZ_SECS=${FUZZ_SECS:-20}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-512}
WORK=${FUZZ_WORK:-$TARGET_DIR/fuzz-work}
# The fuzz crate's own target dir: a nightly sanitizer build shares nothing with the workspace's.
FUZZ_TARGET_DIR=$TARGET_DIR/fuzz

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz.sh: no nightly toolchain (cargo-fuzz needs one): nothing was fuzzed" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz is missing: run scripts/setup.sh (or cargo install cargo-fuzz)" >&2
    exit 2
fi

cd fuzz
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
mkdir -p "$WORK/logs"

echo "==> fuzz: building every target"
cargo +nightly fuzz build --debug-assertions --target-dir "$FUZZ_TARGET_DIR"

results=()
crashed=0
# Runs target $1 (reported as $2, its work under that name) with cargo-fuzz options $3.
fuzz_one() {
    local t=$1 name=$2 opts=$3
    mkdir -p "$WORK/corpus/$name" "$WORK/artifacts/$name"
    log=$WORK/logs/$name.log
    printf '==> fuzz: %s for %ss\n' "$name" "$FUZZ_SECS"
    status=0
    # shellcheck disable=SC2086 # $opts is a list of options
    cargo +nightly fuzz run --debug-assertions $opts --target-dir "$FUZZ_TARGET_DIR" "$t" \
        "$WORK/corpus/$name" "corpus/$t" -- \
        -max_total_time="$FUZZ_SECS" -rss_limit_mb="$FUZZ_RSS_MB" -timeout=1 \
        -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$name/" >"$log" 2>&1 || status=$?
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || true)
    if [ -z "$execs" ]; then
        execs=$(grep -Eo '^#[0-9]+' "$log" | tr -d '#' | tail -1 || true)
    fi
    execs=${execs:-0}
    if [ "$status" -ne 0 ]; then
        crashed=$((crashed + 1))
        results+=("$(printf '%-30s %10s inputs  CRASHED (exit status %s)' "$name" "$execs" "$status")")
        echo "---- $name failed; the end of its log ($log):"
        tail -n 40 "$log"
        echo "---- what failed:"
        grep -m1 -A2 -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer' "$log" || true
        artifact=$(grep -Eo "$WORK/artifacts/$name/[^ ]+" "$log" | tail -1 || true)
        if [ -n "$artifact" ]; then
            echo "---- reproduce: (cd fuzz && cargo +nightly fuzz run --debug-assertions $opts $t $artifact)"
        fi
    elif [ "$execs" -eq 0 ]; then
        crashed=$((crashed + 1))
        results+=("$(printf '%-30s %10s inputs  FAILED: ran no input' "$name" "$execs")")
        tail -n 20 "$log"
    else
        results+=("$(printf '%-30s %10s inputs  ok' "$name" "$execs")")
    fi
}

for t in $targets; do
    fuzz_one "$t" "$t" ""
done

# The same inflating targets on miniz_oxide, the browser decoder's inflate. Built last: the
# feature changes framewire-core, so these binaries replace the ones above until the next build.
small=()
for t in ${FUZZ_SMALL_INFLATE-deflate inspector}; do
    if grep -qw -- "$t" <<<"$targets"; then small+=("$t"); fi
done
if [ "${#small[@]}" -gt 0 ]; then
    echo "==> fuzz: building ${small[*]} with small-inflate"
    for t in "${small[@]}"; do
        cargo +nightly fuzz build --debug-assertions --features small-inflate \
            --target-dir "$FUZZ_TARGET_DIR" "$t"
    done
    for t in "${small[@]}"; do
        fuzz_one "$t" "$t+miniz" "--features small-inflate"
    done
fi

printf '\n==== fuzz.sh: %ss per target, -rss_limit_mb=%s, -timeout=1 ====\n' "$FUZZ_SECS" "$FUZZ_RSS_MB"
printf '  %s\n' "${results[@]}"
summary=""
for line in "${results[@]}"; do
    read -r name n _ <<<"$line"
    summary+="${summary:+, }$name $n"
done
echo "fuzz summary: $summary"
if [ "$crashed" -ne 0 ]; then
    echo "fuzz.sh: $crashed target(s) failed (artifacts in $WORK/artifacts)" >&2
    exit 1
fi
