"""The second factor (accounts/mfa.py): setting one up, signing in with it, each code
working once, the policy that confines a user without one, API tokens with `otp`, the
admin removing factors within clearance, and the audit entries of each.

The suite runs with MFA_REQUIRED=none (tests/conftest.py); these tests set the policy they
test. Codes are computed here as an authenticator app computes them (RFC 6238)."""

import os
import re
import subprocess
import sys
import time
from base64 import b32decode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex
from django_otp_webauthn.models import WebAuthnCredential
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.choices import Marking, Role
from accounts.mfa import make_recovery_codes
from accounts.models import AuditEntry
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

LOGIN, MFA, VERIFY = "/accounts/login/", "/accounts/mfa/", "/accounts/mfa/verify/"
TOKEN = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def every_wrong_code_answered(settings):
    """django-otp makes a device wait 1, 2, 4… seconds after wrong codes; here only the
    test of that delay has it, so that the others need not wait. Nor does it learn the
    app's clock drift from a code a step off (which a test crossing a 30-second boundary
    would teach it)."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    settings.OTP_TOTP_SYNC = False


def signed_in(user):
    """A browser that has given `user`'s password on the sign-in page."""
    client = Client()
    response = client.post(
        LOGIN, {"username": user.username, "password": PASSWORD, "accept_notice": "on"}
    )
    assert response.status_code == 302, response.content
    return client


def code(key, steps_ahead=0):
    """The code an authenticator app shows for `key` (hex) now, or `steps_ahead` steps of
    30 seconds later (the server accepts one step either way: clocks differ)."""
    totp = TOTP(bytes.fromhex(key))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def with_app(user):
    """`user` with an authenticator app set up and recovery codes; returns (key, codes)."""
    key = random_hex(20)
    TOTPDevice.objects.create(user=user, name="Authenticator app", key=key, confirmed=True)
    return key, make_recovery_codes(user)


def actions(user):
    return list(AuditEntry.objects.filter(user=user).order_by("sequence").values_list("action"))


def audited(action, **fields):
    return AuditEntry.objects.filter(action=action, **fields)


# The policy: who must have a factor ----------------------------------------------------------


def test_a_user_without_a_factor_reaches_only_setting_one_up(settings, analyst_nu):
    settings.MFA_REQUIRED = "all"
    browser = signed_in(analyst_nu)
    response = browser.get("/engagements/")
    assert response.status_code == 302
    assert response.url == "/accounts/mfa/?next=%2Fengagements%2F"
    assert browser.get(MFA).status_code == 200
    assert browser.get(VERIFY)["Location"].startswith(MFA)  # nothing to verify yet
    for page in ["/", "/partners/", "/reports/coverage/", "/accounts/password/", "/admin/"]:
        assert browser.get(page)["Location"].startswith(MFA), page
    answer = browser.get("/api/v1/engagements/")
    assert answer.status_code == 403
    assert "second factor" in answer.json()["detail"]
    # Setting up a passkey is open to them (the browser's part is in tests/e2e/test_mfa.py).
    begun = browser.post("/accounts/mfa/passkeys/registration/begin/")
    assert begun.status_code == 200 and "challenge" in begun.json()
    assert browser.post("/accounts/logout/").url == "/accounts/login/"


def test_admins_must_have_one_when_the_policy_says_admins(settings, analyst_nu, admin_nu):
    settings.MFA_REQUIRED = "admins"
    browser = signed_in(analyst_nu)
    assert browser.get("/calendar/").status_code == 200
    assert signed_in(admin_nu).get("/engagements/")["Location"].startswith(MFA)
    # Made an admin while signed in: the session must now have a factor too.
    analyst_nu.groups.add(Group.objects.get(name=Role.ADMIN))
    assert browser.get("/calendar/")["Location"].startswith(MFA)
    root = make_user(Role.ANALYST, Marking.NU, username="root")
    root.is_superuser = True
    root.save()
    assert signed_in(root).get("/engagements/")["Location"].startswith(MFA)


def test_nobody_must_have_one_when_the_policy_says_none(settings, admin_ns):
    settings.MFA_REQUIRED = "none"
    assert signed_in(admin_ns).get("/calendar/").status_code == 200


def test_a_user_with_a_factor_is_asked_for_it_whatever_the_policy(settings, analyst_nu):
    settings.MFA_REQUIRED = "none"
    with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    response = browser.get("/engagements/?partner=JPN")
    assert response.url == "/accounts/mfa/verify/?next=%2Fengagements%2F%3Fpartner%3DJPN"
    assert browser.get(MFA)["Location"].startswith(VERIFY)  # no managing factors before it
    assert browser.get("/api/v1/engagements/").status_code == 403
    # With the one passed, the page they asked for.
    verified = browser.post(VERIFY, {"otp": code(TOTPDevice.objects.get().key), "next": "/x/"})
    assert verified.url == "/x/"
    assert browser.get("/calendar/").status_code == 200
    assert browser.get("/api/v1/pillars/").status_code == 200


