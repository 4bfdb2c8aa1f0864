"""One OAuth 1.0a request at a time, signed with RSA-SHA1 by a third-party consumer (requests-oauthlib), so that a
test can change a link between requests and see which legs the provider still accepts. Prints JSON.

usage: oauth1_levels.py token BASE KEY KEY_FILE USER PASSWORD     the three legs; prints {"token", "secret"}
       oauth1_levels.py request-token BASE KEY KEY_FILE           leg 1 alone; prints [status, body]
       oauth1_levels.py get BASE KEY KEY_FILE PATH [TOKEN SECRET] 3-legged with a token, else 2-legged; [status, body]"""
import json
import sys

from requests_oauthlib import OAuth1Session

sys.dont_write_bytecode = True  # no __pycache__ inside the Swift test target
from applinks_browser import consent

mode, base, key, keyfile = sys.argv[1:5]
rsa_key = open(keyfile).read()


def session(**extra):
    return OAuth1Session(key, signature_method="RSA-SHA1", rsa_key=rsa_key, **extra)


if mode == "token":
    user, password = sys.argv[5:7]
    oauth = session(callback_uri="https://consumer.example.com/callback")
    oauth.fetch_request_token(base + "/plugins/servlet/oauth/request-token")
    location = consent(base, oauth.authorization_url(base + "/plugins/servlet/oauth/authorize"), user, password, "allow")
    oauth.parse_authorization_response(location)
    token = oauth.fetch_access_token(base + "/plugins/servlet/oauth/access-token")
    print(json.dumps({"token": token["oauth_token"], "secret": token["oauth_token_secret"]}))
elif mode == "request-token":
    r = session(callback_uri="oob").post(base + "/plugins/servlet/oauth/request-token")
    print(json.dumps([r.status_code, r.text]))
elif mode == "get":
    path = sys.argv[5]
    extra = dict(resource_owner_key=sys.argv[6], resource_owner_secret=sys.argv[7]) if len(sys.argv) > 7 else {}
    r = session(**extra).get(base + path)
    print(json.dumps([r.status_code, r.text]))
else:
    sys.exit("unknown mode " + mode)
