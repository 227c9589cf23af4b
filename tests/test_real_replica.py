"""Read-your-writes behind a real streaming replica, across two app servers.

Needs a hot standby of the test database's PostgreSQL (`.ci/replica start`, port 5433) and
Redis (the shared cache that carries each user's last write position from one server to
the other): `.ci/run` runs these with `REPLICA_PORT` and `DJANGO_CACHE_URL` set (`-m
real_replica`); elsewhere they skip. The standby's replay is paused while a test writes,
so "not on the replica yet" is a state the test sets, never a race with the replay delay.
"""

import contextlib
import datetime
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import requests
from django.conf import global_settings
from django.core.management import call_command
from django.db import connection

from accounts.choices import Marking, Role
from tests.factories import PASSWORD, make_user

pytestmark = [
    pytest.mark.real_replica,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.environ.get("REPLICA_PORT") and os.environ.get("DJANGO_CACHE_URL")),
        reason="needs a streaming replica (REPLICA_PORT, .ci/replica) and Redis",
    ),
]
ROOT = Path(__file__).resolve().parent.parent
NEW_ENGAGEMENT = {
    "title": "Port visit behind the replica",
    "kind": "exercise",
    "status": "completed",
    # Inside the coverage report's default window (the last twelve months).
    "start_date": (datetime.date.today() - datetime.timedelta(days=30)).isoformat(),
    "partners": ["JPN"],
    "pillars": ["security"],
    "marking": "NU",
    "escalation_risk": "low",
}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(port):
    database = connection.settings_dict
    return f"postgres://{database['USER']}@{database['HOST']}:{port}/{database['NAME']}"


@contextlib.contextmanager
def app_server(replica_port):
    """An app server (runserver, no reloader) on the test database, reading from the
    standby; yields its base URL once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DJANGO_MFA_REQUIRED": "none",
        "DATABASE_URL": database_url(connection.settings_dict["PORT"] or 5432),
        "DATABASE_REPLICA_URLS": database_url(replica_port),
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # until it answers (or has died)
            assert server.poll() is None, "the app server stopped"
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{url}/accounts/login/", timeout=5)
                break
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def standby():
    """A connection to the standby, its replay paused for the test's writes and resumed
    (and caught up) at the end."""
    port = os.environ["REPLICA_PORT"]
    with psycopg.connect(
        database_url(port).replace("postgres://", "postgresql://"), autocommit=True
    ) as standby:
        assert standby.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        yield standby
        standby.execute("SELECT pg_wal_replay_resume()")


def caught_up(standby):
    """Wait until the standby has replayed everything the primary has written so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        position = cursor.fetchone()[0]
    while not standby.execute(
        "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position]
    ).fetchone()[0]:
        time.sleep(0.05)


def token_for(server, user):
    answer = requests.post(
        f"{server}/api/v1/auth/token/",
        json={"username": user.username, "password": PASSWORD},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    session = requests.Session()
    session.headers["Authorization"] = f"Token {answer.json()['token']}"
    return session


def signed_in_browser(server, user):
    """A browser's session: the sign-in page's CSRF cookie, then the form."""
    browser = requests.Session()
    page = browser.get(f"{server}/accounts/login/", timeout=30)
    assert page.status_code == 200
    signed_in = browser.post(
        f"{server}/accounts/login/",
        data={
            "username": user.username,
            "password": PASSWORD,
            "accept_notice": "on",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        headers={"Referer": f"{server}/accounts/login/"},
        timeout=30,
    )
    assert signed_in.status_code == 200 and "/accounts/login/" not in signed_in.url
    browser.headers["X-CSRFToken"] = browser.cookies["csrftoken"]
    browser.headers["Referer"] = f"{server}/"
    return browser


def test_each_client_reads_its_own_write_at_once_on_the_other_server(standby, settings):
    # The servers check passwords with the project's hashers, not the tests' quick one.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    call_command("load_reference_data", verbosity=0)
    writer = make_user(Role.ANALYST, Marking.NU, username="writer")
    other = make_user(Role.ANALYST, Marking.NU, username="other")
    browser_user = make_user(Role.ANALYST, Marking.NU, username="browser")
    replica_port = os.environ["REPLICA_PORT"]
    with app_server(replica_port) as first, app_server(replica_port) as second:
        writer_api = token_for(first, writer)
        other_api = token_for(second, other)
        browser = signed_in_browser(first, browser_user)
        caught_up(standby)  # the users and their sign-ins are on the standby
        before = other_api.get(f"{second}/api/v1/reports/coverage/", timeout=30).json()

        standby.execute("SELECT pg_wal_replay_pause()")
        created = writer_api.post(f"{first}/api/v1/engagements/", json=NEW_ENGAGEMENT, timeout=30)
        assert created.status_code == 201, created.text
        url = f"/api/v1/engagements/{created.json()['id']}/"
        # The writer, by token, on the other server: at once, from the primary.
        assert writer_api.get(f"{second}{url}", timeout=30).status_code == 200
        # Another user reads the standby, which has not replayed the write: proof that
        # reads really go to the replica.
        assert other_api.get(f"{second}{url}", timeout=30).status_code == 404

        logged = browser.post(
            f"{first}/api/v1/engagements/",
            json={**NEW_ENGAGEMENT, "title": "Logged in the browser"},
            timeout=30,
        )
        assert logged.status_code == 201, logged.text
        page = browser.get(f"{second}/engagements/{logged.json()['id']}/", timeout=30)
        assert page.status_code == 200 and "Logged in the browser" in page.text

        standby.execute("SELECT pg_wal_replay_resume()")
        caught_up(standby)
        assert other_api.get(f"{second}{url}", timeout=30).status_code == 200
        # Once caught up, the replica's numbers count both writes (the report cache keys
        # on the data, so nothing stale is served).
        after = other_api.get(f"{second}/api/v1/reports/coverage/", timeout=30).json()
        assert total(after, "JPN", "security") == total(before, "JPN", "security") + 2


def total(coverage, partner, pillar):
    """The count of `partner` × `pillar` in a coverage answer."""
    for row in coverage["rows"]:
        if row["partner"] == partner:
            return row["cells"][pillar]["count"]
    raise AssertionError(f"{partner} not in the coverage report")
