"""The second factor in a real browser: setting up an authenticator app and signing in with
its code (computed here as the app would), and setting up a passkey and signing in with it
(Chromium's virtual authenticator, through the DevTools protocol)."""

import re
import time
from base64 import b32decode

import pytest
from django.views.i18n import JavaScriptCatalog
from django_otp.oath import TOTP
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from tests.factories import PASSWORD, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


@pytest.fixture(autouse=True)
def second_factor_required(settings, live_server):
    """Everyone must have a factor. Passkeys are bound to a host name: the live server's
    (localhost, never an IP address) and its origin with its port."""
    settings.MFA_REQUIRED = "all"
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    settings.OTP_TOTP_SYNC = False  # a code a step off (a 30 s boundary) teaches no drift


def give_password(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    notice = page.locator("input[name=accept_notice]")
    if notice.count():
        notice.check()
    page.get_by_role("button", name="Sign in").click()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def app_code(secret, steps_ahead=0):
    totp = TOTP(b32decode(secret + "=" * (-len(secret) % 8)))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def keep_codes_and_continue(page):
    """The ten recovery codes, shown once; then on to the dashboard."""
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_set_up_an_app_then_sign_in_with_its_code(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    give_password(page, live_server, "ana")
    # Nothing else until a factor is set up.
    expect(page).to_have_url(re.compile(r"/accounts/mfa/\?next="))
    expect(page.get_by_text("Your account needs a second factor")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_role("textbox", name="Code").fill(app_code(secret))
    page.get_by_role("button", name="Set up the app").click()
    expect(page.get_by_text("Your authenticator app is set up.")).to_be_visible()
    keep_codes_and_continue(page)
    sign_out(page)

    give_password(page, live_server, "ana")
    expect(page).to_have_url(re.compile(r"/accounts/mfa/verify/"))
    # The next code: each works once, and the one that set the app up is used.
    page.get_by_role("textbox", name="Code").fill(app_code(secret, 1))
    page.get_by_role("button", name="Go on").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


@pytest.fixture
def late_translations(monkeypatch):
    """The passkey scripts' translations (a Django view, not a static file) come back last, as
    from a busy server: the buttons must still work, so nothing may offer one before its
    script can use them. (A click there once did nothing in CI: `gettext` was not yet
    defined.) The delay stands for the network; the test still waits for state."""
    catalog = JavaScriptCatalog.get

    def slow_catalog(self, request, *args, **kwargs):
        time.sleep(2)
        return catalog(self, request, *args, **kwargs)

    monkeypatch.setattr(JavaScriptCatalog, "get", slow_catalog)


@pytest.mark.usefixtures("late_translations")
def test_set_up_a_passkey_then_sign_in_with_it(live_server, page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    make_user(Role.ANALYST, Marking.NR, username="ana")
    give_password(page, live_server, "ana")
    expect(page).to_have_url(re.compile(r"/accounts/mfa/\?next="))
    page.get_by_role("button", name="Add a passkey").click()
    # Registered: the page shows itself again, with the passkey and the recovery codes.
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    passkeys = page.get_by_role("region", name="Passkeys")
    expect(passkeys.get_by_role("button", name="Remove")).to_have_count(1)
    keep_codes_and_continue(page)
    sign_out(page)

    give_password(page, live_server, "ana")
    expect(page).to_have_url(re.compile(r"/accounts/mfa/verify/"))
    page.get_by_role("button", name="Use a passkey").click()
    # Three round trips and the authenticator's signature: a longer bound on a busy machine
    # (CI's PostgreSQL stage once took more than the default 5 s), still waiting for state.
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=20_000)
