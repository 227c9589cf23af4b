"""The weekly digest (manage.py send_digest): who gets it, what it holds per clearance,
no mail for nothing to read, and no marking leak. Django's locmem backend in tests."""

import datetime
import io
import os
import smtplib
import subprocess
import sys

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.choices import Marking, Role
from accounts.models import User
from partners.models import Partner
from roadmap import digest
from roadmap.models import Tip, TipStatusUpdate
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def days(n):
    return timezone.localdate() + datetime.timedelta(days=n)


def recipient(role, clearance, name, email=True):
    user = make_user(role, clearance, username=name)
    if email:
        user.email = f"{name}@example.org"
        user.save()
    return user


def send(*args):
    out = io.StringIO()
    call_command("send_digest", *args, stdout=out)
    return out.getvalue()


def mail_to(name):
    (message,) = [m for m in mail.outbox if m.to == [f"{name}@example.org"]]
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    return message, message.body, html


@pytest.fixture
def only_two_partners(db):
    """Every partner inactive but Japan and Indonesia: eight partner-pillar pairs."""
    Partner.objects.exclude(code__in=["JPN", "IDN"]).update(active=False)


def covered(partner, marking="NU"):
    make_engagement(
        partners=[partner],
        pillars=["dialogue", "security", "economic", "hadr"],
        start_date=days(-30),
        marking=marking,
    )


def test_it_lists_gaps_and_flagged_tips_through_each_recipients_clearance(only_two_partners):
    covered("JPN")
    # Indonesia: economic covered by an NS engagement only, HADR last 300 days ago (NR).
    make_engagement(
        title="Operation Pulsar",
        partners=["IDN"],
        pillars=["economic", "dialogue", "security"],
        tips=[3],
        start_date=days(-20),
        marking="NS",
    )
    make_engagement(
        title="Operation Quasar",
        partners=["IDN"],
        pillars=["hadr"],
        start_date=days(-300),
        marking="NR",
    )
    TipStatusUpdate.objects.create(tip=Tip.objects.get(number=3), status="on_track")
    recipient(Role.MANAGER, Marking.NU, "nuria")
    recipient(Role.ADMIN, Marking.NS, "sam")
    recipient(Role.MANAGER, Marking.NR, "rita")

    assert "Sent 3 digest(s); 0 recipient(s) had nothing to read." in send()

    # Cleared NU: all four Indonesian pillars are gaps, never covered; tip 3 says on track
    # with no engagement it may see in 6 months.
    message, text, html = mail_to("nuria")
    assert message.subject.startswith("NATO UNCLASSIFIED · ")
    for pillar in (
        "Enhanced Dialogue and Cooperation",
        "Shared Security Concerns",
        "Economic Cooperation",
        "Humanitarian Assistance and Disaster Relief",
    ):
        assert f"Indonesia (IDN), {pillar}: last never" in text
    assert "Japan" not in text
    assert "Tip 3, Promote Economic Cooperation: On track — status without evidence" in text
    assert text.count("NATO UNCLASSIFIED") == 2
    assert "Indonesia</a></td><td>Economic Cooperation</td><td>never</td>" in html
    assert "status without evidence" in html

    # Cleared NS: only the HADR gap, last 300 days ago; tip 3 has its evidence.
    message, text, html = mail_to("sam")
    gap_lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert gap_lines == [
        f"- Indonesia (IDN), Humanitarian Assistance and Disaster Relief: last {days(-300)}"
    ]
    assert "Tip 3" not in text
    # It draws on the NR engagement that sets that date: marked NR (not NS: the NS one
    # closes gaps that are therefore not listed).
    assert message.subject.startswith("NATO RESTRICTED · ")
    assert f"<td>{days(-300)}</td>" in html

    # Cleared NR: economic, dialogue and security are gaps; HADR last 300 days ago.
    message, text, _ = mail_to("rita")
    assert len([line for line in text.splitlines() if line.startswith("- Indonesia")]) == 4
    assert f"Humanitarian Assistance and Disaster Relief: last {days(-300)}" in text
    assert message.subject.startswith("NATO RESTRICTED · ")

    for name in ("nuria", "sam", "rita"):
        message, text, html = mail_to(name)
        for secret in ("Pulsar", "Quasar"):  # titles never travel in a digest
            assert secret not in text + html + message.subject


def test_no_marking_leak_to_a_recipient_cleared_nu(only_two_partners):
    covered("JPN")
    covered("IDN", marking="NS")
    make_engagement(
        title="Operation Nebula",
        partners=["JPN"],
        pillars=["hadr"],
        start_date=days(-400),
        marking="NC",
    )
    recipient(Role.MANAGER, Marking.NU, "nuria")
    send()
    message, text, html = mail_to("nuria")
    everything = message.subject + text + html
    assert "NATO SECRET" not in everything and "NATO CONFIDENTIAL" not in everything
    assert days(-30).isoformat() not in everything and days(-400).isoformat() not in everything
    assert "Nebula" not in everything
    assert "Indonesia (IDN), Economic Cooperation: last never" in text


