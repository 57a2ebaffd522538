#!/usr/bin/env bash
# Hometown's test command (the one README.md gives, and the one .ci/run calls):
#   0. the formatter check (swift format lint, .swift-format);
#   1. unit and end-to-end tests (swift test), with the module-dependency check on the build, then
#      the same suites again under ThreadSanitizer;
#   2. the Autobahn|Testsuite, cases 1.* to 10.*, against a release build's /echo;
#   3. a flash-sale smoke run of hometown-load, and one with a payment window and a webhook;
#   4. the browser test: studio and viewer pages in headless Chromium — a video made with ffmpeg
#      playing as the room's stream, phone and desktop windows, two clocks five minutes apart,
#      axe-core's accessibility rules (screenshots in
#      HOMETOWN_ARTIFACTS, default /tmp/hometown-artifacts);
#   5. the cluster test: three nodes on Debian's redis-server, the owner killed (-9), paused past
#      its lease, and Redis restarted, each in the middle of a flash sale, and the owner killed
#      in a sale with a payment window and a webhook (Tests/Cluster/run.sh);
#   6. the deployable build: a static-stdlib `hometown` that runs without the toolchain, and the
#      shipped systemd unit checked (Tests/Deploy);
#   7. the libFuzzer harnesses for the frame reader, the HTTP head parser and the RESP decoder,
#      bounded in time.
# Installs what it needs on a fresh Debian machine. Fails loudly on the first failing step.
#
# Knobs: FUZZ_SECONDS (per target, default 30; 0 skips), SKIP_AUTOBAHN=1, SKIP_BROWSER=1, SKIP_CLUSTER=1,
# SKIP_DEPLOY=1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
step() { printf '\n==> %s\n' "$*"; }

step "system packages"
missing=()
for package in libssl-dev libsqlite3-dev pkg-config sqlite3 redis-server openssl python3; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
# Redis is installed: the tests that talk to a real redis-server must run, not skip.
export HOMETOWN_REQUIRE_REDIS=1

step "formatting (swift format lint, .swift-format)"
swift format lint --strict --recursive Sources Tests LoadTests Package.swift

step "build (with the module-dependency check)"
swift build --build-tests --explicit-target-dependency-import-check error

