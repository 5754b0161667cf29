-- wrk: GET /api/schedules/bench-0001 .. bench-NNNN in turn (bench/http/run.sh)
local n = tonumber(os.getenv("N") or "1000")
local i = 0
request = function()
  i = i % n + 1
  return wrk.format("GET", string.format("/api/schedules/bench-%04d", i))
end
