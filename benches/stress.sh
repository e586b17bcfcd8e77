#!/usr/bin/env bash
# Holds 1,024 concurrent keep-alive connections against GET /token for 10 s and fails
# unless every request got a 2xx and no socket error occurred.
#
# Usage: benches/stress.sh   (CONNECTIONS, DURATION and STRESS_PORT override the defaults)
# Needs wrk and curl (Debian: apt-get install wrk curl). All traffic goes to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

connections=${CONNECTIONS:-1024}
duration=${DURATION:-10s}
port=${STRESS_PORT:-5260}

for tool in wrk curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not installed. Install it with: apt-get install $tool" >&2
    exit 1
  fi
done

# Each connection is a file descriptor in wrk and in the server, plus a few spare.
wanted_fds=$((connections + 256))
if [ "$(ulimit -n)" -lt "$wanted_fds" ]; then
  if ! ulimit -n "$wanted_fds" 2>/dev/null; then
    echo "error: cannot raise the open-file limit to $wanted_fds (hard limit $(ulimit -Hn))." >&2
    echo "Raise it (e.g. in /etc/security/limits.conf) or set CONNECTIONS lower." >&2
    exit 1
  fi
fi

timeout 1800 cargo build --release --locked --quiet

# A server already on the port would get the load and make the run pass or fail for it.
if curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$port/"; then
  echo "error: something already listens on 127.0.0.1:$port. Stop it or set STRESS_PORT to a free port." >&2
  exit 1
fi

log=$(mktemp)
# RUST_LOG=warn keeps one log line per request from dominating the measurement.
JWT_SECRET="stress-test-secret-0123456789abcdefghijklmnop" HOST=127.0.0.1 PORT="$port" \
  RUST_LOG=warn timeout 300 ./target/release/token-service >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  if curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz"; then
    break
  fi
  sleep 0.05
done
curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz" || {
  echo "error: the server did not respond on 127.0.0.1:$port within 5 s" >&2
  cat "$log" >&2
  exit 1
}

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "error: the server exited before the load started" >&2
  cat "$log" >&2
  exit 1
fi

result=$(timeout 120 wrk --threads 2 --connections "$connections" --duration "$duration" \
  --timeout 5s --latency "http://127.0.0.1:$port/token")
echo "$result"

requests=$(awk '/requests in/ {print $1}' <<<"$result")
p99=$(awk '$1 == "99%" {print $2}' <<<"$result")
socket_errors=$(awk -F'[ ,]+' '/Socket errors/ {print $4 + $6 + $8 + $10}' <<<"$result")
non_2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$result")
socket_errors=${socket_errors:-0}
non_2xx=${non_2xx:-0}

echo
echo "stress: connections=$connections duration=$duration requests=$requests p99=$p99 socket_errors=$socket_errors non_2xx=$non_2xx"
if [ "$socket_errors" -ne 0 ] || [ "$non_2xx" -ne 0 ]; then
  echo "FAILED: expected zero socket errors and zero non-2xx responses" >&2
  exit 1
fi
echo "passed: every request got a 2xx"
