"""The audit trail: who read, downloaded, signed in or changed an account, when, from where,
with what outcome; append-only and hash-chained (`verify_audit` finds an edited or removed
entry); admins read it within their clearance (page and API)."""

import contextlib
import datetime
import io
import json
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from accounts import audit
from accounts.choices import Marking, Role
from accounts.models import AuditChain, AuditEntry
from tests.factories import PASSWORD, api_client, make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def signed_in(user):
    client = Client(REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="test browser")
    client.force_login(user)
    return client


def entries(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("sequence"))


def verify():
    """`manage.py verify_audit`: (exit code, what it said)."""
    try:
        call_command("verify_audit", stdout=(out := _Buffer()))
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.text


class _Buffer:
    text = ""

    def write(self, text, *args):
        self.text += text

    def flush(self):
        pass


# What is recorded --------------------------------------------------------------------


def test_a_read_of_an_engagement_page_api_and_history_is_recorded(analyst_ns):
    engagement = make_engagement(title="Staff talks", marking=Marking.NS)
    assert signed_in(analyst_ns).get(f"/engagements/{engagement.pk}/").status_code == 200
    api = api_client(analyst_ns)
    assert api.get(f"/api/v1/engagements/{engagement.pk}/").status_code == 200
    assert api.get(f"/api/v1/engagements/{engagement.pk}/history/").status_code == 200

    reads = entries(action="read")
    assert [entry.detail["what"] for entry in reads] == ["page", "api", "history"]
    page = reads[0]
    assert page.username == analyst_ns.username and page.user_id == analyst_ns.pk
    assert (page.object_type, page.object_id) == ("engagement", str(engagement.pk))
    assert page.marking == Marking.NS and page.outcome == "ok"
    assert page.address == "198.51.100.7"


def test_a_refused_read_records_nothing_and_reveals_nothing(analyst_nu):
    engagement = make_engagement(marking=Marking.NS)
    assert signed_in(analyst_nu).get(f"/engagements/{engagement.pk}/").status_code == 404
    assert not entries(action="read")


def test_sign_in_failure_and_sign_out_are_recorded():
    user = make_user(username="ana")
    browser = Client(REMOTE_ADDR="203.0.113.9")
    form = {"username": "ana", "password": "wrong", "accept_notice": "on"}
    assert browser.post("/accounts/login/", form).status_code == 200
    form["password"] = PASSWORD
    assert browser.post("/accounts/login/", form).status_code == 302
    assert browser.post("/accounts/logout/").status_code == 302

    actions = [(e.action, e.username, e.outcome, e.address) for e in entries(username="ana")]
    assert actions[-3:] == [
        ("sign_in_failed", "ana", "failed", "203.0.113.9"),
        ("sign_in", "ana", "ok", "203.0.113.9"),
        ("sign_out", "ana", "ok", "203.0.113.9"),
    ]
    assert entries(action="sign_in")[-1].user_id == user.pk


