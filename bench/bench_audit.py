"""What the audit trail costs: a read of an engagement with its entry and without, and the
audit table at ten million entries (issue 24).

Not a test: it prints timings and ratios. PostgreSQL only, on a database of its own, e.g.

    createdb -h 127.0.0.1 -U postgres tracker_bench_audit
    DJANGO_DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench_audit \\
        .venv/bin/python bench/bench_audit.py --engagements 1000000 --entries 10000000

It migrates, loads reference data, seeds the engagements when the table holds fewer, and
fills the audit table to `--entries` with one INSERT … SELECT generate_series per million
rows. Those entries are spread realistically (actions, 500 users, the engagements' ids,
`at` over 400 days, in sequence order) but their hashes do not chain: `verify_audit` would
stop at the first. (The append-only trigger refuses UPDATE and DELETE only, not INSERT.)
Then it times, interleaved, the engagement page and the API detail with their entry, without
it (`accounts.audit.read` a no-op) and with variants of `record()` written here (the
module itself is left alone), `record()` alone and under concurrent appends, the audit
list and its filters (with their plans), and `prune_audit` on the oldest 1%.

The second factor is not asked for (DJANGO_MFA_REQUIRED=none unless set): the test client
signs in with force_login. The `audit` logger's lines go to /dev/null, still formatted.
"""

import argparse
import contextlib
import datetime
import io
import json
import logging
import os
import random
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_MFA_REQUIRED", "none")

import django  # noqa: E402

django.setup()
warnings.filterwarnings("ignore", "Limit for query logging exceeded")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

import accounts.audit  # noqa: E402
from accounts.choices import Marking, Role  # noqa: E402
from accounts.models import AuditChain, AuditEntry, User  # noqa: E402
from accounts.roles import create_user_with_role  # noqa: E402
from core.pagination import encode  # noqa: E402
from engagements.models import Engagement  # noqa: E402

ORIGINAL_RECORD = accounts.audit.record
ORIGINAL_READ = accounts.audit.read
USERS = 500
DAYS = 400
CHUNK = 1_000_000
NO_CHAIN = 10**15  # the sequences of the entries appended without the chain


def ms(seconds):
    return f"{seconds * 1000:7.2f}"


# Variants of record() ----------------------------------------------------------------------
# Each appends the entry accounts.audit.new_entry makes, as record() does; only how it
# reaches the disk differs.


def record_variant(synchronous=True, chain=True):
    """`synchronous=False`: `SET LOCAL synchronous_commit TO OFF` in the entry's own
    transaction (the commit does not wait for the WAL flush; a crash loses at most the
    last ~0.6 s of entries, together with the chain's end, so the chain stays whole).
    `chain=False`: the INSERT alone, no lock and no update of the chain's end (not a
    proposal: it shows what the chain costs)."""

    def record(action, **fields):
        entry = accounts.audit.new_entry(action, **fields)
        with transaction.atomic():
            if not synchronous:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            if chain:
                end = AuditChain.objects.select_for_update().get(pk=1)
                entry.sequence, entry.previous_hash = end.last_sequence + 1, end.last_hash
            else:
                entry.sequence = random.randrange(NO_CHAIN, 10 * NO_CHAIN)
                entry.previous_hash = "0" * 64
            entry.hash = entry.computed_hash()
            entry.save()
            if chain:
                AuditChain.objects.filter(pk=1).update(
                    last_sequence=entry.sequence, last_hash=entry.hash
                )
        accounts.audit.audit_log.info(json.dumps(entry.as_dict(), default=str, sort_keys=True))
        return entry

    return record


APPEND_SQL = """
WITH setting AS (
    SELECT set_config('synchronous_commit', %s, true)  -- this statement's transaction
), chain AS (
    SELECT last_sequence + 1 AS sequence, last_hash FROM accounts_auditchain
    WHERE id = 1 FOR UPDATE
), entry AS (
    INSERT INTO accounts_auditentry (sequence, at, user_id, username, action, object_type,
        object_id, marking, address, outcome, detail, previous_hash, hash)
    SELECT sequence, %s::timestamptz, %s::bigint, %s, %s, %s, %s, %s, %s, %s, %s::jsonb,
        last_hash, encode(sha256(convert_to(last_hash || sequence::text || %s, 'UTF8')), 'hex')
    FROM chain, setting
    RETURNING id, sequence, hash
)
UPDATE accounts_auditchain SET last_sequence = entry.sequence, last_hash = entry.hash
FROM entry WHERE accounts_auditchain.id = 1 RETURNING entry.id, entry.sequence
"""


