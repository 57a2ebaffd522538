#!/usr/bin/env bash
# LoadTests/bench-cluster.sh [BIN_DIR]
#
# The cluster figures of docs/SCALING.md and docs/BENCHMARKS.md, measured in one run on this
# machine: single-node mode (SQLite), then clusters of 1, 2 and 3 nodes on one redis-server (AOF
# on, appendfsync always), each given the same two loads with hometown-load:
#   fan-out  Config/bench-cluster-fanout.json: 1,000 viewers of one room over every node,
#            300 comments/s -> deliveries/s, comment latency, server CPU per 1,000 deliveries;
#   orders   Config/bench-cluster-flash.json: 4,000 viewers, 3,600 buyers racing for 2,000 units
#            -> ack p50/p99, orders/s until sold out.
# Prints one table. Build first: swift build -c release. Needs redis-server (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${1:-.build/release}
work=$(mktemp -d /tmp/hometown-bench-cluster.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { local total=0; for pid in "$@"; do set -- $(cut -d')' -f2 "/proc/$pid/stat"); total=$(( total + ${12} + ${13} )); done; echo $total; }
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; "$root/Tests/Cluster/redis.sh" stop "$work/redis" || true; }
trap cleanup EXIT
echo '{"rooms": {"comment_budget": 1000}, "limits": {"messages_per_second": 0}, "cluster": {"lease": 5}}' > "$work/node.json"
ticks=$(getconf CLK_TCK)
printf '%-12s %14s %12s %12s %16s %12s %12s %12s\n' mode deliveries/s comment_p50 comment_p99 cpu_ms/1k_deliv orders/s ack_p50 ack_p99

for mode in single 1 2 3; do
    rm -rf "$work/redis" "$work/data"; mkdir -p "$work/data"
    server_pids=()
    urls=()
    redis_args=()
    if [ "$mode" != single ]; then
        redis_port=$(free_port)
        "$root/Tests/Cluster/redis.sh" start "$work/redis" "$redis_port" > /dev/null
        redis_args=(--redis "redis://127.0.0.1:$redis_port")
    fi
    nodes=$([ "$mode" = single ] && echo 1 || echo "$mode")
    for n in $(seq 1 "$nodes"); do
        port=$(free_port)
        "$bin/hometown" --config "$work/node.json" --port "$port" --data "$work/data/$n" --log-level warn \
            "${redis_args[@]}" ${redis_args[0]:+--node-id "node$n"} 2>> "$work/nodes.log" &
        server_pids+=("$!"); pids+=("$!"); urls+=(--url "ws://127.0.0.1:$port")
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
    done
    watched=("${server_pids[@]}")
    [ "$mode" != single ] && watched+=("$(cat "$work/redis/redis.pid")")
    before=$(cpu_ticks "${watched[@]}")
    "$bin/hometown-load" run --scenario Config/bench-cluster-fanout.json "${urls[@]}" --quiet > "$work/$mode-fanout.txt" 2>&1 || true
    after=$(cpu_ticks "${watched[@]}")
    "$bin/hometown-load" run --scenario Config/bench-cluster-flash.json "${urls[@]}" --quiet > "$work/$mode-flash.txt" 2>&1 || true
    python3 - "$mode" "$work/$mode-fanout.txt" "$work/$mode-flash.txt" "$(( after - before ))" "$ticks" <<'PY'
import re, sys
mode, fanout, flash, cpu, ticks = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read(), int(sys.argv[4]), int(sys.argv[5])
def hist(text, name):
    m = re.search(name + r"\s+n=(\d+)\s+p50 ([\d.]+) ms\s+p90 [\d.]+ ms\s+p99 ([\d.]+) ms", text)
    return (int(m.group(1)), float(m.group(2)), float(m.group(3))) if m else (0, 0.0, 0.0)
n, c50, c99 = hist(fanout, "comment_fanout")
deliveries = n / 12.0
cpu_ms = cpu * 1000.0 / ticks
_, a50, a99 = hist(flash, "order_ack")
_, sell, _ = hist(flash, "time_to_sell_out")
orders = 2000 / (sell / 1000.0) if sell > 0 else 0
label = "single node" if mode == "single" else f"cluster x{mode}"
ok = "" if ("PASS" in fanout and "PASS" in flash) else "  (a check failed: see " + sys.argv[2] + ")"
print(f"{label:<12} {deliveries:>14,.0f} {c50:>10.1f}ms {c99:>10.1f}ms {cpu_ms * 1000 / max(n, 1):>16.2f} {orders:>12,.0f} {a50:>10.1f}ms {a99:>10.1f}ms{ok}")
PY
    for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    [ "$mode" != single ] && "$root/Tests/Cluster/redis.sh" stop "$work/redis"
done
echo "(reports in $work; machine: $(nproc) cores, $(date -u +%F))"
