"""Signs requests with python oauthlib, a third-party OAuth 1.0 implementation, so that our signer and
verifier are judged by code that is not ours. Reads a JSON list of cases on stdin and writes, for each,
the Authorization header oauthlib produces and the signature base string oauthlib computes."""
import json
import sys
from urllib.parse import urlparse

from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import signature as S

out = []
for case in json.load(sys.stdin):
    headers = {"Content-Type": case["content_type"]} if case.get("content_type") else {}
    client = Client(
        case["consumer_key"], client_secret=case.get("consumer_secret"), resource_owner_key=case.get("token"),
        resource_owner_secret=case.get("token_secret"), signature_method=case["signature_method"],
        rsa_key=case.get("rsa_key"), timestamp=case["timestamp"], nonce=case["nonce"], realm=case.get("realm"),
    )
    uri, signed_headers, body = client.sign(case["url"], http_method=case["method"], body=case.get("body") or None, headers=headers)
    form = (case.get("content_type") or "").startswith("application/x-www-form-urlencoded")
    params = S.collect_parameters(uri_query=urlparse(uri).query, body=body if form else None, headers=signed_headers)
    base = S.signature_base_string(case["method"].upper(), S.base_string_uri(uri), S.normalize_parameters(params))
    out.append({"authorization": signed_headers["Authorization"], "base_string": base})
json.dump(out, sys.stdout)