step "unit and end-to-end tests"
# Bounded: a hung test must fail this run loudly, not use up CI's time.
timeout 900 swift test --skip-build 2>&1 | tee /tmp/hometown-swift-test.log
swift_line=$(grep -E "Test run with [0-9]+ tests? .*passed" /tmp/hometown-swift-test.log | tail -1 || true)
[ -n "$swift_line" ] || { echo "swift test did not report a passing run" >&2; exit 1; }
swift_count=$(echo "$swift_line" | sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/')
# XCTest suites (the cluster, RESP and lease tests) report separately.
xctest_line=$(grep -A1 "Test Suite 'All tests' passed" /tmp/hometown-swift-test.log | grep -E "Executed [0-9]+ tests?, with 0 failures" | tail -1 || true)
[ -n "$xctest_line" ] && swift_count=$((swift_count + $(echo "$xctest_line" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')))

step "unit and end-to-end tests again under ThreadSanitizer"
# Every suite runs under TSan (none is excluded). A data race fails the run: TSan makes the test
# process (and any server process a test starts) exit non-zero, and the log is checked as well.
swift build --build-tests --sanitize=thread
TSAN_OPTIONS="halt_on_error=0 exitcode=66" timeout 1200 swift test --skip-build --sanitize=thread 2>&1 | tee /tmp/hometown-swift-test-tsan.log
grep -qE "Test run with [0-9]+ tests? .*passed" /tmp/hometown-swift-test-tsan.log || { echo "swift test under TSan did not pass" >&2; exit 1; }
if grep -q "WARNING: ThreadSanitizer" /tmp/hometown-swift-test-tsan.log; then
    echo "ThreadSanitizer reported a data race (see above)" >&2
    exit 1
fi

autobahn_count=0
if [ "${SKIP_AUTOBAHN:-0}" != 1 ]; then
    step "Autobahn|Testsuite 1.*-10.* against /echo (release build)"
    swift build -c release
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    data=$(mktemp -d)
    # The conformance run asks for Autobahn's 16 MiB messages on /echo (the default is 64 KiB).
    echo '{"echo": {"enabled": true, "max_message_size": 16777216}, "bench": {"enabled": true}}' > "$data/autobahn.json"
    "$root/.build/release/hometown" --config "$data/autobahn.json" --port "$port" --data "$data" --log-level warn &
    server=$!
    trap 'kill $server 2>/dev/null || true' EXIT
    bash "$root/Tests/Autobahn/run.sh" "ws://127.0.0.1:$port/echo" /tmp/hometown-autobahn 2>&1 | tee /tmp/hometown-autobahn.log
    step "hometown-load: flash-sale stampede (600 buyers, 400 units), the smoke scenario, a short fan-out run"
    "$root/.build/release/hometown-load" flash --port "$port" --buyers 600 --stock 400 --room ci-flash
    mkdir -p "${HOMETOWN_ARTIFACTS:-/tmp/hometown-artifacts}"
    "$root/.build/release/hometown-load" run --scenario Config/smoke.json --url "ws://127.0.0.1:$port" --quiet \
        --report /tmp/hometown-smoke.json --html "${HOMETOWN_ARTIFACTS:-/tmp/hometown-artifacts}/load-report.html"
    # The fan-out benchmark tool, briefly (exits non-zero on any lost message).
    "$root/.build/release/hometown-load" fanout --port "$port" --path /bench/ci-fanout --subs 50 --warmup 0.5 --duration 1
    # A failed check or threshold must fail the run: an impossible threshold proves it.
    sed 's/"order_p99_ms": [0-9]*/"order_p99_ms": 0.001/' Config/smoke.json > /tmp/hometown-impossible.json
    if "$root/.build/release/hometown-load" run --scenario /tmp/hometown-impossible.json --url "ws://127.0.0.1:$port" --quiet >/dev/null; then
        echo "hometown-load exited 0 although a threshold failed" >&2
        exit 1
    fi
    echo "hometown-load exits non-zero when a threshold fails: ok"
    step "hometown-load: a flash sale with a 4 s payment window (30 % never pay, 10 % pay late), webhook to its own receiver"
    bash "$root/LoadTests/payment-run.sh" Config/flash-sale-payment.json "$root/.build/release/hometown" /tmp/hometown-payment.json
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    trap - EXIT
    autobahn_line=$(grep -E "^[0-9]+ passed, 0 failed" /tmp/hometown-autobahn.log | tail -1 || true)
    [ -n "$autobahn_line" ] || { echo "Autobahn reported failures" >&2; exit 1; }
    autobahn_count=${autobahn_line%% *}
fi

browser_count=0
if [ "${SKIP_BROWSER:-0}" != 1 ]; then
    step "browser test (headless Chromium)"
    swift build -c release --product hometown
    HOMETOWN_BIN="$root/.build/release/hometown" bash Tests/Browser/run.sh 2>&1 | tee /tmp/hometown-browser.log
    browser_line=$(grep -E "^[0-9]+ passed" /tmp/hometown-browser.log | tail -1 || true)
    [ -n "$browser_line" ] || { echo "the browser test did not pass" >&2; exit 1; }
    browser_count=${browser_line%% *}
fi

cluster_runs=0
if [ "${SKIP_CLUSTER:-0}" != 1 ]; then
    step "cluster test: 3 nodes on redis-server; owner killed, owner paused, Redis restarted mid-sale; payment window with the owner killed"
    swift build -c release
    Tests/Cluster/run.sh .build/release 2>&1 | tee /tmp/hometown-cluster.log
    cluster_line=$(grep -E "^cluster test: [0-9]+ runs passed" /tmp/hometown-cluster.log | tail -1 || true)
    [ -n "$cluster_line" ] || { echo "the cluster test did not pass" >&2; exit 1; }
    cluster_runs=$(echo "$cluster_line" | sed -E 's/cluster test: ([0-9]+) runs.*/\1/')
fi

if [ "${SKIP_DEPLOY:-0}" != 1 ]; then
    step "deployable build (static Swift stdlib, runs without the toolchain) and the systemd unit"
    Tests/Deploy/static-build.sh
    Tests/Deploy/check-unit.sh .build/static/release/hometown
fi

fuzz_seconds=${FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" != 0 ]; then
    step "fuzzing (${fuzz_seconds}s per target)"
    Tests/Fuzz/run.sh "$fuzz_seconds"
fi

step "summary"
echo "swift test: $swift_count tests passed; Autobahn: $autobahn_count cases passed; browser: $browser_count passed; cluster: $cluster_runs runs passed; fuzzing: no crash"
echo "$((swift_count + autobahn_count + browser_count + cluster_runs)) passed, 0 failed"
