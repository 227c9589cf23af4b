"""Every URL the project serves, for every kind of user, against a table of expected
answers. A URL with no row here fails the test: no door can be added unguarded.

Pages answer 302 (to sign in) for anonymous users; the API answers 401. Admin URLs follow
one rule, checked for every one of them: nobody but staff gets in (signed in without staff
rights: the app's 403 page; signed out: to the sign-in page).
"""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from engagements.models import Action, Note
from engagements.services import save_attachment, save_note
from engagements.tasks import start_export
from jobs.choices import JobKind
from jobs.models import Job
from notifications.models import Notification
from partners.models import Partner
from people.services import save_person
from roadmap.models import Pillar, Target
from tests.factories import make_engagement

pytestmark = pytest.mark.usefixtures("reference_data")

ROLES = ["anonymous", "inactive", "no_role", "analyst_nu", "analyst_ns", "manager", "admin"]


def answers(anonymous, analyst_nu, analyst_ns=None, manager=None, admin=None, no_role=403):
    """Expected status per role; later roles default to the one before. A deactivated
    user is signed out (answered like anonymous); a signed-in user without a role gets
    403 everywhere unless said otherwise."""
    analyst_ns = analyst_ns or analyst_nu
    manager = manager or analyst_ns
    admin = admin or manager
    statuses = [anonymous, anonymous, no_role, analyst_nu, analyst_ns, manager, admin]
    return dict(zip(ROLES, statuses, strict=True))


PAGE = answers(302, 200)
API = answers(401, 200)

