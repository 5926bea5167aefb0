-- GETs a path never asked before on every request: args[1] .. <thread> .. "-" .. <n>.
-- args: <prefix>
local prefix = ""
local n = 0
function init(args)
  prefix = args[1]
end
function request()
  n = n + 1
  return wrk.format("GET", prefix .. tostring(tid or 0) .. "-" .. tostring(n))
end
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
