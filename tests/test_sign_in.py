"""Sign-in as an attacker meets it: the lockout (django-axes), the spraying throttle, and which
client address counts; API tokens (django-rest-knox)."""

import datetime
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client, override_settings
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"
LOGOUT = "/api/v1/auth/logout/"


def sign_in(username, password, **headers):
    """One attempt on the sign-in page from a fresh browser; its status code."""
    return Client().post(
        LOGIN, {"username": username, "password": password, "accept_notice": "on"}, **headers
    )


def age_attempts(delta):
    """Every recorded failure happened `delta` earlier than it did."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - delta)


# The lockout --------------------------------------------------------------------------


def test_a_lockout_closes_one_account_from_one_address(settings):
    make_user(username="ana")
    here, elsewhere = {"REMOTE_ADDR": "192.0.2.1"}, {"REMOTE_ADDR": "192.0.2.2"}
    answers = [
        sign_in("ana", "wrong", **here).status_code for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert sign_in("ana", PASSWORD, **here).status_code == 429
    # Someone guessing elsewhere cannot keep Ana out of her own account.
    assert sign_in("ana", PASSWORD, **elsewhere).status_code == 302


def test_failures_during_a_lockout_do_not_extend_it(settings):
    make_user(username="ana")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in("ana", "wrong")
    cool_off = settings.AXES_COOLOFF_TIME
    age_attempts(cool_off * 2 / 3)
    assert sign_in("ana", "wrong").status_code == 429  # still locked, and this must not count
    age_attempts(cool_off / 2)  # the lockout began more than a cool-off ago
    assert sign_in("ana", PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_throttled(settings):
    settings.ADDRESS_FAILURE_LIMIT = 12
    make_user(username="dee")
    sprayer, office = {"REMOTE_ADDR": "192.0.2.9"}, {"REMOTE_ADDR": "192.0.2.10"}
    for i in range(settings.ADDRESS_FAILURE_LIMIT - 1):
        assert sign_in(f"victim{i}", "Summer2025!", **sprayer).status_code == 200
    # Below the limit, a colleague behind the same address still gets in.
    assert sign_in("dee", PASSWORD, **sprayer).status_code == 302
    assert sign_in("victim-last", "Summer2025!", **sprayer).status_code == 429
    locked = sign_in("dee", PASSWORD, **sprayer)
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts from this address" in locked.content
    assert sign_in("dee", PASSWORD, **office).status_code == 302


def test_the_address_throttle_is_not_extended_by_attempts_during_it(settings):
    settings.ADDRESS_FAILURE_LIMIT = 6
    make_user(username="dee")
    for i in range(settings.ADDRESS_FAILURE_LIMIT):
        sign_in(f"victim{i}", "wrong")
    age_attempts(settings.AXES_COOLOFF_TIME * 2 / 3)
    for i in range(settings.ADDRESS_FAILURE_LIMIT):  # enough to lock it again, if counted
        assert sign_in(f"more{i}", "wrong").status_code == 429
    age_attempts(settings.AXES_COOLOFF_TIME / 2)
    assert sign_in("dee", PASSWORD).status_code == 302


# Which address counts -------------------------------------------------------------------


def test_a_forged_forwarded_address_does_not_escape_the_lockout(settings):
    make_user(username="ana")
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in("ana", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    assert sign_in("ana", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.200").status_code == 429


def test_a_forged_forwarded_address_does_not_escape_the_token_rate_limit():
    client = APIClient()
    answers = [
        client.post(
            TOKEN,
            {"username": f"guess{i}", "password": "x", "accept_notice": "on"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(12)
    ]
    assert answers == [400] * 10 + [429, 429]


@override_settings(TRUSTED_PROXIES=1)
def test_behind_one_trusted_proxy_the_right_most_forwarded_address_counts(settings):
    """The proxy (REMOTE_ADDR) appends the address it saw; what the client put before
    that is the client's to forge."""
    make_user(username="ana")
    client_a = "203.0.113.7"

    def forwarded(i, address=client_a):
        return {"HTTP_X_FORWARDED_FOR": f"198.51.100.{i}, {address}"}

    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in("ana", "wrong", **forwarded(i))
    assert sign_in("ana", PASSWORD, **forwarded(99)).status_code == 429
    assert sign_in("ana", PASSWORD, **forwarded(99, "203.0.113.8")).status_code == 302

    api = APIClient()
    answers = [
        api.post(
            TOKEN, {"username": f"guess{i}", "password": "x", "accept_notice": "on"}, **forwarded(i)
        ).status_code
        for i in range(11)
    ]
    assert answers == [400] * 10 + [429]
    other = api.post(TOKEN, {"username": "guess", "password": "x"}, **forwarded(1, "203.0.113.8"))
    assert other.status_code == 400