def record_one_statement(synchronous=True):
    """The append as one statement in autocommit (one round trip instead of five: no
    BEGIN, SELECT … FOR UPDATE, INSERT, UPDATE, COMMIT), the hash computed by PostgreSQL
    over previous hash + sequence + the entry's content (made in Python). A different
    hash recipe than AuditEntry.computed_hash: verify_audit would have to follow it."""

    def record(action, **fields):
        entry = accounts.audit.new_entry(action, **fields)
        entry.at = timezone.now()
        content = entry.content()
        with connection.cursor() as cursor:
            cursor.execute(
                APPEND_SQL,
                [
                    "on" if synchronous else "off",
                    entry.at,
                    entry.user_id,
                    entry.username,
                    entry.action,
                    entry.object_type,
                    entry.object_id,
                    entry.marking,
                    entry.address,
                    entry.outcome,
                    json.dumps(entry.detail),
                    content,
                ],
            )
            entry.pk, entry.sequence = cursor.fetchone()
        accounts.audit.audit_log.info(json.dumps(entry.as_dict(), default=str, sort_keys=True))
        return entry

    return record


def no_read(request, engagement, what="engagement"):
    return None


@contextlib.contextmanager
def auditing(variant):
    """`variant`: None (no entry), "as is", or a record() function."""
    if variant == "as is":
        yield
        return
    if variant is None:
        accounts.audit.read = no_read
    else:
        accounts.audit.record = variant
    try:
        yield
    finally:
        accounts.audit.read = ORIGINAL_READ
        accounts.audit.record = ORIGINAL_RECORD


# Timing ---------------------------------------------------------------------------------------


def get(client, url):
    connection.queries_log.clear()  # a full log (9,000) would capture nothing
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        seconds = time.perf_counter() - began
    assert response.status_code == 200, (url, response.status_code)
    return seconds, queries, response


def compare(client, pages, variants, ids, repeat):
    """Each page for each engagement under each variant, interleaved (the order turned
    round every other engagement); medians and the difference to the first variant."""
    times = {(page, label): [] for page in pages for label in variants}
    counts = {}
    for i in range(repeat):
        pk = ids[i % len(ids)]
        order = list(variants.items())
        if i % 2:
            order.reverse()
        for page, url in pages.items():
            for label, variant in order:
                with auditing(variant):
                    seconds, queries, _ = get(client, url.format(pk=pk))
                times[page, label].append(seconds)
                counts[page, label] = len(queries)
    first = next(iter(variants))
    print(
        f"{'page':11} {'variant':40} {'median ms':>9} {'+ ms':>6} {'p10 ms':>7} {'+ ms':>6} "
        f"{'p90 ms':>7} {'queries':>7}"
    )
    for page in pages:
        base = statistics.median(times[page, first])
        low = statistics.quantiles(times[page, first], n=10)[0]
        for label in variants:
            median = statistics.median(times[page, label])
            p10, *_, p90 = statistics.quantiles(times[page, label], n=10)
            print(
                f"{page:11} {label:40} {ms(median):>9} {ms(median - base):>6} {ms(p10):>7} "
                f"{ms(p10 - low):>6} {ms(p90):>7} {counts[page, label]:7d}"
            )


class Phases:
    """Where record()'s time goes: each statement's round trip and the commit."""

    def __init__(self):
        self.spent = {}

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = sql.split()[0] + (" … FOR UPDATE" if "FOR UPDATE" in sql else "")
            self.spent.setdefault(key, []).append(time.perf_counter() - began)

    @contextlib.contextmanager
    def commits(self):
        original = connection._commit

        def timed_commit():
            began = time.perf_counter()
            try:
                return original()
            finally:
                self.spent.setdefault("COMMIT", []).append(time.perf_counter() - began)

        connection._commit = timed_commit
        try:
            with connection.execute_wrapper(self):
                yield
        finally:
            del connection._commit


