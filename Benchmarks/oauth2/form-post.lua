-- POSTs one fixed form with Basic client authentication: client_credentials issuance or introspection.
-- The body and the Authorization header come from the environment (BODY, AUTH). There is no response hook:
-- it would make wrk read every answer into Lua, load the hello-world baseline does not carry. wrk counts
-- answers that are not 2xx by itself, and the benchmark script fails a run that has any.
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("AUTH")
