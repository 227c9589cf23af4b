"""What lets an account in ends with a password set, a deactivation or a role taken away:
every session and every API token of that account (issue 21). Users change their own
password at /accounts/password/, keeping the session they do it from."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.choices import Marking, Role
from accounts.models import Session, User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

NEW_PASSWORD = "another-long-password-7"


def signed_in(user):
    """A browser session and an API token of `user`, signed in as users do."""
    browser = Client()
    assert (
        browser.post(
            "/accounts/login/",
            {"username": user.username, "password": PASSWORD, "accept_notice": "on"},
        ).status_code
        == 302
    )
    api = APIClient()
    token = api.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": PASSWORD, "accept_notice": "on"},
        format="json",
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert browser.get("/engagements/").status_code == 200
    assert api.get("/api/v1/engagements/").status_code == 200
    return browser, api


def assert_signed_out(browser, api):
    assert browser.get("/engagements/").url.startswith("/accounts/login/")
    assert api.get("/api/v1/engagements/").status_code == 401


@pytest.fixture
def admin_client(client, admin_ns):
    """The admin of the conftest cast, signed in; `analyst` (the cast's) is the account."""
    client.force_login(admin_ns)
    return client


def test_sessions_record_their_account(analyst):
    signed_in(analyst)
    assert Session.objects.filter(user=analyst).count() == 1
    assert AuthToken.objects.filter(user=analyst).count() == 1


def test_a_password_set_by_an_admin_ends_every_session_and_token(admin_client, analyst):
    browser, api = signed_in(analyst)
    response = admin_client.post(
        f"/admin/accounts/user/{analyst.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert_signed_out(browser, api)
    assert not Session.objects.filter(user=analyst).exists()
    assert not AuthToken.objects.filter(user=analyst).exists()


def test_a_deactivation_ends_every_session_and_token(admin_client, analyst):
    browser, api = signed_in(analyst)
    analyst.is_active = False
    analyst.save()
    assert_signed_out(browser, api)
    assert not AuthToken.objects.filter(user=analyst).exists()


def test_a_role_taken_away_ends_every_session_and_token(analyst):
    browser, api = signed_in(analyst)
    analyst.groups.remove(Group.objects.get(name=Role.ANALYST))
    assert_signed_out(browser, api)
    # Also from the group's side, and by clearing a user's groups.
    other = make_user(Role.MANAGER, Marking.NU)
    browser, api = signed_in(other)
    Group.objects.get(name=Role.MANAGER).user_set.remove(other)
    assert_signed_out(browser, api)
    again = make_user(Role.MANAGER, Marking.NU)
    browser, api = signed_in(again)
    again.groups.clear()
    assert_signed_out(browser, api)


def test_other_saves_keep_sessions(analyst):
    browser, api = signed_in(analyst)
    analyst.email = "desk@example.org"
    analyst.clearance = Marking.NC
    analyst.save()
    analyst.groups.add(Group.objects.get(name=Role.MANAGER))
    assert browser.get("/engagements/").status_code == 200
    assert api.get("/api/v1/engagements/").status_code == 200


def test_a_password_set_by_any_other_door_ends_them_too(analyst):
    browser, api = signed_in(analyst)
    user = User.objects.get(pk=analyst.pk)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert_signed_out(browser, api)


def test_users_change_their_own_password_and_keep_only_this_session(analyst):
    here, here_api = signed_in(analyst)
    elsewhere, elsewhere_api = signed_in(analyst)
    page = here.get("/accounts/password/")
    assert page.status_code == 200 and 'name="old_password"' in page.content.decode()
    wrong = here.post(
        "/accounts/password/",
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200 and elsewhere.get("/engagements/").status_code == 200
    response = here.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password is changed" in response.content.decode()
    assert here.get("/engagements/").status_code == 200
    assert_signed_out(elsewhere, elsewhere_api)
    assert here_api.get("/api/v1/engagements/").status_code == 401
    assert User.objects.get(pk=analyst.pk).check_password(NEW_PASSWORD)
