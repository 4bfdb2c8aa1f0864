"""The admin's browser, played by python `requests`, completing an oauth2-outgoing `authorize`: it opens the
authorization URL the action printed, signs in and answers the consent at the provider, then follows the
provider's redirect back to the AppLinks host's callback.

usage: oauth2_outgoing_browser.py KIND AUTHORIZATION_URL DECISION[+ISS] [USER PASSWORD]
KIND is `applinks` (another AppLinks host's login form and consent page) or `authlib` (authlib_provider.py).
DECISION is allow or deny; `allow+-` drops `iss` from the provider's redirect and `allow+URL` sets it to URL,
as a mix-up attacker's server would answer.
Prints one JSON report: the redirect the provider sent and the callback's status and page."""
import json
import sys
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

import requests

sys.dont_write_bytecode = True  # no __pycache__ inside the Swift test target
from applinks_browser import hidden, log_in

kind, url, decision = sys.argv[1:4]
decision, _, iss = decision.partition("+")
parsed = urlparse(url)
provider = f"{parsed.scheme}://{parsed.netloc}"

if kind == "applinks":
    user, password = sys.argv[4:6]
    b, location = log_in(provider, user, password, url[len(provider):])
    page = b.get(provider + location, allow_redirects=False)
    assert page.status_code == 200, ("consent page", page.status_code, page.text)
    answer = b.post(provider + "/rest/oauth2/latest/authorize", allow_redirects=False, data={
        "csrf_token": hidden("csrf_token", page.text), "consent": hidden("consent", page.text), "decision": decision})
else:
    b = requests.Session()
    page = b.get(url, allow_redirects=False)
    assert page.status_code == 200, ("consent page", page.status_code, page.text)
    answer = b.get(url + "&decision=" + decision, allow_redirects=False)

assert answer.status_code in (302, 303), ("decision", answer.status_code, answer.text)
redirect = answer.headers["Location"]
if iss:
    r = urlparse(redirect)
    query = [(k, v) for k, v in parse_qsl(r.query) if k != "iss"] + ([] if iss == "-" else [("iss", iss)])
    redirect = urlunparse(r._replace(query=urlencode(query)))
callback = requests.get(redirect, allow_redirects=False)
print(json.dumps({"redirect": redirect, "status": callback.status_code, "page": callback.text}))