# GET on every named URL. The engagement used is marked NU and was logged by analyst_nu.
EXPECTED_GET = {
    "dashboard": PAGE,
    "favicon": answers(302, 302, no_role=302),  # to the static file, for everyone
    "login": answers(200, 200, no_role=200),
    "logout": answers(302, 405, no_role=405),  # sign-out is a POST
    "password_change": PAGE,
    "engagements:list": PAGE,
    "engagements:create": PAGE,
    "engagements:import": PAGE,
    "engagements:import-template": PAGE,
    "engagements:import-codes": PAGE,
    # The rows with problems of the user's own waiting file: none here.
    "engagements:import-errors": answers(302, 404),
    "engagements:detail": PAGE,
    "engagements:edit": PAGE,
    # Analysts delete only their own: analyst_ns did not log it.
    "engagements:delete": answers(302, 200, 403, 200, 200),
    "saved_views:list": PAGE,
    "saved_views:create": answers(302, 405),  # POST only
    "saved_views:delete": answers(302, 405),  # POST only
    "saved_views:update": answers(302, 405),  # POST only
    "saved_views:default": answers(302, 405),  # POST only
    "partners:list": PAGE,
    "partners:detail": PAGE,
    "partners:brief": PAGE,
    "roadmap:index": PAGE,
    "roadmap:tip": PAGE,
    "reports:coverage": PAGE,
    "reports:trend": PAGE,
    "reports:gaps": PAGE,
    "reports:tips": PAGE,
    "calendar:index": PAGE,
    "calendar:reset": answers(302, 405, no_role=403),  # POST only
    # No sign-in: the token is the key, and an unknown token is 404 for everyone.
    "calendar:feed": answers(404, 404, no_role=404),
    "api:api-root": API,
    "api:token": answers(405, 405, no_role=405),  # POST only
    "api:logout": answers(401, 405),  # POST only, with the credentials it revokes
    "api:schema": API,
    "api:docs": API,
    "api:pillar-list": API,
    "api:pillar-detail": API,
    "api:tip-list": API,
    "api:tip-detail": API,
    "api:tip-status": API,
    "api:partner-list": API,
    "api:partner-detail": API,
    "api:engagement-list": API,
    "api:engagement-detail": API,
    "api:engagement-history": API,
    "api:report-coverage": API,
    "api:report-trend": API,
    "api:report-gaps": API,
    # Targets, the plan, follow-up actions and escalation reviews.
    "reports:plan": PAGE,
    "reports:risks": PAGE,
    "actions": PAGE,
    "engagements:add-action": answers(302, 405),  # POST only
    "engagements:add-review": answers(302, 405),  # POST only
    "api:target-list": API,
    "api:target-detail": API,
    "api:report-plan": API,
    "api:report-risks": API,
    "api:action-list": API,
    "api:action-detail": API,
    "api:engagement-actions": API,
    "api:engagement-reviews": API,
    # Sessions, and the audit trail: admins only.
    "sessions": PAGE,
    "session-ping": answers(302, 405),  # POST only
    "audit": answers(302, 403, 403, 403, 200),
    "api:audit-list": answers(401, 403, 403, 403, 200),
    # The second factor (the suite runs with MFA_REQUIRED=none, and nobody has one here:
    # the verify page sends on to the dashboard). tests/test_mfa.py has the rest.
    "mfa:index": PAGE,
    "mfa:verify": answers(302, 302),
    "mfa:remove": answers(302, 405),  # POST only
    "mfa:recovery_codes": answers(302, 405),  # POST only
    "otp_webauthn:credential-registration-begin": answers(302, 405),  # POST only
    "otp_webauthn:credential-registration-complete": answers(302, 405),
    "otp_webauthn:credential-authentication-begin": answers(302, 405),
    "otp_webauthn:credential-authentication-complete": answers(302, 405),
    "otp_webauthn:js-i18n-catalog": PAGE,
    # A background job is its starter's (analyst_nu's here): 404 for everyone else.
    "jobs:detail": answers(302, 200, 404, 404, 404),
    "api:job-detail": answers(401, 200, 404, 404, 404),
    "engagements:export-download": answers(302, 200, 404, 404, 404),  # its starter's only
    # Notes (the one used: NU, on the NU engagement, written by analyst_nu): read by
    # everyone who sees it, changed by its author, managers and admins.
    "api:engagement-notes": API,
    "api:partner-notes": API,
    "api:note-detail": API,
    "engagements:add-note": answers(302, 405),  # POST only
    "partners:add-note": answers(302, 405),  # POST only
    "notes:edit": answers(302, 200, 404, 200, 200),
    "notes:delete": answers(302, 405),  # POST only
    "search": PAGE,
    "api:search": API,
    "api:partner-timeline": API,
    # Files (the one used: NU, on the NU engagement, uploaded by analyst_nu).
    "api:engagement-attachments": API,
    "api:attachment-download": API,
    "engagements:add-attachment": answers(302, 405),  # POST only
    "engagements:delete-attachment": answers(302, 405),  # POST only
    # People (the one used: NU, entered by analyst_nu).
    "people:list": PAGE,
    "people:create": PAGE,
    "people:detail": PAGE,
    "people:edit": PAGE,
    "people:delete": answers(302, 200, 403, 200, 200),  # asks first; analysts: their own
    "api:person-list": API,
    "api:person-detail": API,
    # Notifications: each user's own (the one used is analyst_nu's); watching.
    "notifications:list": PAGE,
    "notifications:read": answers(302, 405),  # POST only
    "notifications:preference": answers(302, 405),  # POST only
    "notifications:watch-engagement": answers(302, 405),  # POST only
    "notifications:watch-partner": answers(302, 405),  # POST only
    # No sign-in: the signed token is the key; a forged one is 404 for everyone.
    "notifications:unsubscribe": answers(404, 404, no_role=404),
    "api:notification-list": API,
    "api:notification-detail": answers(401, 200, 404, 404, 404),
    "api:notification-read": answers(401, 405),  # POST only
    "api:engagement-watch": answers(401, 405),  # POST and DELETE only
    "api:partner-watch": answers(401, 405),  # POST and DELETE only
    # Bulk edit (tests/test_bulk_edit.py has the outcomes).
    "engagements:bulk": answers(302, 405),  # POST only
    "api:engagement-bulk": answers(401, 405),  # POST only
}

