-- Refresh-token rotation under load. Each thread owns a queue of refresh tokens, one per grant, from the
-- TOKENS file (one per line); each request takes one, and each answer's rotated refresh token goes back in.
-- A thread runs at most as many requests at once as it holds tokens, so none is used twice.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

function init(args)
  local all = {}
  for line in io.lines(os.getenv("TOKENS")) do table.insert(all, line) end
  local count = tonumber(os.getenv("THREADS"))
  queue = {}
  for i = index, #all, count do table.insert(queue, all[i]) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = os.getenv("AUTH")
  failures = 0
end

function request()
  local token = table.remove(queue, 1)
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if status == 200 and token then
    table.insert(queue, token)
  else
    failures = failures + 1
    if failures < 5 then io.stderr:write("refresh failed " .. status .. ": " .. body .. "\n") end
  end
end
