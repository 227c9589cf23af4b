"""Schemathesis over the whole OpenAPI schema, as a signed-in analyst: no server error, and
every documented response matches its schema. Bounded to a few examples per operation so
the run takes a minute or two."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from knox.models import AuthToken
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from accounts.choices import Marking, Role
from config.wsgi import application
from tests.factories import make_engagement, make_user


@pytest.fixture
def api_schema(reference_data):
    analyst = make_user(Role.ANALYST, Marking.NR, username="fuzzy")
    make_engagement(partners=["JPN", "KOR"], pillars=["security"], created_by=analyst)
    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    schema.app = application
    schema.fuzzer = analyst
    # The real WSGI handler closes "old" connections around each request; inside the
    # test's transaction that would close it. Django's test client does the same as this.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schema
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_no_server_error_and_responses_match_the_schema(api_schema):
    # Driven with Hypothesis directly (one test for every operation) rather than through
    # schemathesis' pytest plugin, which does not yet run under pytest 9.
    headers = token_header(api_schema.fuzzer)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    statuses = []

    for operation in operations:
        exercise_operation(operation, headers, statuses, api_schema.fuzzer)

    # It really ran: every operation was called, and real answers came back.
    assert {label for label, _ in statuses} == {operation.label for operation in operations}
    assert {200, 400, 404} <= {status for _, status in statuses}
    assert all(status < 500 for _, status in statuses)


def token_header(user):
    return {"Authorization": f"Token {AuthToken.objects.create(user)[1]}"}


def exercise_operation(operation, headers, statuses, user):
    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case):
        # Signing out revokes the token it is called with: never the shared one.
        signs_out = operation.path.endswith("/auth/logout/")
        case_headers = token_header(user) if signs_out else headers
        response = case.call_and_validate(headers=case_headers, checks=CHECKS)
        statuses.append((operation.label, response.status_code))

    exercise()
