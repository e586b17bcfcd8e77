#!/usr/bin/env bash
# Load benchmark of GET /healthz and GET /token on the same release binary.
#
# Builds the release binary, then for each round starts a fresh server per endpoint,
# pinned to one CPU, and loads it with wrk pinned to another: 64 keep-alive connections,
# a warm-up, then a fixed time. Each round measures both endpoints one after the other,
# healthz first in odd rounds and token first in even ones, so slow drift on a shared
# machine affects both. It prints one line per endpoint and round, then the median of
# each figure over the rounds and the ratios token/healthz.
#
# Usage: benches/load.sh
# Settings, all optional, as environment variables:
#   BENCH_PORT        TCP port on 127.0.0.1 (default 5217)
#   BENCH_ROUNDS      rounds of both endpoints (default 9)
#   BENCH_DURATION    measured seconds per endpoint and round (default 5)
#   BENCH_WARMUP      warm-up seconds before each measurement (default 1)
#   BENCH_SERVER_CPU  CPU of the server (default 0)
#   BENCH_LOAD_CPU    CPU of wrk and of this script (default 1)
#   BENCH_RUST_LOG    log filter of the server (default warn, see LOG_FILTER below)
#
# All traffic goes to 127.0.0.1. Every step is bounded in time: each command that could
# hang runs under `timeout`, and the start-up poll stops after START_TIMEOUT_SECS. The
# script installs nothing: it stops and names any missing tool. It exits 2 when it cannot
# measure, and 1 if any request failed or got a status outside 200-299, because the
# figures of such a run are not comparable.

set -euo pipefail
# Fixes the decimal point of awk, sort and EPOCHREALTIME.
export LC_ALL=C

readonly PORT="${BENCH_PORT:-5217}"
readonly ROUNDS="${BENCH_ROUNDS:-9}"
readonly DURATION_SECS="${BENCH_DURATION:-5}"
readonly WARMUP_SECS="${BENCH_WARMUP:-1}"
readonly SERVER_CPU="${BENCH_SERVER_CPU:-0}"
readonly LOAD_CPU="${BENCH_LOAD_CPU:-1}"
# At `info` the server writes one log line per request to stdout, the same for both
# endpoints, which adds a write(2) to every request and hides the handler's own cost
# in the ratio. `warn` keeps the start-up lines and errors out of the hot path.
readonly LOG_FILTER="${BENCH_RUST_LOG:-warn}"
readonly CONNECTIONS=64
# The ratios divide the second endpoint's figures by the first one's.
readonly ENDPOINTS=(/healthz /token)

readonly BUILD_TIMEOUT_SECS=1800
readonly START_TIMEOUT_SECS=10
# The server's own SHUTDOWN_TIMEOUT is 10 s, so it exits well before this.
readonly STOP_TIMEOUT_SECS=15
# Hard limit on one server process: start-up, warm-up, measurement and a margin.
readonly SERVER_TIMEOUT_SECS=$((START_TIMEOUT_SECS + WARMUP_SECS + DURATION_SECS + 30))

# Benchmark-only key of 44 bytes, the length that `openssl rand -base64 32` makes.
readonly SECRET="load-bench-secret-0123456789abcdefghijklmnop"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly WRK_SCRIPT="$ROOT/benches/wrk-report.lua"
readonly BINARY="${CARGO_TARGET_DIR:-$ROOT/target}/release/token-service"

fail() {
    echo "load.sh: $*" >&2
    exit 2
}

check_settings() {
    local name value
    for name in BENCH_PORT BENCH_ROUNDS BENCH_DURATION BENCH_WARMUP BENCH_SERVER_CPU \
        BENCH_LOAD_CPU; do
        value="${!name:-}"
        if [[ -n "$value" && ! "$value" =~ ^[0-9]+$ ]]; then
            fail "invalid $name '$value': expected a whole number."
        fi
    done
    if ((PORT < 1024 || PORT > 65535)); then
        fail "invalid BENCH_PORT $PORT: expected a port from 1024 to 65535."
    fi
    if ((ROUNDS < 1 || DURATION_SECS < 1 || WARMUP_SECS < 1)); then
        fail "BENCH_ROUNDS, BENCH_DURATION and BENCH_WARMUP must be at least 1."
    fi
    if ((SERVER_CPU == LOAD_CPU)); then
        fail "BENCH_SERVER_CPU and BENCH_LOAD_CPU are both $SERVER_CPU: use two CPUs."
    fi
}