# Tokens -------------------------------------------------------------------------------


def obtain_token(user):
    response = APIClient().post(TOKEN, {"username": user.username, "password": PASSWORD})
    assert response.status_code in (200, 201)
    return response.json()["token"]


def with_token(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_is_stored_only_as_a_hash(analyst):
    token = obtain_token(analyst)
    assert with_token(token).get("/api/v1/engagements/").status_code == 200
    stored = AuthToken.objects.filter(user=analyst).values()
    assert len(stored) == 1
    assert not any(token in str(value) for value in stored[0].values())


def test_signing_out_revokes_the_callers_token_only(analyst):
    first, second = obtain_token(analyst), obtain_token(analyst)
    assert with_token(first).post(LOGOUT).status_code == 204
    assert with_token(first).get("/api/v1/engagements/").status_code == 401
    assert with_token(first).post(LOGOUT).status_code == 401
    assert with_token(second).get("/api/v1/engagements/").status_code == 200


def test_signing_out_needs_credentials():
    assert APIClient().post(LOGOUT).status_code == 401


def test_an_expired_token_is_refused(analyst):
    token = obtain_token(analyst)
    AuthToken.objects.filter(user=analyst).update(
        expiry=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = with_token(token).get("/api/v1/engagements/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not AuthToken.objects.filter(user=analyst).exists()  # and it is gone


def test_a_token_left_to_an_account_made_inactive_is_refused(analyst):
    """Deactivation deletes the account's tokens (test_credentials.py); one left by a change
    that bypassed that (a bulk update) is still refused: the token's query reads the
    account's `is_active` with it."""
    token = obtain_token(analyst)
    User.objects.filter(pk=analyst.pk).update(is_active=False)
    assert AuthToken.objects.filter(user=analyst).exists()
    assert with_token(token).get("/api/v1/pillars/").status_code == 401


def test_a_new_token_clears_the_users_expired_ones(analyst):
    obtain_token(analyst)
    AuthToken.objects.filter(user=analyst).update(
        expiry=timezone.now() - datetime.timedelta(seconds=1)
    )
    token = obtain_token(analyst)
    assert AuthToken.objects.filter(user=analyst).count() == 1
    assert with_token(token).get("/api/v1/pillars/").status_code == 200


def test_a_token_is_checked_in_one_query(analyst, django_assert_num_queries):
    """The token and its user in one query (knox's own reads every token of the user too;
    the role was read at the first call: User.access), then the pillars and their facets."""
    client = with_token(obtain_token(analyst))
    client.get("/api/v1/pillars/")
    with django_assert_num_queries(3):
        assert client.get("/api/v1/pillars/").status_code == 200


def test_tokens_last_the_configured_hours(analyst, settings):
    token = obtain_token(analyst)
    issued = timezone.now()
    hours = datetime.timedelta(hours=settings.TOKEN_HOURS)
    minute = datetime.timedelta(minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=issued + hours - minute):
        assert with_token(token).get("/api/v1/engagements/").status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=issued + hours + minute):
        assert with_token(token).get("/api/v1/engagements/").status_code == 401
