#!/usr/bin/env bash
# Starts (or stops) a throwaway Redis for the cluster tests: Debian's redis-server, installed if
# missing, on loopback, with the settings cluster mode relies on (appendonly yes, appendfsync
# always). Usage:
#   Tests/Cluster/redis.sh start DIR PORT   # prints the PID; data and log in DIR
#   Tests/Cluster/redis.sh stop DIR         # stops the one started in DIR (by its PID file)
set -euo pipefail
command="${1:?start|stop}"
dir="${2:?data directory}"
case "$command" in
start)
    port="${3:?port}"
    if ! command -v redis-server >/dev/null; then
        echo "redis.sh: installing redis-server" >&2
        (apt-get install -y redis-server || sudo -n apt-get install -y redis-server) >/dev/null 2>&1 \
            || { echo "redis.sh: cannot install redis-server (apt-get install -y redis-server)" >&2; exit 1; }
    fi
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --appendonly yes --appendfsync always \
        --save "" --daemonize no --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" &
    echo $! > "$dir/redis.pid"
    for _ in $(seq 1 100); do
        if redis-cli -p "$port" ping >/dev/null 2>&1; then echo $!; exit 0; fi
        sleep 0.05
    done
    echo "redis.sh: redis-server did not answer on port $port (see $dir/redis.log)" >&2
    exit 1
    ;;
stop)
    if [ -f "$dir/redis.pid" ]; then
        kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
        rm -f "$dir/redis.pid"
    fi
    ;;
esac
