#!/usr/bin/env bash
# LoadTests/payment-run.sh [SCENARIO] [SERVER_BINARY] [REPORT_JSON]
#
# A flash sale whose orders leave the room (docs/ORDERS.md): starts a release server on a fresh
# data directory with a shop token and a webhook pointing at hometown-load's own receiver, runs
# the scenario (default Config/flash-sale-payment.json: 30 % of buyers never pay, 10 % pay too
# late, a 4 s payment window), and exits with hometown-load's verdict — every check, including
# payments, stock_conserved and webhook_delivered. Build first: swift build -c release
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-Config/flash-sale-payment.json}
server=${2:-.build/release/hometown}
report=${3:-}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
hook=$(free_port)
data=$(mktemp -d)
shop_token="load-shop-token-$RANDOM$RANDOM"
secret="load-webhook-secret-$RANDOM$RANDOM"
cat > "$data/payment.json" <<JSON
{"limits": {"messages_per_second": 0},
 "rooms": {"demo": false},
 "orders": {"shop_token": "$shop_token", "checkout_url": "https://shop.example/pay/{order}",
            "webhook_url": "http://127.0.0.1:$hook/hometown/orders", "webhook_secret": "$secret"}}
JSON
"$server" --config "$data/payment.json" --port "$port" --log-level warn --data "$data" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
.build/release/hometown-load run --scenario "$scenario" --url "ws://127.0.0.1:$port" --quiet \
    --shop-token "$shop_token" --webhook-listen "127.0.0.1:$hook" --webhook-secret "$secret" ${report:+--report "$report"}
