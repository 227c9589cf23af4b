"""Reads on replicas, writes and read-your-own-writes on the primary (config/routers.py).

The test run has a replica even without DATABASE_REPLICA_URLS: `replica`, a test mirror
of the default database (tests/conftest.py), reached over a connection of its own. The
request tests run outside a test transaction (`transaction=True`), as a server does, so
that the routing decides; inside one everything stays on the primary by design.
"""

import io
import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.choices import Marking, Role
from config import routers
from engagements.models import Engagement
from tests.factories import make_engagement, make_user
from tests.test_views import form_data, pillar_ids

API = "/api/v1/"
NEW_ENGAGEMENT = {
    "title": "Port visit",
    "kind": "exercise",
    "status": "completed",
    "start_date": "2025-04-01",
    "partners": ["JPN"],
    "pillars": ["security"],
    "marking": "NU",
    "escalation_risk": "low",
}


def replica():
    return settings.DATABASE_REPLICAS[0]


@pytest.fixture
def live(transactional_db):
    """Committed reference data and an analyst signed in with a token, like a server's
    client (no test transaction hides the primary's rows from the replica connection)."""
    call_command("load_reference_data", stdout=io.StringIO())
    client = APIClient()
    client.force_authenticate(make_user(Role.ANALYST, Marking.NU))
    return client


def queries(alias):
    return CaptureQueriesContext(connections[alias])


pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def tables(captured):
    """The tables the captured queries read."""
    return {name for query in captured for name in re.findall(r'FROM "(\w+)"', query["sql"])}


AUTH_TABLES = {
    "accounts_session",
    "knox_authtoken",
    "accounts_user",
    "auth_group",
    "auth_permission",
}


def test_a_read_request_reads_its_data_from_a_replica(live):
    make_engagement()
    with queries(replica()) as on_replica, queries(DEFAULT_DB_ALIAS) as on_primary:
        response = live.get(API + "engagements/")
    assert response.status_code == 200 and len(response.json()["results"]) == 1
    assert "engagements_engagement" in tables(on_replica.captured_queries)
    # The primary is asked only who the caller is and what it may do (its role).
    assert tables(on_primary.captured_queries) <= AUTH_TABLES
    assert routers.written_at(response.wsgi_request.user) is None  # a read keeps nothing


def test_who_is_signed_in_is_read_from_the_primary(live, client):
    """Session, user, role and permissions come from the primary, so a sign-out or a role
    taken away counts at once however far a replica lags; the page's data from a replica."""
    make_engagement()
    client.force_login(make_user(Role.MANAGER, Marking.NU))
    with queries(replica()) as on_replica, queries(DEFAULT_DB_ALIAS) as on_primary:
        assert client.get("/engagements/").status_code == 200
    assert {"accounts_session", "accounts_user", "auth_group"} <= tables(
        on_primary.captured_queries
    )
    assert tables(on_primary.captured_queries) <= AUTH_TABLES
    assert not tables(on_replica.captured_queries) & AUTH_TABLES
    assert "engagements_engagement" in tables(on_replica.captured_queries)


# A read of an engagement writes its audit entry, on the primary (accounts/audit.py).
AUDIT_TABLES = {"accounts_auditchain", "accounts_auditentry"}


def read_where(client, url, replica_has_replayed, monkeypatch):
    """Which databases a read of `url` by `client` reads its data from, the replica having
    replayed (or not) the primary's WAL past the reader's last write."""
    monkeypatch.setattr(routers, "replayed_past", lambda alias, position: replica_has_replayed)
    with queries(replica()) as on_replica, queries(DEFAULT_DB_ALIAS) as on_primary:
        response = client.get(url)
    assert response.status_code == 200
    return {
        alias
        for alias, captured in ((replica(), on_replica), (DEFAULT_DB_ALIAS, on_primary))
        if tables(captured.captured_queries) - AUTH_TABLES - AUDIT_TABLES
    }


