#!/usr/bin/env bash
# The comparative load bench: `framewire serve` against echo servers on tokio-tungstenite,
# fastwebsockets and tokio-websockets (and a minimal loop on framewire-core), Bun (Bun.serve,
# uWebSockets inside), Node's ws and, with compression, Python's websockets; interleaved,
# several rounds, medians with ratios against framewire. Loopback only.
#
# Each (round, scenario, server) starts a fresh server pinned to CPU 0; the load generator
# runs pinned to CPU 1. Scenarios:
#   small      100 connections x 4 in flight x 20-byte text messages
#   large      10 connections x 1 in flight x 64 KiB binary messages
#   handshake  connect + upgrade + close cycles per second, 8 clients at once
#   idle       server RSS per connection with 2,000 idle connections
#   deflate-1k   100 connections x 4 in flight x 1 KiB JSON text, the load generator
#              offering permessage-deflate as browsers do (`permessage-deflate;
#              client_max_window_bits`)
#   deflate-64k  the same with 10 connections x 1 in flight x 64 KiB JSON text
#   deflate-mem  server RSS per connection with 2,000 connections that offered
#              permessage-deflate as browsers do and echoed three 1 KiB JSON messages
#              each (compressed), then stay open; and bytes on the wire per message,
#              against a level-1 15-bit window with context takeover.
#   fanout     topics: one publisher and 1,000 subscribers in one room, framewire's `/chat`
#              against Bun's `ws.publish` (bench/node/bun-fanout.mjs, the same endpoint),
#              20-byte and 1 KiB text messages (recorded as fanout-20 and fanout-1k; either
#              can be asked alone); deliveries per second and per server CPU-second. A run
#              is a number of messages, not BENCH_SECS: the publisher stays at most 32
#              messages ahead of the deliveries (bench-fanout, which scripts/bench-fanout.sh
#              also runs, with the cross-instance Redis runs).
# The plain scenarios offer no extension and run every server but Python's; the deflate
# ones run the servers that negotiate permessage-deflate: framewire (its defaults: level
# 1, 12-bit window asked of the client, 4 KiB history), framewire-core (the same defaults),
# Bun and Node ws (compression turned on, their defaults) and Python websockets (on by default).
# The fan-out runs framewire and Bun (the servers here with topics built in).
#
# Environment:
#   BENCH_ROUNDS=3       rounds (each round runs every server once per scenario)
#   BENCH_SECS=4         seconds measured per timed run
#   BENCH_IDLE_CONNS=2000
#   BENCH_SERVERS="framewire fastwebsockets tokio-websockets tungstenite framewire-core bun node-ws python-websockets"
#   BENCH_DEFLATE_MESSAGES=3  messages each deflate-mem connection echoes
#   BENCH_SCENARIOS="small large handshake idle deflate-1k deflate-64k deflate-mem fanout"
#   BENCH_FANOUT_SUBS=1000     subscribers of the fan-out
#   BENCH_FANOUT_SMALL=2000    20-byte messages published per fanout-20 run
#   BENCH_FANOUT_LARGE=500     1 KiB messages published per fanout-1k run
# Bun and ws come from bench/node (npm ci there: scripts/setup.sh does it).
#   BENCH_NO_BUILD=1     use the release binaries already built
# Writes target/bench/results.md (the table) and target/bench/raw.txt (every run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
OUT_DIR=$TARGET_DIR/bench
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECS:-4}
IDLE_CONNS=${BENCH_IDLE_CONNS:-2000}
ALL_SERVERS="framewire fastwebsockets tokio-websockets tungstenite framewire-core bun node-ws python-websockets"
ALL_SCENARIOS="small large handshake idle deflate-1k deflate-64k deflate-mem fanout-20 fanout-1k"
SERVERS=${BENCH_SERVERS:-$ALL_SERVERS}
# `fanout` is both fan-out sizes.
SCENARIOS=$(for s in ${BENCH_SCENARIOS:-$ALL_SCENARIOS}; do
    if [ "$s" = fanout ]; then echo fanout-20 fanout-1k; else echo "$s"; fi
done | xargs)
# The servers that negotiate permessage-deflate (the deflate scenarios run only these) and
# those the plain scenarios run.
DEFLATE_SERVERS="framewire framewire-core bun node-ws python-websockets"
PLAIN_SERVERS="framewire fastwebsockets tokio-websockets tungstenite framewire-core bun node-ws"
FANOUT_SERVERS="framewire bun"
NODE_DIR=$ROOT/bench/node
BUN=$NODE_DIR/node_modules/@oven/bun-linux-x64/bin/bun
DEFLATE_MESSAGES=${BENCH_DEFLATE_MESSAGES:-3}
FANOUT_SUBS=${BENCH_FANOUT_SUBS:-1000}
FANOUT_SMALL=${BENCH_FANOUT_SMALL:-2000}
FANOUT_LARGE=${BENCH_FANOUT_LARGE:-500}
BASE_PORT=${BENCH_PORT:-19300}

