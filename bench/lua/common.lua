-- Shared by every bench script: numbers the threads and prints the summary as one JSON line
-- (BENCHJSON ...) that bench/lib/wrk.ts parses. Latencies are in microseconds.
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  threads[counter] = thread
end

-- requests.lua keeps its next index in the global `cursor`: the smallest over threads tells
-- which pre-built requests were surely sent (-1 for the other scripts).
local function min_cursor()
  local m = -1
  for _, t in ipairs(threads) do
    local c = t:get("cursor")
    if c ~= nil and (m < 0 or c < m) then m = c end
  end
  return m
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"bytes":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,"meanUs":%.1f,"minCursor":%d}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, min_cursor()))
end
