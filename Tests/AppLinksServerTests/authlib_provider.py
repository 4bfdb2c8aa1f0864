"""An OAuth 2.0 authorization server built on authlib (a third-party implementation), for the oauth2-outgoing
tests: authorization code with PKCE (S256 required), refresh tokens with or without rotation, RFC 7009
revocation, and a protected API. It counts the refreshes it grants, so a test can see that concurrent callers
shared one. The signed-in user is always `alice`; the consent is a link the test's browser follows.

usage: authlib_provider.py PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI EXPIRES_IN[,REFRESHED_EXPIRES_IN] ROTATE(yes|no|none)
ROTATE none issues no refresh tokens at all. REFRESHED_EXPIRES_IN, when given, is the lifetime of the tokens
a refresh issues (EXPIRES_IN otherwise).
Prints `ready` once it listens."""
import sys
import time
import threading

from flask import Flask, jsonify, request
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2.rfc6749 import grants, ClientMixin
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge

port, client_id, client_secret, redirect_uri, expires_in, rotate = sys.argv[1:7]
EXPIRES_IN, REFRESHED_EXPIRES_IN = (int(x) for x in (expires_in + "," + expires_in).split(",")[:2])
ROTATE, REFRESH = rotate == "yes", rotate != "none"
lock = threading.Lock()
codes, access_tokens, refresh_tokens = {}, {}, {}
stats = {"refreshes": 0, "codes": 0, "revocations": 0, "invalid_grants": 0}


class Client(ClientMixin):
    def get_client_id(self): return client_id
    def get_default_redirect_uri(self): return redirect_uri
    def get_allowed_scope(self, scope): return scope
    def check_redirect_uri(self, uri): return uri == redirect_uri
    def check_client_secret(self, secret): return secret == client_secret
    def check_endpoint_auth_method(self, method, endpoint): return method in ("client_secret_basic", "client_secret_post")
    def check_response_type(self, response_type): return response_type == "code"
    def check_grant_type(self, grant_type):
        # authlib issues a refresh token with a code only to a client allowed the refresh_token grant.
        return grant_type == "authorization_code" or (grant_type == "refresh_token" and REFRESH)


CLIENT = Client()


class Record:
    """A code or token: what authlib asks of each."""
    def __init__(self, **kw):
        self.__dict__.update(kw)
        self.revoked = False
        self.issued_at = time.time()
    def get_redirect_uri(self): return self.redirect_uri
    def get_scope(self): return self.scope
    def get_auth_time(self): return self.issued_at
    def get_nonce(self): return None
    def get_code_challenge(self): return self.code_challenge
    def get_code_challenge_method(self): return self.code_challenge_method
    def check_client(self, client): return client.get_client_id() == client_id
    def get_client(self): return CLIENT
    def get_user(self): return "alice"
    def get_expires_in(self): return getattr(self, "expires_in", EXPIRES_IN)
    def is_expired(self): return self.kind == "access" and time.time() > self.issued_at + self.get_expires_in()
    def is_revoked(self): return self.revoked


def payload(req):
    return getattr(req, "payload", req)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code, req):
        p = payload(req)
        with lock:
            codes[code] = Record(kind="code", redirect_uri=p.redirect_uri, scope=p.scope,
                                 code_challenge=p.data.get("code_challenge"),
                                 code_challenge_method=p.data.get("code_challenge_method"))
            stats["codes"] += 1

    def query_authorization_code(self, code, client):
        return codes.get(code)

    def delete_authorization_code(self, authorization_code):
        with lock:
            for k, v in list(codes.items()):
                if v is authorization_code:
                    del codes[k]

    def authenticate_user(self, authorization_code):
        return "alice"


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = ROTATE

    def authenticate_refresh_token(self, refresh_token):
        record = refresh_tokens.get(refresh_token)
        if record and not record.revoked:
            return record
        with lock:
            # What the provider's own log would show as invalid_grant: a test checks that status checks make none.
            stats["invalid_grants"] += 1

    def authenticate_user(self, credential):
        with lock:
            stats["refreshes"] += 1
        return "alice"

    def revoke_old_credential(self, credential):
        if ROTATE:
            credential.revoked = True


def save_token(token, req):
    with lock:
        access_tokens[token["access_token"]] = Record(kind="access", scope=token.get("scope"), token=token["access_token"],
                                                      expires_in=int(token.get("expires_in", EXPIRES_IN)))
        if "refresh_token" in token:
            refresh_tokens[token["refresh_token"]] = Record(kind="refresh", scope=token.get("scope"), token=token["refresh_token"])


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return refresh_tokens.get(token_string) or access_tokens.get(token_string)

    def revoke_token(self, token, req):
        with lock:
            stats["revocations"] += 1
            # Revoking a refresh token ends the grant: every token goes (RFC 7009 §2.1).
            for t in list(access_tokens.values()) + list(refresh_tokens.values()):
                t.revoked = True


class Validator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return access_tokens.get(token_string)


app = Flask(__name__)
app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": EXPIRES_IN, "refresh_token": REFRESHED_EXPIRES_IN}
app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
server = AuthorizationServer(app, query_client=lambda cid: CLIENT if cid == client_id else None, save_token=save_token)
server.register_grant(CodeGrant, [CodeChallenge(required=True)])
server.register_grant(RefreshGrant)
server.register_endpoint(Revocation)
require_oauth = ResourceProtector()
require_oauth.register_token_validator(Validator())


@app.route("/authorize")
def authorize():
    decision = request.args.get("decision")
    if decision is None:
        server.get_consent_grant(end_user="alice")  # validates the request before asking
        return "<p>Allow the application?</p>"
    return server.create_authorization_response(grant_user="alice" if decision == "allow" else None)


@app.route("/token", methods=["POST"])
def token():
    return server.create_token_response()


@app.route("/revoke", methods=["POST"])
def revoke():
    return server.create_endpoint_response(Revocation.ENDPOINT_NAME)


@app.route("/.well-known/oauth-authorization-server")
def metadata():
    """RFC 8414 metadata, as any standard provider serves it: this one is not an AppLinks host."""
    base = "http://127.0.0.1:%s" % port
    return jsonify(issuer=base, authorization_endpoint=base + "/authorize", token_endpoint=base + "/token",
                   revocation_endpoint=base + "/revoke", response_types_supported=["code"],
                   code_challenge_methods_supported=["S256"])


@app.route("/api/me")
@require_oauth()
def me():
    return jsonify(user="alice", scope=current_token.scope)


@app.route("/admin/revoke-all", methods=["POST"])
def revoke_all():
    """The user revoking the application in the provider's own pages: every token stops working."""
    with lock:
        for t in list(access_tokens.values()) + list(refresh_tokens.values()):
            t.revoked = True
    return jsonify(ok=True)


@app.route("/stats")
def get_stats():
    with lock:
        return jsonify(stats)


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print("ready", flush=True)
    app.run(host="127.0.0.1", port=int(port), threaded=True)
