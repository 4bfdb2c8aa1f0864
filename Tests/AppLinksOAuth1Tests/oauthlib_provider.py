"""An OAuth 1.0a provider built on python oauthlib's RequestValidator and endpoints: a third-party server for
our consumer to run the three legs against. It serves on 127.0.0.1 (port printed on the first line) and
approves every authorization for the user "bob", as if bob had clicked Allow.

Endpoints: POST /request-token, GET /authorize?oauth_token=..., POST /access-token, GET /resource."""
import http.server
import json
import secrets
import signal
import sys
from urllib.parse import parse_qs, urlencode, urlparse

from oauthlib.oauth1 import (AccessTokenEndpoint, AuthorizationEndpoint, RequestTokenEndpoint, RequestValidator,
                             ResourceEndpoint)

CONSUMERS = json.load(open(sys.argv[1]))  # key -> {"secret": ..., "rsa_public": ...}
REQUEST_TOKENS, ACCESS_TOKENS, VERIFIERS, NONCES = {}, {}, {}, set()


class Validator(RequestValidator):
    enforce_ssl = False
    allowed_signature_methods = ("HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1", "RSA-SHA256", "PLAINTEXT")
    client_key_length = nonce_length = verifier_length = (8, 128)
    request_token_length = access_token_length = (8, 128)
    safe_characters = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    dummy_client = "dummy-client-key"
    dummy_request_token = "dummy-request-token"
    dummy_access_token = "dummy-access-token"
    realms = []

    def validate_client_key(self, client_key, request): return client_key in CONSUMERS
    def get_client_secret(self, client_key, request): return CONSUMERS.get(client_key, {}).get("secret") or "dummy"
    def get_rsa_key(self, client_key, request): return CONSUMERS.get(client_key, {}).get("rsa_public")

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None, access_token=None):
        entry = (client_key, timestamp, nonce, request_token or access_token)
        if entry in NONCES:
            return False
        NONCES.add(entry)
        return True

    def validate_requested_realms(self, client_key, realms, request): return True
    def validate_redirect_uri(self, client_key, redirect_uri, request): return True
    def get_default_realms(self, client_key, request): return []
    def get_realms(self, token, request): return []
    def verify_realms(self, token, realms, request): return True
    def validate_realms(self, client_key, token, request, uri=None, realms=None): return True

    def save_request_token(self, token, request):
        REQUEST_TOKENS[token["oauth_token"]] = dict(token, client_key=request.client_key, callback=request.redirect_uri)

    def get_request_token_secret(self, client_key, token, request):
        return REQUEST_TOKENS.get(token, {}).get("oauth_token_secret", "dummy")

    def validate_request_token(self, client_key, token, request):
        return REQUEST_TOKENS.get(token, {}).get("client_key") == client_key

    def verify_request_token(self, token, request): return token in REQUEST_TOKENS
    def get_redirect_uri(self, token, request): return REQUEST_TOKENS[token]["callback"]
    def save_verifier(self, token, verifier, request): VERIFIERS[token] = verifier["oauth_verifier"]

    def validate_verifier(self, client_key, token, verifier, request):
        return VERIFIERS.get(token) == verifier

    def invalidate_request_token(self, client_key, request_token, request):
        REQUEST_TOKENS.pop(request_token, None)
        VERIFIERS.pop(request_token, None)

    def save_access_token(self, token, request):
        ACCESS_TOKENS[token["oauth_token"]] = dict(token, client_key=request.client_key, user="bob")

    def get_access_token_secret(self, client_key, token, request):
        return ACCESS_TOKENS.get(token, {}).get("oauth_token_secret", "dummy")

    def validate_access_token(self, client_key, token, request):
        return ACCESS_TOKENS.get(token, {}).get("client_key") == client_key


validator = Validator()
request_endpoint, authorize_endpoint = RequestTokenEndpoint(validator), AuthorizationEndpoint(validator)
access_endpoint, resource_endpoint = AccessTokenEndpoint(validator), ResourceEndpoint(validator)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args): pass

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        body = (body or "").encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        url = "http://%s%s" % (self.headers["Host"], self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        headers = dict(self.headers)
        path = urlparse(self.path).path
        if path == "/request-token":
            self.reply(*reorder(request_endpoint.create_request_token_response(url, self.command, body, headers)))
        elif path == "/authorize":
            h, b, s = authorize_endpoint.create_authorization_response(url, self.command, body, headers, realms=[], credentials={"user": "bob"})
            self.reply(s, h, b)
        elif path == "/access-token":
            self.reply(*reorder(access_endpoint.create_access_token_response(url, self.command, body, headers)))
        elif path == "/resource":
            valid, request = resource_endpoint.validate_protected_resource_request(url, self.command, body, headers, realms=[])
            if valid:
                self.reply(200, {"Content-Type": "text/plain"}, "hello %s" % ACCESS_TOKENS[request.resource_owner_key]["user"])
            else:
                self.reply(401, {"WWW-Authenticate": 'OAuth realm="oauthlib"'}, "oauth_problem=signature_invalid")
        else:
            self.reply(404, {}, "")

    do_GET = do_POST = handle_any


def reorder(result):
    headers, body, status = result
    return status, headers, body


# The test runner starts this process with SIGTERM blocked (a signal mask survives exec): unblock it, so that
# the test's terminate() ends this server instead of leaving it behind.
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
