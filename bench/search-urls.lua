-- wrk script: cycles through a file of request paths (one per line), each thread starting
-- at a different place. Usage: wrk -s bench/search-urls.lua http://host:port -- urls.txt
local paths = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  i = math.random(#paths)
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