check_tools() {
    local missing=()
    command -v cargo >/dev/null || missing+=("cargo: install Rust with rustup, https://rustup.rs")
    command -v wrk >/dev/null || missing+=("wrk: apt-get install wrk (Debian, Ubuntu)")
    command -v taskset >/dev/null || missing+=("taskset: apt-get install util-linux")
    command -v timeout >/dev/null || missing+=("timeout: apt-get install coreutils")
    command -v awk >/dev/null || missing+=("awk: apt-get install gawk")
    if ((${#missing[@]} > 0)); then
        echo "load.sh: missing tools; install them and run again:" >&2
        printf '  %s\n' "${missing[@]}" >&2
        exit 2
    fi
    local cpu
    for cpu in "$SERVER_CPU" "$LOAD_CPU"; do
        taskset -c "$cpu" true 2>/dev/null ||
            fail "CPU $cpu is not available to this process (nproc: $(nproc)). Set BENCH_SERVER_CPU and BENCH_LOAD_CPU."
    done
}

check_port_free() {
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
        fail "port $PORT on 127.0.0.1 is in use. Stop that process or set BENCH_PORT."
    fi
}

build() {
    echo "building the release binary (cargo build --release --locked)"
    (cd "$ROOT" && timeout "$BUILD_TIMEOUT_SECS" cargo build --release --locked --bin token-service) ||
        fail "cargo build failed or took longer than $BUILD_TIMEOUT_SECS s."
    [[ -x "$BINARY" ]] || fail "no binary at $BINARY after the build."
}

print_machine() {
    local commit="not a git checkout"
    if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
        commit="$(git -C "$ROOT" rev-parse --short HEAD)"
        [[ -z "$(git -C "$ROOT" status --porcelain)" ]] || commit="$commit with uncommitted changes"
    fi
    echo "date:       $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit:     $commit"
    echo "cpu:        $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
        "$(getconf _NPROCESSORS_ONLN) CPUs online"
    echo "kernel:     $(uname -sr)"
    echo "tools:      $(rustc --version), $(wrk --version 2>&1 | awk 'NR == 1 { print $1, $2 }')"
    echo "settings:   server on CPU $SERVER_CPU, wrk on CPU $LOAD_CPU, $CONNECTIONS connections," \
        "${WARMUP_SECS} s warm-up, ${DURATION_SECS} s measured, $ROUNDS rounds, RUST_LOG=$LOG_FILTER"
    echo "load:       $(uptime | sed 's/.*load average/load average/')"
}

# State of the server that is running, for stop_server and the EXIT trap.
timeout_pid=""
server_pid=""

# Prints the status line of `GET $1` on the server, using bash's /dev/tcp so that
# polling forks no process. Returns 1 if the connection is refused.
http_status_line() {
    local line
    {
        printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
        read -r -t 1 line <&3 || true
    } 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    echo "${line%$'\r'}"
}

# Starts the server under `timeout` and sets `timeout_pid`, `server_pid` and
# `first_200_ms`, the time from launch to the first 200 on `$1`.
start_server() {
    local path="$1" launch_us now_us deadline_us
    launch_us="${EPOCHREALTIME/./}"
    (
        cd "$WORK_DIR"
        exec env -i PATH="$PATH" JWT_SECRET="$SECRET" HOST=127.0.0.1 PORT="$PORT" \
            RUST_LOG="$LOG_FILTER" \
            taskset -c "$SERVER_CPU" timeout --signal=KILL "$SERVER_TIMEOUT_SECS" "$BINARY"
    ) >>"$WORK_DIR/server.log" 2>&1 &
    timeout_pid=$!

    deadline_us=$((launch_us + START_TIMEOUT_SECS * 1000000))
    while :; do
        if [[ "$(http_status_line "$path")" == "HTTP/1.1 200 OK" ]]; then
            now_us="${EPOCHREALTIME/./}"
            break
        fi
        if ! kill -0 "$timeout_pid" 2>/dev/null; then
            echo "server log:" >&2
            cat "$WORK_DIR/server.log" >&2
            fail "the server exited before it answered 200 on $path."
        fi
        ((${EPOCHREALTIME/./} < deadline_us)) ||
            fail "no 200 from $path within $START_TIMEOUT_SECS s."
    done
    first_200_ms="$(awk -v us=$((now_us - launch_us)) 'BEGIN { printf "%.1f", us / 1000 }')"

    # `timeout` forks the server as its only child.
    server_pid="$(cat "/proc/$timeout_pid/task/$timeout_pid/children")"
    server_pid="${server_pid%% *}"
    [[ -n "$server_pid" ]] || fail "cannot find the server process under timeout ($timeout_pid)."
}

# Sends SIGTERM, which `timeout` passes on to the server, and waits for a graceful exit.
stop_server() {
    [[ -n "$timeout_pid" ]] || return 0
    kill -TERM "$timeout_pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$timeout_pid" 2>/dev/null && ((waited < STOP_TIMEOUT_SECS * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$timeout_pid" 2>/dev/null; then
        echo "load.sh: the server did not stop within $STOP_TIMEOUT_SECS s; killing it" >&2
        [[ -z "$server_pid" ]] || kill -KILL "$server_pid" 2>/dev/null || true
        kill -KILL "$timeout_pid" 2>/dev/null || true
    fi
    wait "$timeout_pid" 2>/dev/null || true
    timeout_pid=""
    server_pid=""
}

cleanup() {
    stop_server
    [[ -z "${WORK_DIR:-}" ]] || rm -rf "$WORK_DIR"
}

# Prints VmRSS or VmHWM of the server in MiB.
memory_mib() {
    awk -v field="$1:" '$1 == field { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"
}

# Prints the steal time of the server's CPU in clock ticks: time in which the
# hypervisor ran something else, which no process on this machine can see.
steal_ticks() {
    awk -v cpu="cpu$SERVER_CPU" '$1 == cpu { print $9 }' /proc/stat
}

# Prints user plus system CPU time of the server in clock ticks.
cpu_ticks() {
    # The fields after the command name, which is in parentheses, start at field 3.
    sed 's/^.*) //' "/proc/$server_pid/stat" | awk '{ print $12 + $13 }'
}

# Measures one endpoint on a fresh server and appends one row of the HEADER columns to
# RESULTS.
measure() {
    local round="$1" endpoint="$2" url="http://127.0.0.1:$PORT$2"
    local rss_idle ticks_before ticks_after steal_before steal_after wrk_line wrk_cpu_secs
    local rss_peak

    check_port_free
    start_server "$endpoint"
    rss_idle="$(memory_mib VmRSS)"

    taskset -c "$LOAD_CPU" timeout $((WARMUP_SECS + 10)) \
        wrk -t1 -c"$CONNECTIONS" -d"${WARMUP_SECS}s" "$url" >/dev/null ||
        fail "the warm-up of $endpoint failed or timed out."

    ticks_before="$(cpu_ticks)"
    steal_before="$(steal_ticks)"
    local TIMEFORMAT='%U %S'
    {
        time taskset -c "$LOAD_CPU" timeout $((DURATION_SECS + 15)) \
            wrk -t1 -c"$CONNECTIONS" -d"${DURATION_SECS}s" -s "$WRK_SCRIPT" "$url" \
            >"$WORK_DIR/wrk.out" 2>&1
    } 2>"$WORK_DIR/wrk.time" || {
        cat "$WORK_DIR/wrk.out" >&2
        fail "wrk on $endpoint failed or timed out."
    }
    ticks_after="$(cpu_ticks)"
    steal_after="$(steal_ticks)"
    rss_peak="$(memory_mib VmHWM)"
    stop_server

    wrk_line="$(grep '^requests=' "$WORK_DIR/wrk.out")" ||
        fail "wrk printed no summary for $endpoint: $(cat "$WORK_DIR/wrk.out")"
    wrk_cpu_secs="$(awk '{ print $1 + $2 }' "$WORK_DIR/wrk.time")"

    # wrk_line contains key=value pairs, so awk splits it into fields on '=' and ' '.
    echo "$wrk_line" | awk -F'[= ]' \
        -v round="$round" -v endpoint="$endpoint" -v rss_idle="$rss_idle" \
        -v rss_peak="$rss_peak" -v first_200="$first_200_ms" \
        -v ticks=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" \
        -v wrk_cpu="$wrk_cpu_secs" -v steal=$((steal_after - steal_before)) '{
            duration_s = $4 / 1e6
            printf "%s %s %.0f %.2f %.2f %d %d %s %s %s %.0f %.0f %.0f %.1f\n",
                round, endpoint, $2 / duration_s, $6 / 1000, $8 / 1000, $10, $12,
                rss_idle, rss_peak, first_200,
                100 * ticks / hz / duration_s, 100 * wrk_cpu / duration_s,
                100 * steal / hz / duration_s, 1e6 * ticks / hz / $2
        }' >>"$RESULTS"
}

# server_cpu% and wrk_cpu% are the shares of their CPUs that the server and wrk used
# while measured. With wrk well below 100%, a server below 100% lost time to other
# processes on its CPU. steal% is the share of the server's CPU that the hypervisor gave
# to other machines. server_us/req is the server's CPU time per request, which such
# losses change much less than req/s.
readonly HEADER="round endpoint req/s p50_ms p99_ms sock_err non_2xx rss_idle_MiB rss_peak_MiB first_200_ms server_cpu% wrk_cpu% steal% server_us/req"

# Aligns rows of the HEADER columns that arrive on stdin, under the header.
print_table() {
    { echo "$HEADER"; cat; } | awk '{
        printf "%-6s %-9s %7s %7s %7s %8s %7s %12s %12s %12s %11s %8s %6s %13s\n",
            $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
    }'
}

# Prints the median of the numbers on stdin.
median() {
    sort -g | awk '{ value[NR] = $1 }
        END { print (NR % 2) ? value[(NR + 1) / 2] : (value[NR / 2] + value[NR / 2 + 1]) / 2 }'
}

# Prints the median over the rounds of column `$2` (1-based, as in HEADER) of `$1`,
# with as many decimals as the rows have.
median_of() {
    local decimals=(- - 0 2 2 0 0 1 1 1 0 0 0 1)
    awk -v endpoint="$1" -v column="$2" '$2 == endpoint { print $column }' "$RESULTS" |
        median | awk -v decimals="${decimals[$2 - 1]}" '{ printf "%.*f\n", decimals, $1 }'
}

# Prints token/healthz of column `$1` for every round.
ratios_of() {
    awk -v column="$1" -v numerator="${ENDPOINTS[1]}" -v denominator="${ENDPOINTS[0]}" '
        { value[$1 " " $2] = $column; rounds[$1] = 1 }
        END {
            for (r in rounds) printf "%.3f\n", value[r " " numerator] / value[r " " denominator]
        }
    ' "$RESULTS"
}

print_summary() {
    echo
    echo "median over $ROUNDS rounds:"
    local endpoint column line
    for endpoint in "${ENDPOINTS[@]}"; do
        line="median $endpoint"
        for column in 3 4 5 6 7 8 9 10 11 12 13 14; do
            line="$line $(median_of "$endpoint" "$column")"
        done
        echo "$line"
    done | print_table

    local rps_ratio p99_ratio cpu_ratio
    rps_ratio="$(ratios_of 3 | median)"
    p99_ratio="$(ratios_of 5 | median)"
    cpu_ratio="$(ratios_of 14 | median)"
    echo
    echo "token/healthz, median of the per-round ratios:"
    awk -v rps="$rps_ratio" -v p99="$p99_ratio" -v cpu="$cpu_ratio" 'BEGIN {
        printf "  req/s          %.3f  (target >= 0.97: %s)\n", rps, (rps >= 0.97) ? "met" : "not met"
        printf "  p99            %.3f  (target <= 1.20: %s)\n", p99, (p99 <= 1.2) ? "met" : "not met"
        printf "  server_us/req  %.3f\n", cpu
    }'
}

main() {
    check_settings
    check_tools
    check_port_free
    build

    WORK_DIR="$(mktemp -d)"
    readonly WORK_DIR
    readonly RESULTS="$WORK_DIR/results"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    : >"$RESULTS"
    # From here on, this shell and every tool it starts run on the load CPU, except the
    # server, which `taskset` moves to its own.
    taskset -p -c "$LOAD_CPU" $$ >/dev/null

    print_machine
    echo
    echo "measuring; one row per endpoint and round, aligned in the table at the end:"
    echo "$HEADER"
    local round endpoints
    for ((round = 1; round <= ROUNDS; round++)); do
        endpoints=("${ENDPOINTS[@]}")
        ((round % 2 == 1)) || endpoints=("${ENDPOINTS[1]}" "${ENDPOINTS[0]}")
        for endpoint in "${endpoints[@]}"; do
            measure "$round" "$endpoint"
            tail -n 1 "$RESULTS"
        done
    done
    echo
    echo "all rounds:"
    sort -k1,1n -k2,2 "$RESULTS" | print_table
    print_summary
    echo "load at the end: $(uptime | sed 's/.*load average/load average/')"

    if awk '$6 > 0 || $7 > 0 { found = 1 } END { exit !found }' "$RESULTS"; then
        echo "load.sh: some requests failed or got a status outside 200-299; see sock_err and non_2xx." >&2
        exit 1
    fi
}

main "$@"