def time_record(user, ids, repeat, variants):
    print(f"{'record() alone':50} {'median ms':>9} {'p90 ms':>7}")
    for label, variant in variants.items():
        phases = Phases()
        times = []
        with auditing(variant), phases.commits():
            for i in range(repeat):
                pk = ids[i % len(ids)]
                began = time.perf_counter()
                accounts.audit.read(_FakeRequest(user), _FakeEngagement(pk), "page")
                times.append(time.perf_counter() - began)
        median = statistics.median(times)
        print(f"{label:50} {ms(median):>9} {ms(statistics.quantiles(times, n=10)[-1]):>7}")
        parts = {key: statistics.median(spent) for key, spent in phases.spent.items()}
        rest = median - sum(parts.values())
        shown = ", ".join(f"{key} {value * 1000:.2f}" for key, value in parts.items())
        print(f"{'':4}of which (medians, ms): {shown}; Python (ORM, hash, log) {rest * 1000:.2f}")


class _FakeRequest:
    META = {"REMOTE_ADDR": "10.1.2.3"}

    def __init__(self, user):
        self.user = user


class _FakeEngagement:
    marking = Marking.NR
    _meta = Engagement._meta  # read() names the model it records

    def __init__(self, pk):
        self.pk = pk


def concurrent_appends(user, ids, threads, each, variants):
    """`threads` threads, each on its own connection, appending `each` entries at once:
    appends per second and each append's latency (they queue on the chain's lock), and
    whether the entries they made are still one chain (contiguous sequences, each naming
    the hash before it)."""
    print(f"{threads} threads × {each} appends at once")
    for label, variant in variants.items():
        latencies, start = [], threading.Barrier(threads + 1)
        end = AuditChain.objects.get(pk=1)

        def work(seed, latencies=latencies, start=start):
            rng = random.Random(seed)
            start.wait()
            mine = []
            for _ in range(each):
                began = time.perf_counter()
                accounts.audit.read(_FakeRequest(user), _FakeEngagement(rng.choice(ids)), "api")
                mine.append(time.perf_counter() - began)
            latencies.extend(mine)
            connections.close_all()

        with auditing(variant):
            workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
            for worker in workers:
                worker.start()
            start.wait()
            began = time.perf_counter()
            for worker in workers:
                worker.join()
            seconds = time.perf_counter() - began
        cuts = statistics.quantiles(latencies, n=20)
        print(
            f"    {label:46} {len(latencies) / seconds:6.0f} appends/s, "
            f"p50 {ms(cuts[9]).strip()} ms, p95 {ms(cuts[18]).strip()} ms, "
            f"{chained(end, threads * each)}"
        )


def chained(end, count):
    """Whether the `count` entries after the chain's `end` follow on from it."""
    made = list(
        AuditEntry.objects.filter(sequence__gt=end.last_sequence, sequence__lt=NO_CHAIN)
        .order_by("sequence")
        .values_list("sequence", "previous_hash", "hash")
    )
    sequence, previous = end.last_sequence, end.last_hash
    for entry in made:
        if entry[:2] != (sequence + 1, previous):
            return f"chain broken after {sequence}"
        sequence, previous = entry[0], entry[2]
    if len(made) != count:
        return f"{len(made)} entries for {count} appends"
    return "chain whole"


def round_trip(repeat=2000):
    times = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            began = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            times.append(time.perf_counter() - began)
    return statistics.median(times)


# The audit table at ten million --------------------------------------------------------------

