-- /panic at a bounded rate: each connection waits PANIC_DELAY_MS between
-- requests (wrk's delay hook), so the recovery rate is set by the
-- connection count, not by how fast the server can fail.
-- PANIC_PATH=/ok makes the same traffic without faults (the control run).
wrk.path = os.getenv("PANIC_PATH") or "/panic"
local d = tonumber(os.getenv("PANIC_DELAY_MS") or "4")
delay = function()
  if d > 0 then return d end
  return nil
end
done = function(summary, latency, requests)
  io.write(string.format(
    'JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
