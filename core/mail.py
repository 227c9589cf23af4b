"""Whether mail may leave as configured: it leaves the accredited system, so only over
TLS (reports.checks makes this a system check; every sender asks it before sending)."""

from django.conf import settings

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
