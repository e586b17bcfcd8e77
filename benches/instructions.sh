#!/usr/bin/env bash
# Counts the CPU instructions of one request to /healthz and to /token in process,
# through the router and every middleware, under valgrind's callgrind.
#
# An instruction count barely changes with the load that other processes put on the
# machine, so it compares builds and endpoints where timings are too noisy. It covers
# the service's own user-space code only: hyper's HTTP parsing and the socket system
# calls that benches/load.sh includes are left out.
#
# Each path runs twice, with SHORT_RUN and LONG_RUN requests, and the difference divided
# by the extra requests is the cost of one request without start-up.
#
# Usage: benches/instructions.sh

set -euo pipefail
export LC_ALL=C

readonly SHORT_RUN=1000
readonly LONG_RUN=3000
readonly BUILD_TIMEOUT_SECS=1800
readonly RUN_TIMEOUT_SECS=600

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly BINARY="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/requests"

fail() {
    echo "instructions.sh: $*" >&2
    exit 2
}

# Prints the instructions that callgrind counts for `COUNT` requests to `PATH`.
count_instructions() {
    local output
    output="$(timeout "$RUN_TIMEOUT_SECS" valgrind --tool=callgrind \
        --callgrind-out-file=/dev/null "$BINARY" "$1" "$2" 2>&1)" ||
        fail "valgrind failed or timed out on $1: $output"
    echo "$output" | awk '/Collected :/ { print $NF }'
}

main() {
    command -v cargo >/dev/null || fail "cargo is missing: install Rust with rustup, https://rustup.rs"
    command -v valgrind >/dev/null || fail "valgrind is missing: apt-get install valgrind (Debian, Ubuntu)"

    echo "building the example (cargo build --release --locked --example requests)"
    (cd "$ROOT" && timeout "$BUILD_TIMEOUT_SECS" cargo build --release --locked --example requests) ||
        fail "cargo build failed or took longer than $BUILD_TIMEOUT_SECS s."

    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    local path short long per_request healthz token
    for path in /healthz /token; do
        short="$(count_instructions "$path" "$SHORT_RUN")"
        long="$(count_instructions "$path" "$LONG_RUN")"
        per_request=$(((long - short) / (LONG_RUN - SHORT_RUN)))
        printf '%-9s %8d instructions per request\n' "$path" "$per_request"
        if [[ "$path" == /healthz ]]; then healthz="$per_request"; else token="$per_request"; fi
    done
    awk -v token="$token" -v healthz="$healthz" \
        'BEGIN { printf "ratio token/healthz: %.3f\n", token / healthz }'
}

main "$@"
