"""A third-party OAuth 1.0a consumer (requests-oauthlib) against an AppLinks server's provider endpoints,
with python `requests` playing the user's browser at the login and consent pages. Prints a JSON report.

usage: oauth1_consumer.py BASE_URL CONSUMER_KEY METHOD SECRET|- RSA_KEY_FILE|- USER PASSWORD [RESOURCE_PATH]"""
import json
import sys

from requests_oauthlib import OAuth1Session

sys.dont_write_bytecode = True  # no __pycache__ inside the Swift test target
from applinks_browser import consent

base, key, method, secret, keyfile, user, password = sys.argv[1:8]
resource = sys.argv[8] if len(sys.argv) > 8 else "/plugins/fixture/whoami"
kwargs = dict(client_secret=None if secret == "-" else secret, signature_method=method,
              rsa_key=None if keyfile == "-" else open(keyfile).read(), callback_uri="https://consumer.example.com/callback")


def browser(authorize_url, decision):
    return consent(base, authorize_url, user, password, decision)


report = {}
oauth = OAuth1Session(key, **kwargs)
oauth.fetch_request_token(base + "/plugins/servlet/oauth/request-token")
location = browser(oauth.authorization_url(base + "/plugins/servlet/oauth/authorize"), "allow")
oauth.parse_authorization_response(location)
oauth.fetch_access_token(base + "/plugins/servlet/oauth/access-token")
for i in range(2):
    r = oauth.get(base + resource, params={"x": "1", "y": "a b+c"})
    report["whoami_%d" % i] = [r.status_code, r.text]

denied = OAuth1Session(key, **kwargs)
denied_token = denied.fetch_request_token(base + "/plugins/servlet/oauth/request-token")
report["denied_redirect"] = browser(denied.authorization_url(base + "/plugins/servlet/oauth/authorize"), "deny")
late = OAuth1Session(key, resource_owner_key=denied_token["oauth_token"], resource_owner_secret=denied_token["oauth_token_secret"],
                     verifier="guess", **kwargs)
try:
    late.fetch_access_token(base + "/plugins/servlet/oauth/access-token")
    report["denied_exchange"] = "accepted"
except Exception as e:
    response = getattr(e, "response", None)
    report["denied_exchange"] = [getattr(response, "status_code", None), getattr(response, "text", str(e))]
print(json.dumps(report))
