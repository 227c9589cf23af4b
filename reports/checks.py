"""System checks of the mail the tracker sends (the digest): it leaves the accredited
system, so it goes only over TLS, and carries nothing above a marking that must exist."""

from django.conf import settings
from django.core.checks import Error, register

from accounts.choices import Marking

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def insecure_mail():
    """Why mail may not be sent as configured, or None. Only the SMTP backend sends over a
    network (console, file, memory and dummy keep the messages here)."""
    if settings.EMAIL_BACKEND == SMTP_BACKEND and not (
        settings.EMAIL_USE_TLS or settings.EMAIL_USE_SSL
    ):
        return (
            "EMAIL_URL sends mail by SMTP without TLS: use submission:// (STARTTLS) or "
            "add ?tls=True (STARTTLS) or ?ssl=True (TLS from the start) to smtp://."
        )
    return None


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
