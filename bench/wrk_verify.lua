-- wrk script for bench/verify.py: each request verifies a TOTP code for the next prepared user.
-- The file (TOLLGATE_BENCH_VERIFY_FILE) starts with the first time-step it has codes for; each further
-- line is a client token and its user's codes for that step and the next ones. A user is used once:
-- a second code of the same step would be a replay, and the bench counts it as a failure. One wrk
-- thread (-t1): the users are handed out in order.
local file = os.getenv("TOLLGATE_BENCH_VERIFY_FILE")
local first = tonumber(os.getenv("TOLLGATE_BENCH_VERIFY_FIRST") or "0")

local threads = {}
local users, step0
local next_user
verified, failed, used = 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  users = {}
  local lines = io.lines(file)
  step0 = tonumber(lines())
  for line in lines do
    local fields = {}
    for field in line:gmatch("%S+") do table.insert(fields, field) end
    table.insert(users, fields)
  end
  next_user = first + 1  -- Lua arrays start at 1
end

function request()
  local user = users[next_user]
  next_user = next_user + 1
  used = used + 1
  if user == nil then
    user = users[1]  -- out of prepared users: a replay, which the bench reports
  end
  local code = user[2 + math.floor(os.time() / 30) - step0] or "000000"
  return wrk.format("POST", "/v1/client/verify/totp", {
    ["Authorization"] = "Bearer " .. user[1],
    ["Content-Type"] = "application/json",
  }, '{"verificationCode":"' .. code .. '"}')
end

function response(status, headers, body)
  if status == 200 and body:find('"isVerified":true', 1, true) then
    verified = verified + 1
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local v, f, u = 0, 0, 0
  for _, thread in ipairs(threads) do
    v = v + thread:get("verified")
    f = f + thread:get("failed")
    u = u + thread:get("used")
  end
  io.write(string.format("verify: verified %d failed %d used %d\n", v, f, u))
end
