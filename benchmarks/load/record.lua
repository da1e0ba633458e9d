-- wrk script: one connection per thread, so each response pairs with the request
-- sent just before it on that thread; records (status, latency in microseconds)
-- per request and writes them all to $COG_BENCH_OUT when the run ends.
--
-- The request is read from $COG_BENCH_REQUEST (method, path, headers, body as a
-- file prepared by the driver) so that large bodies need no Lua quoting.
-- A 2xx response whose body does not match the Lua pattern $COG_BENCH_EXPECT (a
-- prediction that failed, say) is recorded with its status negated.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } cog_bench_timespec;
int clock_gettime(int clk_id, cog_bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("cog_bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- Per thread (each has its own Lua state).
local raw_request
local expect
local sent_at = 0
latencies = {}
statuses = {}
count = 0

function init(args)
  local spec = os.getenv("COG_BENCH_REQUEST")
  local method, path, body = "GET", "/", nil
  local headers = {}
  if spec and spec ~= "" then
    -- Format: first line METHOD PATH, then "Name: value" lines, a blank line, the body.
    local text = read_file(spec)
    local head, rest = text:match("^(.-)\n\n(.*)$")
    if not head then head, rest = text, "" end
    local first = true
    for line in head:gmatch("[^\n]+") do
      if first then
        method, path = line:match("^(%S+)%s+(%S+)$")
        first = false
      else
        local name, value = line:match("^([^:]+):%s*(.*)$")
        headers[name] = value
      end
    end
    if rest ~= "" then body = rest end
  end
  raw_request = wrk.format(method, path, headers, body)
  expect = os.getenv("COG_BENCH_EXPECT")
  if expect == "" then expect = nil end
end

function request()
  sent_at = now_us()
  return raw_request
end

function response(status, headers, body)
  local n = count + 1
  count = n
  latencies[n] = now_us() - sent_at
  if expect and status >= 200 and status < 300 and not body:find(expect) then
    status = -status
  end
  statuses[n] = status
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("COG_BENCH_OUT"), "w"))
  out:write(string.format("# duration_us=%d requests=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.duration, summary.requests, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
  for _, thread in ipairs(threads) do
    local lat = thread:get("latencies")
    local st = thread:get("statuses")
    local n = thread:get("count")
    for i = 1, n do
      out:write(st[i], " ", string.format("%.1f", lat[i]), "\n")
    end
  end
  out:close()
end
