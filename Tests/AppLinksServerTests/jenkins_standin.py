"""A stand-in for Jenkins with the Atlassian "Bitbucket Server integration" plugin, for the jenkins link-type
tests: Jenkins itself needs Java, which this machine's package sources do not provide.

It reproduces what the link type relies on:
- the `X-Jenkins` version header on every answer;
- the plugin's OAuth 1.0a provider (HMAC-SHA1): `POST /bitbucket/oauth/request-token`,
  `GET|POST /bbs-oauth/authorize` (a Jenkins user logs in and approves), `POST /bitbucket/oauth/access-token`,
  with access tokens that expire and are renewed through Atlassian's session extension
  (`oauth_session_handle`); every signature is verified by python oauthlib's provider, not by AppLinks code;
- 401 answers that name the `oauth_problem` (token_expired, token_rejected, signature_invalid,
  timestamp_refused, consumer_key_unknown) in `WWW-Authenticate`;
- the crumb issuer at `/crumbIssuer/api/json`, enforced on `buildWithParameters` (403 "No valid crumb") and
  not on an OAuth-signed `POST /job/…/build`, as the plugin exempts it. As Jenkins' DefaultCrumbIssuer does
  since 2.176.2, a crumb is bound to the web session that fetched it (the `JSESSIONID.…` cookie it sets) and
  to the caller's identity (here the OAuth grant's session handle): a crumb sent without that cookie, with
  another session's, or by another caller is refused;
- `/api/json` with `tree=`, nested folders, jobs with spaces and non-ASCII names, builds queued with
  `Location: …/queue/item/N/` whose item gives the build number on a later read, and anonymous read access
  (as python-jenkins uses it).

usage: jenkins_standin.py PORT CONSUMER_KEY SHARED_SECRET TOKEN_SECONDS
Prints `ready` once it listens. `POST /test/expire-tokens` makes every access token expire now."""
import hashlib
import json
import string
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from oauthlib.common import generate_token
from oauthlib.oauth1 import (AccessTokenEndpoint, AuthorizationEndpoint, RequestTokenEndpoint, RequestValidator,
                             ResourceEndpoint)
from oauthlib.oauth1.rfc5849 import errors

PORT, CONSUMER_KEY, SHARED_SECRET, TOKEN_SECONDS = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
BASE = f"http://127.0.0.1:{PORT}"
VERSION = "2.440.3"
USERS = {"admin": "admin-password"}
lock = threading.RLock()
request_tokens, access_tokens, nonces = {}, {}, set()
renewing = threading.local()
SALT = generate_token(32)
web_sessions = {}  # JSESSIONID -> the caller identity its crumb was issued to
SESSION_COOKIE = "JSESSIONID.5b8e1d2f"
queue, builds = {}, {}
next_queue = [1]


def crumb_for(session, caller):
    return hashlib.sha256(f"{SALT}:{caller}:{session}".encode()).hexdigest()


