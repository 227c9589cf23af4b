"""Sessions that end (idle and absolute limits), the user's sessions page (sessions and API
tokens, "end", "sign out everywhere"), the system-use notice and the last sign-in notice."""

import pytest
from django.test import Client
from knox.models import AuthToken

from accounts.models import Session
from accounts.sessions import SEEN, STARTED
from accounts.views import _session_id
from tests.factories import PASSWORD, api_client, make_user

LOGIN = "/accounts/login/"


def browser(address="192.0.2.10", agent="Firefox on a laptop"):
    return Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)


def sign_in(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password, "accept_notice": "on"})


def age(client, **seconds_ago):
    """Move the session's start and last use back in time (what waiting would do)."""
    session = client.session
    for key, seconds in seconds_ago.items():
        name = {"started": STARTED, "seen": SEEN}[key]
        session[name] -= seconds
    session.save()


def token_for(username):
    response = api_client().post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    return response.json()["token"]


# Idle and absolute limits ----------------------------------------------------------------


@pytest.fixture
def ana(db):
    return make_user(username="ana")


def test_an_idle_session_ends_after_the_idle_limit(ana, settings):
    settings.SESSION_IDLE_MINUTES = 1
    client = browser()
    sign_in(client, "ana")
    assert client.get("/").status_code == 200
    age(client, seen=59)
    assert client.get("/").status_code == 200  # used within the minute: still signed in
    age(client, seen=61)
    response = client.get("/engagements/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    said = client.get(response["Location"]).content.decode()
    assert "You were signed out after 1 minute without use." in said
    assert client.get("/").status_code == 302  # and it stays ended
    assert api_client().get("/api/v1/engagements/").status_code == 401


def test_the_api_with_an_idle_session_is_refused(ana, settings):
    settings.SESSION_IDLE_MINUTES = 1
    client = browser()
    sign_in(client, "ana")
    client.get("/")
    age(client, seen=61)
    assert client.get("/api/v1/engagements/").status_code in (401, 403)


def test_a_session_ends_after_the_absolute_limit_however_busy(ana, settings):
    settings.SESSION_HOURS = 12
    client = browser()
    sign_in(client, "ana")
    client.get("/")
    age(client, started=12 * 3600 + 1)
    response = client.get("/")
    assert response.status_code == 302
    assert "a session lasts 12 hours at most" in client.get(response["Location"]).content.decode()


def test_the_ping_counts_as_use_and_the_page_carries_the_idle_limit(ana, settings):
    settings.SESSION_IDLE_MINUTES = 5
    client = browser()
    sign_in(client, "ana")
    page = client.get("/").content.decode()
    assert 'class="idle-warning"' in page and 'data-idle-seconds="300"' in page
    age(client, seen=299)
    assert client.post("/accounts/sessions/ping/").json() == {"idle_seconds": 300}
    age(client, seen=250)  # 250 s after the ping, not 549 s after the page
    assert client.get("/").status_code == 200


# The sessions page ---------------------------------------------------------------------


def test_the_sessions_page_lists_sessions_and_tokens(ana):
    laptop, phone = browser(), browser("192.0.2.20", "Safari on a phone")
    sign_in(laptop, "ana")
    sign_in(phone, "ana")
    phone.get("/")
    token_for("ana")
    page = laptop.get("/accounts/sessions/").content.decode()
    assert page.count("<tr") == 1 + 2 + 1 + 1  # two headers, two sessions, one token
    assert "192.0.2.20" in page and "Safari on a phone" in page
    assert "(this session)" in page
    key = AuthToken.objects.get(user=ana).token_key
    assert f"<code>{key}…</code>" in page
    # A session is named by a digest, never by its key (the cookie's value).
    for session_key in Session.objects.filter(user=ana).values_list("session_key", flat=True):
        assert session_key not in page


def test_ending_one_session_signs_that_browser_out(ana):
    laptop, phone = browser(), browser("192.0.2.20", "Safari on a phone")
    sign_in(laptop, "ana")
    sign_in(phone, "ana")
    phone.get("/")
    page = laptop.get("/accounts/sessions/")
    phone_row = next(
        row for row in page.content.decode().split("<tr") if "Safari on a phone" in row
    )
    session_id = phone_row.split('name="session" value="')[1].split('"')[0]
    response = laptop.post("/accounts/sessions/", {"session": session_id}, follow=True)
    assert "The session has ended." in response.content.decode()
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200


def test_ending_a_token_stops_it(ana):
    token = token_for("ana")
    laptop = browser()
    sign_in(laptop, "ana")
    digest = AuthToken.objects.get(user=ana).digest
    laptop.post("/accounts/sessions/", {"token": digest})
    answer = api_client().get("/api/v1/engagements/", HTTP_AUTHORIZATION=f"Token {token}")
    assert answer.status_code == 401


def test_a_token_shows_where_it_was_last_used(ana):
    token = token_for("ana")
    api_client().get(
        "/api/v1/engagements/",
        HTTP_AUTHORIZATION=f"Token {token}",
        HTTP_USER_AGENT="sync-script/2",
        REMOTE_ADDR="192.0.2.99",
    )
    laptop = browser()
    sign_in(laptop, "ana")
    page = laptop.get("/accounts/sessions/").content.decode()
    assert "192.0.2.99" in page and "sync-script/2" in page


def test_sign_out_everywhere_ends_every_session_and_token(ana):
    laptop, phone = browser(), browser("192.0.2.20")
    sign_in(laptop, "ana")
    sign_in(phone, "ana")
    token = token_for("ana")
    response = laptop.post("/accounts/sessions/", {"everywhere": "1"})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    answer = api_client().get("/api/v1/engagements/", HTTP_AUTHORIZATION=f"Token {token}")
    assert answer.status_code == 401
    assert not Session.objects.filter(user=ana).exists()


def test_nobody_ends_another_users_session(ana):
    bo = make_user(username="bo")
    theirs = browser()
    sign_in(theirs, "bo")
    token_for("bo")
    mine = browser()
    sign_in(mine, "ana")
    digest = AuthToken.objects.get(user=bo).digest
    mine.post("/accounts/sessions/", {"token": digest})
    # Their session by the id the sessions page names it with.
    their_key = theirs.session.session_key
    mine.post("/accounts/sessions/", {"session": _session_id(their_key)})
    assert AuthToken.objects.filter(user=bo).exists()
    assert Session.objects.filter(session_key=their_key, user=bo).exists()
    assert theirs.get("/").status_code == 200


# The use notice and the last sign-in ----------------------------------------------------


def test_the_sign_in_page_shows_the_use_notice_and_needs_it_accepted(ana, settings):
    settings.USE_NOTICE = "Authorised use only: the Alliance system of record."
    page = Client().get(LOGIN).content.decode()
    assert "Authorised use only: the Alliance system of record." in page
    assert 'name="accept_notice"' in page
    client = Client()
    refused = client.post(LOGIN, {"username": "ana", "password": PASSWORD})
    assert refused.status_code == 200
    assert "Tick the box to accept the notice" in refused.content.decode()
    assert client.get("/").status_code == 302  # not signed in


def test_the_default_notice_names_the_system_and_its_markings():
    page = Client().get(LOGIN).content.decode()
    assert "Partnership Engagement Tracker" in page and "NATO SECRET" in page


def test_after_sign_in_the_previous_sign_in_and_failures_since_are_shown_once(ana):
    first = browser("192.0.2.1")
    sign_in(first, "ana")
    assert "this is your first sign-in" in first.get("/").content.decode()
    sign_in(browser("192.0.2.66"), "ana", password="wrong")
    sign_in(browser("192.0.2.66"), "ana", password="wrong")
    second = browser("192.0.2.2")
    sign_in(second, "ana")
    page = second.get("/").content.decode()
    assert "Your previous sign-in:" in page and "from 192.0.2.1" in page
    assert "2 failed sign-in attempts on your account" in page
    assert "Your previous sign-in" not in second.get("/").content.decode()  # once
