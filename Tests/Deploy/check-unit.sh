#!/usr/bin/env bash
# Checks the shipped systemd unit (Config/hometown.service): no end-of-line comments (systemd
# would read them as part of the value: an EnvironmentFile path with "# ..." in it), and, where
# systemd-analyze exists, `systemd-analyze verify` with no complaint at all (it warns rather than
# fails on unknown keys, so any output fails here). Usage: Tests/Deploy/check-unit.sh [HOMETOWN_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
unit=Config/hometown.service
binary=$(realpath "${1:-.build/release/hometown}")
if grep -nE '^[^#;[:space:]][^#]*[[:space:]][#;]' "$unit"; then
    echo "check-unit: end-of-line comments in $unit (systemd keeps them in the value)" >&2
    exit 1
fi
if command -v systemd-analyze >/dev/null; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # verify checks that ExecStart's binary exists: point it at this build.
    sed "s#/usr/local/bin/hometown#$binary#" "$unit" > "$work/hometown.service"
    output=$(systemd-analyze verify "$work/hometown.service" 2>&1) || { echo "$output" >&2; exit 1; }
    if [ -n "$output" ]; then echo "$output" >&2; echo "check-unit: systemd-analyze complained" >&2; exit 1; fi
    echo "check-unit: $unit verified by systemd-analyze"
else
    echo "check-unit: systemd-analyze not installed; checked comments only"
fi