# Setting up an authenticator app -------------------------------------------------------------


def test_an_app_is_set_up_with_one_code_and_recovery_codes_are_shown_once(settings, analyst_nu):
    settings.MFA_REQUIRED = "all"
    browser = signed_in(analyst_nu)
    page = browser.get(MFA).content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "<svg" in page  # the QR code, drawn by the app itself
    key = b32decode(secret + "=" * (-len(secret) % 8)).hex()
    # The same secret until it is confirmed (a reload does not change it).
    assert secret in browser.get(MFA).content.decode()

    wrong = browser.post(MFA, {"otp": "000000" if code(key) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "not the code your app shows" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=analyst_nu).exists()

    done = browser.post(MFA, {"otp": code(key), "next": "/partners/"})
    assert done.status_code == 302
    assert TOTPDevice.objects.get(user=analyst_nu, confirmed=True).key == key
    page = browser.get(done.url).content.decode()
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", page)
    assert len(codes) == len(set(codes)) == 10
    assert 'href="/partners/"' in page  # "continue" to where they were going
    again = browser.get(MFA).content.decode()
    assert not any(recovery in again for recovery in codes)  # shown once
    assert "10 of 10 left" in again
    assert 'id="totp-secret"' not in again  # one app; remove it to set up another
    # This session passed the factor by setting it up.
    assert browser.get("/partners/").status_code == 200
    entry = audited("mfa_enrolled", user=analyst_nu).get()
    assert entry.detail["factor"] == "totp" and entry.object_id == str(analyst_nu.pk)


def test_the_code_that_set_up_the_app_does_not_sign_in(settings, analyst_nu):
    settings.MFA_REQUIRED = "all"
    browser = signed_in(analyst_nu)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', browser.get(MFA).content.decode())
    key = b32decode(secret.group(1) + "=" * (-len(secret.group(1)) % 8)).hex()
    first = code(key)
    browser.post(MFA, {"otp": first})
    again = signed_in(analyst_nu)
    assert again.post(VERIFY, {"otp": first}).status_code == 200  # refused: the form again
    assert again.post(VERIFY, {"otp": code(key, 1)}).status_code == 302


# Signing in with a code, each working once ---------------------------------------------------


def test_a_code_works_once(analyst_nu):
    key, _ = with_app(analyst_nu)
    now = code(key)
    assert signed_in(analyst_nu).post(VERIFY, {"otp": now}).status_code == 302
    replay = signed_in(analyst_nu)
    refused = replay.post(VERIFY, {"otp": now})
    assert refused.status_code == 200
    assert "used already" in refused.content.decode()
    assert replay.get("/")["Location"].startswith(VERIFY)
    failure = audited("mfa_failed", user=analyst_nu).get()
    assert failure.outcome == "failed" and failure.detail == {"via": "page"}
    assert replay.post(VERIFY, {"otp": code(key, 1)}).status_code == 302  # the next one


def test_a_recovery_code_works_once_however_it_is_typed(analyst_nu):
    _, codes = with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    response = browser.post(VERIFY, {"otp": f"  {codes[0].upper()} "})
    assert response.status_code == 302
    assert StaticToken.objects.filter(device__user=analyst_nu).count() == 9
    assert "9 left" in browser.get("/").content.decode()
    assert signed_in(analyst_nu).post(VERIFY, {"otp": codes[0]}).status_code == 200
    assert signed_in(analyst_nu).post(VERIFY, {"otp": codes[1].replace("-", "")}).status_code == 302


def test_recovery_codes_are_kept_only_as_hmacs(analyst_nu):
    _, codes = with_app(analyst_nu)
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert len(stored) == 10
    assert not stored & {c.replace("-", "") for c in codes} and not stored & set(codes)


def test_new_recovery_codes_replace_the_old_ones(analyst_nu):
    key, old = with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    browser.post(VERIFY, {"otp": code(key)})
    response = browser.post("/accounts/mfa/recovery-codes/")
    page = browser.get(response.url).content.decode()
    new = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page)
    assert len(new) == 10 and not set(new) & set(old)
    assert signed_in(analyst_nu).post(VERIFY, {"otp": old[0]}).status_code == 200
    assert signed_in(analyst_nu).post(VERIFY, {"otp": new[0]}).status_code == 302