def test_a_token_client_reads_its_own_write_until_the_replica_has_it(live, monkeypatch):
    with queries(replica()) as on_replica:
        created = live.post(API + "engagements/", NEW_ENGAGEMENT)
    assert created.status_code == 201, created.json()
    assert not on_replica.captured_queries  # the whole writing request ran on the primary
    writer = created.wsgi_request.user
    position = routers.written_at(writer)
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        assert re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", position)  # the primary's WAL position
    else:
        assert position == routers.NO_POSITION  # no WAL: the primary for a while
    url = API + f"engagements/{created.json()['id']}/"

    # While the replica lags behind the write, the writer reads it from the primary; once
    # it has replayed the write, from the replica (on PostgreSQL, which can tell).
    assert read_where(live, url, False, monkeypatch) == {DEFAULT_DB_ALIAS}
    caught_up = read_where(live, url, True, monkeypatch)
    if position != routers.NO_POSITION:
        assert caught_up == {replica()}

    # Another user reads from the replica as it is, lagging or not.
    other = APIClient()
    other.force_authenticate(make_user(Role.ANALYST, Marking.NU))
    assert read_where(other, API + "engagements/", False, monkeypatch) == {replica()}

    # Once the position is no longer kept, the writer reads from a replica again.
    cache.delete(routers._key(writer))
    assert read_where(live, url, False, monkeypatch) == {replica()}


def test_a_browser_session_reads_its_own_write_the_same_way(live, client, monkeypatch):
    user = make_user(Role.ANALYST, Marking.NU)
    client.force_login(user)
    assert routers.written_at(user) is None
    data = form_data(partners=["JPN"], lead_partner="JPN", pillars=pillar_ids("security"))
    assert client.post("/engagements/new/", data).status_code == 302
    assert routers.written_at(user) is not None
    assert read_where(client, "/engagements/", False, monkeypatch) == {DEFAULT_DB_ALIAS}


@pytest.mark.skipif(
    connections[DEFAULT_DB_ALIAS].vendor != "postgresql", reason="WAL positions: PostgreSQL"
)
def test_a_database_that_is_not_a_standby_has_replayed_everything(live):
    """The test mirror is the primary itself: never in recovery, so never behind."""
    live.post(API + "engagements/", NEW_ENGAGEMENT)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        position = cursor.fetchone()[0]
    assert routers.replayed_past(replica(), position)


def test_reports_read_from_a_replica(live):
    with queries(replica()) as on_replica, queries(DEFAULT_DB_ALIAS) as on_primary:
        response = live.get(API + "reports/coverage/")
    assert response.status_code == 200
    assert on_replica.captured_queries
    assert tables(on_primary.captured_queries) <= AUTH_TABLES


def test_a_report_read_from_a_replica_reads_its_stamp_there_not_along_with_the_token(live):
    """An API token's query, on the primary, reads the data stamp along (one query for a
    cached report, core.db.read_along_with_token); a request reading its data from a
    replica reads the stamp there too: the numbers and the stamp they are cached under
    come from one copy of the data."""
    key = AuthToken.objects.create(make_user(Role.MANAGER, Marking.NU))[1]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(API + "reports/coverage/").status_code == 200
    with queries(replica()) as on_replica:
        assert api.get(API + "reports/coverage/").status_code == 200
    stamp_reads = [q for q in on_replica.captured_queries if "roadmap_reportstamp" in q["sql"]]
    assert len(stamp_reads) == 1


def test_inside_a_transaction_everything_stays_on_the_primary(live):
    token = routers._reads_from.set(routers._Choice(None, [replica()]))
    try:
        assert Engagement.objects.all().db == replica()
        with transaction.atomic():
            assert Engagement.objects.all().db == DEFAULT_DB_ALIAS
        assert Engagement.objects.all().db == replica()
    finally:
        routers._reads_from.reset(token)
    # Outside a request (commands, the shell, this test) reads go to the primary.
    assert Engagement.objects.all().db == DEFAULT_DB_ALIAS


def test_an_object_read_on_a_replica_is_written_on_the_primary(live):
    engagement = make_engagement()
    copy = Engagement.objects.using(replica()).get(pk=engagement.pk)
    assert router.db_for_write(Engagement, instance=copy) == DEFAULT_DB_ALIAS
    assert router.allow_relation(copy, engagement)
    assert router.allow_migrate(replica(), "engagements") is False


