"""Two writers, one version: exactly one wins, on a real PostgreSQL.

SQLite serialises every write behind one file lock (and the test database lives in
memory, out of other threads' reach), so these run where `.ci/run` points DATABASE_URL
at PostgreSQL.
"""

import contextlib
import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from accounts import audit
from accounts.choices import Marking, Role
from accounts.models import AuditEntry
from engagements.models import Action, Engagement, StaleVersion
from engagements.services import save_engagement
from partners.models import Partner
from roadmap.models import Pillar, ReportSummary
from tests.factories import make_engagement, make_user

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL only"
    ),
    # Requests outside a transaction read from the replica (a mirror of the test database).
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


@pytest.fixture
def engagement(transactional_db):
    call_command("load_reference_data", stdout=io.StringIO())
    return make_engagement(title="Original", partners=["JPN"], pillars=["security"])


def run_together(*workers):
    """Run the workers in threads that start at the same moment; return their results."""
    barrier = threading.Barrier(len(workers))
    results = [None] * len(workers)

    def run(index, work):
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:  # noqa: BLE001 - the result is what the test inspects
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_overlapping_transactions_cannot_both_save(engagement):
    writer_user = make_user(Role.ANALYST, Marking.NS)

    def writer(title):
        def work():
            with transaction.atomic():
                save_engagement(writer_user, {"title": title}, engagement.pk, version=1)
                time.sleep(0.3)  # hold the row while the other writer tries
            return "saved"

        return work

    results = run_together(writer("Alpha"), writer("Beta"))
    assert sorted(map(type, results), key=str) == sorted([str, StaleVersion], key=str)
    engagement.refresh_from_db()
    winner = "Alpha" if results[0] == "saved" else "Beta"
    assert (engagement.title, engagement.version) == (winner, 2)


def test_two_api_clients_with_the_same_version(engagement):
    users = [make_user(Role.ANALYST, Marking.NS) for _ in range(2)]

    def patch(user, title):
        def work():
            client = APIClient()
            client.force_authenticate(user)
            url = f"/api/v1/engagements/{engagement.pk}/"
            return client.patch(url, {"title": title, "version": 1}, format="json").status_code

        return work

    results = run_together(patch(users[0], "From A"), patch(users[1], "From B"))
    assert sorted(results) == [200, 409]
    engagement.refresh_from_db()
    assert engagement.version == 2
    assert engagement.title == ("From A" if results[0] == 200 else "From B")


def test_a_writer_below_the_marking_never_lands_on_a_raised_version(engagement):
    """An NS writer toggles the marking NU ↔ NS (with NS text while NS) while an NU analyst
    keeps saving the same engagement through the API. Every NU save must land on an NU
    version (or be refused), so the NS text never reaches a history the NU analyst reads."""
    ns = make_user(Role.ANALYST, Marking.NS)
    nu = make_user(Role.ANALYST, Marking.NU)
    url = f"/api/v1/engagements/{engagement.pk}/"

    def toggle():
        for _ in range(30):
            current = Engagement.objects.get(pk=engagement.pk)
            raised = current.marking == Marking.NU
            data = (
                {"title": "Pulsar secret", "summary": "Pulsar", "marking": "NS"}
                if raised
                else {"title": "Open title", "summary": "Open", "marking": "NU"}
            )
            with contextlib.suppress(StaleVersion):
                save_engagement(ns, data, engagement.pk, current.version)
            # Each toggle holds the row while it writes; leave the NU analyst gaps to land in.
            time.sleep(0.15)
        return "done"

    def edit():
        client = APIClient()
        client.force_authenticate(nu)
        answers = []
        for number in range(150):
            read = client.get(url)
            if read.status_code != 200:
                answers.append(read.status_code)
                continue
            # Every other time, guess the version the NS writer's next save will have:
            # knowing a version number must never be enough to write over a raised one.
            version = read.json()["version"] + number % 2
            answer = client.patch(url, {"location": f"Room {number}", "version": version})
            answers.append(answer.status_code)
        return answers

    toggled, answers = run_together(toggle, edit)
    assert toggled == "done", toggled
    assert set(answers) <= {200, 404, 409} and 200 in answers, answers
    records = list(Engagement.history.filter(id=engagement.pk).order_by("history_date", "pk"))
    for before, after in zip(records, records[1:], strict=False):
        if after.history_user_id == nu.pk:
            assert before.marking == Marking.NU, (before.version, after.version)
            assert after.title != "Pulsar secret"
    readable = APIClient()
    readable.force_authenticate(nu)
    history = readable.get(f"{url}history/")
    if history.status_code == 200:
        assert "Pulsar" not in history.content.decode()


