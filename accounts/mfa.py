"""The second factor: an authenticator app (TOTP, RFC 6238: 30 s, 6 digits), passkeys
(WebAuthn) and ten single-use recovery codes, on django-otp and django-otp-webauthn.

They sit on Django's own sign-in: the password (with django-axes' lockout) comes first, on
the existing sign-in page; then `SecondFactorMiddleware` keeps the session to these pages
until the second factor is passed, or set up where `MFA_REQUIRED` asks for one. API tokens
ask for the code themselves (`accounts.api.TokenView`). Each code works once: a TOTP code
at a time step after the last one accepted (django-otp's `last_t`), a recovery code is
deleted when used, and every wrong one counts as a failed sign-in for django-axes.
"""

import secrets
import time
from base64 import b32encode

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import (
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from accounts import audit
from accounts.choices import Role
from accounts.lockout import lockout_response

VERIFY, ENROL = "verify", "enrol"
RECOVERY_CODES = 10
# Recovery codes: ten characters from an alphabet without look-alikes (about 49 bits each),
# shown as "abcde-fghjk".
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# In the session: the policy under which this session was found to need no second-factor
# step (so that the middleware queries nothing on later requests), the secret of an
# authenticator app being set up, and recovery codes still to be shown (once).
SETTLED, TOTP_KEY, NEW_CODES = "_mfa_settled", "_mfa_totp_key", "_mfa_new_codes"


# The policy --------------------------------------------------------------------------------


def must_have_factor(user):
    """Whether MFA_REQUIRED asks `user` to have a second factor: everyone ("all"), admins
    ("admins": the admin role, superusers included) or nobody ("none")."""
    policy = settings.MFA_REQUIRED
    return policy == "all" or (policy == "admins" and user.role == Role.ADMIN)


def first_factor(user):
    """The user's confirmed authenticator app or else a passkey, or None (recovery codes
    alone are not a factor: they go when the last factor goes)."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).first()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).first()
    )


def has_factor(user):
    return first_factor(user) is not None


def pending(request, user=None, fresh=False):
    """What the signed-in session must do before anything else: VERIFY (its user has a
    factor and has not used it in this session), ENROL (its user must have one and has
    none) or None.

    A session found to need neither remembers it under the policy in force (`SETTLED`), so
    that later requests ask the database nothing (a factor set up in another session counts
    at the next sign-in); `fresh` asks again (the second-factor
    pages do: a factor set up in another session counts there at once)."""
    user = user or request.user
    if not user.is_authenticated or getattr(user, "otp_device", None) is not None:
        return None
    if not fresh and request.session.get(SETTLED) == _settled_as(user):
        return None
    if has_factor(user):
        request.session.pop(SETTLED, None)
        return VERIFY
    if must_have_factor(user):
        return ENROL
    request.session[SETTLED] = _settled_as(user)
    return None


def _settled_as(user):
    """What a settled session stays settled under: the policy, and under "admins" whether
    the user is one (a role given meanwhile asks again)."""
    policy = settings.MFA_REQUIRED
    return f"admins/{user.role == Role.ADMIN}" if policy == "admins" else policy


@receiver(user_logged_in, dispatch_uid="accounts.mfa.signed_in")
def signed_in(sender, request, user, **kwargs):
    """A sign-in with the password asks for the second factor again, even in a session
    that passed it before. (API tokens ask for it themselves.)"""
    if request is None or not hasattr(request, "session") or request.path.startswith("/api/"):
        return
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    request.session.pop(SETTLED, None)
    user.otp_device = None
    pending(request, user)  # settled now, when nothing is needed: no query later


class SecondFactorMiddleware:
    """After authentication: a session with a second-factor step pending reaches only the
    second-factor pages, the passkey endpoints, signing out, the idle ping and the pages
    that need no sign-in; any other page sends it to the step (with `next`), and the API
    answers 403. A request with an API token is left to DRF: the token was issued after
    its own `otp` check, and the session is not used."""

    OPEN = {"logout", "session-ping", "api:token", "api:logout"}
    OPEN_NAMESPACES = {"mfa", "otp_webauthn"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        api = request.path_info.startswith("/api/")
        if api and request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("token "):
            return None
        step = pending(request)
        if step is None:
            return None
        match = request.resolver_match
        if match is not None and (
            match.view_name in self.OPEN or match.namespace in self.OPEN_NAMESPACES
        ):
            return None
        if not api and not getattr(view_func, "login_required", True):
            return None  # the sign-in page, a calendar feed read by its token
        if api:
            return JsonResponse({"detail": STEP_MESSAGES[step]}, status=403)
        return redirect(step_url(step, request.get_full_path()))


STEP_MESSAGES = {
    VERIFY: "Finish signing in with your second factor first: /accounts/mfa/verify/.",
    ENROL: "Your account needs a second factor: set one up at /accounts/mfa/ first.",
}


def step_url(step, next_url):
    name = "mfa:verify" if step == VERIFY else "mfa:index"
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


# Codes -------------------------------------------------------------------------------------


def normalise(code):
    """A code as typed or pasted: spaces and dashes dropped, lower case."""
    return "".join(code.split()).replace("-", "").lower()


def _stored(code):
    """How a recovery code is kept: an HMAC of it keyed by SECRET_KEY, so that a copy of
    the database alone opens nothing."""
    return salted_hmac("accounts.mfa.recovery", code, algorithm="sha256").hexdigest()[:16]


def check_code(user, code):
    """(device, None) when `code` (an authenticator app's code, or a recovery code) is
    right now, using it up; (None, seconds) when the device asks to wait after wrong codes
    (django-otp's doubling delay); (None, None) otherwise."""
    code = normalise(code)
    if len(code) == 6 and code.isdigit():
        devices, token = TOTPDevice.objects, code
    else:
        devices, token = StaticDevice.objects, _stored(code)
    with transaction.atomic():
        for device in devices.devices_for_user(user, confirmed=True).select_for_update():
            allowed, why = device.verify_is_allowed()
            if not allowed:
                until = why.get("locked_until") if why else None
                wait = max(1, int((until.timestamp() - time.time()) + 1)) if until else 1
                return None, wait
            if device.verify_token(token):
                return device, None
    return None, None


def wrong_code(request, user, via):
    """A wrong code: an audit entry, and a failed sign-in of the account from this address
    for django-axes, so that with wrong passwords it closes the account's sign-in after
    AXES_FAILURE_LIMIT. True when that happened now."""
    audit.record(
        "mfa_failed",
        request=request,
        user=user,
        outcome="failed",
        object_type="user",
        object_id=user.pk,
        detail={"via": via},
    )
    AxesProxyHandler.user_login_failed(
        sender=SecondFactorMiddleware, credentials=_credentials(user), request=request
    )
    return bool(getattr(request, "axes_locked_out", False))


def _credentials(user):
    return {settings.AXES_USERNAME_FORM_FIELD: user.get_username()}


def make_recovery_codes(user):
    """Ten new recovery codes for `user` (the old ones stop working); returned in clear
    this once, stored only as HMACs."""
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10)) for _ in range(10)]
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(
            user=user, defaults={"name": "Recovery codes", "confirmed": True}
        )
        device.token_set.all().delete()
        StaticToken.objects.bulk_create(
            [StaticToken(device=device, token=_stored(code)) for code in codes]
        )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _first_factor_set_up(request, user, factor):
    """After a factor is set up: the audit entry, and recovery codes if there are none."""
    audit.record(
        "mfa_enrolled",
        request=request,
        object_type="user",
        object_id=user.pk,
        detail={"account": user.get_username(), "factor": factor},
    )
    if not StaticToken.objects.filter(device__user=user).exists():
        request.session[NEW_CODES] = make_recovery_codes(user)