class Validator(RequestValidator):
    enforce_ssl = False
    allowed_signature_methods = ("HMAC-SHA1",)

    @property
    def safe_characters(self): return set(string.ascii_letters + string.digits + "-_")
    @property
    def client_key_length(self): return 4, 128
    @property
    def request_token_length(self): return 8, 128
    @property
    def access_token_length(self): return 8, 128
    @property
    def nonce_length(self): return 8, 128
    @property
    def verifier_length(self): return 8, 128
    @property
    def dummy_client(self): return "dummy-client"
    @property
    def dummy_request_token(self): return "dummy-request-token"
    @property
    def dummy_access_token(self): return "dummy-access-token"

    def get_client_secret(self, client_key, request): return SHARED_SECRET if client_key == CONSUMER_KEY else "dummy"
    def get_request_token_secret(self, client_key, token, request): return request_tokens.get(token, {}).get("secret", "dummy")
    def get_access_token_secret(self, client_key, token, request): return access_tokens.get(token, {}).get("secret", "dummy")
    def get_default_realms(self, client_key, request): return []
    def get_realms(self, token, request): return []
    def get_redirect_uri(self, token, request): return request_tokens[token]["callback"]
    def get_rsa_key(self, client_key, request): return None
    def invalidate_request_token(self, client_key, token, request): request_tokens.pop(token, None)
    def validate_client_key(self, client_key, request): return client_key == CONSUMER_KEY
    def validate_request_token(self, client_key, token, request): return token in request_tokens
    def validate_redirect_uri(self, client_key, redirect_uri, request): return redirect_uri.startswith("http")
    def validate_requested_realms(self, client_key, realms, request): return True
    def validate_realms(self, client_key, token, request, uri=None, realms=None): return True
    def verify_request_token(self, token, request): return token in request_tokens
    def verify_realms(self, token, realms, request): return True

    def validate_access_token(self, client_key, token, request):
        t = access_tokens.get(token)
        return bool(t) and (getattr(renewing, "on", False) or t["expires_at"] > time.time())

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None, access_token=None):
        with lock:
            key = (client_key, timestamp, nonce, request_token, access_token)
            if key in nonces:
                return False
            nonces.add(key)
            return True

    def validate_verifier(self, client_key, token, verifier, request):
        return request_tokens.get(token, {}).get("verifier") == verifier

    def save_request_token(self, token, request):
        request_tokens[token["oauth_token"]] = {"secret": token["oauth_token_secret"], "callback": request.redirect_uri}

    def save_verifier(self, token, verifier, request):
        request_tokens[token]["verifier"] = verifier["oauth_verifier"]

    def save_access_token(self, token, request):
        # Atlassian's session extension: the token expires, and its handle renews it.
        token["oauth_expires_in"] = str(TOKEN_SECONDS)
        token["oauth_session_handle"] = generate_token(30)
        token["oauth_authorization_expires_in"] = "86400"
        access_tokens[token["oauth_token"]] = {"secret": token["oauth_token_secret"], "handle": token["oauth_session_handle"],
                                               "expires_at": time.time() + TOKEN_SECONDS}


validator = Validator()
request_endpoint, authorize_endpoint = RequestTokenEndpoint(validator), AuthorizationEndpoint(validator)
access_endpoint, resource_endpoint = AccessTokenEndpoint(validator), ResourceEndpoint(validator)

JOBS = {"simple job": {}, "Team A": {"jobs": {"Build ü": {}, "Deploy": {"params": ["ENV"]}, "Nested": {"jobs": {"deep": {}}}}}}


def job_url(path): return BASE + "".join(f"/job/{quote(n, safe='')}" for n in path) + "/"


def describe(name, node, path):
    d = {"name": name, "url": job_url(path), "fullName": "/".join(path)}
    if "jobs" in node:
        d["_class"] = "com.cloudbees.hudson.plugins.folder.Folder"
        d["jobs"] = [describe(n, c, path + [n]) for n, c in node["jobs"].items()]
    else:
        d["_class"] = "hudson.model.FreeStyleProject"
        last = builds.get("/".join(path), [])
        d["color"] = "blue" if last else "notbuilt"
    return d


def parse_tree(text):
    """`jobs[name,url,jobs[name]]` as {"jobs": {"name": None, "url": None, "jobs": {"name": None}}}."""
    spec, stack, name = {}, [], ""
    current = spec
    for ch in text + ",":
        if ch == "[":
            child = {}
            current[name.strip()] = child
            stack.append(current)
            current, name = child, ""
        elif ch in ",]":
            if name.strip():
                current[name.strip()] = None
            name = ""
            if ch == "]":
                current = stack.pop()
        else:
            name += ch
    return spec


def apply_tree(value, spec):
    if spec is None:
        # A member named without a sub-tree: objects show only their class, as Jenkins does.
        if isinstance(value, list):
            return [{"_class": v.get("_class")} if isinstance(v, dict) else v for v in value]
        return {"_class": value.get("_class")} if isinstance(value, dict) else value
    if isinstance(value, list):
        return [apply_tree(v, spec) for v in value]
    return {k: apply_tree(value[k], s) for k, s in spec.items() if k in value} | (
        {"_class": value["_class"]} if "_class" in value else {})


