-- wrk script: each request carries the next pre-minted token, so no user repeats within the min interval.
-- args: METHOD PATH TOKENS_FILE
-- The position in the tokens is kept between runs (TOKENS_FILE.next): two rounds of one target back to back would
-- otherwise both start at the first token, and a round that wrapped around near its end would meet the same users
-- again within the min interval at the start of the next (429s that measure the harness, not the service).
local method, path, tokens = "POST", "/", {}
local threads = {}
i, state = 0, nil

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  method, path = args[1], args[2]
  for line in io.lines(args[3]) do tokens[#tokens + 1] = line end
  state = args[3] .. ".next"
  local f = io.open(state, "r")
  if f then
    i = tonumber(f:read("*l")) or 0
    f:close()
  end
end

function request()
  i = i + 1
  local token = tokens[(i % #tokens) + 1]
  return wrk.format(method, path, { ["Authorization"] = "Bearer " .. token, ["Content-Length"] = "0" }, nil)
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local f = io.open(thread:get("state"), "w")
    if f then
      f:write(tostring(thread:get("i")))
      f:close()
    end
  end
end
