"""Download one file from a running server and print its rows per second and the peak
memory (RSS) of the gunicorn workers meanwhile.

Not a test: it measures, it never asserts. Loopback servers only (like `load.py`). Run
it with the server's DATABASE_URL: it signs the user in by creating a session in that
database (the pages take no API token), then streams the answer and counts its lines
(the demo data has no line breaks inside a cell). Example (docs/performance.md):

    DATABASE_URL=postgres://… .venv/bin/python bench/download.py \\
        --base http://127.0.0.1:8123 --path "/engagements/?format=csv" \\
        --user bench-manager --gunicorn-pid 1234

`--gunicorn-pid` is the master's pid: the RSS of its workers is sampled every 0.1 s while
the file downloads, and the highest is printed (with each worker's before).
"""

import argparse
import http.client
import importlib
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from load import TIMEOUT, Server  # noqa: E402

from accounts.models import User  # noqa: E402


def session_cookie(username):
    user = User.objects.get(username=username)
    # The server's own session engine (settings.SESSION_ENGINE).
    session = importlib.import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # the ModelBackend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def workers(master):
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


class Sampler(threading.Thread):
    def __init__(self, master):
        super().__init__(daemon=True)
        self.master, self.peak, self.done = master, {}, threading.Event()

    def run(self):
        while not self.done.is_set():
            for pid in workers(self.master):
                self.peak[pid] = max(self.peak.get(pid, 0.0), rss_mb(pid))
            time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8123")
    parser.add_argument("--path", default="/engagements/?format=csv")
    parser.add_argument("--user", default="bench-manager")
    parser.add_argument("--gunicorn-pid", type=int)
    args = parser.parse_args()
    server = Server(args.base)  # refuses anything but loopback
    cookie = session_cookie(args.user)

    before = {pid: rss_mb(pid) for pid in workers(args.gunicorn_pid)} if args.gunicorn_pid else {}
    sampler = Sampler(args.gunicorn_pid) if args.gunicorn_pid else None
    if sampler:
        sampler.start()
    began = time.perf_counter()
    connection = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    connection.request("GET", args.path, headers={"Host": server.host, "Cookie": cookie})
    response = connection.getresponse()
    first_byte = time.perf_counter() - began
    lines = size = 0
    while chunk := response.read(1 << 20):
        lines += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - began
    if sampler:
        sampler.done.set()
        sampler.join()
    if response.status != 200:
        raise SystemExit(f"GET {args.path} answers {response.status}")
    rows = lines - 1
    print(
        f"{args.path}: {rows:,d} rows, {size:,d} bytes in {seconds:.1f} s "
        f"(first byte {first_byte:.2f} s): {rows / seconds:,.0f} rows/s"
    )
    if sampler:
        print(
            "workers' RSS before: "
            + ", ".join(f"{value:.0f}" for value in before.values())
            + f" MB; peak while downloading: {max(sampler.peak.values(), default=0):.0f} MB"
        )


if __name__ == "__main__":
    main()
