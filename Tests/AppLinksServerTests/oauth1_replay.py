"""Signs one OAuth 1.0a request-token request with oauthlib (HMAC-SHA1, a fixed nonce and timestamp) for the
public base URL, sends the very same bytes to each node given, in order, and prints their answers as JSON.
An attacker replaying a captured request at another node of a cluster does exactly this.

usage: oauth1_replay.py PUBLIC_BASE_URL CONSUMER_KEY SECRET NODE_URL..."""
import json
import sys
import time
import uuid

import requests
from oauthlib.oauth1 import Client

sys.dont_write_bytecode = True
base, key, secret = sys.argv[1:4]
nodes = sys.argv[4:]
path = "/plugins/servlet/oauth/request-token"
client = Client(key, client_secret=secret, signature_method="HMAC-SHA1", callback_uri="oob",
                nonce=uuid.uuid4().hex, timestamp=str(int(time.time())))
_, headers, _ = client.sign(base + path, http_method="POST")
answers = []
for node in nodes:
    r = requests.post(node + path, headers=headers, timeout=10)
    answers.append([r.status_code, r.text])
print(json.dumps(answers))
