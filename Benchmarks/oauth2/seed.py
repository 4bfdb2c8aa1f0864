"""Seeds the OAuth 2.0 provider benchmark: logs in as a user, authorizes the client COUNT times (one grant
each, code flow with PKCE) and prints one refresh token per line.

usage: seed.py BASE CLIENT_ID CLIENT_SECRET REDIRECT_URI USER PASSWORD COUNT"""
import base64
import hashlib
import html
import re
import secrets
import sys
from urllib.parse import parse_qs, urlparse

import requests

base, client_id, secret, redirect_uri, user, password, count = sys.argv[1:8]
hidden = lambda name, text: html.unescape(re.search(r'name="%s" value="([^"]*)"' % name, text).group(1))
b = requests.Session()
page = b.get(base + "/login")
b.post(base + "/login", data={"username": user, "password": password, "csrf_token": hidden("csrf_token", page.text), "next": "/"})
for _ in range(int(count)):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    page = b.get(base + "/rest/oauth2/latest/authorize", params={
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "REPO_READ",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    r = b.post(base + "/rest/oauth2/latest/authorize", allow_redirects=False, data={
        "csrf_token": hidden("csrf_token", page.text), "consent": hidden("consent", page.text), "decision": "allow"})
    code = parse_qs(urlparse(r.headers["Location"]).query)["code"][0]
    t = requests.post(base + "/rest/oauth2/latest/token", auth=(client_id, secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}).json()
    print(t["refresh_token"])
