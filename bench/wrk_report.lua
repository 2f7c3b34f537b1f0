-- wrk script: extra headers from the environment (Authorization, If-None-Match), and a JSON summary with p50/p95/p99 at the end.
local auth = os.getenv("BENCH_AUTHORIZATION")
wrk.headers["X-Forwarded-Proto"] = "https"
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local etag = os.getenv("BENCH_IF_NONE_MATCH")
if etag and etag ~= "" then
  wrk.headers["If-None-Match"] = etag
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, ' ..
    '"non_2xx": %d, "errors": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
