-- Replays pre-built requests (signed ahead of time by bench/run.ts): args[1] is a Lua file that
-- returns { threads = T, body = <bytes or nil>, { method, path, { headers } }, ... }. Thread t
-- sends entries t+1, t+1+T, ... and wraps around; `cursor` (global, read by common.lua's done)
-- is its next index.
local reqs = {}
local step = 1
cursor = 0
function init(args)
  local spec = dofile(args[1])
  step = spec.threads
  cursor = tid or 0
  -- wrk calls request() once on thread 0 before the run to check for pipelining; let that call
  -- take an entry from the end of the list, so entry 1 is really sent.
  if cursor == 0 then cursor = -step end
  for k = 1, #spec do
    local r = spec[k]
    reqs[k] = wrk.format(r[1], r[2], r[3], r[1] == "PUT" and spec.body or nil)
  end
end
function request()
  local r = reqs[(cursor % #reqs) + 1]
  cursor = cursor + step
  return r
end
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
