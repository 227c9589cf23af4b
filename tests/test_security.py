import os
import re
import subprocess
import sys

import pytest
from csp.utils import build_policy
from django.conf import settings
from django.test import override_settings

from accounts.choices import Marking, Role
from config import middleware
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "x7!kQ2#pL9@vR4$wZ8^nB3&mC6*tY1(hJ5)gF0-dS2+aE7=uI4_oP9~rT3",
    "DJANGO_ALLOWED_HOSTS": "tracker.example.org",
    "DJANGO_ALLOW_ASYNC_UNSAFE": None,  # set for the browser tests only
}


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        capture_output=True,
        text=True,
        env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
        cwd=settings.BASE_DIR,
    )


def test_the_deploy_check_passes_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", env={**PRODUCTION, "DJANGO_SECRET_KEY": None})
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/", "/engagements/", "/api/v1/pillars/", "/nope/"]
)
def test_every_response_carries_the_security_headers(client, url):
    client.force_login(make_user(Role.ANALYST, Marking.NU))
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_the_policy_built_once_is_django_csps_and_follows_a_change(client, settings, monkeypatch):
    client.force_login(make_user(Role.ANALYST, Marking.NU))
    built = []
    monkeypatch.setattr(middleware, "build_policy", lambda: built.append(1) or build_policy())
    middleware.site_policy.cache_clear()
    for url in ("/api/v1/pillars/", "/", "/engagements/"):
        assert client.get(url)["Content-Security-Policy"] == build_policy()
    assert len(built) == 1  # once for the process, not once a response
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert client.get("/")["Content-Security-Policy"] == "default-src 'none'"
    # Kept per process, but a report-only policy turned on still reaches every response.
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'self'"]}}
    assert "img-src 'self'" in client.get("/").get("Content-Security-Policy-Report-Only", "")


def test_a_message_reaches_the_next_page_and_an_api_call_makes_no_message_storage(
    client, monkeypatch
):
    """Messages are Django's, their storage made when a message is first added or read
    (config.middleware.MessageMiddleware): an API call, adding and reading none, makes
    none; a page's message is still shown once on the next page."""
    made = []
    storage = middleware.default_storage
    monkeypatch.setattr(
        middleware, "default_storage", lambda request: made.append(request.path) or storage(request)
    )
    client.force_login(make_user(Role.ANALYST, Marking.NU))
    assert client.get("/api/v1/pillars/").status_code == 200
    assert made == []
    shown = client.post("/notifications/read/", {"all": "1"}, follow=True)
    assert [str(message) for message in shown.context["messages"]] == [
        "0 notifications marked read."
    ]
    assert made == ["/notifications/read/", "/notifications/"]
    again = client.get("/notifications/")
    assert "marked read" not in again.content.decode()


def test_no_page_has_an_inline_script(client):
    """script-src 'self' would block one; every script is a file from /static/."""
    client.force_login(make_user(Role.ADMIN, Marking.NS))
    for url in ["/", "/engagements/new/", "/reports/trend/", "/api/v1/docs/", "/admin/"]:
        html = client.get(url).content.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts, url  # the pages do load scripts...
        assert all(re.search(r"\bsrc=", tag) for tag in scripts), url  # ...all from files


def test_sessions_expire():
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 3600


def test_error_pages_are_ours_and_never_show_internals(client):
    client.force_login(make_user(Role.ANALYST, Marking.NU))
    missing = client.get("/engagements/999999/")
    assert missing.status_code == 404 and b"nothing you are cleared to see" in missing.content
    refused = client.post("/roadmap/tips/1/", {"status": "achieved"})
    assert refused.status_code == 403 and b"Not allowed" in refused.content


@override_settings(ROOT_URLCONF="tests.urls_failing")
def test_a_server_error_shows_our_page_without_a_traceback(client):
    client.raise_request_exception = False
    client.force_login(make_user(Role.ANALYST, Marking.NU))
    response = client.get("/broken/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"secret internals" not in response.content and b"Traceback" not in response.content


def test_repeated_wrong_passwords_close_the_sign_in_page_for_that_account(client, settings):
    make_user(Role.ANALYST, Marking.NU, username="ana")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            "/accounts/login/", {"username": "ana", "password": "wrong", "accept_notice": "on"}
        )
        assert (
            response.status_code == 200 and b"Please enter a correct username" in response.content
        )
    locked = client.post(
        "/accounts/login/", {"username": "ana", "password": "wrong", "accept_notice": "on"}
    )
    assert locked.status_code == 429
    assert (
        b"Too many failed sign-in attempts for this account. Try again in 15 minutes."
        in locked.content
    )
    again = client.post(
        "/accounts/login/", {"username": "ana", "password": PASSWORD, "accept_notice": "on"}
    )
    assert again.status_code == 429  # the right password waits for the cool-off too
    # Another account is not affected.
    make_user(Role.ANALYST, Marking.NU, username="bob")
    assert (
        client.post(
            "/accounts/login/", {"username": "bob", "password": PASSWORD, "accept_notice": "on"}
        ).status_code
        == 302
    )


def test_the_lockout_ends_after_the_cool_off(client, settings):
    from django.utils import timezone

    make_user(Role.ANALYST, Marking.NU, username="cal")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/accounts/login/", {"username": "cal", "password": "wrong", "accept_notice": "on"}
        )
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME * 2)
    assert (
        client.post(
            "/accounts/login/", {"username": "cal", "password": PASSWORD, "accept_notice": "on"}
        ).status_code
        == 302
    )


@pytest.mark.parametrize(
    "url", ["/", "/engagements/?format=csv", "/api/v1/engagements/", "/reports/coverage/"]
)
def test_pages_downloads_and_api_answers_are_never_stored(client, url):
    """Marked content must not linger in a browser's or a proxy's cache."""
    client.force_login(make_user(Role.ANALYST, Marking.NU))
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