def find(path):
    node = {"jobs": JOBS}
    for n in path:
        node = node.get("jobs", {}).get(n)
        if node is None:
            return None
    return node


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("X-Jenkins", VERSION)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def problem(self, name, status=401):
        self.answer(status, urlencode({"oauth_problem": name}), "application/x-www-form-urlencoded",
                    [("WWW-Authenticate", f'OAuth realm="{BASE}", oauth_problem="{name}"')])

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode() if n else ""

    def oauth(self, body):
        """None for an anonymous request, True for a valid signed one; otherwise answers the problem, False."""
        self.caller = None
        header = self.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            return None
        params = dict((k, unquote(v.strip('"'))) for k, v in
                      (p.strip().split("=", 1) for p in header[6:].split(",") if "=" in p))
        token = params.get("oauth_token")
        if token not in access_tokens:
            self.problem("token_rejected")
            return False
        self.caller = access_tokens[token]["handle"]
        if access_tokens[token]["expires_at"] <= time.time():
            self.problem("token_expired")
            return False
        # oauthlib answers a stale timestamp with a bare False; the plugin names it, as Atlassian's OAuth does.
        if abs(int(params.get("oauth_timestamp", "0") or 0) - time.time()) > validator.timestamp_lifetime:
            self.problem("timestamp_refused")
            return False
        try:
            ok, req = resource_endpoint.validate_protected_resource_request(
                BASE + self.path, self.command, body, dict(self.headers))
        except errors.OAuth1Error as e:
            self.problem("timestamp_refused" if "imestamp" in (e.description or "") else "parameter_rejected")
            return False
        if not ok:
            log = req.validator_log if req is not None else {}
            self.problem("consumer_key_unknown" if not log.get("client") else
                         "signature_invalid" if not log.get("signature") else "token_rejected")
            return False
        return True

    def valid_crumb(self):
        """Jenkins' DefaultCrumbIssuer: the crumb must be the one issued to this caller in this web session."""
        cookies = dict(c.strip().split("=", 1) for c in (self.headers.get("Cookie") or "").split(";") if "=" in c)
        session = cookies.get(SESSION_COOKIE)
        with lock:
            issued_to = web_sessions.get(session)
        sent = self.headers.get("Jenkins-Crumb")
        return session is not None and issued_to == self.caller and sent == crumb_for(session, self.caller)

    def do_GET(self):
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        if url.path == "/bbs-oauth/authorize":
            token = query.get("oauth_token", "")
            if token not in request_tokens:
                return self.answer(400, "unknown request token", "text/plain")
            return self.answer(200, f'<form method="post"><input type="hidden" name="oauth_token" value="{token}">'
                                    '<input name="username"><input name="password" type="password">'
                                    '<button name="decision" value="allow">Allow</button>'
                                    '<button name="decision" value="deny">Deny</button></form>', "text/html")
        if url.path == "/":
            return self.answer(200, "<html>Dashboard [Jenkins]</html>", "text/html")
        signed = self.oauth("")
        if signed is False:
            return
        if url.path == "/crumbIssuer/api/json":
            session = generate_token(24)
            with lock:
                web_sessions[session] = self.caller
            return self.answer(200, {"crumb": crumb_for(session, self.caller), "crumbRequestField": "Jenkins-Crumb"},
                               headers=[("Set-Cookie", f"{SESSION_COOKIE}={session}; Path=/; HttpOnly")])
        if url.path.startswith("/queue/item/"):
            item = queue.get(int(url.path.split("/")[3]))
            if not item:
                return self.answer(404, {"message": "no such queue item"})
            item["reads"] += 1
            d = {"id": item["id"], "task": {"name": item["job"].split("/")[-1]}, "why": "Waiting for next available executor"}
            if item["reads"] > 1:
                d["executable"] = {"number": item["number"], "url": item["url"]}
                d["why"] = None
            return self.answer(200, d)
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        path = []
        while len(parts) >= 2 and parts[0] == "job":
            path.append(parts[1])
            parts = parts[2:]
        node = find(path)
        if node is None:
            return self.answer(404, {"message": "no such job"})
        if parts == ["api", "json"]:
            if path:
                d = describe(path[-1], node, path)
            else:
                d = {"_class": "hudson.model.Hudson", "nodeDescription": "the Jenkins controller", "mode": "NORMAL",
                     "jobs": [describe(n, c, [n]) for n, c in JOBS.items()], "url": BASE + "/"}
            if "tree" in query:
                d = apply_tree(d, parse_tree(query["tree"]))
            return self.answer(200, d)
        if parts == ["lastBuild", "api", "json"]:
            done = builds.get("/".join(path), [])
            if not done:
                return self.answer(404, {"message": "not built yet"})
            return self.answer(200, done[-1])
        return self.answer(404, {"message": "not found"})

    def do_POST(self):
        url = urlsplit(self.path)
        body = self.body()
        if url.path == "/test/expire-tokens":
            with lock:
                for t in access_tokens.values():
                    t["expires_at"] = time.time() - 1
            return self.answer(200, {"ok": True})
        if url.path == "/bitbucket/oauth/request-token":
            headers, text, status = request_endpoint.create_request_token_response(
                BASE + self.path, "POST", body, dict(self.headers))
            return self.answer(status, text or "", "application/x-www-form-urlencoded", list(headers.items()))
        if url.path == "/bitbucket/oauth/access-token":
            if "oauth_session_handle" in self.headers.get("Authorization", ""):
                return self.renew(body)
            headers, text, status = access_endpoint.create_access_token_response(
                BASE + self.path, "POST", body, dict(self.headers))
            return self.answer(status, text or "", "application/x-www-form-urlencoded", list(headers.items()))
        if url.path == "/bbs-oauth/authorize":
            form = dict(parse_qsl(body))
            token = form.get("oauth_token", "")
            if token not in request_tokens:
                return self.answer(400, "unknown request token", "text/plain")
            if USERS.get(form.get("username")) != form.get("password"):
                return self.answer(401, "wrong user name or password", "text/plain")
            if form.get("decision") != "allow":
                # Providers say no in two ways: an oauth_problem, or a verifier that reads "denied".
                callback = request_tokens.pop(token)["callback"]
                sep = "&" if "?" in callback else "?"
                refusal = "oauth_verifier=denied" if form.get("decision") == "deny-verifier" else "oauth_problem=permission_denied"
                return self.answer(302, "", "text/plain", [("Location", f"{callback}{sep}oauth_token={token}&{refusal}")])
            headers, _, status = authorize_endpoint.create_authorization_response(
                f"{BASE}/bbs-oauth/authorize?oauth_token={token}", credentials={"user": form["username"]})
            return self.answer(status, "", "text/plain", list(headers.items()))
        signed = self.oauth(body)
        if signed is False:
            return
        if signed is None:
            return self.answer(403, "anonymous may not build", "text/plain")
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        path = []
        while len(parts) >= 2 and parts[0] == "job":
            path.append(parts[1])
            parts = parts[2:]
        node = find(path)
        if node is None or "jobs" in node or parts not in (["build"], ["buildWithParameters"]):
            return self.answer(404, {"message": "no such job"})
        # The plugin exempts an OAuth-signed POST to /build from the crumb; buildWithParameters needs one.
        if parts == ["buildWithParameters"] and not self.valid_crumb():
            return self.answer(403, "No valid crumb was included in the request", "text/html")
        params = dict(parse_qsl(body))
        if parts == ["buildWithParameters"] and set(params) != set(node.get("params", [])):
            return self.answer(400, f"this job takes {node.get('params', [])}", "text/plain")
        name = "/".join(path)
        with lock:
            number = len(builds.get(name, [])) + 1
            build = {"number": number, "result": "SUCCESS", "duration": 1234, "building": False,
                     "url": job_url(path) + f"{number}/", "parameters": params}
            builds.setdefault(name, []).append(build)
            qid = next_queue[0]
            next_queue[0] += 1
            queue[qid] = {"id": qid, "job": name, "number": number, "url": build["url"], "reads": 0}
        return self.answer(201, "", "text/plain", [("Location", f"{BASE}/queue/item/{qid}/")])

    def renew(self, body):
        """Atlassian's session extension: the expired token and its handle, signed, get a new token."""
        renewing.on = True
        try:
            ok, req = resource_endpoint.validate_protected_resource_request(
                BASE + self.path, "POST", body, dict(self.headers))
        except errors.OAuth1Error:
            ok = False
        finally:
            renewing.on = False
        if not ok:
            return self.problem("signature_invalid")
        old = access_tokens.get(req.resource_owner_key)
        handle = dict(req.oauth_params).get("oauth_session_handle")
        if not old or old["handle"] != handle:
            return self.problem("token_rejected")
        token = {"oauth_token": generate_token(30), "oauth_token_secret": generate_token(30)}
        with lock:
            access_tokens.pop(req.resource_owner_key, None)
            validator.save_access_token(token, req)
            access_tokens[token["oauth_token"]]["handle"] = handle
            token["oauth_session_handle"] = handle
        return self.answer(200, urlencode(token), "application/x-www-form-urlencoded")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print("ready", flush=True)
    server.serve_forever()
