"""Email leaves the accredited system: it carries nothing marked above
DJANGO_EMAIL_MAX_MARKING (NU by default) and says how many such items wait in the tracker
instead, and it goes by SMTP only over TLS (a system check, and send_digest refuses)."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.choices import Marking, Role
from engagements.models import Action
from partners.models import Partner
from reports.checks import mail_is_protected
from tests.factories import make_engagement, make_user
from tests.test_digest import mail_to, manage, recipient, send

pytestmark = pytest.mark.usefixtures("reference_data")


def days(n):
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def marked_work(db):
    """For a manager cleared NS, with Japan and Indonesia the only active partners: a gap
    never covered (NU: Indonesia, economic), and three items above NU: a gap dated by an NR
    engagement (Indonesia, HADR), an overdue action on an NC engagement and an unreviewed NS
    plan."""
    Partner.objects.exclude(code__in=["JPN", "IDN"]).update(active=False)
    make_engagement(
        partners=["JPN"], pillars=["dialogue", "security", "economic", "hadr"], start_date=days(-30)
    )
    make_engagement(partners=["IDN"], pillars=["dialogue", "security"], start_date=days(-30))
    make_engagement(
        title="Operation Quasar",
        partners=["IDN"],
        pillars=["hadr"],
        start_date=days(-300),
        marking="NR",
    )
    manager = recipient(Role.MANAGER, Marking.NS, "sam")
    talks = make_engagement(title="Operation Pulsar", marking="NC", start_date=days(-20))
    Action.objects.create(engagement=talks, title="Chase", owner=manager, due=days(-2))
    make_engagement(
        title="Operation Nova",
        status="planned",
        escalation_risk="high",
        start_date=days(5),
        marking="NS",
    )
    return manager


def test_email_carries_nothing_above_nu_by_default_and_counts_what_waits(marked_work):
    send()
    message, text, html = mail_to("sam")
    for secret in ("Quasar", "Pulsar", "Nova", "Chase", str(days(-300))):
        assert secret not in message.subject + text + html, secret
    assert "Indonesia (IDN), Economic Cooperation: last never" in text
    assert message.subject.startswith("NATO UNCLASSIFIED · ")
    assert text.count("NATO UNCLASSIFIED") == 3  # top, bottom, and the line below
    line = "3 items marked above NATO UNCLASSIFIED are not sent by email: read them in the tracker"
    assert line in text
    assert "3 items marked above NATO UNCLASSIFIED are not sent by email:" in html


def test_a_higher_ceiling_lets_more_through(marked_work, settings):
    settings.EMAIL_MAX_MARKING = "NC"
    send()
    message, text, _ = mail_to("sam")
    assert "Chase" in text and str(days(-300)) in text and "Nova" not in text
    assert message.subject.startswith("NATO CONFIDENTIAL · ")
    assert "1 item marked above NATO CONFIDENTIAL is not sent by email: read it" in text


def test_a_digest_with_only_marked_items_still_says_they_wait(db):
    Partner.objects.exclude(code="JPN").update(active=False)
    make_engagement(
        partners=["JPN"], pillars=["dialogue", "security", "economic", "hadr"], marking="NR"
    )
    recipient(Role.MANAGER, Marking.NR, "rita")
    send()
    message, text, _ = mail_to("rita")
    assert "GAPS" in text and "- Japan" not in text
    assert "4 items marked above NATO UNCLASSIFIED are not sent by email" in text


def smtp(settings, tls=False, ssl=False):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = tls, ssl


def test_smtp_without_tls_is_a_system_check_error(settings):
    assert mail_is_protected(None) == []  # the tests' backend keeps mail in memory
    smtp(settings)
    (error,) = mail_is_protected(None)
    assert error.id == "reports.E001" and "TLS" in error.msg
    smtp(settings, tls=True)
    assert mail_is_protected(None) == []
    smtp(settings, ssl=True)
    assert mail_is_protected(None) == []
    settings.EMAIL_MAX_MARKING = "SECRET"
    (error,) = mail_is_protected(None)
    assert error.id == "reports.E002"


def test_send_digest_refuses_smtp_without_tls(settings, db):
    recipient(Role.MANAGER, Marking.NU, "nuria")
    make_user(Role.ANALYST, Marking.NU)
    smtp(settings)
    with pytest.raises(CommandError, match="Nothing sent: EMAIL_URL sends mail by SMTP without"):
        call_command("send_digest")
    assert mail.outbox == []
    assert "Would send 1 digest(s)" in send("--dry-run")  # a dry run sends nothing


def test_manage_check_fails_on_smtp_without_tls():
    result = manage("check", EMAIL_URL="smtp://mail.example.org:25")
    assert result.returncode != 0 and "reports.E001" in result.stderr
    result = manage("check", EMAIL_URL="submission://mail.example.org")
    assert result.returncode == 0, result.stderr
