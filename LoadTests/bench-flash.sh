#!/usr/bin/env bash
# LoadTests/bench-flash.sh [BUYERS] [STOCK] [SERVER_BINARY] [CONFIG]
#
# The flash-sale benchmark of docs/BENCHMARKS.md: starts a release server on a fresh data
# directory (durable journal on, unless CONFIG says otherwise), runs `hometown-load flash` — every
# buyer orders the instant the sale goes live — and stops the server.
# Build first: swift build -c release
set -euo pipefail
cd "$(dirname "$0")/.."
buyers=${1:-15000}
stock=${2:-10000}
server=${3:-.build/release/hometown}
config=${4:-}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
data=$(mktemp -d)
"$server" --port "$port" --log-level warn --data "$data" ${config:+--config "$config"} &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
.build/release/hometown-load flash --port "$port" --buyers "$buyers" --stock "$stock" --server-pid "$pid"
