#!/usr/bin/env bash
# Builds the libFuzzer harnesses (frame reader, HTTP head parser, RESP decoder) with their module's sources and runs each for a bounded
# time against the corpus in this folder. Usage: Tests/Fuzz/run.sh [SECONDS_PER_TARGET] (default 30).
# New interesting inputs land in /tmp (the committed corpus only grows by hand: copy them in).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-30}"
out="${FUZZ_OUT:-/tmp/hometown-fuzz}"
mkdir -p "$out"
for target in FrameReader HTTPHead RESP; do
    case "$target" in
    FrameReader) corpus_name=frames; sources=(Sources/WebSocket/*.swift) ;;
    HTTPHead) corpus_name=http; sources=(Sources/WebSocket/*.swift) ;;
    RESP) corpus_name=resp; sources=(Sources/RESP/*.swift) ;;
    esac
    echo "fuzz: building $target"
    swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "${target}Fuzz" \
        -I Sources/COpenSSL "${sources[@]}" "Tests/Fuzz/${target}Fuzz.swift" \
        -lssl -lcrypto -o "$out/fuzz-$target" > "$out/build-$target.log" 2>&1 \
        || { cat "$out/build-$target.log" >&2; echo "fuzz: building $target FAILED" >&2; exit 1; }
    mkdir -p "$out/corpus-$corpus_name"
    echo "fuzz: running $target for ${seconds}s"
    "$out/fuzz-$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
        "$out/corpus-$corpus_name" "Tests/Fuzz/corpus/$corpus_name" 2>&1 | grep -E "^(#|Done|stat::number_of_executed_units|==)" | tail -4
    echo "fuzz: $target finished without a crash"
done
