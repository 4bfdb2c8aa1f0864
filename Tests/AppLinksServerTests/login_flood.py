"""Floods a server's password checks (Basic auth on the admin API, and the login form) from several threads
while timing /healthz on a connection of its own, to show that scrypt does not hold up the event loops.
Prints JSON: how many password checks ran, their statuses, /healthz's latencies in milliseconds, and the time one
password check takes alone on this machine, measured first: a loop held up by scrypt would make /healthz wait
about that long, however fast or slow the machine is.

usage: login_flood.py BASE USER PASSWORD SECONDS THREADS"""
import base64
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

base, user, password, seconds, threads = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
host, port = urlparse(base).hostname, urlparse(base).port
basic = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
statuses = {}
lock = threading.Lock()


def flood(form):
    c = http.client.HTTPConnection(host, port, timeout=30)
    while time.monotonic() < stop:
        if form:
            c.request("POST", "/login", body="username=%s&password=%s" % (user, password),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        else:
            c.request("GET", "/rest/applinks/3.0/links", headers={"Authorization": basic})
        r = c.getresponse()
        r.read()
        with lock:
            statuses[r.status] = statuses.get(r.status, 0) + 1


def one_check():
    c = http.client.HTTPConnection(host, port, timeout=30)
    t = time.monotonic()
    c.request("GET", "/rest/applinks/3.0/links", headers={"Authorization": basic})
    c.getresponse().read()
    return (time.monotonic() - t) * 1000


check_ms = min(one_check() for _ in range(3))
stop = time.monotonic() + seconds
workers = [threading.Thread(target=flood, args=(False,)) for i in range(threads)]
for w in workers:
    w.start()
time.sleep(0.5)
latencies = []
c = http.client.HTTPConnection(host, port, timeout=30)
while time.monotonic() < stop:
    t = time.monotonic()
    c.request("GET", "/healthz")
    c.getresponse().read()
    latencies.append((time.monotonic() - t) * 1000)
    time.sleep(0.01)
for w in workers:
    w.join()
latencies.sort()
print(json.dumps({"statuses": statuses, "healthz": len(latencies), "check_ms": check_ms,
                  "p50": latencies[len(latencies) // 2], "p99": latencies[int(len(latencies) * 0.99)]}))
