"""A browser played by python `requests`: logs in through an AppLinks server's form and answers its consent page."""
import html
import re

import requests


def hidden(name, text):
    return html.unescape(re.search(r'name="%s" value="([^"]*)"' % name, text).group(1))


def log_in(base, user, password, next_path="/"):
    """A session logged in to `base`; returns it and where the login redirected."""
    b = requests.Session()
    page = b.get(base + "/login", params={"next": next_path})
    r = b.post(base + "/login", allow_redirects=False, data={
        "username": user, "password": password, "csrf_token": hidden("csrf_token", page.text), "next": hidden("next", page.text)})
    assert r.status_code == 303, ("login", r.status_code, r.text)
    return b, r.headers["Location"]


def consent(base, authorize_url, user, password, decision):
    """Logs in at the provider, opens its consent page for `authorize_url` and answers it; returns the redirect."""
    b, location = log_in(base, user, password, authorize_url[len(base):])
    page = b.get(base + location, allow_redirects=False)
    assert page.status_code == 200, ("consent", page.status_code, page.text)
    r = b.post(base + "/plugins/servlet/oauth/authorize", allow_redirects=False, data={
        "csrf_token": hidden("csrf_token", page.text), "oauth_token": hidden("oauth_token", page.text), "decision": decision})
    return r.headers.get("Location")