def remove_factors(account, request, by):
    """Remove every second factor of `account` (app, passkeys, recovery codes) and record
    it; returns the kinds removed. Its sessions that passed one ask again (for a factor
    to be set up, when the policy requires one)."""
    removed = []
    with transaction.atomic():
        for kind, model in [
            ("totp", TOTPDevice),
            ("passkey", WebAuthnCredential),
            ("recovery_codes", StaticDevice),
        ]:
            found = model.objects.filter(user=account)
            if found.exists():
                found.delete()
                removed.append(kind)
        if removed:
            _record_removal(request, account, removed, by)
    return removed


def _record_removal(request, account, removed, by):
    audit.record(
        "mfa_removed",
        request=request,
        object_type="user",
        object_id=account.pk,
        detail={"account": account.get_username(), "removed": removed, "by": by},
    )


def factors_of(user):
    """The user's factors, in words (the user admin shows them)."""
    said = []
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        said.append("authenticator app")
    passkeys = WebAuthnCredential.objects.filter(user=user, confirmed=True).count()
    if passkeys:
        said.append(f"{passkeys} passkey{'s' if passkeys > 1 else ''}")
    codes = StaticToken.objects.filter(device__user=user).count()
    if said:
        said.append(f"{codes} recovery code{'' if codes == 1 else 's'} left")
    return ", ".join(said) or "none"


