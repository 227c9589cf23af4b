"""System checks of the mail the tracker sends (the digest, notifications): it leaves the accredited
system, so it goes only over TLS, and carries nothing above a marking that must exist."""

from django.conf import settings
from django.core.checks import Error, register

from accounts.choices import Marking
from core.mail import insecure_mail


@register("mail")
def mail_is_protected(app_configs, **kwargs):
    errors = []
    reason = insecure_mail()
    if reason:
        errors.append(Error(reason, id="reports.E001"))
    if settings.EMAIL_MAX_MARKING not in Marking.values:
        errors.append(
            Error(
                f"DJANGO_EMAIL_MAX_MARKING is {settings.EMAIL_MAX_MARKING!r}: use one of "
                f"{', '.join(Marking.values)}.",
                id="reports.E002",
            )
        )
    return errors
