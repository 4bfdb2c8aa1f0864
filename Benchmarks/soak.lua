-- The soak's mix, request by request in turn: the manifest, introspection of a valid token, client_credentials
-- issuance (one durable token write), the admin API's link list, and a status check of one link. AUTH is the
-- client's Basic header, TOKEN a valid access token, PAT an admin's personal access token, LINK the link's id.
-- DELAY_MS spaces each connection's requests, so that the offered rate stays at the soak's target.
local requests = {}
local n = 0
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")

function init(args)
  local form = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = os.getenv("AUTH") }
  local admin = { ["Authorization"] = "Bearer " .. os.getenv("PAT") }
  requests = {
    wrk.format("GET", "/rest/applinks/1.0/manifest", { ["Accept"] = "application/json" }),
    wrk.format("POST", "/rest/oauth2/latest/introspect", form, "token=" .. os.getenv("TOKEN")),
    wrk.format("POST", "/rest/oauth2/latest/token", form, "grant_type=client_credentials"),
    wrk.format("GET", "/rest/applinks/3.0/links", admin),
    wrk.format("POST", "/rest/applinks/3.0/links/" .. os.getenv("LINK") .. "/status", admin),
  }
end

function request()
  n = n + 1
  return requests[(n % #requests) + 1]
end

function delay()
  return delay_ms
end