def test_concurrent_writers_of_one_month_keep_the_summaries_exact(engagement):
    """Each write recomputes its day's and month's summaries; under the month lock (and the
    report stamp's row lock, which every write transaction takes as well) the second
    writer waits and then counts the first writer's engagement too."""
    writers = [make_user(Role.ANALYST, Marking.NS) for _ in range(3)]
    pillars = list(Pillar.objects.filter(code="hadr"))
    partners = list(Partner.objects.filter(code="JPN"))

    def create(user, number):
        def work():
            for round_number in range(5):
                save_engagement(
                    user,
                    {
                        "title": f"Writer {number} round {round_number}",
                        "kind": "workshop",
                        "status": "completed",
                        "start_date": engagement.start_date,
                        "partners": partners,
                        "pillars": pillars,
                    },
                )
            return "done"

        return work

    results = run_together(*(create(user, n) for n, user in enumerate(writers)))
    assert results == ["done"] * 3, results
    call_command("check_summaries", stdout=io.StringIO())  # raises if any bucket is off
    month = engagement.start_date.replace(day=1)
    hadr = ReportSummary.objects.get(
        kind="partner",
        ref=str(partners[0].pk),
        pillar=pillars[0].pk,
        span="month",
        start=month,
        status="completed",
        marking="NU",
    )
    assert hadr.count == 15


def wait_for_a_writer_to_wait(seconds=10):
    """Until another connection of this database waits for a row lock (or `seconds` pass:
    then the test's assertions say what happened)."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction PostgreSQL shows one snapshot of the activity: a new one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
    return False


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("patch", "/api/v1/actions/{a}/", {"title": "Renamed"}),
        ("delete", "/api/v1/actions/{a}/", None),
        ("post", "/api/v1/engagements/{e}/actions/", {"title": "New", "due": "2030-02-01"}),
    ],
)
def test_an_action_written_while_its_engagement_is_raised_waits_and_is_refused(
    engagement, method, path, data
):
    """An NS analyst raises the engagement and holds the write open; an NU analyst's action
    write has passed every check by then and reaches the claim on the engagement's row: it
    waits for the raise to commit, then finds the engagement above its writer (404)."""
    nu = make_user(Role.ANALYST, Marking.NU)
    ns = make_user(Role.ANALYST, Marking.NS)
    action = Action.objects.create(
        engagement=engagement, title="Send minutes", owner=nu, due="2030-01-01", created_by=nu
    )
    claimed = threading.Event()

    def raise_it():
        with transaction.atomic():
            save_engagement(ns, {"title": "Pulsar", "marking": "NS"}, engagement.pk, 1)
            claimed.set()
            waited = wait_for_a_writer_to_wait()
        return waited

    def write():
        claimed.wait(10)
        client = APIClient()
        client.force_authenticate(nu)
        url = path.format(a=action.pk, e=engagement.pk)
        sent = {**data, "owner": nu.username} if method == "post" else data
        return getattr(client, method)(url, sent, format="json").status_code

    waited, status = run_together(raise_it, write)
    assert (waited, status) == (True, 404)
    assert list(Action.objects.values_list("title", flat=True)) == ["Send minutes"]


def test_concurrent_appends_keep_the_audit_chain_whole(engagement):
    """Reads (committed without waiting for the disk), account changes and appends inside
    a writer's transaction, at once: every entry lands once, in one chain."""
    user = make_user(Role.ANALYST, Marking.NS)
    before = AuditEntry.objects.count()

    def reads():
        for _ in range(20):
            audit.record("read", user=user, object_type="engagement", object_id=engagement.pk)

    def inside_a_transaction():
        for _ in range(20):
            with transaction.atomic():
                audit.record("account_changed", user=user)

    results = run_together(reads, reads, inside_a_transaction)
    assert results == [None, None, None]
    sequences = list(AuditEntry.objects.order_by("sequence").values_list("sequence", flat=True))
    assert len(sequences) == before + 60
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    call_command("verify_audit", stdout=io.StringIO())  # raises on a broken chain