die() {
    echo "bench.sh: $*" >&2
    exit 2
}

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS=$ROUNDS: give a whole number of rounds, at least 1"
[[ $SECS =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_SECS=$SECS: give a number of seconds"
awk -v s="$SECS" 'BEGIN { exit !(s > 0 && s <= 60) }' || die "BENCH_SECS=$SECS: must be above 0 and at most 60"
[[ $IDLE_CONNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_IDLE_CONNS=$IDLE_CONNS: give a whole number, at least 1"
[[ $DEFLATE_MESSAGES =~ ^[1-9][0-9]?$ ]] || die "BENCH_DEFLATE_MESSAGES=$DEFLATE_MESSAGES: give a whole number from 1 to 99"
for v in FANOUT_SUBS FANOUT_SMALL FANOUT_LARGE; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v=${!v}: give a whole number, at least 1"
done
[ "$FANOUT_SUBS" -le 20000 ] || die "BENCH_FANOUT_SUBS=$FANOUT_SUBS: at most 20000"
for s in $SERVERS; do
    grep -qw -- "$s" <<<"$ALL_SERVERS" || die "BENCH_SERVERS: unknown server '$s' (known: $ALL_SERVERS)"
done
for s in $SCENARIOS; do
    grep -qw -- "$s" <<<"$ALL_SCENARIOS" || die "BENCH_SCENARIOS: unknown scenario '$s' (known: $ALL_SCENARIOS)"
done
if grep -qw bun <<<"$SERVERS"; then
    [ -x "$BUN" ] || die "Bun is missing ($BUN): run scripts/setup.sh (or: npm ci --prefix bench/node)"
fi
if grep -qw node-ws <<<"$SERVERS"; then
    [ -f "$NODE_DIR/node_modules/ws/package.json" ] || die "Node's ws is missing: run scripts/setup.sh (or: npm ci --prefix bench/node)"
    command -v node >/dev/null || die "node is not on PATH"
fi
if grep -qw python-websockets <<<"$SERVERS"; then
    python3 -c 'import websockets' 2>/dev/null || die "python3 has no websockets: run scripts/setup.sh"
fi

# runs SCENARIO SERVER: true when SERVER takes part in SCENARIO.
runs() {
    case $1 in
    deflate-*) grep -qw -- "$2" <<<"$DEFLATE_SERVERS" ;;
    fanout-*) grep -qw -- "$2" <<<"$FANOUT_SERVERS" ;;
    *) grep -qw -- "$2" <<<"$PLAIN_SERVERS" ;;
    esac
}

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    echo "==> cargo build --release -p framewire-cli -p framewire-bench"
    cargo build --release -p framewire-cli -p framewire-bench
fi
for b in framewire framewire-bench bench-echo bench-fanout; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: build with cargo build --release -p framewire-cli -p framewire-bench"
done

# Pinning: server on CPU 0, load on CPU 1, when taskset and two CPUs are there.
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER=(taskset -c 0)
    PIN_LOAD=(taskset -c 1)
    PINNING="server on CPU 0, load generator on CPU 1"
else
    PIN_SERVER=()
    PIN_LOAD=()
    PINNING="not pinned (taskset or a second CPU is missing)"
fi

# 2,000 idle connections need that many descriptors in each process (plus the listener),
# and the fan-out one per subscriber.
want_fds=$((IDLE_CONNS + 512))
if grep -q fanout <<<"$SCENARIOS" && [ $((FANOUT_SUBS + 512)) -gt "$want_fds" ]; then
    want_fds=$((FANOUT_SUBS + 512))
fi
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge "$want_fds" ]; then
        ulimit -n "$want_fds"
    else
        die "ulimit -n is $(ulimit -n) (hard limit $hard): $IDLE_CONNS idle connections need $want_fds; lower BENCH_IDLE_CONNS"
    fi