def test_next_goes_only_to_this_site(analyst_nu):
    key, _ = with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    response = browser.post(VERIFY, {"otp": code(key), "next": "https://elsewhere.example/"})
    assert response.url == "/"


def test_after_wrong_codes_the_app_makes_one_wait(settings, analyst_nu):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1  # django-otp's default: 1, 2, 4… seconds
    key, _ = with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    browser.post(VERIFY, {"otp": code(key, -5)})  # long gone
    response = browser.post(VERIFY, {"otp": code(key)})
    assert response.status_code == 200
    assert "wait 1 seconds" in response.content.decode() or "wait 2 seconds" in (
        response.content.decode()
    )


def test_wrong_codes_close_sign_in_like_wrong_passwords(settings, analyst_nu):
    key, _ = with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    answers = [
        browser.post(VERIFY, {"otp": code(key, -5)}).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert browser.get("/")["Location"].startswith(LOGIN)  # that session has ended
    refused = Client().post(
        LOGIN, {"username": analyst_nu.username, "password": PASSWORD, "accept_notice": "on"}
    )
    assert refused.status_code == 429
    assert audited("mfa_failed", user=analyst_nu).count() == settings.AXES_FAILURE_LIMIT


# Removing factors ----------------------------------------------------------------------------


def test_removing_ones_last_factor_takes_the_recovery_codes_too(settings, analyst_nu):
    settings.MFA_REQUIRED = "all"
    key, _ = with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    browser.post(VERIFY, {"otp": code(key)})
    assert browser.post("/accounts/mfa/remove/", {"device": "totp"}).url == MFA
    assert not TOTPDevice.objects.filter(user=analyst_nu).exists()
    assert not StaticToken.objects.filter(device__user=analyst_nu).exists()
    entry = audited("mfa_removed", user=analyst_nu).get()
    assert entry.detail["removed"] == ["totp"] and entry.detail["by"] == "self"
    # The policy asks for one: back to setting one up.
    assert browser.get("/")["Location"].startswith(MFA)


def test_removing_a_factor_needs_the_second_factor_first(analyst_nu):
    with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    assert browser.post("/accounts/mfa/remove/", {"device": "totp"})["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=analyst_nu).exists()


def test_one_cannot_remove_anothers_passkey(analyst_nu, analyst_ns):
    theirs = WebAuthnCredential.objects.create(
        user=analyst_ns, name="Their key", credential_id=b"id", public_key=b"key", confirmed=True
    )
    key, _ = with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    assert not browser.post(VERIFY, {"otp": code(key)})["Location"].startswith(VERIFY)
    # Past the second factor, so the answer is the ownership check's: nothing removed.
    answer = browser.post("/accounts/mfa/remove/", {"device": str(theirs.pk)})
    assert answer.status_code == 302 and not answer["Location"].startswith(VERIFY)
    assert WebAuthnCredential.objects.filter(pk=theirs.pk).exists()
    assert not AuditEntry.objects.filter(action="mfa_removed").exists()


def test_the_verify_page_offers_a_passkey_to_who_has_one(analyst_nu):
    WebAuthnCredential.objects.create(
        user=analyst_nu, name="Laptop", credential_id=b"id", public_key=b"key", confirmed=True
    )
    page = signed_in(analyst_nu).get(VERIFY).content.decode()
    assert 'id="passkey-verification-button"' in page
    assert "otp_webauthn_auth.js" in page


# The admin -----------------------------------------------------------------------------------


def remove_in_admin(admin, *accounts):
    browser = Client()
    browser.force_login(admin)
    return browser.post(
        "/admin/accounts/user/",
        {"action": "remove_second_factors", "_selected_action": [a.pk for a in accounts]},
    )


def test_an_admin_removes_the_factors_of_accounts_within_their_clearance(admin_ns, analyst_ns):
    with_app(analyst_ns)
    browser = Client()
    browser.force_login(admin_ns)
    page = browser.get(f"/admin/accounts/user/{analyst_ns.pk}/change/").content.decode()
    assert "authenticator app, 10 recovery codes left" in page
    assert remove_in_admin(admin_ns, analyst_ns).status_code == 302
    assert not TOTPDevice.objects.filter(user=analyst_ns).exists()
    assert not StaticToken.objects.filter(device__user=analyst_ns).exists()
    entry = audited("mfa_removed", user=admin_ns).get()
    assert entry.object_id == str(analyst_ns.pk)
    assert entry.detail == {
        "account": analyst_ns.username,
        "removed": ["totp", "recovery_codes"],
        "by": "admin",
    }


def test_an_admin_cannot_remove_the_factors_of_an_account_cleared_above_them(
    admin_nu, analyst_ns, analyst_nu
):
    with_app(analyst_ns)
    with_app(analyst_nu)
    remove_in_admin(admin_nu, analyst_ns, analyst_nu)
    assert TOTPDevice.objects.filter(user=analyst_ns).exists()
    assert not TOTPDevice.objects.filter(user=analyst_nu).exists()
    assert list(audited("mfa_removed").values_list("object_id", flat=True)) == [str(analyst_nu.pk)]


def test_the_devices_have_no_admin_of_their_own(admin_ns):
    browser = Client()
    browser.force_login(admin_ns)
    assert browser.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert browser.get("/admin/otp_static/staticdevice/").status_code == 404


# API tokens ----------------------------------------------------------------------------------


def ask_token(user, **otp):
    return APIClient().post(
        TOKEN, {"username": user.username, "password": PASSWORD, **otp}, format="json"
    )


def test_a_token_needs_the_code_of_an_account_with_a_factor(analyst_nu):
    key, codes = with_app(analyst_nu)
    missing = ask_token(analyst_nu)
    assert missing.status_code == 400 and list(missing.json()) == ["otp"]
    now = code(key)
    granted = ask_token(analyst_nu, otp=now)
    assert granted.status_code == 200
    replayed = ask_token(analyst_nu, otp=now)
    assert replayed.status_code == 400 and "used already" in replayed.json()["otp"][0]
    wrong = ask_token(analyst_nu, otp=code(key, -5))
    assert wrong.status_code == 400 and list(wrong.json()) == ["otp"]
    assert AuthToken.objects.filter(user=analyst_nu).count() == 1
    assert ask_token(analyst_nu, otp=codes[0]).status_code == 200  # a recovery code too
    failures = audited("mfa_failed", user=analyst_nu)
    assert [entry.detail for entry in failures] == [{"via": "token"}] * 2
    # A token issued with the code opens the API: it counts as verified.
    token = granted.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/pillars/").status_code == 200


def test_a_token_is_refused_until_a_factor_is_set_up_where_one_is_required(settings, analyst_nu):
    settings.MFA_REQUIRED = "all"
    refused = ask_token(analyst_nu, otp="123456")
    assert refused.status_code == 400
    assert "browser" in refused.json()["otp"][0]
    assert not AuthToken.objects.exists()
    settings.MFA_REQUIRED = "none"
    assert ask_token(analyst_nu).status_code == 200


def test_a_wrong_password_is_refused_before_the_code_is_read(analyst_nu):
    key, _ = with_app(analyst_nu)
    response = APIClient().post(
        TOKEN, {"username": analyst_nu.username, "password": "wrong", "otp": code(key)}
    )
    assert response.status_code == 400 and "otp" not in response.json()
    assert ask_token(analyst_nu, otp=code(key)).status_code == 200  # the code is still unused


def test_the_sign_in_and_second_factor_are_both_audited(analyst_nu):
    key, _ = with_app(analyst_nu)
    browser = signed_in(analyst_nu)
    browser.post(VERIFY, {"otp": "999999" if code(key) != "999999" else "888888"})
    browser.post(VERIFY, {"otp": code(key)})
    assert [a for (a,) in actions(analyst_nu) if a.startswith(("sign_in", "mfa"))] == [
        "sign_in",
        "mfa_failed",
    ]


# Settings ------------------------------------------------------------------------------------


def manage(*args, **env):
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_MFA", "DJANGO_WEB"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        capture_output=True,
        text=True,
        env={**environ, "DJANGO_DEBUG": "1", **env},
        cwd=django_settings.BASE_DIR,
    )


def test_the_settings_come_from_the_environment_and_are_checked():
    local = manage("diffsettings", "--all").stdout
    assert "MFA_REQUIRED = 'all'" in local  # unless said otherwise
    # Passkeys are bound to a host name: localhost while the site's URL is an address.
    assert "OTP_WEBAUTHN_RP_ID = 'localhost'" in local
    assert "OTP_WEBAUTHN_ALLOWED_ORIGINS = ['http://localhost:8000']" in local
    deployed = manage("diffsettings", "--all", DJANGO_SITE_URL="https://tracker.example.org")
    assert "OTP_WEBAUTHN_RP_ID = 'tracker.example.org'" in deployed.stdout
    assert "OTP_WEBAUTHN_ALLOWED_ORIGINS = ['https://tracker.example.org']" in deployed.stdout
    bad = manage("check", DJANGO_MFA_REQUIRED="some")
    assert bad.returncode != 0 and "DJANGO_MFA_REQUIRED" in bad.stderr
