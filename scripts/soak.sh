#!/usr/bin/env bash
# The soak: `framewire serve` (release build) with SOAK_CONNS connections (1000) each echoing a
# small text every SOAK_PAUSE_MS (50) for SOAK_SECS (600); fails on any echo error or when the
# server's mean VmRSS over the last minute (a quarter of a run shorter than 4 minutes) is not
# within 5% of the first one's (sampled once every connection has echoed once). Loopback
# only; bounded by SOAK_SECS (at most 3600) plus two minutes. Raises the descriptor limit
# (ulimit -n) to what SOAK_CONNS needs, or says why it cannot.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECS=${SOAK_SECS:-600}
CONNS=${SOAK_CONNS:-1000}
PAUSE_MS=${SOAK_PAUSE_MS:-50}
PORT=${SOAK_PORT:-19460}
BIN=${CARGO_TARGET_DIR:-$(pwd)/target}/release

# The server and the load generator each hold a descriptor per connection.
NEED=$((CONNS + 200))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$NEED" ]; then
    ulimit -n "$NEED" 2>/dev/null || {
        echo "soak: $CONNS connections need $NEED descriptors per process; ulimit -n is" \
            "$(ulimit -n) (hard limit $(ulimit -Hn)): raise it or lower SOAK_CONNS" >&2
        exit 1
    }
fi

cargo build --release -q -p framewire-cli -p framewire-bench
LOG=$(mktemp)
"$BIN/framewire" serve --addr "127.0.0.1:$PORT" --log-level warn --max-connections $((CONNS + 100)) \
    >"$LOG" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
    sleep 0.05
done
echo "==> soak: $CONNS connections x ${SECS}s against framewire serve (pid $SERVER_PID)," \
    "ulimit -n $(ulimit -n), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
# Bounded: opening the connections and the last echoes get two minutes beyond the run.
timeout --kill-after=10 "$((${SECS%.*} + 120))" "$BIN/framewire-bench" soak --addr "127.0.0.1:$PORT" --conns "$CONNS" --secs "$SECS" \
    --pause-ms "$PAUSE_MS" --server-pid "$SERVER_PID"
