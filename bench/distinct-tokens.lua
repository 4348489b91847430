-- wrk script: the threads share out the tokens of $TOKENS_FILE (one per line)
-- and each sends every token of its share exactly once, then stops, so
-- every request is a token the server has not verified before.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  tokens[#tokens + 1] = line
end
local threads = tonumber(os.getenv("WRK_THREADS") or "2")
local counter = 0
function setup(thread)
  thread:set("first", counter * math.floor(#tokens / threads))
  counter = counter + 1
end
local sent, answered = 0, 0
function request()
  sent = sent + 1
  local t = tokens[first + ((sent - 1) % math.floor(#tokens / threads)) + 1]
  return wrk.format("GET", "/me", { ["Authorization"] = "Bearer " .. t })
end
function response()
  answered = answered + 1
  if answered >= math.floor(#tokens / threads) then
    wrk.thread:stop()
  end
end