def test_an_api_token_sign_in_is_recorded():
    make_user(username="bo")
    response = api_client().post(
        "/api/v1/auth/token/", {"username": "bo", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert entries(action="sign_in")[-1].detail == {"via": "token"}


def test_account_changes_are_recorded_with_who_made_them(admin_ns):
    target = make_user(Role.ANALYST, Marking.NU, username="cy")
    admin = signed_in(admin_ns)
    response = admin.post(
        f"/admin/accounts/user/{target.pk}/password/",
        {"password1": "a-new-long-password-2", "password2": "a-new-long-password-2"},
    )
    assert response.status_code == 302
    target.refresh_from_db()
    target.is_active = False
    target.save()

    created, *changes = entries(object_type="user", object_id=str(target.pk))
    assert created.action == "account_created" and created.detail["set"]["clearance"] == "NU"
    details = [entry.detail for entry in changes]
    assert {"account": "cy", "groups added": ["analyst"]} in details
    password_set = next(e for e in changes if "password" in e.detail.get("changed", {}))
    assert password_set.username == admin_ns.username  # made by the admin, on its page
    assert changes[-1].detail["changed"] == {"is_active": [True, False]}


def test_every_entry_is_also_one_json_line_on_the_audit_logger(
    analyst_nu, caplog, django_capture_on_commit_callbacks
):
    engagement = make_engagement()
    client = signed_in(analyst_nu)
    with caplog.at_level(logging.INFO, logger="audit"):
        with django_capture_on_commit_callbacks() as pending:
            client.get(f"/engagements/{engagement.pk}/")
        assert not caplog.records  # not before the entry is committed
        for callback in pending:
            callback()
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "audit"]
    assert len(lines) == 1
    assert lines[0]["action"] == "read" and lines[0]["user"] == analyst_nu.username
    assert set(lines[0]) == {
        "id",
        "at",
        "user",
        "action",
        "object_type",
        "object_id",
        "marking",
        "address",
        "outcome",
        "detail",
    }


def test_an_entry_rolled_back_with_its_change_is_neither_stored_nor_logged(
    analyst_nu, caplog, django_capture_on_commit_callbacks
):
    before = AuditEntry.objects.count()
    with (
        caplog.at_level(logging.INFO, logger="audit"),
        django_capture_on_commit_callbacks(execute=True),
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        audit.record("account_changed", user=analyst_nu)
        raise RuntimeError("the change failed")
    assert AuditEntry.objects.count() == before
    assert not [r for r in caplog.records if r.name == "audit"]
    # The chain's end did not move: the next entry follows the last stored one.
    entry = audit.record("account_changed", user=analyst_nu)
    assert entry.sequence == before + 1
    call_command("verify_audit", stdout=io.StringIO())


# Reading it ----------------------------------------------------------------------------


def some_entries():
    nu = make_engagement(title="Open", marking=Marking.NU)
    ns = make_engagement(title="Secret", marking=Marking.NS)
    reader = make_user(Role.ANALYST, Marking.NS, username="reader")
    for engagement in (nu, ns):
        signed_in(reader).get(f"/engagements/{engagement.pk}/")
    return nu, ns


def test_admins_read_the_trail_within_their_clearance_api(admin_nu, admin_ns):
    nu, ns = some_entries()
    seen_by_nu = api_client(admin_nu).get("/api/v1/audit/", {"action": "read"}).json()
    assert [row["object_id"] for row in seen_by_nu["results"]] == [str(nu.pk)]
    seen_by_ns = api_client(admin_ns).get("/api/v1/audit/", {"action": "read"}).json()
    assert [row["object_id"] for row in seen_by_ns["results"]] == [str(ns.pk), str(nu.pk)]
    row = seen_by_ns["results"][0]
    assert set(row) == {
        "id",
        "at",
        "user",
        "action",
        "object_type",
        "object_id",
        "marking",
        "address",
        "outcome",
        "detail",
    }
    assert (row["user"], row["marking"], row["detail"]) == ("reader", "NS", {"what": "page"})


def test_the_audit_api_filters(admin_ns):
    nu, ns = some_entries()
    api = api_client(admin_ns)

    def ids(**filters):
        return [row["id"] for row in api.get("/api/v1/audit/", filters).json()["results"]]

    ns_read = AuditEntry.objects.get(action="read", object_id=str(ns.pk))
    assert ids(object_type="engagement", object_id=ns.pk) == [ns_read.pk]
    assert len(ids(user="reader", action="read")) == 2
    assert len(ids(user="reader")) == 4  # and their two sign-ins
    assert ids(user="nobody") == []
    assert ids(since=(ns_read.at + datetime.timedelta(seconds=1)).isoformat()) == []
    assert ns_read.pk in ids(until=(ns_read.at + datetime.timedelta(seconds=1)).isoformat())
    assert api.get("/api/v1/audit/", {"since": "not a date"}).status_code == 400


def test_the_audit_page_lists_within_clearance_and_the_engagement_links_to_it(admin_nu, admin_ns):
    nu, ns = some_entries()
    page = signed_in(admin_nu).get("/audit/", {"action": "read"}).content.decode()
    assert f"engagement {nu.pk}<" in page and f"engagement {ns.pk}<" not in page

    detail = signed_in(admin_ns).get(f"/engagements/{ns.pk}/").content.decode()
    link = f"/audit/?object_type=engagement&amp;object_id={ns.pk}"
    assert "Who read this" in detail and link in detail
    who = signed_in(admin_ns).get(link.replace("&amp;", "&")).content.decode()
    assert "reader" in who and f"engagement {ns.pk}<" in who


def test_only_admins_see_who_read_an_engagement(analyst_ns, manager_ns):
    engagement = make_engagement()
    for user in (analyst_ns, manager_ns):
        page = signed_in(user).get(f"/engagements/{engagement.pk}/").content.decode()
        assert "Who read this" not in page
        assert signed_in(user).get("/audit/").status_code == 403
        assert api_client(user).get("/api/v1/audit/").status_code == 403


def test_the_audit_list_costs_one_query(admin_ns, django_assert_num_queries):
    some_entries()
    api = api_client(admin_ns)
    api.get("/api/v1/audit/")  # the user's permissions, cached on the user from now on
    with django_assert_num_queries(1):  # the page of entries (permissions cached on the user)
        assert len(api.get("/api/v1/audit/").json()["results"]) >= 2


# Append-only and chained -----------------------------------------------------------------


def test_no_door_changes_or_deletes_an_entry(analyst_nu, admin_ns):
    signed_in(analyst_nu).get(f"/engagements/{make_engagement().pk}/")
    entry = AuditEntry.objects.get(action="read")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(outcome="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(PermissionError):
        entry.delete()
    entry.outcome = "x"
    with pytest.raises(PermissionError):
        entry.save()
    # Nor SQL (a database trigger), short of taking the trigger away.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditentry SET outcome = 'x' WHERE id = %s", [entry.pk])
    # The API has no write method; the admin has no page for it.
    api = api_client(admin_ns)
    assert api.post("/api/v1/audit/", {}).status_code == 405
    assert api.delete(f"/api/v1/audit/{entry.pk}/").status_code == 404
    assert signed_in(admin_ns).get("/admin/accounts/auditentry/").status_code == 404
    AuditEntry.objects.get(pk=entry.pk, outcome="ok")


def without_trigger(sql, params):
    """What someone with the database's keys could do: write past the trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE accounts_auditentry DISABLE TRIGGER accounts_auditentry_append_only"
            )
            cursor.execute(sql, params)
            cursor.execute(
                "ALTER TABLE accounts_auditentry ENABLE TRIGGER accounts_auditentry_append_only"
            )
        else:
            cursor.execute("DROP TRIGGER accounts_auditentry_append_only")
            cursor.execute(sql, params)


def three_reads(user):
    engagement = make_engagement()
    for _ in range(3):
        signed_in(user).get(f"/engagements/{engagement.pk}/")
    return entries(action="read")


def test_verify_audit_passes_an_intact_trail(analyst_nu):
    three_reads(analyst_nu)
    code, said = verify()
    assert code == 0 and "intact" in said


def test_an_appended_entry_is_hashed_by_the_one_recipe_verify_audit_follows(analyst_nu):
    """On PostgreSQL the append computes the hash in SQL: it must be computed_hash()'s,
    for awkward content too, alone and inside a write's transaction."""
    awkward = {"filters": 'q="a\\b"&x=é€', "nested": {"sequence": 1, "z": [None, 1.5]}}
    alone = audit.record("download", user=analyst_nu, object_type="x", detail=awkward)
    with transaction.atomic():
        inside = audit.record("read", user=analyst_nu, object_type="y", object_id=7)
    stored = list(AuditEntry.objects.filter(pk__in=[alone.pk, inside.pk]).order_by("sequence"))
    assert [entry.hash for entry in stored] == [alone.hash, inside.hash]
    assert all(entry.hash == entry.computed_hash() for entry in stored)
    assert stored[1].previous_hash == stored[0].hash
    assert AuditChain.objects.get(pk=1).previous_hash == stored[0].hash
    code, said = verify()
    assert code == 0 and "intact" in said


def test_verify_audit_finds_an_edited_entry(analyst_nu):
    _, edited, _ = three_reads(analyst_nu)
    without_trigger(
        "UPDATE accounts_auditentry SET username = 'someone-else' WHERE id = %s", [edited.pk]
    )
    code, said = verify()
    assert code == 1
    assert f"entry {edited.sequence} (id {edited.pk}) was changed" in said


def test_verify_audit_finds_a_deleted_entry(analyst_nu):
    _, removed, _ = three_reads(analyst_nu)
    without_trigger("DELETE FROM accounts_auditentry WHERE id = %s", [removed.pk])
    code, said = verify()
    assert code == 1
    assert f"entry {removed.sequence}, before entry {removed.sequence + 1}, is missing" in said


def test_verify_audit_finds_the_newest_entries_removed(analyst_nu):
    *_, last = three_reads(analyst_nu)
    without_trigger("DELETE FROM accounts_auditentry WHERE id = %s", [last.pk])
    code, said = verify()
    assert code == 1 and f"entries after {last.sequence - 1} are missing" in said


def test_prune_audit_removes_old_entries_oldest_first_and_keeps_the_chain(analyst_nu, settings):
    settings.AUDIT_DAYS = 30
    reads = three_reads(analyst_nu)
    old = timezone.now() - datetime.timedelta(days=31)
    without_trigger(
        "UPDATE accounts_auditentry SET at = %s WHERE sequence <= %s", [old, reads[0].sequence]
    )
    # Rewriting `at` broke those entries' hashes; prune takes them away, so the rest holds.
    call_command("prune_audit", stdout=_Buffer())
    assert not AuditEntry.objects.filter(sequence__lte=reads[0].sequence).exists()
    assert AuditEntry.objects.filter(pk__in=[r.pk for r in reads[1:]]).count() == 2
    assert AuditChain.objects.get(pk=1).pruned_sequence == reads[0].sequence
    assert verify()[0] == 0


def test_a_refusal_is_recorded(analyst_nu):
    assert signed_in(analyst_nu).get("/audit/").status_code == 403
    assert api_client(analyst_nu).get("/api/v1/audit/").status_code == 403
    denied = entries(action="denied")
    assert [(e.username, e.outcome, e.detail["path"]) for e in denied] == [
        (analyst_nu.username, "denied", "/audit/"),
        (analyst_nu.username, "denied", "/api/v1/audit/"),
    ]
