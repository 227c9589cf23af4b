import io

import pytest
from django.core.cache import cache
from django.core.management import call_command

from accounts.choices import Marking, Role
from tests.e2e.browser import browser_plan
from tests.factories import make_user


def pytest_report_header(config):
    action, detail = browser_plan()
    if action == "run":
        return f"browser tests: Chromium at {detail}"
    return f"browser tests: {detail}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """Requests read from a replica when there is one (config/routers.py). Without
    DATABASE_REPLICA_URLS the tests route through one all the same: `replica`, a test
    mirror of the default database (the same data over a connection of its own), so that
    the routing runs in every test that makes a request outside a transaction."""
    from django.conf import settings
    from django.db import connections

    if not settings.DATABASE_REPLICAS:
        default = connections.settings["default"]
        connections.settings["replica"] = {
            **default,
            "OPTIONS": dict(default["OPTIONS"]),
            "TEST": {**default["TEST"], "MIRROR": "default"},
        }
        settings.DATABASE_REPLICAS = ["replica"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the roadmap and partner directory once into the test database; each test's
    transaction rolls back on top of it. (Transactional tests flush the database and
    load it again themselves.)"""
    with django_db_blocker.unblock():
        call_command("load_reference_data", stdout=io.StringIO())


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """API rate limits count in the cache: each test starts with none used."""
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def reference_data(db):
    """Marks a test that needs the reference data (loaded once, see django_db_setup)."""


@pytest.fixture
def analyst(db):
    return make_user(Role.ANALYST, Marking.NU, username="analyst-nu")


@pytest.fixture
def analyst_ns(db):
    return make_user(Role.ANALYST, Marking.NS, username="analyst-ns")


@pytest.fixture
def manager(db):
    return make_user(Role.MANAGER, Marking.NS, username="manager")


@pytest.fixture
def admin_user(db):
    return make_user(Role.ADMIN, Marking.NS, username="admin")