def test_nobody_gets_an_empty_digest(only_two_partners):
    covered("JPN")
    covered("IDN", marking="NR")
    recipient(Role.MANAGER, Marking.NR, "rita")
    recipient(Role.MANAGER, Marking.NU, "nuria")
    output = send()
    assert "Sent 1 digest(s); 1 recipient(s) had nothing to read." in output
    assert [m.to for m in mail.outbox] == [["nuria@example.org"]]


def test_only_active_managers_and_admins_with_an_address_get_one(only_two_partners):
    recipient(Role.MANAGER, Marking.NU, "mia")
    recipient(Role.ADMIN, Marking.NU, "ada")
    recipient(Role.ANALYST, Marking.NS, "ann")
    recipient(Role.MANAGER, Marking.NS, "noemail", email=False)
    User.objects.filter(pk=recipient(Role.ADMIN, Marking.NS, "gone").pk).update(is_active=False)
    roleless = recipient(Role.MANAGER, Marking.NS, "roleless")
    roleless.groups.clear()
    send()
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.org", "mia@example.org"]


def test_dry_run_prints_and_sends_nothing(only_two_partners):
    recipient(Role.MANAGER, Marking.NU, "mia")
    output = send("--dry-run")
    assert mail.outbox == []
    assert "To: mia@example.org" in output
    assert "Subject: NATO UNCLASSIFIED · Engagement tracker digest" in output
    assert "Japan (JPN), Economic Cooperation: last never" in output
    assert "Would send 1 digest(s)" in output


def test_a_failed_delivery_is_reported_and_the_others_still_go(only_two_partners, monkeypatch):
    recipient(Role.MANAGER, Marking.NU, "first")
    recipient(Role.MANAGER, Marking.NU, "second")
    send_one = EmailMultiAlternatives.send

    def refuse_first(message, *args, **kwargs):
        if message.to == ["first@example.org"]:
            raise smtplib.SMTPRecipientsRefused({"first@example.org": (550, b"no such user")})
        return send_one(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse_first)
    with pytest.raises(CommandError, match="Not sent to first <first@example.org>"):
        send()
    assert [m.to for m in mail.outbox] == [["second@example.org"]]


def test_a_long_list_of_gaps_links_to_the_report(db):
    recipient(Role.MANAGER, Marking.NU, "mia")
    active = Partner.objects.filter(active=True).count()
    send()
    _, text, _ = mail_to("mia")
    assert len([line for line in text.splitlines() if line.startswith("- ")]) == 25
    more = active * 4 - 25
    assert f"…and {more} more: http://127.0.0.1:8000/reports/gaps/" in text


def test_create_user_takes_an_email(monkeypatch):
    monkeypatch.setenv("DJANGO_USER_PASSWORD", "a-long-test-password-1")
    out = io.StringIO()
    call_command(
        "create_user", "mai", "--role", "manager", "--email", "mai@example.org", stdout=out
    )
    assert "email mai@example.org" in out.getvalue()
    assert User.objects.get(username="mai").email == "mai@example.org"
    with pytest.raises(CommandError, match="not an email address"):
        call_command("create_user", "bad", "--role", "manager", "--email", "nope")


def test_digest_query_count(only_two_partners, django_assert_num_queries):
    covered("JPN")
    make_engagement(partners=["IDN"], pillars=["hadr"], start_date=days(-300))
    user = recipient(Role.MANAGER, Marking.NU, "mia")
    # the recipient's groups (role); gaps: data stamp, summaries (months, days), pillars,
    # partners; tip board: data stamp, tips with their current update, their pillars,
    # summaries (months, days) for 12 and for 6 months; the marking.
    with django_assert_num_queries(14):
        assert digest.message_for(user) is not None


@pytest.mark.parametrize(
    "url, expected",
    [
        ("", "django.core.mail.backends.console.EmailBackend localhost 25 False tracker@localhost"),
        (
            "submission://me:p%40ss@mail.example.org?_default_from_email=t@example.org",
            "django.core.mail.backends.smtp.EmailBackend mail.example.org 587 True t@example.org",
        ),
    ],
)
def test_mail_settings_come_from_email_url(url, expected):
    settings = "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, "
    settings += "s.EMAIL_PORT, s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL)"
    result = manage("shell", "-c", settings, EMAIL_URL=url)
    assert result.stdout.strip().splitlines()[-1] == expected


def test_an_unknown_email_url_is_a_clear_error():
    result = manage("check", EMAIL_URL="pigeon://loft")
    assert result.returncode != 0
    assert "EMAIL_URL: unknown scheme in 'pigeon'" in result.stderr


def manage(*args, **environ):
    env = {**os.environ, "DJANGO_DEBUG": "1", **environ}
    env.pop("DJANGO_DEFAULT_FROM_EMAIL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], capture_output=True, text=True, env=env
    )
