"""Two writers, one version: exactly one wins, on a real PostgreSQL.

SQLite serialises every write behind one file lock (and the test database lives in
memory, out of other threads' reach), so these run where `.ci/run` points DATABASE_URL
at PostgreSQL.
"""

import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from accounts.choices import Marking, Role
from engagements.models import Engagement, StaleVersion
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL only"
)


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
    def writer(title):
        def work():
            with transaction.atomic():
                mine = Engagement.objects.get(pk=engagement.pk)  # both read version 1
                mine.title = title
                mine.save()
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
