-- GETs the paths listed one per line in args[1], round robin, each thread starting at its own offset.
-- args: <paths-file> <script-dir>
local paths = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = tid or 0
end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