# Writes that only some roles may make (the status says who).
EXPECTED_WRITES = [
    ("post", "roadmap:tip", {"status": "on_track"}, answers(302, 403, 403, 302, 302)),
    ("post", "api:tip-status", {"status": "on_track"}, answers(401, 403, 403, 201, 201)),
    ("patch", "api:partner-detail", {"notes": "x"}, answers(401, 403, 403, 403, 200)),
    (
        "post",
        "api:partner-list",
        {"code": "NEW", "name": "New", "kind": "state", "region": "oceania"},
        answers(401, 403, 403, 403, 201),
    ),
    ("delete", "api:engagement-detail", {"version": 1}, answers(401, 204, 403, 204, 204)),
    ("post", "calendar:reset", {}, answers(302, 302, no_role=403)),
    # Targets: managers and admins (an inactive target, so that each role's may stand).
    (
        "post",
        "reports:plan",
        {"partner": "#JPN", "pillar": "#dialogue", "minimum": 1, "months": 6},
        answers(302, 403, 403, 302, 302),
    ),
    (
        "post",
        "api:target-list",
        {"partner": "NZL", "pillar": "hadr", "minimum": 1, "months": 6, "active": False},
        answers(401, 403, 403, 201, 201),
    ),
    ("patch", "api:target-detail", {"minimum": 2}, answers(401, 403, 403, 200, 200)),
    ("delete", "api:target-detail", None, answers(401, 403, 403, 204, 204)),
    # Actions: anyone who sees the engagement adds one and changes one; analysts delete
    # those they created (the action was created by analyst_nu).
    (
        "post",
        "api:engagement-actions",
        {"title": "Send minutes", "owner": "@analyst_nu", "due": "2030-01-31"},
        answers(401, 201),
    ),
    (
        "post",
        "engagements:add-action",
        {"title": "Send minutes", "owner": "#analyst_nu", "due": "2030-01-31"},
        answers(302, 302),
    ),
    ("patch", "api:action-detail", {"status": "done"}, answers(401, 200)),
    ("delete", "api:action-detail", None, answers(401, 204, 403, 204, 204)),
    ("post", "actions", {"action": "#action", "status": "done"}, answers(302, 302)),
    # Reviews: managers and admins.
    (
        "post",
        "api:engagement-reviews",
        {"decision": "cleared", "note": "Proportionate."},
        answers(401, 403, 403, 201, 201),
    ),
    ("post", "engagements:add-review", {"decision": "concerns"}, answers(302, 403, 403, 302, 302)),
    # An upload without a file: the page again, saying so (no role: refused).
    ("post", "engagements:import", {}, answers(302, 200)),
    # Notes: everyone with a role writes one; its author, managers and admins change it.
    ("post", "api:engagement-notes", {"body": "Readout", "marking": "NU"}, answers(401, 201)),
    ("post", "api:partner-notes", {"body": "Readout", "marking": "NU"}, answers(401, 201)),
    ("patch", "api:note-detail", {"body": "Edited"}, answers(401, 200, 403, 200, 200)),
    ("delete", "api:note-detail", None, answers(401, 204, 403, 204, 204)),
    ("post", "engagements:add-note", {"body": "Readout", "marking": "NU"}, answers(302, 302)),
    ("post", "partners:add-note", {"body": "Readout", "marking": "NU"}, answers(302, 302)),
    ("post", "notes:edit", {"body": "Edited", "marking": "NU"}, answers(302, 302, 404, 302, 302)),
    ("post", "notes:delete", {}, answers(302, 302, 404, 302, 302)),
    # Files: their uploader, managers and admins delete them.
    ("post", "engagements:delete-attachment", {}, answers(302, 302, 404, 302, 302)),
    # People: everyone with a role enters and changes them; analysts delete their own.
    ("post", "api:person-list", {"name": "Counterpart"}, answers(401, 201)),
    ("patch", "api:person-detail", {"title": "Director", "version": 1}, answers(401, 200)),
    ("delete", "api:person-detail", {"version": 1}, answers(401, 204, 403, 204, 204)),
    (
        "post",
        "people:create",
        {
            "name": "Counterpart",
            "marking": "NU",
            "affiliations-TOTAL_FORMS": 0,
            "affiliations-INITIAL_FORMS": 0,
        },
        answers(302, 302),
    ),
    ("post", "people:delete", {"version": 1}, answers(302, 302, 403, 302, 302)),
    # Notifications and watching: everyone with a role, for themselves.
    ("post", "api:notification-read", {"all": True}, answers(401, 200)),
    ("post", "notifications:read", {"all": "1"}, answers(302, 302)),
    ("post", "notifications:preference", {"email": "instant"}, answers(302, 302)),
    ("post", "api:engagement-watch", {}, answers(401, 201)),
    ("delete", "api:partner-watch", {}, answers(401, 204)),
    ("post", "notifications:watch-engagement", {"watch": "1"}, answers(302, 302)),
    ("post", "notifications:watch-partner", {"watch": "1"}, answers(302, 302)),
    # Bulk edit: everyone who edits engagements (nothing ticked here: said, then the list).
    ("post", "engagements:bulk", {"status": "completed"}, answers(302, 302)),
    ("post", "api:engagement-bulk", {"items": [], "set": {}}, answers(401, 400)),
    # Anyone with a role saves views of their own (then goes to the list).
    ("post", "saved_views:create", {"name": "Mine", "query": ""}, answers(302, 302)),
    # Deleting is for the view's owner: another's (or none) is 404.
    ("post", "saved_views:delete", {}, answers(302, 404)),
]


