-- wrk script for bench/track.py: POST a track with a fresh userId and a varied body per request.
-- The Basic auth header and the action code come from the environment (set by bench/track.py).
local auth = os.getenv("TOLLGATE_BENCH_AUTH")
local action = os.getenv("TOLLGATE_BENCH_ACTION") or "withdraw-funds"
local users = tonumber(os.getenv("TOLLGATE_BENCH_USERS") or "100000")

local headers = {
  ["Authorization"] = auth,
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json",
}

local agents = {
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
}
local currencies = { "NZD", "AUD", "USD" }

local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
  counter = counter + 1
  local user = "usr_" .. math.random(1, users)
  local path = "/v1/users/" .. user .. "/actions/" .. action
  local body = string.format(
    '{"ipAddress":"10.%d.%d.%d","userAgent":"%s","deviceId":"dev_%d",'
      .. '"custom":{"amount":%d.%02d,"currency":"%s","payee":"acct_%d","isFirstPayee":false,"attempts":%d}}',
    math.random(0, 255), math.random(0, 255), math.random(1, 254),
    agents[math.random(1, #agents)], math.random(1, 50000),
    math.random(1, 900), math.random(0, 99), currencies[math.random(1, #currencies)],
    math.random(1, 5000), math.random(0, 2))
  return wrk.format("POST", path, headers, body)
end
