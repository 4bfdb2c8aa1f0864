"""A user's browser in the 3LO dance between two linked AppLinks hosts: logged in on A (the consumer), it starts
the authorization of A's link, consents on B (the provider) as B's user, and lands back on A's callback.
Prints a JSON report. Each host gets its own cookie jar, as two host names would.

usage: atlassian_3lo_browser.py A_BASE B_BASE LINK_ID A_USER A_PASSWORD B_USER B_PASSWORD allow|deny"""
import json
import sys

sys.dont_write_bytecode = True  # no __pycache__ inside the Swift test target
from applinks_browser import consent, log_in

a, b, link, a_user, a_password, b_user, b_password, decision = sys.argv[1:9]
on_a, _ = log_in(a, a_user, a_password)
start = on_a.get(a + "/plugins/atlassian-oauth1/authorize", params={"link": link}, allow_redirects=False)
assert start.status_code == 303, ("start", start.status_code, start.text)
authorize_url = start.headers["Location"]
assert authorize_url.startswith(b + "/plugins/servlet/oauth/authorize?"), authorize_url
back = consent(b, authorize_url, b_user, b_password, decision)
landed = on_a.get(back, allow_redirects=False)
print(json.dumps({"authorize_url": authorize_url, "back": back, "callback": [landed.status_code, landed.text]}))