def test_without_replicas_nothing_is_kept(live, settings):
    alias = replica()
    settings.DATABASE_REPLICAS = []
    with queries(alias) as on_replica:
        created = live.post(API + "engagements/", NEW_ENGAGEMENT)
        assert live.get(API + f"engagements/{created.json()['id']}/").status_code == 200
    assert created.status_code == 201
    assert routers.written_at(created.wsgi_request.user) is None
    assert not on_replica.captured_queries


def settings_from(environment):
    """DATABASES and CACHES as a fresh process builds them from this environment."""
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps({'databases': {a: {'NAME': d['NAME'], 'HOST': d['HOST'],"
        " 'TEST': d.get('TEST', {})} for a, d in settings.DATABASES.items()},"
        " 'replicas': settings.DATABASE_REPLICAS, 'caches': settings.CACHES}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **environment}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.django_db(databases=[])
def test_replicas_and_the_shared_cache_come_from_the_environment():
    status, out, err = settings_from(
        {
            "DATABASE_URL": "postgres://u@primary:5432/tracker",
            "DATABASE_REPLICA_URLS": "postgres://u@r1:5432/tracker, postgres://u@r2:5432/tracker",
            "DJANGO_CACHE_URL": "redis://cache:6379/2",
        }
    )
    assert status == 0, err
    found = json.loads(out)
    assert found["replicas"] == ["replica1", "replica2"]
    assert found["databases"]["replica2"]["HOST"] == "r2"
    assert found["databases"]["replica1"]["TEST"]["MIRROR"] == "default"
    # Keys carry the code's version, so a deploy never reads what older code cached.
    assert found["caches"]["default"].pop("KEY_PREFIX") == settings.CODE_VERSION
    assert found["caches"]["default"].pop("KEY_FUNCTION") == "core.cache.make_key"
    assert found["caches"]["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache:6379/2",
    }

    status, out, err = settings_from({"DATABASE_REPLICA_URLS": "", "DJANGO_CACHE_URL": ""})
    found = json.loads(out)
    assert found["replicas"] == [] and list(found["databases"]) == ["default"]
    assert found["caches"]["default"]["BACKEND"].endswith("LocMemCache")

    status, _, err = settings_from({"DJANGO_CACHE_URL": "memcached://cache:11211"})
    assert status != 0 and "DJANGO_CACHE_URL must be a Redis URL" in err


@pytest.mark.django_db(databases=[])
def test_a_write_position_outlives_a_deploy_and_the_rest_of_the_cache_does_not():
    """During a rolling deploy servers of two code versions share the cache: a user's
    write position must reach both, what the code computed must not."""
    from core.cache import make_key

    key = routers._key(get_user_model()(pk=7, username="someone"))
    assert make_key(key, "version-a", 1) == make_key(key, "version-b", 1)
    assert make_key("report:abc", "version-a", 1) != make_key("report:abc", "version-b", 1)


@pytest.mark.django_db(databases=[])
def test_behind_pgbouncer_no_connection_outlives_a_transaction():
    """DJANGO_PGBOUNCER=1 (transaction pooling): no server-side cursors and no prepared
    statements on any database (without it, psycopg prepares a hot query after five runs).
    `.ci/run` runs the download, report and write-service tests through a real PgBouncer
    so."""
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps({a: [d.get('DISABLE_SERVER_SIDE_CURSORS', False),"
        " d['OPTIONS'].get('prepare_threshold', 'default')]"
        " for a, d in settings.DATABASES.items()}))"
    )
    environment = {
        "DATABASE_URL": "postgres://u@bouncer:6432/tracker",
        "DATABASE_REPLICA_URLS": "postgres://u@bouncer:6432/tracker_replica",
    }
    answers = []
    for pgbouncer in ("1", "0"):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **environment}
        env["DJANGO_PGBOUNCER"] = pgbouncer
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        answers.append(json.loads(done.stdout))
    assert answers[0] == {"default": [True, None], "replica1": [True, None]}
    assert answers[1] == {"default": [False, 5], "replica1": [False, 5]}
