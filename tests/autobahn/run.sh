#!/usr/bin/env bash
# Runs the Autobahn|Testsuite against framewire, on loopback only.
#
#   tests/autobahn/run.sh            the three runs, at the same time; then the proxied run's
#                                    verdicts are compared, case by case, with the server run's
#   tests/autobahn/run.sh server     wstest fuzzingclient -> `framewire serve` at /echo
#   tests/autobahn/run.sh client     wstest fuzzingserver <- the conformance client (autobahn_client)
#   tests/autobahn/run.sh proxied    wstest fuzzingclient -> `framewire proxy` -> `framewire serve`
#                                    (the relay must add nothing and break nothing)
#
# Reports (HTML + JSON) go to target/autobahn/{server,client,proxied}/, per-section tables to
# target/autobahn/{server,client,proxied}-summary.md. Exits non-zero on any FAILED, NON-STRICT or
# UNIMPLEMENTED case, or when fewer cases were reported than the spec selects.
# Needs the suite installed by scripts/setup.sh. Set AUTOBAHN_NO_BUILD=1 to skip `cargo build`;
# FRAMEWIRE_BIN / AUTOBAHN_CLIENT_BIN point at other binaries than target/release/.
set -euo pipefail

# Cases excluded from both runs: none. Sections 12 and 13 (permessage-deflate) take most of
# the time, in wstest itself; AUTOBAHN_EXCLUDE_CASES='["12.*", "13.*"]' skips them for a quick run.
EXCLUDE_CASES=${AUTOBAHN_EXCLUDE_CASES:-'[]'}

# Cases run (AUTOBAHN_CASES='["6.4.*"]' runs a few while debugging).
CASES=${AUTOBAHN_CASES:-'["*"]'}

# Both sides run with their defaults: permessage-deflate on, and a fragment limit (131,072)
# above the 65,537 frames of cases 9.3.1 and 9.4.1.
SERVER_ARGS=(${AUTOBAHN_SERVER_EXTRA_ARGS:-})
CLIENT_ARGS=()

# Upper bound on one wstest run, so a hung testee cannot hang CI.
RUN_TIMEOUT=${AUTOBAHN_TIMEOUT:-2400}

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TARGET_DIR/autobahn
CACHE_DIR=${FRAMEWIRE_CACHE:-$HOME/.cache/framewire}
WSTEST=${WSTEST:-$CACHE_DIR/autobahn-venv/bin/wstest}
WSTEST_PYTHON=$(dirname "$WSTEST")/python
FRAMEWIRE=${FRAMEWIRE_BIN:-$TARGET_DIR/release/framewire}
CLIENT=${AUTOBAHN_CLIENT_BIN:-$TARGET_DIR/release/autobahn_client}
AGENT=framewire

say() { printf '==> autobahn: %s\n' "$*"; }
fail() {
    printf 'autobahn FAILED: %s\n' "$*" >&2
    exit 1
}

[ -x "$WSTEST" ] || fail "wstest not found at $WSTEST; run scripts/setup.sh first"

mode=${1:-all}
case "$mode" in
server | client | proxied | all) ;;
*) fail "unknown mode '$mode' (expected server, client, proxied or all)" ;;
esac

if [ "${AUTOBAHN_NO_BUILD:-0}" != 1 ]; then
    say "building framewire and the conformance client (release)"
    cargo build --release -q -p framewire-cli --bin framewire
    if [ "$mode" = client ] || [ "$mode" = all ]; then
        cargo build --release -q -p framewire-tests --bin autobahn_client
    fi
fi

mkdir -p "$OUT"
export PYTHONWARNINGS=ignore

# Background processes a run started; stopped when the run's subshell exits.
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_port PORT PID WHAT: until 127.0.0.1:PORT accepts connections (PID must stay alive).
wait_for_port() {
    local port=$1 pid=$2 what=$3
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || fail "$what exited before listening on 127.0.0.1:$port"
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    fail "$what did not listen on 127.0.0.1:$port within 20 s"
}

