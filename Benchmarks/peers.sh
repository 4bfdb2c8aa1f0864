#!/usr/bin/env bash
# AppLinks' OAuth 2.0 provider side by side with two others, in one run on loopback: Debian's Django OAuth Toolkit
# (python3-django-oauth-toolkit under gunicorn, 2 sync workers, SQLite) and Debian's glewlwyd (its OAuth2 plugin,
# SQLite, client secrets under PBKDF2 at 1,000 iterations, log at ERROR). Each serves client_credentials issuance
# and introspection of a valid token with HTTP Basic client authentication, as AppLinks does (release build,
# access log on, as shipped). The rounds interleave the servers; each figure is the median round's ratio of
# AppLinks' requests per second to the peer's. Targets: at least 25x DOT and 30x glewlwyd on both endpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -x /usr/bin/glewlwyd ] || need+=(glewlwyd)
[ -x /usr/bin/gunicorn ] || need+=(gunicorn)
/usr/bin/python3 -c 'import oauth2_provider' 2>/dev/null || need+=(python3-django-oauth-toolkit)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; fi
CONNECTIONS=${CONNECTIONS:-32}
. Benchmarks/oauth2/provider.sh
trap 'stop_servers; rm -rf "$work"' EXIT

start_provider applinks
applinks_base=$base applinks_auth=$auth applinks_token=$token

# Django OAuth Toolkit: the smallest project that mounts its URLs, with one confidential client.
dot_port=$(free_port)
mkdir -p "$work/dot/benchsite"
touch "$work/dot/benchsite/__init__.py"
cat > "$work/dot/benchsite/settings.py" <<'PY'
import os
SECRET_KEY = "benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "oauth2_provider"]
MIDDLEWARE = []
ROOT_URLCONF = "benchsite.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DOT_DB"]}}
USE_TZ = True
OAUTH2_PROVIDER = {"SCOPES": {"read": "Read"}}
PY
cat > "$work/dot/benchsite/urls.py" <<'PY'
from django.urls import include, path
urlpatterns = [path("o/", include("oauth2_provider.urls", namespace="oauth2_provider"))]
PY
cat > "$work/dot/benchsite/wsgi.py" <<'PY'
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
PY
(
  cd "$work/dot"
  export DOT_DB="$work/dot/db.sqlite3" DJANGO_SETTINGS_MODULE=benchsite.settings PYTHONPATH="$work/dot"
  /usr/bin/python3 -m django migrate -v0
  /usr/bin/python3 -c '
import django; django.setup()
from oauth2_provider.models import Application
Application.objects.create(client_id="bench", client_secret="bench-secret", client_type="confidential",
    authorization_grant_type="client-credentials", name="bench")'
)
DOT_DB="$work/dot/db.sqlite3" PYTHONPATH="$work/dot" /usr/bin/gunicorn --workers 2 --bind "127.0.0.1:$dot_port" \
  --chdir "$work/dot" benchsite.wsgi > "$work/dot.log" 2>&1 &
servers+=($!)

# glewlwyd: its Debian configuration on a port and a database of our own, then an OAuth2 plugin instance, a scope
# and a client, made through its admin API as the default administrator.
gw_port=$(free_port)
zcat /usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz | sqlite3 "$work/glewlwyd.db"
grep -v '^#' /etc/glewlwyd/glewlwyd.conf | sed -e "s|^port=.*|port=$gw_port|" \
  -e "s|^external_url=.*|external_url=\"http://127.0.0.1:$gw_port\"|" -e 's|^log_mode=.*|log_mode="console"|' \
  -e 's|^log_level=.*|log_level="ERROR"|' -e 's|^log_file=.*||' \
  -e "s|^@include.*|database = { type = \"sqlite3\"; path = \"$work/glewlwyd.db\"; };|" > "$work/glewlwyd.conf"