# Pages -------------------------------------------------------------------------------------


class CodeForm(forms.Form):
    otp = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


def _next(request):
    """Where to go once done: `next` when it is on this site, else the dashboard."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def index(request):
    """The user's second factors: set up an authenticator app (its secret as a QR code
    and as text, confirmed by one code) or a passkey, remove them, make new recovery
    codes. New recovery codes are shown here once."""
    user = request.user
    step = pending(request, fresh=True)
    if step == VERIFY:
        return redirect(step_url(VERIFY, request.get_full_path()))
    app = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    form = CodeForm(request.POST if request.method == "POST" else None)
    done = f"{reverse('mfa:index')}?{urlencode({'next': _next(request)})}"
    context = {"step": step, "app": app, "form": form, "next": _next(request)}
    if app is None:
        key = request.session.setdefault(TOTP_KEY, random_hex(20))  # the same until confirmed
        if form.is_bound and form.is_valid():
            device = _confirm_app(user, key, normalise(form.cleaned_data["otp"]))
            if device is not None:
                del request.session[TOTP_KEY]
                otp_login(request, device)
                _first_factor_set_up(request, user, "totp")
                messages.success(request, "Your authenticator app is set up.")
                return redirect(done)
            form.add_error(
                "otp", "That is not the code your app shows now. Check the app and try again."
            )
        unsaved = TOTPDevice(user=user, key=key)
        image = qrcode.make(unsaved.config_url, image_factory=qrcode.image.svg.SvgPathFillImage)
        context["qr"] = mark_safe(image.to_string(encoding="unicode"))  # drawn by qrcode
        context["secret"] = b32encode(unsaved.bin_key).decode().rstrip("=")
    elif form.is_bound:
        return redirect("mfa:index")
    context["passkeys"] = WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by(
        "created_at"
    )
    context["codes_left"] = StaticToken.objects.filter(device__user=user).count()
    context["new_codes"] = request.session.pop(NEW_CODES, None)
    return render(request, "accounts/mfa.html", context)


def _confirm_app(user, key, code):
    """The new authenticator app's device, when `code` is its current code (or the one
    before or after: clocks differ, and typing takes time); that code cannot be used
    again. One code says too little to learn the app's drift from: none is kept."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = TOTP(bytes.fromhex(key), step=30, digits=6)
    if not totp.verify(int(code), tolerance=1):
        return None
    return TOTPDevice.objects.create(
        user=user,
        name="Authenticator app",
        key=key,
        confirmed=True,
        last_t=totp.t(),
    )


