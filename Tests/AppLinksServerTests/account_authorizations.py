"""A user's own authorizations page, in a browser played by python `requests`: logs in, lists the applications
on /account/authorizations, and revokes the first one with the page's own form (CSRF token included).

usage: account_authorizations.py BASE USER PASSWORD     prints {"listed": [button labels], "revoked": status, "after": [labels]}"""
import json
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ inside the Swift test target
from applinks_browser import hidden, log_in

base, user, password = sys.argv[1:4]
b, _ = log_in(base, user, password, "/account/authorizations")


def labels(text):
    return re.findall(r'<button type="submit">Revoke ([^<]*)</button>', text)


page = b.get(base + "/account/authorizations")
listed = labels(page.text)
revoked = None
if listed:
    r = b.post(base + "/account/authorizations", allow_redirects=False, data={
        "csrf_token": hidden("csrf_token", page.text), "grant": hidden("grant", page.text)})
    revoked = r.status_code
forged = b.post(base + "/account/authorizations", allow_redirects=False, data={"csrf_token": "forged", "grant": "x"}).status_code
print(json.dumps({"listed": listed, "revoked": revoked, "forged": forged, "after": labels(b.get(base + "/account/authorizations").text)}))
