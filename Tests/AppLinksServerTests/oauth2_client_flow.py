"""A third-party OAuth 2.0 client (authlib or requests-oauthlib) runs the whole flow against an AppLinks
server's oauth2-incoming provider, with python `requests` playing the user's browser (login and consent).

usage: oauth2_client_flow.py LIBRARY BASE CLIENT_ID CLIENT_SECRET REDIRECT_URI USER PASSWORD
Prints one JSON report; every step the libraries check themselves (state, token response shape) raises on failure."""
import json
import os
import sys
from urllib.parse import parse_qs, urlparse

import requests

sys.dont_write_bytecode = True  # no __pycache__ inside the Swift test target
from applinks_browser import hidden, log_in

library, base, client_id, secret, redirect_uri, user, password = sys.argv[1:8]
meta = requests.get(base + "/.well-known/oauth-authorization-server").json()
report = {"issuer": meta["issuer"], "methods": meta["code_challenge_methods_supported"]}


def browser_consent(authorize_url, decision="allow"):
    b, location = log_in(base, user, password, authorize_url[len(base):])
    page = b.get(base + location, allow_redirects=False)
    assert page.status_code == 200, ("consent page", page.status_code, page.text)
    report["consent_page_mentions_scope"] = "REPO_READ" in page.text
    r = b.post(base + "/rest/oauth2/latest/authorize", allow_redirects=False, data={
        "csrf_token": hidden("csrf_token", page.text), "consent": hidden("consent", page.text), "decision": decision})
    assert r.status_code == 303, ("decision", r.status_code, r.text)
    return r.headers["Location"]


scope = "REPO_READ SYSTEM_ADMIN"
if library == "authlib":
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.common.security import generate_token
    verifier = generate_token(64)
    client = OAuth2Session(client_id, secret, scope=scope, redirect_uri=redirect_uri, code_challenge_method="S256",
                           token_endpoint_auth_method="client_secret_basic")
    url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    callback = browser_consent(url)
    report["iss"] = parse_qs(urlparse(callback).query)["iss"][0]
    token = client.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    first_refresh = token["refresh_token"]
    report["whoami"] = client.get(base + "/rest/oauth2/latest/whoami").json()
    refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
    introspect = lambda t: client.introspect_token(meta["introspection_endpoint"], token=t).json()
    revoke = lambda t: client.revoke_token(meta["revocation_endpoint"], token=t, token_type_hint="access_token")
else:
    from requests_oauthlib import OAuth2Session
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the test server is plain http on loopback
    client = OAuth2Session(client_id, scope=scope.split(), redirect_uri=redirect_uri, pkce="S256")
    url, state = client.authorization_url(meta["authorization_endpoint"])
    callback = browser_consent(url)
    report["iss"] = parse_qs(urlparse(callback).query)["iss"][0]
    token = client.fetch_token(meta["token_endpoint"], authorization_response=callback, client_secret=secret,
                               include_client_id=True)
    first_refresh = token["refresh_token"]
    report["whoami"] = client.get(base + "/rest/oauth2/latest/whoami").json()
    refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=first_refresh, auth=(client_id, secret))
    introspect = lambda t: requests.post(meta["introspection_endpoint"], data={"token": t}, auth=(client_id, secret)).json()
    revoke = lambda t: requests.post(meta["revocation_endpoint"], data={"token": t, "token_type_hint": "access_token"},
                                     auth=(client_id, secret))

report["rotated"] = refreshed["refresh_token"] != first_refresh and refreshed["access_token"] != token["access_token"]
report["scope"] = refreshed.get("scope")
report["introspect_active"] = introspect(refreshed["access_token"])
report["introspect_refresh"] = introspect(refreshed["refresh_token"])["active"]
admin_api = lambda t: requests.get(base + "/rest/applinks/3.0/links", headers={"Authorization": "Bearer " + t}).status_code
report["admin_api_with_token"] = admin_api(refreshed["access_token"])
report["revoke_status"] = revoke(refreshed["access_token"]).status_code
report["introspect_after_revoke"] = introspect(refreshed["access_token"])
report["admin_api_after_revoke"] = admin_api(refreshed["access_token"])
print(json.dumps(report))
