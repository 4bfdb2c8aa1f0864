"""Slow senders (slowloris) against a running server: N connections each send a request head one byte a second,
never finishing it. Meanwhile a well-behaved client asks for /healthz once a second on fresh connections.
Reports, as JSON, how many slow connections the server closed and after how long, and how /healthz fared.

usage: slow_senders.py PORT CONNECTIONS SECONDS"""
import json
import socket
import sys
import threading
import time
import urllib.request

port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 10_000
start = time.monotonic()
sockets = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    sockets.append(s)
closed_after = {}
healthz = []


def check_health():
    while time.monotonic() - start < seconds:
        t = time.monotonic()
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=10) as r:
                healthz.append([r.status, time.monotonic() - t])
        except Exception as e:  # noqa: BLE001 - any failure is what the report is for
            healthz.append([str(e), time.monotonic() - t])
        time.sleep(1)


checker = threading.Thread(target=check_health)
checker.start()
sent = 0
while time.monotonic() - start < seconds and len(closed_after) < count:
    for i, s in enumerate(sockets):
        if i in closed_after:
            continue
        try:
            if sent < len(head):
                s.send(head[sent:sent + 1])
            data = s.recv(4096)
            if data == b"":
                closed_after[i] = time.monotonic() - start
        except BlockingIOError:
            pass
        except OSError:
            closed_after[i] = time.monotonic() - start
    sent += 1
    time.sleep(1)
checker.join()
for s in sockets:
    s.close()
print(json.dumps({"closed": len(closed_after), "latest_close": max(closed_after.values(), default=None), "healthz": healthz}))
