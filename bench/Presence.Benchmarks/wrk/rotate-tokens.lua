-- wrk script: each request carries the next pre-minted token, so no user repeats within the min interval.
-- args: METHOD PATH TOKENS_FILE
local method, path, tokens, i = "POST", "/", {}, 0

function init(args)
  method, path = args[1], args[2]
  for line in io.lines(args[3]) do tokens[#tokens + 1] = line end
end

function request()
  i = i + 1
  local token = tokens[(i % #tokens) + 1]
  return wrk.format(method, path, { ["Authorization"] = "Bearer " .. token, ["Content-Length"] = "0" }, nil)
end
