#!/usr/bin/env bash
# LoadTests/bench-cluster-fanout.sh [SUBS] [ROUNDS] [BIN_DIR]
#
# The cost of clustering for fan-out (docs/BENCHMARKS.md), single node and cluster side by side,
# interleaved ROUNDS times in one run: `hometown-load fanout` on a live room with SUBS subscribers
#   single   one node (SQLite); publisher and subscribers on it;
#   cluster  two nodes on one redis-server (AOF, appendfsync always): the room is created on node A
#            (its owner); the subscribers and the publisher connect to node B, so every message
#            goes B -> Redis -> A (the owner decides) -> Redis -> B's subscriber -> B's viewers, and
#            the publisher's window is paced by that whole path (as a single node's is by its own).
# Prints delivered msgs/s, latency and the measured node's CPU for each run.
# Build first: swift build -c release. Needs redis-server (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
subs=${1:-1000}
rounds=${2:-2}
bin=${3:-.build/release}
work=$(mktemp -d /tmp/hometown-bench-cluster-fanout.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; "$root/Tests/Cluster/redis.sh" stop "$work/redis" || true; }
trap cleanup EXIT
echo '{"limits": {"messages_per_second": 0}}' > "$work/node.json"
ready() { for _ in $(seq 200); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 0.05; done; return 1; }
fanout() { "$bin/hometown-load" fanout --path /live/fanbench --subs "$subs" --window 32 --warmup 2 --duration 10 --ramp 5000 "$@"; }
summary() { grep -E "^delivered|latency|server CPU|^lost" "$1" | tr '\n' ' '; echo; }

for round in $(seq 1 "$rounds"); do
    rm -rf "$work/data" "$work/redis"; mkdir -p "$work/data"
    port=$(free_port)
    "$bin/hometown" --config "$work/node.json" --port "$port" --data "$work/data/s" --log-level warn &
    single=$!; pids+=("$single")
    ready "$port"
    fanout --port "$port" --server-pid "$single" > "$work/single-$round.txt" 2>&1 || true
    echo "round $round single : $(summary "$work/single-$round.txt")"
    kill "$single"; wait "$single" 2>/dev/null || true

    redis_port=$(free_port)
    "$root/Tests/Cluster/redis.sh" start "$work/redis" "$redis_port" > /dev/null
    a=$(free_port); b=$(free_port)
    "$bin/hometown" --config "$work/node.json" --port "$a" --redis "redis://127.0.0.1:$redis_port" --node-id a --log-level warn 2>> "$work/nodes.log" &
    node_a=$!; pids+=("$node_a")
    "$bin/hometown" --config "$work/node.json" --port "$b" --redis "redis://127.0.0.1:$redis_port" --node-id b --log-level warn 2>> "$work/nodes.log" &
    node_b=$!; pids+=("$node_b")
    ready "$a"; ready "$b"
    # The room is created on A (A owns it), then B's subscribers join through B.
    "$bin/hometown-load" fanout --port "$a" --path /live/fanbench --subs 1 --warmup 0.2 --duration 0.3 > /dev/null 2>&1 || true
    fanout --port "$b" --server-pid "$node_b" > "$work/cluster-$round.txt" 2>&1 || true
    echo "round $round cluster: $(summary "$work/cluster-$round.txt")"
    kill "$node_a" "$node_b"; wait "$node_a" "$node_b" 2>/dev/null || true
    "$root/Tests/Cluster/redis.sh" stop "$work/redis"
done
echo "(outputs in $work; machine: $(nproc) cores, $(date -u +%F))"