fi

mkdir -p "$OUT_DIR"
RAW=$OUT_DIR/raw.txt
: >"$RAW"
SERVER_PID=
SERVER_LOG=$OUT_DIR/server.log

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap stop_server EXIT

# start_server NAME PORT SCENARIO: starts it pinned, waits until it accepts connections.
# Bun and ws compress only in the deflate scenarios (framewire and Python's websockets
# negotiate permessage-deflate whenever it is offered, which the plain scenarios never do).
# The fan-out runs framewire's /chat without idle timeout or pings, as bun-fanout.mjs.
start_server() {
    local name=$1 port=$2 scenario=$3 deflate=() pin=("${PIN_SERVER[@]}")
    # The memory scenarios run every server with transparent huge pages off (NO_THP): with
    # them, an allocator that asks for huge pages (mimalloc, in framewire and Bun) grows in
    # 2 MiB steps, about 1 KiB per connection at 2,000, which would swamp the figure.
    if [[ $scenario == idle || $scenario == deflate-mem ]]; then
        pin=("${NO_THP[@]}" "${pin[@]}")
    fi
    [[ $scenario == deflate-* ]] && deflate=(--deflate)
    case $scenario/$name in
    fanout-*/framewire)
        "${pin[@]}" "$BIN/framewire" serve --addr "127.0.0.1:$port" --log-level warn \
            --no-deflate --idle-timeout off --ping-interval off \
            --max-connections $((FANOUT_SUBS + 100)) >"$SERVER_LOG" 2>&1 &
        ;;
    fanout-*/bun)
        "${pin[@]}" "$BUN" "$NODE_DIR/bun-fanout.mjs" "$port" >"$SERVER_LOG" 2>&1 &
        ;;
    */framewire)
        "${pin[@]}" "$BIN/framewire" serve --addr "127.0.0.1:$port" --log-level warn \
            --max-frame 64MiB --max-message 64MiB >"$SERVER_LOG" 2>&1 &
        ;;
    */bun)
        "${pin[@]}" "$BUN" "$NODE_DIR/bun-echo.mjs" "$port" "${deflate[@]}" >"$SERVER_LOG" 2>&1 &
        ;;
    */node-ws)
        "${pin[@]}" node "$NODE_DIR/ws-echo.mjs" "$port" "${deflate[@]}" >"$SERVER_LOG" 2>&1 &
        ;;
    */python-websockets)
        "${pin[@]}" python3 "$ROOT/bench/python/websockets_echo.py" "$port" >"$SERVER_LOG" 2>&1 &
        ;;
    *)
        "${pin[@]}" "$BIN/bench-echo" --impl "$name" --addr "127.0.0.1:$port" >"$SERVER_LOG" 2>&1 &
        ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$SERVER_LOG" >&2
            die "$name did not start on port $port"
        fi
        sleep 0.05
    done
    die "$name did not accept connections on port $port within 5 s"
}

