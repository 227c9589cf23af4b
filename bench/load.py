"""Load a running server: N readers GET one path while writers (one by default) log engagements
through the API every few seconds; print latency percentiles, throughput and errors.

Not a test: it measures, it never asserts. Bounded on purpose: loopback servers only,
at most 64 readers and 10 minutes. Standard library only. Example (docs/performance.md,
"Reports from the summaries, and under load"):

    BENCH_PASSWORD=… .venv/bin/python bench/load.py --base http://127.0.0.1:8123 \\
        --path /api/v1/reports/coverage/ --readers 8 --duration 60 --writer

Readers and the writer sign in with API tokens (`POST /api/v1/auth/token/`) as
`--reader` and `--writer-user` (the password from BENCH_PASSWORD). A reader is a thread
with a new connection per request; a request counts as an error unless it answers 2xx.
Rates are per second until the last answer (of the readers, of the writer).
"""

import argparse
import datetime
import http.client
import ipaddress
import json
import math
import os
import socket
import sys
import threading
import time
import urllib.parse

MAX_READERS = 64
MAX_SECONDS = 600
TIMEOUT = 120


class Server:
    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        if url.scheme != "http" or not url.hostname:
            raise SystemExit("--base must be http://127.0.0.1:PORT (a loopback server).")
        address = ipaddress.ip_address(socket.gethostbyname(url.hostname))
        if not address.is_loopback:
            raise SystemExit(f"{url.hostname} is not a loopback address: refusing to load it.")
        self.host, self.port = url.hostname, url.port or 80

    def request(self, method, path, token=None, body=None):
        """(status, seconds, body bytes); status 0 for a connection error."""
        headers = {"Accept": "application/json", "Host": self.host}
        if token:
            headers["Authorization"] = f"Token {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            data, status = str(error).encode(), 0
        finally:
            connection.close()
        return status, time.perf_counter() - began, data

    def token(self, username, password):
        status, _, data = self.request(
            "POST", "/api/v1/auth/token/", body={"username": username, "password": password}
        )
        if status != 200:
            raise SystemExit(f"Signing in as {username} failed ({status}): {data[:200]!r}")
        return json.loads(data)["token"]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.times, self.statuses = [], {}

    def add(self, status, seconds):
        with self.lock:
            self.times.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def summary(self, elapsed):
        times = sorted(self.times)
        errors = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

        def percentile(p):
            if not times:
                return None
            return times[max(0, math.ceil(p / 100 * len(times)) - 1)]  # nearest rank

        return {
            "requests": len(times),
            "errors": errors,
            "statuses": dict(sorted(self.statuses.items())),
            "per_second": round(len(times) / elapsed, 2),
            **{f"p{p}_ms": ms(percentile(p)) for p in (50, 95, 99)},
            "max_ms": ms(times[-1] if times else None),
        }


def ms(seconds):
    return None if seconds is None else round(seconds * 1000)


def engagement(number):
    return {
        "title": f"Load test engagement {number}",
        "kind": "staff_talks",
        "status": "completed",
        "start_date": datetime.date.today().isoformat(),
        "partners": ["JPN"],
        "pillars": ["security"],
        "marking": "NU",
        "escalation_risk": "low",
        "summary": "Written by bench/load.py.",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8123")
    parser.add_argument("--path", default="/api/v1/reports/coverage/")
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60, help="seconds")
    parser.add_argument("--writer", action="store_true", help="also write every --every s")
    parser.add_argument(
        "--writers", type=int, default=1, help="with --writer: how many, each on its schedule"
    )
    parser.add_argument("--every", type=float, default=2.0, help="seconds between writes")
    parser.add_argument(
        "--anonymous", action="store_true", help="read without a token (a bare WSGI app)"
    )
    parser.add_argument("--reader", default="bench-manager", help="the readers' user")
    parser.add_argument("--writer-user", default="bench-analyst")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    if not 0 <= args.readers <= MAX_READERS or not 0 < args.duration <= MAX_SECONDS:
        raise SystemExit(f"At most {MAX_READERS} readers and {MAX_SECONDS} s.")
    password = os.environ.get("BENCH_PASSWORD")
    if not password and not args.anonymous:
        raise SystemExit("Set BENCH_PASSWORD to the bench users' password.")

    server = Server(args.base)
    reader_token = None if args.anonymous else server.token(args.reader, password)
    writer_token = server.token(args.writer_user, password) if args.writer else None
    status, _, data = server.request("GET", args.path, reader_token)
    if status != 200:
        raise SystemExit(f"GET {args.path} answers {status}: {data[:200]!r}")

    reads, writes = Tally(), Tally()
    began = time.monotonic()
    deadline = began + args.duration

    def read():
        while time.monotonic() < deadline:
            status, seconds, _ = server.request("GET", args.path, reader_token)
            reads.add(status, seconds)

    def write():
        # One write due every `every` seconds; a late one goes out at once, none after the
        # deadline (so a writer slower than its schedule shows as fewer writes than due).
        number = 0
        while True:
            moment = began + number * args.every
            if moment >= deadline or time.monotonic() >= deadline:
                return
            time.sleep(max(0.0, moment - time.monotonic()))
            number += 1
            status, seconds, _ = server.request(
                "POST", "/api/v1/engagements/", writer_token, engagement(number)
            )
            writes.add(status, seconds)

    readers = [threading.Thread(target=read) for _ in range(args.readers)]
    writers = [threading.Thread(target=write) for _ in range(args.writers if args.writer else 0)]
    for thread in [*readers, *writers]:
        thread.start()
    for thread in readers:
        thread.join()
    reading = time.monotonic() - began
    for thread in writers:
        thread.join()
    elapsed = time.monotonic() - began

    result = {
        "path": args.path,
        "readers": args.readers,
        "seconds": round(reading, 1),
        "read": reads.summary(reading),
        "write": writes.summary(elapsed) if args.writer else None,
    }
    if args.writer:
        result["write"]["due"] = math.ceil(args.duration / args.every) * args.writers
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.path}: {args.readers} readers for {reading:.0f} s")
    for name in ("read", "write"):
        line = result[name]
        if line is None:
            continue
        print(
            f"  {name:5} {line['requests']:6} requests {line['per_second']:7.2f}/s  "
            f"p50 {line['p50_ms']} ms  p95 {line['p95_ms']} ms  p99 {line['p99_ms']} ms  "
            f"max {line['max_ms']} ms  errors {line['errors']}  {line['statuses']}"
            + (f"  ({line['due']} due)" if "due" in line else "")
        )


if __name__ == "__main__":
    sys.exit(main())