# How many cases a spec selects, computed by the suite itself.
expected_cases() {
    "$WSTEST_PYTHON" - "$1" <<'EOF'
import json, sys
from autobahntestsuite.fuzzing import CaseSet, CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories
spec = json.load(open(sys.argv[1]))
print(len(CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories).parseSpecCases(spec)))
EOF
}

summarize() {
    local label=$1 spec=$2 seconds=$3
    python3 "$ROOT/tests/autobahn/summarize.py" "$OUT/$label" --label "$label" --agent "$AGENT" \
        --expected "$(expected_cases "$spec")" --seconds "$seconds" --markdown "$OUT/$label-summary.md"
}

# fuzzingclient LABEL URL: wstest's fuzzing client against URL, its report in $OUT/LABEL; sets
# fuzz_spec and fuzz_seconds for `summarize`.
fuzzingclient() {
    local label=$1 url=$2 start status=0
    fuzz_spec=$OUT/fuzzingclient-$label.json
    rm -rf "${OUT:?}/$label"
    cat >"$fuzz_spec" <<EOF
{
  "outdir": "$OUT/$label",
  "servers": [{"agent": "$AGENT", "url": "$url"}],
  "cases": $CASES,
  "exclude-cases": $EXCLUDE_CASES,
  "exclude-agent-cases": {}
}
EOF
    say "$label: wstest -m fuzzingclient against $url (log: $OUT/$label-wstest.log)"
    start=$(date +%s.%N)
    (cd "$OUT" && timeout "$RUN_TIMEOUT" "$WSTEST" -m fuzzingclient -s "$fuzz_spec") >"$OUT/$label-wstest.log" 2>&1 || status=$?
    fuzz_seconds=$(python3 -c "print($(date +%s.%N) - $start)")
    if [ "$status" -ne 0 ]; then
        tail -n 20 "$OUT/$label-wstest.log" >&2
        fail "$label: wstest exited with status $status"
    fi
}

# start_serve LABEL PORT: `framewire serve` on 127.0.0.1:PORT in the background, logging to
# $OUT/LABEL-serve.log; sets serve_pid.
start_serve() {
    local label=$1 port=$2
    say "$label: framewire serve --addr 127.0.0.1:$port ${SERVER_ARGS[*]} (log: $OUT/$label-serve.log)"
    "$FRAMEWIRE" serve --addr "127.0.0.1:$port" "${SERVER_ARGS[@]}" >"$OUT/$label-serve.log" 2>&1 &
    serve_pid=$!
    pids+=("$serve_pid")
    wait_for_port "$port" "$serve_pid" "framewire serve"
}

run_server() {
    local port server_pid
    [ -x "$FRAMEWIRE" ] || fail "$FRAMEWIRE not built (cargo build --release -p framewire-cli)"
    port=$(free_port)
    start_serve server "$port"
    server_pid=$serve_pid
    fuzzingclient server "ws://127.0.0.1:$port/echo"
    kill -0 "$server_pid" 2>/dev/null || {
        tail -n 20 "$OUT/server-serve.log" >&2
        fail "server: framewire serve died during the run"
    }
    summarize server "$fuzz_spec" "$fuzz_seconds"
}

