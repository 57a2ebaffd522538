#!/usr/bin/env bash
# LoadTests/bench-fanout.sh [SUBS] [PATH] [SERVER_BINARY]
#
# The fan-out benchmark of docs/BENCHMARKS.md, from this repository alone: starts a release
# server (pinned to core 0, a fresh data directory, /bench on) and runs `hometown-load fanout`
# against it (pinned to core 1), then stops the server. PATH is /bench/room (raw fan-out,
# default) or /live/NAME (a live room; the tool signs in as its streamer). The server runs with
# no per-connection message budget (limits.messages_per_second: 0): the publisher sends far more
# than a person could, on purpose.
# Build first: swift build -c release
set -euo pipefail
cd "$(dirname "$0")/.."
subs=${1:-1000}
path=${2:-/bench/room}
server=${3:-.build/release/hometown}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
data=$(mktemp -d)
echo '{"limits": {"messages_per_second": 0}}' > "$data/bench.json"
taskset -c 0 "$server" --config "$data/bench.json" --port "$port" --enable-bench --log-level warn --data "$data" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
taskset -c 1 .build/release/hometown-load fanout --port "$port" --path "$path" --subs "$subs" --window 32 \
    --warmup 2 --duration 10 --ramp 5000 --server-pid "$pid"