def walk(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if pattern.namespace and namespace:
                inner = f"{namespace}:{pattern.namespace}"
            yield from walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            if pattern.name is None:
                # Only the admin's catch-all is unnamed; a page of ours always has a name.
                assert namespace == "admin", f"unnamed URL pattern: {pattern.pattern}"
                continue
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, pattern


def url_for(name, pattern, objects):
    params = set(pattern.pattern.regex.groupindex)
    owner = {
        "api:target-detail": "target",
        "api:action-detail": "action",
        "api:job-detail": "job",
        "jobs:detail": "job",
        "engagements:export-download": "export",
        "api:note-detail": "note",
        "notes:edit": "note",
        "notes:delete": "note",
        "api:attachment-download": "attachment",
        "engagements:delete-attachment": "attachment",
        "people:detail": "person",
        "people:edit": "person",
        "people:delete": "person",
        "api:person-detail": "person",
        "api:notification-detail": "notification",
    }.get(name, "engagement")
    values = {
        "pk": objects[owner].pk,
        "job_id": objects[owner].pk,
        "number": 1,
        "code": "security" if name.startswith("api:pillar") else "JPN",
        "token": "0" * 64,
        "format": "csv" if name == "engagements:import-template" else "json",
    }
    return reverse(name, kwargs={key: values[key] for key in params})


@pytest.fixture
def users(inactive, no_role, analyst_nu, analyst_ns, manager_ns, admin_ns):
    """The conftest cast by the names of the table's columns (ROLES)."""
    return {
        "inactive": inactive,
        "no_role": no_role,
        "analyst_nu": analyst_nu,
        "analyst_ns": analyst_ns,
        "manager": manager_ns,
        "admin": admin_ns,
    }


def status_for(client, users, role, method, url, data=None):
    client.logout()
    if role != "anonymous":
        client.force_login(users[role])
    if url.startswith("/api/") and data is not None:
        return getattr(client, method)(
            url, json.dumps(data), content_type="application/json"
        ).status_code
    return getattr(client, method)(url, data).status_code


def make_objects(users):
    """An NU engagement logged by analyst_nu, an action of it that analyst_nu created and
    owns, a target, a job analyst_nu started and the spreadsheet of another."""
    engagement = make_engagement(created_by=users["analyst_nu"])
    owner = users["analyst_nu"]
    return {
        "engagement": engagement,
        "action": Action.objects.create(
            engagement=engagement,
            title="Follow up",
            owner=owner,
            due="2030-01-01",
            created_by=owner,
        ),
        "target": Target.objects.create(
            partner=Partner.objects.get(code="KOR"),
            pillar=Pillar.objects.get(code="hadr"),
            minimum=1,
            months=12,
            active=False,
        ),
        "job": Job.objects.create(
            kind=JobKind.DIGEST, task="reports.tasks.send_digest", started_by=owner
        ),
        "export": start_export(owner, "start_before=&format=xlsx"),
        "note": save_note(owner, Note(engagement=engagement), {"body": "Readout"}),
        "attachment": save_attachment(
            owner, engagement.pk, SimpleUploadedFile("minutes.txt", b"Minutes")
        ),
        "person": save_person(owner, {"name": "Dewi Lestari"}),
        "notification": Notification.objects.create(
            recipient=owner, kind="mentioned", text="Mentioned", engagement=engagement
        ),
    }


def form_data(data, users, objects):
    """Placeholders in a row's data: "@user" its username, "#user" its id, "#action" the
    action's id, "#CODE" a partner's or pillar's id."""

    def value(item):
        if not isinstance(item, str) or not item or item[0] not in "@#":
            return item
        key = item[1:]
        if item[0] == "@":
            return users[key].username
        if key in users:
            return users[key].pk
        if key in objects:
            return objects[key].pk
        found = Partner.objects.filter(code=key).first() or Pillar.objects.get(code=key)
        return found.pk

    return None if data is None else {key: value(item) for key, item in data.items()}


def test_every_url_has_a_row_and_answers_as_expected(client, users):
    objects = make_objects(users)
    named = [(name, pattern) for name, pattern in walk(get_resolver().url_patterns)]
    site = [(name, pattern) for name, pattern in named if not name.startswith("admin:")]
    missing = {name for name, _ in site} - set(EXPECTED_GET)
    assert not missing, f"URLs without a row in the authorization table: {sorted(missing)}"
    mismatches = []
    for name, pattern in site:
        url = url_for(name, pattern, objects)
        for role in ROLES:
            got = status_for(client, users, role, "get", url)
            if got != EXPECTED_GET[name][role]:
                mismatches.append((name, url, role, got, EXPECTED_GET[name][role]))
    assert not mismatches


def test_anonymous_pages_go_to_sign_in(client):
    response = client.get(reverse("engagements:list"))
    assert response.url == "/accounts/login/?next=/engagements/"
    assert client.get("/api/v1/engagements/").status_code == 401


@pytest.mark.parametrize("method, name, data, expected", EXPECTED_WRITES)
def test_writes_by_role(client, users, method, name, data, expected):
    for role in ROLES:
        # A fresh object per attempt, so one role's delete does not hide the next answer.
        objects = make_objects(users)
        pattern = dict(walk(get_resolver().url_patterns))[name]
        url = url_for(name, pattern, objects)
        if name == "api:partner-list":
            data = {**data, "code": f"N{ROLES.index(role)}"}
        sent = form_data(data, users, objects)
        assert status_for(client, users, role, method, url, sent) == expected[role], (name, role)


def test_every_admin_url_is_for_staff_only(client, users):
    admin_urls = [
        (n, p) for n, p in walk(get_resolver().url_patterns) if n and n.startswith("admin:")
    ]
    assert len(admin_urls) > 50
    for name, pattern in admin_urls:
        regex = pattern.pattern.regex
        if regex.groupindex:
            kwargs = {key: "engagements" if key == "app_label" else "1" for key in regex.groupindex}
            url = reverse(name, kwargs=kwargs)
        else:
            url = reverse(name, args=["1"] * regex.groups)
        if name in ("admin:login", "admin:logout", "admin:jsi18n"):
            continue
        for role in ("anonymous", "inactive", "no_role", "analyst_ns", "manager"):
            client.logout()
            if role != "anonymous":
                client.force_login(users[role])
            response = client.get(url)
            if role in ("no_role", "analyst_ns", "manager"):  # signed in, not staff: 403
                assert response.status_code == 403, (name, role)
                continue
            assert response.status_code == 302, (name, role)
            assert re.match(r"^/(admin|accounts)/login/", response.url), (name, role)