# NO_THP COMMAND...: runs COMMAND with transparent huge pages disabled for it and its
# children (prctl PR_SET_THP_DISABLE, which exec keeps), in the same process.
NO_THP=(python3 -c 'import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(41, 1, 0, 0, 0) != 0:
    sys.exit("bench.sh: prctl(PR_SET_THP_DISABLE) failed: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])')

# run_one ROUND SCENARIO SERVER PORT: one measured run, its RESULT line appended to raw.txt.
run_one() {
    local round=$1 scenario=$2 server=$3 port=$4 out
    start_server "$server" "$port" "$scenario"
    local common=(--addr "127.0.0.1:$port" --path /echo --server-pid "$SERVER_PID")
    case $scenario in
    small) out=$("${PIN_LOAD[@]}" "$BIN/framewire-bench" echo "${common[@]}" -c 100 -p 4 -s 20 --secs "$SECS") ;;
    large) out=$("${PIN_LOAD[@]}" "$BIN/framewire-bench" echo "${common[@]}" -c 10 -p 1 -s 65536 --binary --secs "$SECS") ;;
    handshake) out=$("${PIN_LOAD[@]}" "$BIN/framewire-bench" handshake "${common[@]}" -c 8 --secs "$SECS") ;;
    deflate-1k) out=$("${PIN_LOAD[@]}" "$BIN/framewire-bench" echo "${common[@]}" -c 100 -p 4 -s 1024 --json --deflate --secs "$SECS") ;;
    deflate-64k) out=$("${PIN_LOAD[@]}" "$BIN/framewire-bench" echo "${common[@]}" -c 10 -p 1 -s 65536 --json --deflate --secs "$SECS") ;;
    idle) out=$("${PIN_LOAD[@]}" "$BIN/framewire-bench" idle "${common[@]}" -c "$IDLE_CONNS" --hold 1) ;;
    deflate-mem) out=$("${PIN_LOAD[@]}" "$BIN/framewire-bench" deflate-mem "${common[@]}" -c "$IDLE_CONNS" -m "$DEFLATE_MESSAGES" --hold 1) ;;
    fanout-*)
        local fan=(--addr "127.0.0.1:$port" --path /chat/fanout --server-pid "$SERVER_PID" --subs "$FANOUT_SUBS")
        if [ "$scenario" = fanout-20 ]; then fan+=(-s 20 -m "$FANOUT_SMALL"); else fan+=(-s 1024 -m "$FANOUT_LARGE"); fi
        # bench-fanout fails (and says why) when a subscriber missed a message or was cut off.
        out=$("${PIN_LOAD[@]}" "$BIN/bench-fanout" "${fan[@]}") || die "$server $scenario failed: $out"
        out=$(printf '%s\nRESULT %s errors=0' "$out" "$out")
        ;;
    esac
    stop_server
    local result
    result=$(grep '^RESULT ' <<<"$out") || die "no RESULT line from $server $scenario: $out"
    printf 'round=%s scenario=%s server=%s %s\n' "$round" "$scenario" "$server" "${result#RESULT }" >>"$RAW"
    printf '  round %s  %-11s %-17s %s\n' "$round" "$scenario" "$server" "$(head -1 <<<"$out")"
    grep '^errors: ' <<<"$out" | sed 's/^/      /' || true
}