def verify(request):
    """After the password: a code from the authenticator app or a recovery code (field
    `otp`), or a passkey."""
    user = request.user
    step = pending(request, fresh=True)
    if step != VERIFY:
        return redirect(step_url(ENROL, _next(request)) if step == ENROL else _next(request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        if AxesProxyHandler.is_locked(request, _credentials(user)):
            return _locked_out(request, user)
        device, wait = check_code(user, form.cleaned_data["otp"])
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = StaticToken.objects.filter(device=device).count()
                messages.warning(
                    request,
                    f"You used a recovery code: {left} left. Make new ones on the "
                    "second factor page if you are running out.",
                )
            return redirect(_next(request))
        if wait is not None:
            form.add_error("otp", f"Too many wrong codes: wait {wait} seconds, then try again.")
        elif wrong_code(request, user, via="page"):
            return _locked_out(request, user)
        else:
            form.add_error(
                "otp",
                "That code is not right, or it was used already. Enter the code your app "
                "shows now, or an unused recovery code.",
            )
    passkeys = WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    return render(
        request,
        "accounts/mfa_verify.html",
        {"form": form, "next": _next(request), "passkeys": passkeys},
    )


def _locked_out(request, user):
    """Too many failures for this account from this address: the session ends, and sign-in
    stays closed for the cool-off (as after wrong passwords)."""
    logout(request)
    return lockout_response(request, None, _credentials(user))


@require_POST
def remove(request):
    """Remove one of the user's factors (`device`: "totp" or a passkey's id). With the
    last one go the recovery codes."""
    user = request.user
    if pending(request, fresh=True) == VERIFY:
        return redirect(step_url(VERIFY, reverse("mfa:index")))
    current = request.user.otp_device  # what this session passed
    chosen = request.POST.get("device", "")
    if chosen == "totp":
        found, kind = TOTPDevice.objects.filter(user=user), "totp"
    elif chosen.isdigit():
        found, kind = WebAuthnCredential.objects.filter(user=user, pk=chosen), "passkey"
    else:
        found, kind = TOTPDevice.objects.none(), ""
    with transaction.atomic():
        removed = found.delete()[0] > 0
        if removed:
            left = first_factor(user)
            if left is None:
                StaticDevice.objects.filter(user=user).delete()
            _record_removal(request, user, [kind], "self")
    if not removed:
        messages.info(request, "That factor was already removed.")
        return redirect("mfa:index")
    if left is not None and not type(current).objects.filter(pk=current.pk).exists():
        otp_login(request, left)  # this session passed a factor: it stays passed
    messages.success(
        request,
        "The factor is removed."
        if left
        else "The factor is removed, with your recovery codes: you have no second factor now.",
    )
    return redirect("mfa:index")


@require_POST
def recovery_codes(request):
    """Ten new recovery codes (the old ones stop working), shown once."""
    if pending(request, fresh=True) is not None or not has_factor(request.user):
        return redirect("mfa:index")
    request.session[NEW_CODES] = make_recovery_codes(request.user)
    audit.record(
        "mfa_enrolled",
        request=request,
        object_type="user",
        object_id=request.user.pk,
        detail={"account": request.user.get_username(), "factor": "recovery_codes"},
    )
    return redirect("mfa:index")


# Passkeys: django-otp-webauthn's endpoints, with the audit trail where one is registered
# or fails to verify.


class PasskeyRegistered(CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)  # a failure raises: its JSON answer
        _first_factor_set_up(self.request, self.request.user, "passkey")
        return response


class PasskeyUsed(CompleteCredentialAuthenticationView):
    def handle_exception(self, exc):
        response = super().handle_exception(exc)  # raises what is not a WebAuthn refusal
        user = self.request.user
        if user.is_authenticated:
            audit.record(
                "mfa_failed",
                request=self.request,
                outcome="failed",
                object_type="user",
                object_id=user.pk,
                detail={"via": "passkey", "why": str(exc)[:200]},
            )
        return response
