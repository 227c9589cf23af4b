import io

import pytest
from django.core.management import call_command

from accounts.choices import Marking, Role
from tests.factories import make_user


@pytest.fixture
def reference_data(db):
    call_command("load_reference_data", stdout=io.StringIO())


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