# The fuzzing client through `framewire proxy` in front of `framewire serve`: the verdicts
# must be the server run's (compared by `compare_proxied` after both runs).
run_proxied() {
    local port proxy_port server_pid proxy_pid
    [ -x "$FRAMEWIRE" ] || fail "$FRAMEWIRE not built (cargo build --release -p framewire-cli)"
    port=$(free_port)
    proxy_port=$(free_port)
    start_serve proxied "$port"
    server_pid=$serve_pid
    say "proxied: framewire proxy --upstream ws://127.0.0.1:$port --listen 127.0.0.1:$proxy_port (log: $OUT/proxied-proxy.log)"
    "$FRAMEWIRE" proxy --upstream "ws://127.0.0.1:$port" --listen "127.0.0.1:$proxy_port" --log-level warn \
        >"$OUT/proxied-proxy.log" 2>&1 &
    proxy_pid=$!
    pids+=("$proxy_pid")
    wait_for_port "$proxy_port" "$proxy_pid" "framewire proxy"
    fuzzingclient proxied "ws://127.0.0.1:$proxy_port/echo"
    for pid in "$server_pid" "$proxy_pid"; do
        kill -0 "$pid" 2>/dev/null || {
            tail -n 20 "$OUT/proxied-serve.log" "$OUT/proxied-proxy.log" >&2
            fail "proxied: framewire serve or proxy died during the run"
        }
    done
    summarize proxied "$fuzz_spec" "$fuzz_seconds"
}

run_client() {
    local port spec wstest_pid start status=0
    [ -x "$CLIENT" ] || fail "$CLIENT not built (cargo build --release -p framewire-tests --bin autobahn_client)"
    port=$(free_port)
    spec=$OUT/fuzzingserver.json
    rm -rf "$OUT/client"
    cat >"$spec" <<EOF
{
  "url": "ws://127.0.0.1:$port",
  "outdir": "$OUT/client",
  "cases": $CASES,
  "exclude-cases": $EXCLUDE_CASES,
  "exclude-agent-cases": {}
}
EOF
    say "client: wstest -m fuzzingserver on 127.0.0.1:$port (log: $OUT/client-wstest.log)"
    (cd "$OUT" && exec "$WSTEST" -m fuzzingserver -s "$spec" --webport 0) >"$OUT/client-wstest.log" 2>&1 &
    wstest_pid=$!
    pids+=("$wstest_pid")
    wait_for_port "$port" "$wstest_pid" "wstest fuzzingserver"

    say "client: autobahn_client --url ws://127.0.0.1:$port --agent $AGENT ${CLIENT_ARGS[*]} (log: $OUT/client.log)"
    start=$(date +%s.%N)
    timeout "$RUN_TIMEOUT" "$CLIENT" --url "ws://127.0.0.1:$port" --agent "$AGENT" "${CLIENT_ARGS[@]}" \
        >"$OUT/client.log" 2>&1 || status=$?
    local seconds
    seconds=$(python3 -c "print($(date +%s.%N) - $start)")
    if [ "$status" -ne 0 ]; then
        tail -n 20 "$OUT/client.log" >&2
        fail "client: autobahn_client exited with status $status"
    fi
    summarize client "$spec" "$seconds"
}

# run_in_subshell NAME: one run in its own subshell, so a failed run does not stop the other.
run_in_subshell() {
    set +e
    (
        set -e
        trap cleanup EXIT
        "run_$1"
    )
    local status=$?
    set -e
    return "$status"
}

# compare_proxied: the proxied run's verdict on every case must be the server run's.
compare_proxied() {
    [ -f "$OUT/server/index.json" ] && [ -f "$OUT/proxied/index.json" ] ||
        fail "proxied: not compared with the server run (a report is missing)"
    python3 "$ROOT/tests/autobahn/summarize.py" "$OUT/proxied" --label proxied --agent "$AGENT" \
        --compare "$OUT/server"
}

if [ "$mode" != all ]; then
    run_in_subshell "$mode"
    exit
fi

# The three runs at once (wstest, not framewire, is what takes the time: one core each), each
# run's output shown once it is over; then the proxied verdicts are compared with the direct ones.
started=$(date +%s)
declare -A run_pid
for run in server client proxied; do
    run_in_subshell "$run" >"$OUT/$run-run.out" 2>&1 &
    run_pid[$run]=$!
done
result=0
for run in server client proxied; do
    status=0
    wait "${run_pid[$run]}" || status=$?
    cat "$OUT/$run-run.out"
    [ "$status" -eq 0 ] || result=1
done
compare_proxied || result=1
say "the three runs took $(($(date +%s) - started)) s"
exit "$result"
