"""The weekly digest (manage.py send_digest): who gets it, what it holds per clearance,
no mail for nothing to read, and no marking leak. Django's locmem backend in tests."""

import calendar
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
from engagements.models import Action, Review
from partners.models import Partner
from reports import digest
from roadmap.models import Pillar, Target, Tip, TipStatusUpdate
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


@pytest.fixture(autouse=True)
def email_may_carry_every_marking(settings):
    """These tests are about each recipient's clearance: email may carry up to NS here.
    The ceiling itself (DJANGO_EMAIL_MAX_MARKING, NU by default): test_email_marking.py."""
    settings.EMAIL_MAX_MARKING = "NS"


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
        for secret in ("Pulsar", "Quasar"):  # no action or plan lists them here
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


def target(partner, pillar, minimum, months):
    return Target.objects.create(
        partner=Partner.objects.get(code=partner),
        pillar=Pillar.objects.get(code=pillar),
        minimum=minimum,
        months=months,
    )


def months_on(months):
    """The same day `months` months from today, clamped to the month's end (worked out
    here, independently of the report's month arithmetic)."""
    today = timezone.localdate()
    year, month = divmod(today.year * 12 + today.month - 1 + months, 12)
    return datetime.date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1]))


def digest_window_start():
    return months_on(-6) + datetime.timedelta(days=1)


def six_months_on():
    return months_on(6)


def section(text, heading):
    """The lines of a plain-text section, up to the blank line that ends it."""
    return text.split(heading)[1].split("\n\n")[0].splitlines()[1:]


def test_it_lists_targets_behind_overdue_actions_and_unreviewed_plans(only_two_partners):
    nuria = recipient(Role.MANAGER, Marking.NU, "nuria")
    sam = recipient(Role.ADMIN, Marking.NS, "sam")
    covered("JPN")  # NU, 30 days ago, every pillar
    talks = make_engagement(
        title="Tokyo talks", partners=["JPN"], pillars=["economic"], start_date=days(-10)
    )
    pulsar = make_engagement(
        title="Operation Pulsar",
        partners=["IDN"],
        pillars=["hadr"],
        start_date=days(-20),
        marking="NS",
    )
    target("JPN", "dialogue", 2, 6)  # 1 done (day -30), none planned: behind for both
    target("IDN", "hadr", 1, 6)  # the NS one: met for sam, behind (never) for nuria
    target("JPN", "economic", 2, 6)  # 2 done (days -30, -10): met for both
    for engagement, title, owner, due, status in [
        (talks, "Send the minutes", sam, days(-5), "open"),
        (talks, "Call the embassy", nuria, days(-2), "open"),
        (talks, "Due today", nuria, days(0), "open"),  # not overdue: due before today
        (talks, "Long done", nuria, days(-9), "done"),
        (talks, "Dropped", nuria, days(-9), "dropped"),
        (pulsar, "Pulsar follow-up", sam, days(-1), "open"),
    ]:
        Action.objects.create(
            engagement=engagement, title=title, owner=owner, due=due, status=status
        )
    for title, start, marking in [
        ("Yesterday's plan", -1, "NU"),  # started: not in the next 30 days
        ("Exercise at the edge", 30, "NU"),
        ("Exercise past the edge", 31, "NU"),
        ("Reviewed exercise", 5, "NU"),
        ("Operation Pulsar transit", 3, "NS"),
    ]:
        plan = make_engagement(
            title=title,
            status="planned",
            escalation_risk="high",
            partners=["JPN"] if marking == "NU" else ["IDN"],
            pillars=["security"],
            start_date=days(start),
            marking=marking,
        )
        if title.startswith("Reviewed"):
            Review.objects.create(engagement=plan, decision="concerns", note="Too close.")
    send()

    message, text, html = mail_to("nuria")
    assert section(text, "TARGETS BEHIND") == [
        f"- Indonesia (IDN), Humanitarian Assistance and Disaster Relief: at least 1 every 6 "
        f"months; 0 done since {digest_window_start()}, 0 planned to {six_months_on()}, "
        "last never",
        f"- Japan (JPN), Enhanced Dialogue and Cooperation: at least 2 every 6 months; 1 done "
        f"since {digest_window_start()}, 0 planned to {six_months_on()}, last {days(-30)}",
    ]
    link = "http://127.0.0.1:8000/engagements/"
    assert section(text, "OVERDUE ACTIONS") == [
        f"- due {days(-2)}: Call the embassy (nuria, you) · Tokyo talks [NU] {link}{talks.pk}/",
        f"- due {days(-5)}: Send the minutes (sam) · Tokyo talks [NU] {link}{talks.pk}/",
    ]
    [edge] = section(text, "HIGH-RISK PLANS WITHOUT A REVIEW")
    assert edge.startswith(f"- {days(30)}: Exercise at the edge (JPN) {link}")
    assert message.subject.startswith("NATO UNCLASSIFIED · ")
    assert "Pulsar" not in message.subject + text + html
    assert "Call the embassy</td><td>nuria (you)</td>" in html
    assert "Exercise at the edge</a> (JPN) — needs review" in html

    message, text, html = mail_to("sam")
    assert [line.split(":")[0] for line in section(text, "TARGETS BEHIND")] == [
        "- Japan (JPN), Enhanced Dialogue and Cooperation"
    ]
    assert [line.split(" · ")[0] for line in section(text, "OVERDUE ACTIONS")] == [
        f"- due {days(-5)}: Send the minutes (sam, you)",
        f"- due {days(-1)}: Pulsar follow-up (sam, you)",
        f"- due {days(-2)}: Call the embassy (nuria)",
    ]
    assert [line.split(" http")[0] for line in section(text, "HIGH-RISK PLANS")] == [
        f"- {days(3)}: Operation Pulsar transit (IDN)",
        f"- {days(30)}: Exercise at the edge (JPN)",
    ]
    assert message.subject.startswith("NATO SECRET · ")
    assert text.count("NATO SECRET") == 2 and html.count("NATO SECRET") == 2


