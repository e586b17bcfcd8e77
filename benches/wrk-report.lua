-- wrk script for benches/load.sh: counts responses outside 200-299 in every thread and
-- prints the run's figures as one line of key=value pairs. Latencies are in
-- microseconds, as wrk records them.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non_2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local non_2xx_total = 0
  for _, thread in ipairs(threads) do
    non_2xx_total = non_2xx_total + thread:get("non_2xx")
  end
  local errors = summary.errors
  io.write(string.format(
    "requests=%d duration_us=%d p50_us=%d p99_us=%d socket_errors=%d non_2xx=%d\n",
    summary.requests,
    summary.duration,
    latency:percentile(50),
    latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout,
    non_2xx_total
  ))
end
