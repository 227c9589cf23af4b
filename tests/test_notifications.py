"""Notifications: each kind fires once per event for the right people and nobody else,
none is shown about what its reader can no longer see, email respects the marking
ceiling, and watching works from the API and the pages."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone

from accounts.choices import Marking, Role
from engagements.models import Action, Engagement, Note
from engagements.services import save_engagement, save_note, save_record
from notifications.choices import EmailChoice
from notifications.models import Notification, Preference, Watch
from notifications.tasks import notify_due_actions, send_daily_emails
from partners.models import Partner
from tests.factories import api_client, make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def kinds(user):
    return sorted(
        (n.kind, n.text) for n in Notification.objects.restrict(user).order_by("at", "id")
    )


def only_kind(user, kind):
    return [n.text for n in Notification.objects.filter(recipient=user, kind=kind)]


def person(role=Role.ANALYST, clearance=Marking.NU, email=True):
    user = make_user(role, clearance)
    if email:
        user.email = f"{user.username}@example.org"
        user.save()
    return user


def change(user, engagement, **data):
    engagement.refresh_from_db()
    return save_engagement(user, data, engagement.pk, engagement.version)


def test_an_action_given_to_someone_else_tells_them_once():
    manager = person(Role.MANAGER, Marking.NS)
    analyst = person()
    other = person()
    engagement = make_engagement(title="Staff talks", created_by=manager)
    api = api_client(manager)
    created = api.post(
        f"/api/v1/engagements/{engagement.pk}/actions/",
        {"title": "Send minutes", "owner": analyst.username, "due": "2030-01-31"},
        format="json",
    )
    assert created.status_code == 201
    assert only_kind(analyst, "action_assigned") == [
        f"{manager.username} made you owner of “Send minutes” on “Staff talks”, due 31 Jan 2030."
    ]
    assert Watch.objects.filter(user=analyst, engagement=engagement).exists()
    action = Action.objects.get()
    # Other changes tell nobody; another owner is told.
    api.patch(f"/api/v1/actions/{action.pk}/", {"due": "2030-02-01"}, format="json")
    assert len(only_kind(analyst, "action_assigned")) == 1
    api.patch(f"/api/v1/actions/{action.pk}/", {"owner": other.username}, format="json")
    assert len(only_kind(other, "action_assigned")) == 1
    # Taking an action oneself tells nobody.
    save_record(
        manager, Action(engagement=engagement, title="Mine", owner=manager, due="2030-01-01")
    )
    assert only_kind(manager, "action_assigned") == []
    assert Notification.objects.filter(kind="action_assigned").count() == 2


def test_a_high_risk_plan_asks_the_managers_who_may_see_it_for_a_review():
    analyst = person(Role.ANALYST, Marking.NS)
    cleared, uncleared, writer_manager = (
        person(Role.MANAGER, Marking.NS),
        person(Role.MANAGER, Marking.NU),
        person(Role.MANAGER, Marking.NS),
    )
    admin = person(Role.ADMIN, Marking.NS)
    plan = make_engagement(
        title="Joint patrol",
        status="planned",
        escalation_risk="high",
        start_date=datetime.date(2030, 3, 1),
        marking="NR",
        created_by=analyst,
    )
    text = "“Joint patrol” is a high-risk plan that needs a review (starts 01 Mar 2030)."
    assert only_kind(cleared, "review_needed") == [text]
    assert only_kind(writer_manager, "review_needed") == [text]
    assert only_kind(uncleared, "review_needed") == []  # NU: may not see an NR plan
    assert only_kind(admin, "review_needed") == []  # managers review
    # A change that leaves the plan as it was asks nobody again; a new start date does.
    change(analyst, plan, title="Joint patrol")
    change(analyst, plan, summary="More detail")
    assert len(only_kind(cleared, "review_needed")) == 1
    change(writer_manager, plan, start_date=datetime.date(2030, 4, 1))
    assert len(only_kind(cleared, "review_needed")) == 2
    assert len(only_kind(writer_manager, "review_needed")) == 1  # not told of its own change
    # A low-risk engagement asks nobody.
    make_engagement(status="planned", escalation_risk="low", created_by=analyst)
    assert Notification.objects.filter(kind="review_needed").count() == 3


def test_watchers_hear_of_changes_by_others_only():
    creator = person(Role.ANALYST, Marking.NS)
    editor = person(Role.MANAGER, Marking.NS)
    watcher_nu = person(Role.ANALYST, Marking.NU)
    engagement = make_engagement(title="Port visit", created_by=creator)
    assert Watch.objects.filter(user=creator, engagement=engagement).exists()  # automatic
    api_client(watcher_nu).post(f"/api/v1/engagements/{engagement.pk}/watch/")
    change(creator, engagement, summary="Own change")
    assert only_kind(creator, "watched_changed") == []
    change(editor, engagement, summary="Someone else's")
    assert only_kind(creator, "watched_changed") == [f"{editor.username} changed “Port visit”."]
    assert len(only_kind(watcher_nu, "watched_changed")) == 2  # the creator's and the editor's
    # Raised above the NU watcher: the next change does not tell them.
    change(editor, engagement, marking="NS")
    change(creator, engagement, summary="Now secret")
    assert len(only_kind(watcher_nu, "watched_changed")) == 2
    assert only_kind(editor, "watched_changed") == []  # editing is not watching


def test_a_watched_partner_tells_of_a_change_made_in_the_api(admin_ns):
    analyst = person()
    response = api_client(analyst).post("/api/v1/partners/IDN/watch/")
    assert response.status_code == 201 and response.json() == {"watching": True}
    api_client(admin_ns).patch("/api/v1/partners/IDN/", {"aliases": "RI"}, format="json")
    assert only_kind(analyst, "watched_changed") == [
        f"{admin_ns.username} changed the partner Indonesia."
    ]
    assert api_client(analyst).delete("/api/v1/partners/IDN/watch/").status_code == 204
    api_client(admin_ns).patch("/api/v1/partners/IDN/", {"aliases": ""}, format="json")
    assert len(only_kind(analyst, "watched_changed")) == 1


def test_a_mention_tells_those_who_may_read_the_note(analyst_nu):
    writer = person(Role.ANALYST, Marking.NS)
    named, uncleared = person(Role.MANAGER, Marking.NS), person(Role.ANALYST, Marking.NU)
    engagement = make_engagement(title="Talks", created_by=writer)
    note = save_note(
        writer,
        Note(engagement=engagement),
        {"body": f"Readout for @{named.username} and @{uncleared.username}.", "marking": "NR"},
    )
    assert only_kind(named, "mentioned") == [
        f"{writer.username} mentioned you in a note on “Talks”."
    ]
    assert Watch.objects.filter(user=named, engagement=engagement).exists()
    assert only_kind(uncleared, "mentioned") == []  # the note is NR
    # An edit that mentions them again tells nobody twice; a new name is told.
    save_note(writer, note, {"body": f"@{named.username} and @{analyst_nu.username}"})
    assert len(only_kind(named, "mentioned")) == 1
    assert only_kind(analyst_nu, "mentioned") == []  # NU: the note is NR
    other = person()
    save_note(writer, Note(engagement=engagement), {"body": f"@{other.username}, see above."})
    assert len(only_kind(other, "mentioned")) == 1


def test_actions_due_are_told_once_a_day():
    owner = person()
    engagement = make_engagement(created_by=owner)
    today = timezone.localdate()
    for title, days in (("Tomorrow", 1), ("Late", -3), ("Later", 5)):
        save_record(
            owner,
            Action(
                engagement=engagement,
                title=title,
                owner=owner,
                due=today + datetime.timedelta(days=days),
            ),
        )
    done = save_record(
        owner, Action(engagement=engagement, title="Done", owner=owner, due=today, status="done")
    )
    assert done.pk
    assert notify_due_actions(today) == 2
    assert notify_due_actions(today) == 0  # the same day again
    texts = sorted(only_kind(owner, "action_due"))
    assert texts[0].startswith("Your action “Late”") and "is overdue" in texts[0]
    assert texts[1].endswith("is due tomorrow.")
    assert notify_due_actions(today + datetime.timedelta(days=1)) == 2  # the next day


def test_a_notification_about_what_was_raised_since_shows_nothing(client):
    owner = person(Role.ANALYST, Marking.NU)
    manager = person(Role.MANAGER, Marking.NS)
    engagement = make_engagement(title="Quasar talks", created_by=owner)
    save_record(
        manager,
        Action(engagement=engagement, title="Quasar follow-up", owner=owner, due="2030-01-01"),
    )
    assert Notification.objects.restrict(owner).count() == 1
    client.force_login(owner)
    assert ">1</span>" in client.get("/notifications/").content.decode()
    change(manager, engagement, marking="NS")
    api = api_client(owner)
    assert api.get("/api/v1/notifications/").json()["results"] == []
    page = client.get("/notifications/").content.decode()
    assert "Quasar" not in page and 'aria-label="1 unread"' not in page
    assert "Quasar" not in client.get("/").content.decode()
    assert api.post("/api/v1/notifications/read/", {"all": True}, format="json").json() == {
        "read": 0
    }


@pytest.mark.parametrize("email_max, carried", [("NU", False), ("NS", True)])
def test_email_carries_nothing_above_the_ceiling(settings, email_max, carried):
    settings.EMAIL_MAX_MARKING = email_max
    owner = person(Role.ANALYST, Marking.NS)
    Preference.objects.create(user=owner, email=EmailChoice.INSTANT)
    manager = person(Role.MANAGER, Marking.NS)
    secret = make_engagement(title="Pulsar talks", marking="NS", created_by=manager)
    open_ = make_engagement(title="Open workshop", created_by=manager)
    mail.outbox.clear()
    save_record(
        manager, Action(engagement=secret, title="Pulsar minutes", owner=owner, due="2030-01-01")
    )
    save_record(manager, Action(engagement=open_, title="Agenda", owner=owner, due="2030-01-01"))
    assert len(mail.outbox) == 2  # instant: one message per event
    secret_mail, open_mail = mail.outbox
    assert ("Pulsar" in secret_mail.body) is carried
    assert ("Pulsar" in secret_mail.subject) is False
    if not carried:
        assert "1 item above what email may carry (NATO UNCLASSIFIED) waits in the tracker" in (
            secret_mail.body
        )
        assert secret_mail.subject.startswith("NATO UNCLASSIFIED")
    else:
        assert secret_mail.subject.startswith("NATO SECRET")
    assert "Agenda" in open_mail.body and "Open workshop" in open_mail.body
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0
    unsubscribe = re.search(r"http://\S+/notifications/unsubscribe/\S+/", open_mail.body).group()
    assert open_mail.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"


def test_the_unsubscribe_link_asks_then_turns_email_off(client):
    from notifications.emails import unsubscribe_url

    user = person()
    Preference.objects.create(user=user, email=EmailChoice.INSTANT)
    path = unsubscribe_url(user).split("8000", 1)[-1]
    assert client.get(path).status_code == 200  # a mail scanner's GET changes nothing
    assert Preference.objects.get(user=user).email == EmailChoice.INSTANT
    assert client.post(path).status_code == 200
    assert Preference.objects.get(user=user).email == EmailChoice.NONE
    assert client.get("/notifications/unsubscribe/forged/").status_code == 404


def test_daily_email_gathers_the_unread_ones_and_none_sends_nothing():
    daily, never = person(), person()
    Preference.objects.create(user=never, email=EmailChoice.NONE)
    manager = person(Role.MANAGER, Marking.NS)
    engagement = make_engagement(title="Seminar", created_by=manager)
    for owner in (daily, never):
        for title in ("One", "Two"):
            save_record(
                manager, Action(engagement=engagement, title=title, owner=owner, due="2030-01-01")
            )
    assert mail.outbox == []  # nobody wants them one by one
    assert send_daily_emails() == {"sent": 1}
    (message,) = mail.outbox
    assert message.to == [daily.email] and "“One”" in message.body and "“Two”" in message.body
    assert send_daily_emails() == {"sent": 0}  # sent once


def test_read_one_or_all_from_the_api_and_the_page(client):
    owner = person()
    manager = person(Role.MANAGER, Marking.NS)
    engagement = make_engagement(created_by=manager)
    for title in ("A", "B", "C"):
        save_record(
            manager, Action(engagement=engagement, title=title, owner=owner, due="2030-01-01")
        )
    api = api_client(owner)
    first, *rest = api.get("/api/v1/notifications/").json()["results"]
    assert set(first) == {"id", "at", "kind", "text", "url", "read"}
    assert first["url"] == f"/engagements/{engagement.pk}/#actions" and not first["read"]
    assert api.post(
        "/api/v1/notifications/read/", {"ids": [first["id"]]}, format="json"
    ).json() == {"read": 1}
    unread = api.get("/api/v1/notifications/?unread=true").json()["results"]
    assert [n["id"] for n in unread] == [n["id"] for n in rest]
    # Someone else's ids are not theirs to read.
    other = api_client(person()).post(
        "/api/v1/notifications/read/", {"ids": [rest[0]["id"]]}, format="json"
    )
    assert other.json() == {"read": 0}
    assert api.post("/api/v1/notifications/read/", {}, format="json").status_code == 400
    client.force_login(owner)
    assert client.post("/notifications/read/", {"all": "1"}).status_code == 302
    assert Notification.objects.filter(recipient=owner, read_at__isnull=True).count() == 0


def test_the_page_sets_the_email_choice_and_watches(client):
    user = person()
    engagement = make_engagement(created_by=person(Role.ANALYST, Marking.NS))
    client.force_login(user)
    client.post("/notifications/preference/", {"email": "instant"})
    assert Preference.objects.get(user=user).email == "instant"
    client.post(f"/notifications/watch/engagements/{engagement.pk}/", {"watch": "1"})
    assert Watch.objects.filter(user=user, engagement=engagement).exists()
    assert "Watching: stop" in client.get(f"/engagements/{engagement.pk}/").content.decode()
    client.post(f"/notifications/watch/engagements/{engagement.pk}/", {"watch": "0"})
    assert not Watch.objects.filter(user=user, engagement=engagement).exists()
    client.post("/notifications/watch/partners/JPN/", {"watch": "1"})
    assert Watch.objects.filter(user=user, partner=Partner.objects.get(code="JPN")).exists()
    hidden = make_engagement(marking="NS", created_by=person(Role.ANALYST, Marking.NS))
    assert (
        client.post(f"/notifications/watch/engagements/{hidden.pk}/", {"watch": "1"}).status_code
        == 404
    )
    assert api_client(user).post(f"/api/v1/engagements/{hidden.pk}/watch/").status_code == 404


@pytest.mark.parametrize("size", [2, 12])
def test_the_list_costs_a_fixed_number_of_queries(client, django_assert_num_queries, size):
    owner = person()
    manager = person(Role.MANAGER, Marking.NS)
    engagement = make_engagement(created_by=manager)
    note = save_note(manager, Note(engagement=engagement), {"body": f"@{owner.username}"})
    assert note.pk
    for number in range(size):
        save_record(
            manager,
            Action(engagement=engagement, title=f"T{number}", owner=owner, due="2030-01-01"),
        )
    client.force_login(owner)
    # session, account, the header's count, the preference, the count and the page of rows
    with django_assert_num_queries(6):
        assert client.get("/notifications/").status_code == 200
    with django_assert_num_queries(2):  # the count, the rows with what they link to
        assert api_client(owner).get("/api/v1/notifications/").status_code == 200


def test_notifications_stay_with_the_write_that_made_them():
    """A refused write notifies nobody (the same transaction)."""
    manager = person(Role.MANAGER, Marking.NS)
    creator = person(Role.ANALYST, Marking.NS)
    engagement = make_engagement(created_by=creator)
    engagement.refresh_from_db()
    with pytest.raises(Exception):  # noqa: B017 - a rule the service refuses
        save_engagement(manager, {"partners": []}, engagement.pk, engagement.version)
    assert Notification.objects.count() == 0
    assert Engagement.objects.get(pk=engagement.pk).version == engagement.version


def test_a_text_written_from_a_higher_marking_stays_at_that_marking(settings):
    """The text quotes the title as it was: lowered and retitled since, the engagement no
    longer hides the old title, so the notification keeps the marking it was written at."""
    settings.EMAIL_MAX_MARKING = "NU"
    writer = person(Role.ANALYST, Marking.NS)
    watcher = person(Role.ANALYST, Marking.NC)
    Preference.objects.create(user=watcher, email=EmailChoice.DAILY)
    engagement = make_engagement(title="Harmless", marking="NC", created_by=writer)
    api_client(watcher).post(f"/api/v1/engagements/{engagement.pk}/watch/")
    change(writer, engagement, title="Operation Nightfall")
    change(writer, engagement, marking="NU", title="Harmless again")
    texts = [n.text for n in Notification.objects.restrict(watcher)]
    assert f"{writer.username} changed “Operation Nightfall”." in texts
    mail.outbox.clear()
    send_daily_emails()
    (message,) = mail.outbox
    assert "Nightfall" not in message.body + message.subject
    assert "1 item above what email may carry" in message.body
    assert "Harmless again" in message.body
    watcher.clearance = Marking.NU
    watcher.save()
    assert not any("Nightfall" in n.text for n in Notification.objects.restrict(watcher))


def test_a_mention_added_in_someone_elses_note_names_who_added_it():
    author = person(Role.ANALYST, Marking.NS)
    manager, named = person(Role.MANAGER, Marking.NS), person()
    engagement = make_engagement(title="Talks", created_by=author)
    note = save_note(author, Note(engagement=engagement), {"body": "Readout."})
    save_note(manager, note, {"body": f"Readout. @{manager.username} @{named.username}"})
    assert only_kind(manager, "mentioned") == []  # it wrote the mention itself
    assert only_kind(named, "mentioned") == [
        f"{manager.username} mentioned you in a note on “Talks”."
    ]


@pytest.mark.parametrize("sent", ["²", "1²", "99999999999999999999", "x"])
def test_odd_numbers_are_refused_not_a_500(client, sent):
    user = person()
    client.force_login(user)
    assert client.post("/notifications/read/", {"id": sent}).status_code == 302


def test_a_failed_send_is_tried_again_by_the_jobs_next_attempt(monkeypatch):
    from django.core.mail import EmailMessage

    from notifications.tasks import _send

    owner = person()
    Preference.objects.create(user=owner, email=EmailChoice.DAILY)
    manager = person(Role.MANAGER, Marking.NS)
    engagement = make_engagement(created_by=manager)
    save_record(manager, Action(engagement=engagement, title="A", owner=owner, due="2030-01-01"))

    def refuse(self, fail_silently=False):
        raise OSError("mail server away")

    monkeypatch.setattr(EmailMessage, "send", refuse)
    with pytest.raises(RuntimeError, match="mail server away"):
        send_daily_emails()
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 1
    monkeypatch.undo()
    assert _send(Notification.objects.filter(emailed_at__isnull=True), instant=False) == {"sent": 1}