start=$(date +%s)
echo "==> $ROUNDS rounds x scenarios ($SCENARIOS) x servers ($SERVERS), ${SECS}s each; $PINNING"
port=$BASE_PORT
read -r -a server_list <<<"$SERVERS"
for round in $(seq "$ROUNDS"); do
    # Rotate the order every round so no server always runs first or last.
    n=${#server_list[@]}
    shift_by=$(((round - 1) % n))
    order=("${server_list[@]:shift_by}" "${server_list[@]:0:shift_by}")
    for scenario in $SCENARIOS; do
        for server in "${order[@]}"; do
            runs "$scenario" "$server" || continue
            port=$((port + 1))
            run_one "$round" "$scenario" "$server" "$port"
        done
    done
done

# median SCENARIO SERVER KEY: the median of KEY over the rounds ("" when absent; a "-",
# which bench-fanout writes when the server's CPU was too small to read, is absent).
median() {
    { grep " scenario=$1 server=$2 " "$RAW" || true; } | tr ' ' '\n' | sed -n "s/^$3=//p" |
        { grep -E '^-?[0-9.]+([eE][-+]?[0-9]+)?$' || true; } | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B to two decimals, or "-".
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}

fmt() {
    awk -v v="$1" -v d="$2" 'BEGIN { if (v == "") print "-"; else printf "%.*f", d, v }'
}

# plain_rows SERVER: true when SERVER ran a plain scenario (Python's runs only the deflate ones).
plain_rows() {
    grep -qE " scenario=(small|large|handshake|idle) server=$1 " "$RAW"
}

base=framewire
grep -qw framewire <<<"$SERVERS" || base=${server_list[0]}
b_small=$(median small "$base" msgs_per_s)
b_large=$(median large "$base" mb_per_s)
b_hs=$(median handshake "$base" per_s)
b_idle=$(median idle "$base" kib_per_conn)

RESULTS=$OUT_DIR/results.md
{
    echo "Medians of $ROUNDS rounds, ${SECS} s per timed run; $PINNING; $(nproc) CPUs; $(date -u +%Y-%m-%d)."
    echo "\"$base x\" is $base's figure over the row's (higher is better for $base; for memory: the row's KiB over $base's)."
    echo
    if grep -qE " scenario=(small|large|handshake|idle) " "$RAW"; then
        echo "| server | small msgs/s | $base x | small p50 / p99 us | 64 KiB MB/s | $base x | handshakes/s | $base x | idle KiB/conn | $base x |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        for s in "${server_list[@]}"; do
            plain_rows "$s" || continue
            small=$(median small "$s" msgs_per_s)
            large=$(median large "$s" mb_per_s)
            hs=$(median handshake "$s" per_s)
            idle=$(median idle "$s" kib_per_conn)
            printf '| %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s |\n' "$s" \
                "$(fmt "$small" 0)" "$(ratio "$b_small" "$small")" \
                "$(fmt "$(median small "$s" p50_us)" 0)" "$(fmt "$(median small "$s" p99_us)" 0)" \
                "$(fmt "$large" 0)" "$(ratio "$b_large" "$large")" \
                "$(fmt "$hs" 0)" "$(ratio "$b_hs" "$hs")" \
                "$(fmt "$idle" 2)" "$(ratio "$idle" "$b_idle")"
        done
        echo
        echo "CPU use in the timed runs (median % of one core, load generator / server), work per second of server CPU"
        echo "(less disturbed by other load on the machine than the rates above), and errors (sum over rounds):"
        echo
        b_small_eff=$(median small "$base" per_server_cpu_s)
        b_large_eff=$(median large "$base" per_server_cpu_s)
        b_hs_eff=$(median handshake "$base" per_server_cpu_s)
        echo "| server | small CPU % | small msgs per CPU-s | $base x | 64 KiB CPU % | 64 KiB MB per CPU-s | $base x | handshake CPU % | handshakes per CPU-s | $base x | errors |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        for s in "${server_list[@]}"; do
            plain_rows "$s" || continue
            errors=$(grep " server=$s " "$RAW" | tr ' ' '\n' | sed -n 's/^errors=//p' | awk '{ n += $1 } END { print n + 0 }')
            small_eff=$(median small "$s" per_server_cpu_s)
            large_eff=$(median large "$s" per_server_cpu_s)
            hs_eff=$(median handshake "$s" per_server_cpu_s)
            large_mb=$(awk -v v="$large_eff" 'BEGIN { if (v != "") printf "%.0f", v * 65536 / 1e6 }')
            printf '| %s | %s / %s | %s | %s | %s / %s | %s | %s | %s / %s | %s | %s | %s |\n' "$s" \
                "$(fmt "$(median small "$s" client_cpu)" 0)" "$(fmt "$(median small "$s" server_cpu)" 0)" \
                "$(fmt "$small_eff" 0)" "$(ratio "$b_small_eff" "$small_eff")" \
                "$(fmt "$(median large "$s" client_cpu)" 0)" "$(fmt "$(median large "$s" server_cpu)" 0)" \
                "${large_mb:--}" "$(ratio "$b_large_eff" "$large_eff")" \
                "$(fmt "$(median handshake "$s" client_cpu)" 0)" "$(fmt "$(median handshake "$s" server_cpu)" 0)" \
                "$(fmt "$hs_eff" 0)" "$(ratio "$b_hs_eff" "$hs_eff")" \
                "$errors"
        done
    fi
    if grep -q " scenario=deflate-" "$RAW"; then
        b_d1=$(median deflate-1k "$base" per_server_cpu_s)
        b_d64=$(median deflate-64k "$base" per_server_cpu_s)
        b_dmem=$(median deflate-mem "$base" kib_per_conn)
        echo
        echo "permessage-deflate, offered as browsers do: 1 KiB = 100 connections x 4 in flight x 1 KiB JSON"
        echo "text; 64 KiB = 10 x 1 x 64 KiB JSON; memory = $IDLE_CONNS connections that each echoed"
        echo "$DEFLATE_MESSAGES JSON messages of about 1 KiB (compressed both ways), then stay open. \"comp\" is the"
        echo "share of connections that negotiated it. Wire bytes per echoed message from the server, and"
        echo "from a level-1 zlib stream with a 15-bit window and context takeover on the same messages:"
        echo
        echo "| server | comp | 1 KiB msgs/s | CPU % load / server | msgs per CPU-s | $base x | 64 KiB msgs/s | CPU % load / server | msgs per CPU-s | $base x | KiB per active conn | $base x | wire bytes/msg back | 15-bit takeover | back / 15-bit | errors |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        for s in "${server_list[@]}"; do
            grep -q " scenario=deflate-[^ ]* server=$s " "$RAW" || continue
            d1=$(median deflate-1k "$s" per_server_cpu_s)
            d64=$(median deflate-64k "$s" per_server_cpu_s)
            dmem=$(median deflate-mem "$s" kib_per_conn)
            back=$(median deflate-mem "$s" recv_wire_per_msg)
            ref=$(median deflate-mem "$s" ref15_wire_per_msg)
            comp=$(awk -v c="$(median deflate-mem "$s" compressed_conns)" -v n="$IDLE_CONNS" 'BEGIN { if (c != "") print c * 100 / n }')
            # deflate-1k has 100 connections: its count is the share in %.
            [ -n "$comp" ] || comp=$(median deflate-1k "$s" compressed_conns)
            errors=$(grep -E " scenario=deflate-[^ ]* server=$s " "$RAW" | tr ' ' '\n' | sed -n 's/^errors=//p' | awk '{ n += $1 } END { print n + 0 }')
            printf '| %s | %s%% | %s | %s / %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" \
                "$(fmt "$comp" 0)" \
                "$(fmt "$(median deflate-1k "$s" msgs_per_s)" 0)" \
                "$(fmt "$(median deflate-1k "$s" client_cpu)" 0)" "$(fmt "$(median deflate-1k "$s" server_cpu)" 0)" \
                "$(fmt "$d1" 0)" "$(ratio "$b_d1" "$d1")" \
                "$(fmt "$(median deflate-64k "$s" msgs_per_s)" 0)" \
                "$(fmt "$(median deflate-64k "$s" client_cpu)" 0)" "$(fmt "$(median deflate-64k "$s" server_cpu)" 0)" \
                "$(fmt "$d64" 0)" "$(ratio "$b_d64" "$d64")" \
                "$(fmt "$dmem" 2)" "$(ratio "$dmem" "$b_dmem")" \
                "$(fmt "$back" 1)" "$(fmt "$ref" 1)" "$(ratio "$back" "$ref")" "$errors"
        done
    fi
    if grep -q " scenario=fanout-" "$RAW"; then
        b_f20=$(median fanout-20 "$base" deliveries_per_server_cpu_sec)
        b_f1k=$(median fanout-1k "$base" deliveries_per_server_cpu_sec)
        echo
        echo "Fan-out: one publisher and $FANOUT_SUBS subscribers in one room (framewire's /chat, Bun's ws.publish),"
        echo "$FANOUT_SMALL messages of 20 bytes and $FANOUT_LARGE of 1 KiB per run, the publisher at most 32 messages"
        echo "ahead of the deliveries; deliveries per second, CPU (% of one core), deliveries per server CPU-second,"
        echo "and the publish-to-delivery latency:"
        echo
        echo "| server | 20 B deliveries/s | CPU % load / server | per server CPU-s | $base x | p50 / p99 us | 1 KiB deliveries/s | CPU % load / server | per server CPU-s | $base x | p50 / p99 us |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        for s in "${server_list[@]}"; do
            grep -q " scenario=fanout-[^ ]* server=$s " "$RAW" || continue
            f20=$(median fanout-20 "$s" deliveries_per_server_cpu_sec)
            f1k=$(median fanout-1k "$s" deliveries_per_server_cpu_sec)
            cpu_pct() { awk -v c="$(median "$1" "$s" "$2")" 'BEGIN { if (c == "") print "-"; else printf "%.0f", c * 100 }'; }
            printf '| %s | %s | %s / %s | %s | %s | %s / %s | %s | %s / %s | %s | %s | %s / %s |\n' "$s" \
                "$(fmt "$(median fanout-20 "$s" deliveries_per_sec)" 0)" \
                "$(cpu_pct fanout-20 client_cpu)" "$(cpu_pct fanout-20 server_cpu)" \
                "$(fmt "$f20" 0)" "$(ratio "$b_f20" "$f20")" \
                "$(fmt "$(median fanout-20 "$s" p50_us)" 0)" "$(fmt "$(median fanout-20 "$s" p99_us)" 0)" \
                "$(fmt "$(median fanout-1k "$s" deliveries_per_sec)" 0)" \
                "$(cpu_pct fanout-1k client_cpu)" "$(cpu_pct fanout-1k server_cpu)" \
                "$(fmt "$f1k" 0)" "$(ratio "$b_f1k" "$f1k")" \
                "$(fmt "$(median fanout-1k "$s" p50_us)" 0)" "$(fmt "$(median fanout-1k "$s" p99_us)" 0)"
        done
    fi
    # Rates where the load generator used (nearly) all of its core measure the load
    # generator, not the server: compare those rows per second of server CPU.
    saturated=$(for sc in small large handshake deflate-1k deflate-64k fanout-20 fanout-1k; do
        for s in "${server_list[@]}"; do
            c=$(median "$sc" "$s" client_cpu)
            # bench-fanout gives cores, framewire-bench percent.
            [[ -n $c && $sc == fanout-* ]] && c=$(awk -v c="$c" 'BEGIN { printf "%.0f", c * 100 }')
            if [ -n "$c" ] && awk -v c="$c" 'BEGIN { exit !(c >= 90) }'; then
                printf ' %s/%s (%s%%)' "$sc" "$s" "$c"
            fi
        done
    done)
    if [ -n "$saturated" ]; then
        echo
        echo "The load generator used 90% or more of its core in:$saturated. There the rate is capped by"
        echo "the load generator; the per-server-CPU-second figures compare the servers."
    fi
} >"$RESULTS"

echo
cat "$RESULTS"
echo
echo "bench.sh: wrote $RESULTS and $RAW in $(($(date +%s) - start)) s"
total_errors=$(tr ' ' '\n' <"$RAW" | sed -n 's/^errors=//p' | awk '{ n += $1 } END { print n + 0 }')
if [ "$total_errors" -gt 0 ]; then
    echo "bench.sh: $total_errors errors (failed connections, or messages that came back wrong or not at all): see $RAW" >&2
    exit 1
fi