/usr/bin/glewlwyd --config-file="$work/glewlwyd.conf" > "$work/glewlwyd.log" 2>&1 &
servers+=($!)
# Waits until URL answers with any HTTP status.
wait_http() {
  for _ in $(seq 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0
    sleep 0.1
  done
  echo "nothing answered at $1; see $2" >&2
  exit 1
}
wait_http "http://127.0.0.1:$dot_port/o/token/" "$work/dot.log"
wait_http "http://127.0.0.1:$gw_port/api/glwd/token/" "$work/glewlwyd.log"
/usr/bin/python3 - "http://127.0.0.1:$gw_port/api" <<'PY'
import http.cookiejar, json, sys, time, urllib.error, urllib.request
api = sys.argv[1]
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
def call(method, path, body=None):
    request = urllib.request.Request(api + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with opener.open(request) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"glewlwyd refused {method} {path}: {e.code} {e.read()[:300]!r}")
for _ in range(100):
    try:
        call("POST", "/auth/", {"username": "admin", "password": "password"})
        break
    except urllib.error.URLError:
        time.sleep(0.1)
module = json.loads(call("GET", "/mod/client/database"))
module["parameters"]["pbkdf2-iterations"] = 1000
call("PUT", "/mod/client/database", module)
call("PUT", "/mod/client/database/reset/")
call("POST", "/mod/plugin/", {"module": "oauth2-glewlwyd", "name": "glwd", "display_name": "glwd", "parameters": {
    "jwt-type": "sha", "jwt-key-size": "256", "key": "benchmark-only-key-benchmark-only", "access-token-duration": 3600,
    "refresh-token-duration": 1209600, "code-duration": 600, "refresh-token-rolling": True, "auth-type-code-enabled": True,
    "auth-type-implicit-enabled": False, "auth-type-token-enabled": False, "auth-type-password-enabled": False,
    "auth-type-client-enabled": True, "auth-type-refresh-enabled": True, "introspection-revocation-allowed": True,
    "introspection-revocation-allow-target-client": True}})
call("POST", "/scope/", {"name": "scope1", "display_name": "Scope 1", "description": "benchmark", "password_required": False,
                         "password_max_age": 0, "scheme": {}})
call("POST", "/client/?source=database", {"client_id": "bench", "name": "bench", "description": "benchmark", "confidential": True,
    "password": "bench-secret", "authorization_type": ["client_credentials"], "scope": ["scope1"],
    "redirect_uri": ["https://bench.example/cb"], "enabled": True})
PY
if ! sqlite3 "$work/glewlwyd.db" "SELECT gc_password FROM g_client WHERE gc_client_id = 'bench'" | grep -q ',1000$'; then
  echo "glewlwyd did not store the client secret under PBKDF2 at 1,000 iterations" >&2
  exit 1
fi

peer_auth="Basic $(printf 'bench:bench-secret' | base64 -w0)"
issue() { # URL AUTH SCOPE: an access token from client_credentials
  curl -sf -H "Authorization: $2" -d "grant_type=client_credentials${3:+&scope=$3}" "$1" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
dot_token=$(issue "http://127.0.0.1:$dot_port/o/token/" "$peer_auth" read)
gw_token=$(issue "http://127.0.0.1:$gw_port/api/glwd/token/" "$peer_auth" scope1)
for check in "$applinks_base/rest/oauth2/latest/introspect|$applinks_auth|$applinks_token" \
  "http://127.0.0.1:$dot_port/o/introspect/|$peer_auth|$dot_token" \
  "http://127.0.0.1:$gw_port/api/glwd/introspect|$peer_auth|$gw_token"; do
  IFS='|' read -r url a t <<< "$check"
  curl -sf -H "Authorization: $a" -d "token=$t" "$url" | grep -q '"active": *true' ||
    { echo "introspection at $url did not answer active: true" >&2; exit 1; }
done

post() { # NAME URL AUTH BODY: requests per second of form POSTs
  AUTH=$3 BODY=$4 rate "$1" -s Benchmarks/oauth2/form-post.lua "$2"
}
declare -A samples
for round in $(seq 0 "$rounds"); do   # round 0 warms up and is not counted
  a_cc=$(post cc "$applinks_base/rest/oauth2/latest/token" "$applinks_auth" "grant_type=client_credentials")
  d_cc=$(post dot-cc "http://127.0.0.1:$dot_port/o/token/" "$peer_auth" "grant_type=client_credentials&scope=read")
  g_cc=$(post glewlwyd-cc "http://127.0.0.1:$gw_port/api/glwd/token/" "$peer_auth" "grant_type=client_credentials&scope=scope1")
  a_in=$(post introspect "$applinks_base/rest/oauth2/latest/introspect" "$applinks_auth" "token=$applinks_token")
  d_in=$(post dot-introspect "http://127.0.0.1:$dot_port/o/introspect/" "$peer_auth" "token=$dot_token")
  g_in=$(post glewlwyd-introspect "http://127.0.0.1:$gw_port/api/glwd/introspect" "$peer_auth" "token=$gw_token")
  [ "$round" = 0 ] && continue
  for k in a_cc d_cc g_cc a_in d_in g_in; do samples[$k]+=" ${!k}"; done
  echo "round $round: client_credentials AppLinks $a_cc, DOT $d_cc, glewlwyd $g_cc; introspection AppLinks $a_in, DOT $d_in, glewlwyd $g_in req/s"
done

/usr/bin/python3 - "${samples[a_cc]}" "${samples[d_cc]}" "${samples[g_cc]}" "${samples[a_in]}" "${samples[d_in]}" "${samples[g_in]}" <<'PY'
import statistics, sys
a_cc, d_cc, g_cc, a_in, d_in, g_in = ([float(x) for x in arg.split()] for arg in sys.argv[1:7])
print(f"{'endpoint':20} {'AppLinks':>10} {'DOT':>8} {'glewlwyd':>9}   AppLinks as a multiple of DOT / glewlwyd (median round)")
missed = []
for name, a, d, g in [("client_credentials", a_cc, d_cc, g_cc), ("introspection", a_in, d_in, g_in)]:
    over_dot = statistics.median(x / y for x, y in zip(a, d))
    over_gw = statistics.median(x / y for x, y in zip(a, g))
    print(f"{name:20} {statistics.median(a):10.0f} {statistics.median(d):8.0f} {statistics.median(g):9.0f}   {over_dot:6.1f}x / {over_gw:5.1f}x")
    for peer, ratio, target in [("DOT", over_dot, 25), ("glewlwyd", over_gw, 30)]:
        print(f"  {name} >= {target}x {peer}:", "met" if ratio >= target else "MISSED")
PY
