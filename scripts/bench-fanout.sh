#!/usr/bin/env bash
# The fan-out bench: one publisher and 1,000 subscribers in one /chat room (a topic) of
# `framewire serve`, 20-byte and 1 KiB text messages; deliveries per second and per server
# CPU-second, medians of a few rounds. Server pinned to CPU 0, load generator to CPU 1.
# Loopback only; every run is bounded in messages (and gives up after 120 s).
#
# Then, when redis-server is installed, across two instances on one Redis (`--redis`, not
# pinned): the publish-to-delivery latency p50/p99 at 1,000 messages/s within one instance and
# across two (the difference is what Redis adds), and the messages per second one Redis carries
# from one instance to another (one publisher, one subscriber, 64-byte messages).
#
# Bun's `server.publish` would be the comparison; it runs only when `bun` is on PATH
# (not installed by setup.sh), and this script says so when it is not.
#
# Environment:
#   FANOUT_ROUNDS=3       rounds per message size
#   FANOUT_SUBS=1000      subscribers
#   FANOUT_MESSAGES_SMALL=2000   messages published per 20-byte run
#   FANOUT_MESSAGES_LARGE=500    messages published per 1 KiB run
#   FANOUT_REDIS_MESSAGES=50000  messages of the cross-instance throughput run
#   BENCH_NO_BUILD=1      use the release binaries already built
# Writes target/bench/fanout.txt (every run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
OUT=$TARGET_DIR/bench/fanout.txt
ROUNDS=${FANOUT_ROUNDS:-3}
SUBS=${FANOUT_SUBS:-1000}
SMALL=${FANOUT_MESSAGES_SMALL:-2000}
LARGE=${FANOUT_MESSAGES_LARGE:-500}
PORT=${BENCH_PORT:-19400}
REDIS_MESSAGES=${FANOUT_REDIS_MESSAGES:-50000}

die() {
    echo "bench-fanout.sh: $*" >&2
    exit 2
}

for v in ROUNDS SUBS SMALL LARGE REDIS_MESSAGES; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: give a whole number, at least 1"
done
[ "$SUBS" -le 20000 ] || die "FANOUT_SUBS=$SUBS: at most 20000"

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    echo "==> cargo build --release -p framewire-cli -p framewire-bench"
    cargo build --release -p framewire-cli -p framewire-bench
fi
for b in framewire bench-fanout; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: build with cargo build --release -p framewire-cli -p framewire-bench"
done
ulimit -n $((SUBS * 2 + 256)) 2>/dev/null || die "cannot raise the open-file limit to $((SUBS * 2 + 256))"

if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER=(taskset -c 0)
    PIN_LOAD=(taskset -c 1)
else
    PIN_SERVER=()
    PIN_LOAD=()
fi

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
server_pid=
others=()
# Stops the server of the current run and whatever else this script started.
stop_all() {
    local i pids=($server_pid)
    # The last started first: the servers before the Redis they use.
    for ((i = ${#others[@]} - 1; i >= 0; i--)); do
        pids+=("${others[i]}")
    done
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    server_pid=
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

for round in $(seq 1 "$ROUNDS"); do
    for size in 20 1024; do
        messages=$SMALL
        [ "$size" = 1024 ] && messages=$LARGE
        port=$((PORT + round))
        "${PIN_SERVER[@]}" "$BIN/framewire" serve --addr "127.0.0.1:$port" --no-deflate \
            --idle-timeout off --ping-interval off --max-connections $((SUBS + 100)) \
            --log-level warn &
        server_pid=$!
        wait_port "$port" || die "framewire did not listen on $port"
        line=$("${PIN_LOAD[@]}" "$BIN/bench-fanout" --addr "127.0.0.1:$port" --subs "$SUBS" \
            -s "$size" -m "$messages" --server-pid "$server_pid")
        echo "round=$round server=framewire $line" | tee -a "$OUT"
        stop_all
    done
done

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

if ! command -v bun >/dev/null; then
    echo "bun is not on PATH: no Bun server.publish comparison in this run"
fi

median() { # median SIZE FIELD
    grep " size=$1 " "$OUT" | grep -o " $2=[0-9.]*" | cut -d= -f2 | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
printf '\n| message | deliveries/s | deliveries per server CPU-s | server CPU (cores) |\n|---|---|---|---|\n'
for size in 20 1024; do
    printf '| %s B | %s | %s | %s |\n' "$size" "$(median "$size" deliveries_per_sec)" \
        "$(median "$size" deliveries_per_server_cpu_sec)" "$(median "$size" server_cpu)"
done
