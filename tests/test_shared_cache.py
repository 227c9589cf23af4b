"""The report cache shared by every app server (DJANGO_CACHE_URL, Redis).

These run when DJANGO_CACHE_URL is set: `.ci/run` runs the tests marked `shared_cache`
once more against Debian's redis-server, on a database number of their own (each test
empties it). Without it they are skipped; the same caching is tested on the local-memory
cache in test_reports.py.
"""

import datetime

import pytest
from django.conf import settings
from django.core.cache import cache, caches

from accounts.choices import Marking, Role
from core import cache as core_cache
from engagements.services import save_engagement
from reports import queries as reports
from tests.factories import make_engagement, make_user

pytestmark = [
    pytest.mark.shared_cache,
    pytest.mark.skipif(not settings.CACHE_URL, reason="needs DJANGO_CACHE_URL (Redis)"),
    pytest.mark.usefixtures("reference_data"),
]

START, END = datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)


def redis_keys():
    """The report keys the Redis server itself holds (not this process's client)."""
    import redis

    return redis.Redis.from_url(settings.CACHE_URL).keys("*report:*")


def test_the_cache_is_redis():
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.set("probe", {"day": START}, 30)
    assert caches.create_connection("default").get("probe") == {"day": START}


def test_a_report_computed_on_one_server_is_served_on_another(
    monkeypatch, django_assert_num_queries
):
    manager = make_user(Role.MANAGER, Marking.NS)
    make_engagement(partners=["JPN"], pillars=["security"], start_date=datetime.date(2025, 3, 3))
    first = reports.coverage(manager, start=START, end=END)
    assert first["total"] == 1 and len(redis_keys()) == 1

    # Another app server: a cache client of its own on the same Redis.
    monkeypatch.setattr(core_cache, "cache", caches.create_connection("default"))
    with django_assert_num_queries(1):  # the data stamp only
        assert reports.coverage(manager, start=START, end=END) == first

    # A write anywhere moves the stamp in the database: every server computes afresh.
    engagement = make_engagement(partners=["KOR"], pillars=["hadr"], start_date=END)
    assert reports.coverage(manager, start=START, end=END)["total"] == 2
    save_engagement(manager, {"status": "cancelled"}, engagement.pk, version=1)
    assert reports.coverage(manager, start=START, end=END)["total"] == 1


def test_clearances_never_share_a_cached_report():
    make_engagement(start_date=datetime.date(2025, 5, 5), marking=Marking.NS)
    high = reports.trend(make_user(Role.MANAGER, Marking.NS), start=START, end=END)
    low = reports.trend(make_user(Role.ANALYST, Marking.NU), start=START, end=END)
    assert sum(period["total"] for period in high["periods"]) == 1
    assert sum(period["total"] for period in low["periods"]) == 0
    assert len(redis_keys()) == 2