FILL_SQL = """
INSERT INTO accounts_auditentry (sequence, at, user_id, username, action, object_type,
    object_id, marking, address, outcome, detail, previous_hash, hash)
SELECT
    %(base)s + s,
    %(first)s::timestamptz + (s * %(step)s) * interval '1 second',
    CASE WHEN action = 'sign_in_failed' THEN NULL ELSE 1000000 + u END,
    'user' || lpad(u::text, 3, '0'),
    action,
    CASE action WHEN 'read' THEN 'engagement' WHEN 'download' THEN 'engagements'
        WHEN 'account_changed' THEN 'user' ELSE '' END,
    CASE action
        WHEN 'read' THEN (%(low)s + floor(r2 * %(span)s))::bigint::text
        WHEN 'account_changed' THEN (1000000 + floor(r2 * 500))::bigint::text
        ELSE '' END,
    CASE WHEN action IN ('read', 'download') THEN
        CASE WHEN r3 < 0.45 THEN 'NU' WHEN r3 < 0.80 THEN 'NR' WHEN r3 < 0.95 THEN 'NC'
            ELSE 'NS' END
        ELSE 'NU' END,
    '10.' || (u / 256) || '.' || (u %% 256) || '.' || (1 + floor(r3 * 3))::int,
    CASE WHEN action = 'sign_in_failed' THEN 'failed' ELSE 'ok' END,
    CASE action
        WHEN 'read' THEN jsonb_build_object('what',
            CASE WHEN r3 < 0.7 THEN 'page' WHEN r3 < 0.95 THEN 'api' ELSE 'history' END)
        WHEN 'download' THEN jsonb_build_object('format', 'csv',
            'rows', floor(r2 * 5000)::int, 'filters', 'partner=JPN&status=completed')
        WHEN 'sign_in' THEN '{"via": "page"}'::jsonb
        ELSE '{}'::jsonb END,
    md5((s - 1)::text) || md5((s - 1)::text || 'x'),
    md5(s::text) || md5(s::text || 'x')
FROM (
    SELECT s, u, r2, r3,
        CASE WHEN r < 0.80 THEN 'read' WHEN r < 0.85 THEN 'download'
            WHEN r < 0.92 THEN 'sign_in' WHEN r < 0.97 THEN 'sign_out'
            WHEN r < 0.99 THEN 'sign_in_failed' ELSE 'account_changed' END AS action
    FROM (
        SELECT s, random() AS r, random() AS r2, random() AS r3,
            -- a few users make most entries: user000 the most, user499 the fewest
            least(floor(%(users)s * power(random(), 2)), %(users)s - 1)::int AS u
        FROM generate_series(%(low_s)s, %(high_s)s) AS s
    ) AS drawn
) AS rows
"""


def fill(entries):
    """Append `entries` synthetic entries after the chain's end, `at` spread over the last
    400 days in sequence order. The secondary indexes are dropped and rebuilt from their
    own definitions around it (faster than keeping them up row by row)."""
    end = AuditChain.objects.get_or_create(pk=1)[0]
    ids = Engagement.objects.values_list("id", flat=True)
    low, high = ids.order_by("id").first(), ids.order_by("-id").first()
    now = timezone.now()
    first = now - datetime.timedelta(days=DAYS)
    step = (now - first).total_seconds() / (entries + 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
            "'accounts_auditentry' AND indexname LIKE %s",
            ["audit_%"],
        )
        indexes = cursor.fetchall()
        print("rebuilt afterwards:", *(definition for _, definition in indexes), sep="\n    ")
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        began = time.perf_counter()
        for low_s in range(1, entries + 1, CHUNK):
            high_s = min(low_s + CHUNK - 1, entries)
            cursor.execute(
                FILL_SQL,
                {
                    "base": end.last_sequence,
                    "first": first,
                    "step": step,
                    "low": low,
                    "span": high - low + 1,
                    "users": USERS,
                    "low_s": low_s,
                    "high_s": high_s,
                },
            )
            print(f"    {high_s:,} entries, {time.perf_counter() - began:.0f} s", flush=True)
        inserted = time.perf_counter() - began
        cursor.execute("SET maintenance_work_mem TO '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        built = time.perf_counter() - began - inserted
        last = end.last_sequence + entries
        cursor.execute("SELECT sequence, hash FROM accounts_auditentry WHERE sequence = %s", [last])
        sequence, last_hash = cursor.fetchone()
        AuditChain.objects.filter(pk=1).update(last_sequence=sequence, last_hash=last_hash)
        began = time.perf_counter()
        cursor.execute("VACUUM (ANALYZE) accounts_auditentry")
        cursor.execute("CHECKPOINT")
        vacuumed = time.perf_counter() - began
    print(
        f"filled {entries:,} entries: inserted in {inserted:.0f} s, 4 indexes built in "
        f"{built:.0f} s, VACUUM (ANALYZE) + CHECKPOINT {vacuumed:.0f} s"
    )


def sizes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_relation_size('accounts_auditentry')), "
            "pg_size_pretty(pg_indexes_size('accounts_auditentry'))"
        )
        table, indexes = cursor.fetchone()
    return f"table {table}, indexes {indexes}"