@pytest.mark.parametrize("through", ["target", "action", "plan"])
def test_the_marking_counts_what_targets_actions_and_plans_draw_on(only_two_partners, through):
    """An NR engagement that sets no gap's date marks the digest NR once a target behind,
    an overdue action or an unreviewed plan draws on it."""
    rita = recipient(Role.MANAGER, Marking.NR, "rita")
    secret = make_engagement(
        partners=["JPN"],
        pillars=["dialogue"],
        start_date=days(-100),  # in the gap window: Japan's dialogue is no gap
        marking="NR",
        status="planned" if through == "plan" else "completed",
    )
    send()
    assert mail_to("rita")[0].subject.startswith("NATO UNCLASSIFIED · ")
    mail.outbox.clear()
    if through == "target":
        target("JPN", "dialogue", 2, 12)  # 1 done: behind
    elif through == "action":
        Action.objects.create(engagement=secret, title="Chase", owner=rita, due=days(-1))
    else:
        secret.escalation_risk = "high"
        secret.start_date = days(7)
        secret.save()
    send()
    assert mail_to("rita")[0].subject.startswith("NATO RESTRICTED · ")


def test_digest_query_count(only_two_partners, django_assert_num_queries):
    covered("JPN")
    hadr = make_engagement(partners=["IDN"], pillars=["hadr"], start_date=days(-300))
    user = recipient(Role.MANAGER, Marking.NU, "mia")
    for code in ["dialogue", "security", "hadr"]:
        target("IDN", code, 1, 6)
    for n in range(3):
        Action.objects.create(engagement=hadr, title="Do", owner=user, due=days(-n - 1))
        make_engagement(
            partners=["IDN", "JPN"], status="planned", escalation_risk="high", start_date=days(n)
        )
    # the recipient's groups (role); gaps: data stamp, summaries (months, days), pillars,
    # partners; overdue actions with their engagements and owners; plan: targets,
    # summaries of their windows (months, days), summaries for `last` (months, days); tip
    # board: data stamp, tips with their current update, their pillars, summaries
    # (months, days) for 12 and for 6 months; risks: engagements with their review,
    # partner links. (The marking comes with the numbers: no query of its own.)
    with django_assert_num_queries(21):
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
