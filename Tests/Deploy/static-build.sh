#!/usr/bin/env bash
# The deployable binary: `hometown` built with the Swift standard library and Foundation linked in
# (--static-swift-stdlib), so a server needs only the system's OpenSSL, SQLite and libc — not the
# Swift toolchain. Builds it into .build/static, checks that no Swift library is loaded from
# outside it, and runs it with an empty environment (no toolchain on PATH or LD_LIBRARY_PATH).
# Usage: Tests/Deploy/static-build.sh   (prints the binary's path and its shared libraries)
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --static-swift-stdlib --product hometown --build-path .build/static
binary=$(swift build -c release --static-swift-stdlib --product hometown --build-path .build/static --show-bin-path)/hometown
echo "deployable binary: $binary"
ldd "$binary"
if ldd "$binary" | grep -E "libswift|libFoundation|libdispatch|/opt/swift|not found"; then
    echo "static-build: the binary still needs the Swift toolchain's libraries (above)" >&2
    exit 1
fi
version=$(env -i "$binary" --version)
echo "runs without the toolchain: $version"
# It serves: start it on a free port with a fresh data directory, ask /healthz, stop it.
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -i "$binary" --port "$port" --data "$data" --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "static-build: the binary did not serve /healthz" >&2; exit 1; }
kill "$pid"; wait "$pid"
echo "static-build: ok ($version, served /healthz, drained on SIGTERM)"