def plan(sql):
    """The top of EXPLAIN (ANALYZE, BUFFERS): the scans and the execution time."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [line for (line,) in cursor.fetchall()]
    kept = [line for line in lines if "Scan" in line or "Sort" in line or "Limit" in line]
    kept += [line for line in lines if "Index Cond" in line or "Filter:" in line][:2]
    kept += [line for line in lines if line.startswith("Execution Time")]
    return kept[:8]


def audit_lists(client, repeat, ids):
    deep = (
        AuditEntry.objects.filter(at__lte=timezone.now() - datetime.timedelta(days=DAYS / 2))
        .order_by("-at", "-id")
        .values_list("at", "id")
        .first()
    )
    cursor = encode(list(deep), "next")
    now = timezone.localtime()
    day = (now - datetime.timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)
    until = day + datetime.timedelta(days=1)
    span = f"since={day:%Y-%m-%dT%H:%M:%S}&until={until:%Y-%m-%dT%H:%M:%S}"
    pk = ids[0]
    listed = [
        ("API, page 1", "/api/v1/audit/"),
        ("API, one engagement", f"/api/v1/audit/?object_type=engagement&object_id={pk}"),
        ("API, a busy user", "/api/v1/audit/?user=user000"),
        ("API, the quietest user", "/api/v1/audit/?user=user499"),
        ("API, a user with no entries", "/api/v1/audit/?user=nobody"),
        ("API, one action (download)", "/api/v1/audit/?action=download"),
        ("API, a rare action", "/api/v1/audit/?action=sessions_ended"),
        ("API, one day (since/until)", f"/api/v1/audit/?{span}"),
        ("API, 200 days deep (cursor)", f"/api/v1/audit/?cursor={cursor}"),
        ("API, user and action", "/api/v1/audit/?user=user250&action=sign_in"),
        ("page /audit/", "/audit/"),
        ("page, who read this", f"/audit/?object_type=engagement&object_id={pk}"),
    ]
    rows, plans = [], []
    for label, url in listed:
        get(client, url)  # warm
        times = []
        for _ in range(repeat):
            seconds, queries, response = get(client, url)
            times.append(seconds)
        count = len(queries)
        found = len(response.data["results"]) if hasattr(response, "data") else None
        rows.append((label, statistics.median(times), count, found))
        if label.startswith("API"):
            sql = [q["sql"] for q in queries if 'FROM "accounts_auditentry"' in q["sql"]]
            plans.append((label, url, sql[-1]))
    print(f"{'audit list':32} {'median ms':>9} {'queries':>7} {'rows':>5}")
    for label, seconds, count, found in rows:
        print(f"{label:32} {ms(seconds):>9} {count:7d} {'' if found is None else found:>5}")
    print("\nplans (EXPLAIN (ANALYZE, BUFFERS) of the list's query, its top lines):")
    for label, url, sql in plans:
        print(f"{label}: {url}")
        for line in plan(sql):
            print(f"    {line.strip()[:150]}")


def sign_in_notice(repeat):
    """`since_last_sign_in()`, asked at every sign-in: the previous sign-in (by user_id) and
    the failures since (by action, then username)."""
    print(f"{'since_last_sign_in()':40} {'median ms':>9}")
    for label, pk, name in [
        ("a busy user (user000)", 1_000_000, "user000"),
        ("the quietest user (user499)", 1_000_499, "user499"),
        ("a user never signed in", 999_999, "newcomer"),
    ]:
        user = User(pk=pk, username=name)
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            accounts.audit.since_last_sign_in(user)
            times.append(time.perf_counter() - began)
        print(f"{label:40} {ms(statistics.median(times)):>9}")


def username_index(client, repeat):
    """The list's `user` filter is on `username`, which no index leads (audit_user_idx is
    on user_id): the filters again with an index on (username, at DESC), then without."""
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX audit_username_trial ON accounts_auditentry (username, at DESC)"
        )
        cursor.execute("ANALYZE accounts_auditentry")
    print(f"with an index on (username, at DESC) (built in {time.perf_counter() - began:.0f} s):")
    try:
        for label, url in [
            ("API, a busy user", "/api/v1/audit/?user=user000"),
            ("API, the quietest user", "/api/v1/audit/?user=user499"),
            ("API, a user with no entries", "/api/v1/audit/?user=nobody"),
            ("API, user and action", "/api/v1/audit/?user=user250&action=sign_in"),
        ]:
            times = [get(client, url)[0] for _ in range(repeat)]
            _, queries, _ = get(client, url)
            sql = [q["sql"] for q in queries if 'FROM "accounts_auditentry"' in q["sql"]][-1]
            scan = [line.strip() for line in plan(sql) if "Scan" in line][0]
            print(f"    {label:32} {ms(statistics.median(times)):>9} ms  {scan[:90]}")
        print(f"    (indexes {sizes().split('indexes ')[1]})")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX audit_username_trial")


def prune(days, label):
    settings.AUDIT_DAYS = days
    before = AuditEntry.objects.count()
    out = io.StringIO()
    began = time.perf_counter()
    call_command("prune_audit", stdout=out)
    seconds = time.perf_counter() - began
    gone = before - AuditEntry.objects.count()
    print(
        f"prune_audit, {label} (AUDIT_DAYS={days}): {gone:,} entries in {seconds:.1f} s, "
        f"{gone / seconds if gone else 0:,.0f} rows/s ({out.getvalue().strip()})"
    )


# ----------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engagements", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=200, help="page reads per variant")
    parser.add_argument("--list-repeat", type=int, default=15)
    parser.add_argument("--no-prune", action="store_true", help="leave the table full")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only (the fill is one INSERT … SELECT generate_series).")

    setup_test_environment()
    logging.getLogger("audit").handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", verbosity=0)
    have = Engagement.objects.count()
    if have < args.engagements:
        began = time.perf_counter()
        call_command("seed_demo", engagements=args.engagements - have, seed=1)
        print(f"seeded {args.engagements - have} in {time.perf_counter() - began:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    entries = AuditEntry.objects.count()
    if entries < 0.9 * args.entries:
        fill(args.entries - entries)
    reader = User.objects.filter(username="bench").first() or create_user_with_role(
        "bench", "bench-password-1", Role.MANAGER, Marking.NS
    )
    admin = User.objects.filter(username="bench-admin").first() or create_user_with_role(
        "bench-admin", "bench-password-1", Role.ADMIN, Marking.NS
    )
    client = Client()
    client.force_login(reader)
    ids = list(Engagement.objects.order_by("?").values_list("id", flat=True)[: args.repeat])

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        synchronous_commit = cursor.fetchone()[0]
    print(
        f"\n{connection.vendor}, {Engagement.objects.count():,} engagements, "
        f"{AuditEntry.objects.count():,} audit entries ({sizes()}), "
        f"synchronous_commit={synchronous_commit}, a round trip (SELECT 1) "
        f"{round_trip() * 1000:.3f} ms\n"
    )

    pages = {"page": "/engagements/{pk}/", "API detail": "/api/v1/engagements/{pk}/"}
    compare(
        client,
        pages,
        {
            "without auditing (read a no-op)": None,
            "with auditing, as is": "as is",
            "as is, synchronous_commit off": record_variant(synchronous=False),
            "one statement (CTE), autocommit": record_one_statement(),
            "one statement, synchronous_commit off": record_one_statement(synchronous=False),
            "INSERT only, no chain (not a proposal)": record_variant(chain=False),
        },
        ids,
        args.repeat,
    )
    print()
    variants = {
        "as is": "as is",
        "as is, synchronous_commit off": record_variant(synchronous=False),
        "one statement (CTE), autocommit": record_one_statement(),
        "one statement, synchronous_commit off": record_one_statement(synchronous=False),
    }
    time_record(reader, ids, args.repeat, variants)
    print()
    concurrent_appends(reader, ids, 4, 200, variants)
    print()

    sign_in_notice(args.list_repeat)
    print()
    client.force_login(admin)
    audit_lists(client, args.list_repeat, ids)
    print()
    username_index(client, args.list_repeat)
    print()

    if not args.no_prune:
        print(f"before: {AuditEntry.objects.count():,} entries, {sizes()}")
        prune(int(DAYS * 0.99), "the oldest 1%")
        prune(int(DAYS * 0.99) - 1, "one day more (a daily run)")
        prune(int(DAYS * 0.99) - 1, "nothing to do")
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM accounts_auditentry")
        print(f"VACUUM afterwards (autovacuum's job): {time.perf_counter() - began:.1f} s")
        print(f"after: {AuditEntry.objects.count():,} entries, {sizes()}")


if __name__ == "__main__":
    main()
