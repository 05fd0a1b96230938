#!/usr/bin/env bash
# The fan-out bench: `scripts/bench.sh`'s fanout scenario (one publisher and 1,000 subscribers
# in one room, framewire's /chat against Bun's ws.publish (bench/node/bun-fanout.mjs), 20-byte
# and 1 KiB text messages; deliveries per second and per server CPU-second, medians of a few
# rounds, server pinned to CPU 0, load generator to CPU 1), then the cross-instance runs.
# Loopback only; every run is bounded in messages (and gives up after 120 s).
#
# When redis-server is installed, across two instances on one Redis (`--redis`, not
# pinned): the publish-to-delivery latency p50/p99 at 1,000 messages/s within one instance and
# across two (the difference is what Redis adds), and the messages per second one Redis carries
# from one instance to another (one publisher, one subscriber, 64-byte messages).
#
# Environment:
#   FANOUT_ROUNDS=3       rounds per message size
#   FANOUT_SUBS=1000      subscribers
#   FANOUT_MESSAGES_SMALL=2000   messages published per 20-byte run
#   FANOUT_MESSAGES_LARGE=500    messages published per 1 KiB run
#   FANOUT_SERVERS="framewire bun"
#   FANOUT_REDIS_MESSAGES=50000  messages of the cross-instance throughput run
#   BENCH_NO_BUILD=1      use the release binaries already built
# Writes target/bench/results.md and raw.txt (bench.sh's) and target/bench/fanout.txt (the
# Redis runs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
OUT=$TARGET_DIR/bench/fanout.txt
PORT=${BENCH_PORT:-19400}
REDIS_MESSAGES=${FANOUT_REDIS_MESSAGES:-50000}

die() {
    echo "bench-fanout.sh: $*" >&2
    exit 2
}

[[ $REDIS_MESSAGES =~ ^[1-9][0-9]*$ ]] || die "FANOUT_REDIS_MESSAGES=$REDIS_MESSAGES: give a whole number, at least 1"

BENCH_SCENARIOS=fanout BENCH_SERVERS=${FANOUT_SERVERS:-framewire bun} \
    BENCH_ROUNDS=${FANOUT_ROUNDS:-3} BENCH_FANOUT_SUBS=${FANOUT_SUBS:-1000} \
    BENCH_FANOUT_SMALL=${FANOUT_MESSAGES_SMALL:-2000} BENCH_FANOUT_LARGE=${FANOUT_MESSAGES_LARGE:-500} \
    BENCH_PORT=$PORT scripts/bench.sh

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
others=()
# Stops whatever this script started, the last started first: the servers before the
# Redis they use.
stop_all() {
    local i
    for ((i = ${#others[@]} - 1; i >= 0; i--)); do
        kill "${others[i]}" 2>/dev/null || true
        wait "${others[i]}" 2>/dev/null || true
    done
    others=()
}
trap stop_all EXIT

wait_port() {
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

redis_runs() {
    local rport=$((PORT + 50)) a=$((PORT + 51)) b=$((PORT + 52)) dir
    dir=$(mktemp -d)
    (cd "$dir" && exec redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
        --loglevel warning) >/dev/null &
    others+=($!)
    wait_port "$rport" || die "redis-server did not listen on $rport"
    for port in $a $b; do
        "$BIN/framewire" serve --addr "127.0.0.1:$port" --no-deflate --idle-timeout off \
            --ping-interval off --log-level warn --redis "redis://127.0.0.1:$rport" &
        others+=($!)
        wait_port "$port" || die "framewire did not listen on $port"
    done
    sleep 0.5 # the instances' subscriptions
    local common=(--subs 1 -s 64 --path /chat/redis)
    echo "redis=local $("$BIN/bench-fanout" --addr "127.0.0.1:$a" "${common[@]}" -m 2000 --rate 1000)" | tee -a "$OUT"
    echo "redis=across $("$BIN/bench-fanout" --addr "127.0.0.1:$b" --pub-addr "127.0.0.1:$a" "${common[@]}" -m 2000 --rate 1000)" | tee -a "$OUT"
    echo "redis=throughput $("$BIN/bench-fanout" --addr "127.0.0.1:$b" --pub-addr "127.0.0.1:$a" "${common[@]}" -m "$REDIS_MESSAGES" --window 2000)" | tee -a "$OUT"
    stop_all
    rm -rf "$dir"
}
if command -v redis-server >/dev/null; then
    redis_runs
else
    echo "redis-server is not installed: no cross-instance runs (scripts/setup.sh installs it)"
fi
