import io

import pytest
from django.core.cache import cache
from django.core.management import call_command

from accounts.choices import Marking, Role
from core import cache as core_cache
from core.db import forget_read_along
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
    """API rate limits count in the cache: each test starts with none used (and with no
    report kept in the process from another test's data, nor a data stamp read along with a
    token by a view called without a request's start and end)."""
    cache.clear()
    core_cache.forget_local()
    forget_read_along()


@pytest.fixture(autouse=True)
def jobs_run_in_place(settings):
    """Background jobs run at once, in the test's transaction (django-tasks' immediate
    backend); tests/test_jobs.py runs one through a real worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def files_in_a_temporary_folder(settings, tmp_path):
    """Files the app writes (export jobs' spreadsheets) go to the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_second_factor_required(settings):
    """The suite signs in with a password alone, as `make run`'s demo does; the second
    factor's tests (tests/test_mfa.py, tests/e2e/test_mfa.py) set the policy they test."""
    settings.MFA_REQUIRED = "none"


@pytest.fixture
def reference_data(db):
    """Marks a test that needs the reference data (loaded once, see django_db_setup)."""


# One cast of users, built in this file and nowhere else (STYLE.md, "One cast of test
# users"): a user per role and clearance a test needs, named role_clearance, with the same
# username (hyphenated). Each is made when a test first asks for it. `make_user` is for a
# test that needs one more, or an unusual one.


def _cast_member(role, clearance):
    @pytest.fixture
    def member(db):
        return make_user(role, clearance, username=f"{role}-{clearance}".lower())

    member.__doc__ = f"The cast's {role} cleared {clearance}."
    return member


analyst_nu = _cast_member(Role.ANALYST, Marking.NU)
analyst_nr = _cast_member(Role.ANALYST, Marking.NR)
analyst_ns = _cast_member(Role.ANALYST, Marking.NS)
manager_nu = _cast_member(Role.MANAGER, Marking.NU)
manager_ns = _cast_member(Role.MANAGER, Marking.NS)
admin_nu = _cast_member(Role.ADMIN, Marking.NU)
admin_ns = _cast_member(Role.ADMIN, Marking.NS)


@pytest.fixture
def no_role(db):
    """Signed up, cleared NS, but in no role's group: may see nothing."""
    user = make_user(Role.ANALYST, Marking.NS, username="no-role")
    user.groups.clear()
    return user


@pytest.fixture
def inactive(db):
    """An admin cleared NS whose account is switched off."""
    user = make_user(Role.ADMIN, Marking.NS, username="inactive")
    user.is_active = False
    user.save()
    return user


@pytest.fixture
def every_role(analyst_nu, analyst_ns, manager_ns, admin_ns):
    """A user of each role (an analyst at both ends of the clearances), by name: whom a
    page or endpoint open to every role is checked for."""
    return {
        "analyst_nu": analyst_nu,
        "analyst_ns": analyst_ns,
        "manager_ns": manager_ns,
        "admin_ns": admin_ns,
    }


# The cast's shorter names.


@pytest.fixture
def analyst(analyst_nu):
    return analyst_nu


@pytest.fixture
def manager(manager_ns):
    return manager_ns


@pytest.fixture
def admin_user(admin_ns):
    return admin_ns
