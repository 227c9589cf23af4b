"""The framework's floor, side by side: a bare WSGI app (`bench/bare_wsgi.py`) and the
tracker, each under gunicorn with the same workers on this machine, loaded by
`bench/load.py` with the same readers; the tracker also with writers. Prints each run and
the ratios issue 25 asks about (coverage's throughput over the bare app's, its p95 over the
cheapest signed-in read's). Asserts nothing.

    DATABASE_URL=postgres://…/bench1m DJANGO_CACHE_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/floor.py --readers 32 --writers 2 --duration 60

The tracker runs as `make serve` runs it (DJANGO_DEBUG=0), over plain HTTP on loopback
(DJANGO_SECURE_SSL_REDIRECT=0). Its bench users (`bench-manager`, NS, reads;
`bench-analyst`, NS, writes) are made when missing, with BENCH_PASSWORD or a default.
"""

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))


def environment():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", secrets.token_urlsafe(50)),
        # The bench users sign in for tokens with a password alone (as `make run`'s demo).
        "DJANGO_MFA_REQUIRED": "none",
        # Many readers from one address: the rate limits are not what is measured.
        "DJANGO_API_TOKEN_RATE": "100000/min",
        "DJANGO_API_ANON_RATE": "100000/min",
    }
    env.setdefault("BENCH_PASSWORD", "bench-password-1")
    return env


def ensure_users(env):
    for username, role in (("bench-manager", "manager"), ("bench-analyst", "analyst")):
        subprocess.run(
            [PYTHON, "manage.py", "create_user", username, "--role", role, "--clearance", "NS"],
            cwd=ROOT,
            env={**env, "DJANGO_USER_PASSWORD": env["BENCH_PASSWORD"]},
            capture_output=True,  # "already exists" is fine
        )


def serve(app, port, workers, env, checkout=ROOT):
    process = subprocess.Popen(
        [GUNICORN, app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(ROOT / "var" / f"floor-{port}.log", "w"),  # noqa: SIM115 (the server's log)
    )
    for _ in range(300):  # up to 30 s to start
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except urllib.error.HTTPError:
            return process  # it answers
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{app} did not start on port {port}")


def load(port, path, args, env, writers=0, anonymous=False, readers=None, every=None, seconds=None):
    command = [
        PYTHON,
        str(ROOT / "bench" / "load.py"),
        "--base",
        f"http://127.0.0.1:{port}",
        "--path",
        path,
        "--readers",
        str(args.readers if readers is None else readers),
        "--duration",
        str(seconds or args.duration),
        "--json",
    ]
    if anonymous:
        command.append("--anonymous")
    if writers:
        command += ["--writer", "--writers", str(writers), "--every", str(every or args.every)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"load.py failed on {path}: {done.stdout[-500:]}{done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(label, result):
    read, write = result["read"], result["write"]
    line = (
        f"{label:<34} {read['per_second']:7.1f}/s  p50 {read['p50_ms']:4} ms  "
        f"p95 {read['p95_ms']:4} ms  errors {read['errors']}"
    )
    if write:
        line += (
            f"  | writes {write['requests']}/{write['due']} p50 {write['p50_ms']} ms "
            f"p95 {write['p95_ms']} ms errors {write['errors']}"
        )
    print(line, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=32)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument(
        "--every", type=float, default=1.0, help="seconds between a writer's writes"
    )
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="bare and coverage runs, one after the other, this many times: on a shared "
        "machine the rate moves between minutes, so the ratio is taken within each round",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        help="another checkout of the tracker (`git worktree add DIR REV`), served beside "
        "this one on the same database and loaded the same way in each round",
    )
    args = parser.parse_args()
    env = environment()
    ensure_users(env)
    print(
        f"{args.readers} readers, {args.writers} writers (one write every {args.every} s each), "
        f"{args.duration:.0f} s a run, gunicorn {args.workers} workers, {os.cpu_count()} cores",
        flush=True,
    )
    # Both served throughout (an idle server costs nothing), loaded one at a time.
    bare = serve("bench.bare_wsgi:application", args.port + 1, args.workers, env)
    app = serve("config.wsgi", args.port, args.workers, env)
    other = args.compare and serve("config.wsgi", args.port + 2, args.workers, env, args.compare)
    try:
        # Untimed: every worker's first requests (imports, connections, caches) go first.
        for port in (args.port, args.port + 2) if other else (args.port,):
            load(port, "/api/v1/reports/coverage/", args, env, writers=1, readers=4, seconds=5)
        alone = load(args.port, "/api/v1/pillars/", args, env, writers=1, readers=0, every=0.25)
        print(
            f"{'one writer alone (4 writes a second)':<34} writes {alone['write']['requests']}/"
            f"{alone['write']['due']} p50 {alone['write']['p50_ms']} ms "
            f"p95 {alone['write']['p95_ms']} ms errors {alone['write']['errors']}",
            flush=True,
        )
        cheapest = load(args.port, "/api/v1/pillars/", args, env, writers=args.writers)
        show("/api/v1/pillars/ (+ writers)", cheapest)
        shares, slower, others = [], [], []
        for _ in range(args.rounds):
            floor = load(args.port + 1, "/", args, env, anonymous=True)
            show("bare WSGI", floor)
            coverage = load(args.port, "/api/v1/reports/coverage/", args, env, writers=args.writers)
            show("/api/v1/reports/coverage/ (+ writers)", coverage)
            shares.append(coverage["read"]["per_second"] / floor["read"]["per_second"])
            slower.append(coverage["read"]["p95_ms"] / max(1, cheapest["read"]["p95_ms"]))
            print(f"  this round: coverage / bare throughput {shares[-1]:.0%}", flush=True)
            if other:
                compared = load(
                    args.port + 2, "/api/v1/reports/coverage/", args, env, writers=args.writers
                )
                show(f"  {args.compare.name}: coverage", compared)
                others.append(compared["read"]["per_second"] / floor["read"]["per_second"])
                print(f"  {args.compare.name}: coverage / bare throughput {others[-1]:.0%}")
    finally:
        for server in (app, bare, other):
            if server:
                server.terminate()
                server.wait()
    print(
        f"coverage / bare throughput: {statistics.median(shares):.0%} (median of {len(shares)}; "
        f"{min(shares):.0%} to {max(shares):.0%})   coverage p95 / cheapest read p95: "
        f"{statistics.median(slower):.2f}"
    )
    if others:
        print(
            f"{args.compare.name}: coverage / bare throughput {statistics.median(others):.0%} "
            f"(median; {min(others):.0%} to {max(others):.0%})"
        )


if __name__ == "__main__":
    main()
