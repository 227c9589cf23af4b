"""Background jobs (jobs/): partner changes applied to the reports by a job, the jobs API,
retries, a job picked up again after a lost worker, and one run by a real worker process.

Jobs run in place here (django-tasks' immediate backend, tests/conftest.py), except where a
test says otherwise: the dummy backend keeps a job queued, and the last test runs one
through `manage.py worker` on the database backend."""

import datetime
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import AuditEntry
from engagements import summaries, tasks
from engagements.models import Engagement
from engagements.services import delete_engagement, save_engagement
from jobs.choices import JobKind, JobStatus
from jobs.models import Job
from jobs.services import job_task, requeue_abandoned, start
from partners.models import Membership, Partner
from roadmap.models import Pillar
from tests.factories import api_client, make_engagement, make_partner

pytestmark = pytest.mark.usefixtures("reference_data")

D = datetime.date
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def exact():
    """check_summaries finds no difference (it raises CommandError on one)."""
    out = io.StringIO()
    try:
        call_command("check_summaries", stdout=out)
    except CommandError:
        return False
    return "Summaries are exact" in out.getvalue()


def japan_engagements():
    make_engagement(partners=["JPN"], start_date=D(2025, 3, 4))
    make_engagement(partners=["JPN", "KOR"], pillars=["security"], start_date=D(2025, 5, 30))
    make_engagement(partners=["AUS"], start_date=D(2025, 4, 1))  # never moves


@pytest.fixture
def owner_job(analyst_nu):
    return Job.objects.create(
        kind=JobKind.REGROUP,
        task="engagements.tasks.regroup",
        subject="Japan",
        status=JobStatus.RUNNING,
        progress=40,
        started_by=analyst_nu,
    )


# The partner API and the admin --------------------------------------------------------


def test_a_partner_change_answers_with_its_job_and_leaves_numbers_exact(admin_ns):
    japan_engagements()
    api = api_client(admin_ns)
    response = api.patch("/api/v1/partners/JPN/", {"active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["active"] is False
    job = Job.objects.get(pk=response.json()["job"])
    assert (job.kind, job.status, job.progress, job.started_by) == (
        JobKind.REGROUP,
        JobStatus.DONE,
        100,
        admin_ns,
    )
    assert job.subject == "Japan"
    assert job.result == {"months": 3}  # March to May 2025
    assert exact()
    # Its owner reads it through the API.
    assert api.get(f"/api/v1/jobs/{job.pk}/").json() == {
        "id": job.pk,
        "kind": "regroup",
        "status": "done",
        "progress": 100,
        "result": {"months": 3},
    }


def test_a_change_that_moves_no_number_starts_no_job(admin_ns):
    japan_engagements()
    response = api_client(admin_ns).patch(
        "/api/v1/partners/JPN/", {"notes": "Met in March."}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["job"] is None
    created = api_client(admin_ns).post(
        "/api/v1/partners/",
        {"code": "NEW", "name": "New partner", "kind": "state", "region": "oceania"},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["job"] is None  # no engagement yet: nothing to move
    assert not Job.objects.exists()


def test_the_admin_links_to_the_progress_of_the_job_it_started(client, admin_ns):
    japan_engagements()
    japan = Partner.objects.get(code="JPN")
    client.force_login(admin_ns)
    response = client.post(f"/admin/partners/partner/{japan.pk}/deactivate/", follow=True)
    job = Job.objects.get()
    assert job.started_by == admin_ns
    assert f'href="/jobs/{job.pk}/"' in response.content.decode()
    page = client.get(f"/jobs/{job.pk}/")
    assert page.status_code == 200
    assert "Done" in page.content.decode()
    assert "Refresh" not in page  # an ended job's page stops reloading


def test_a_membership_change_is_applied_by_a_job(admin_ns):
    make_engagement(partners=["TLS"], start_date=D(2024, 6, 1))
    membership = Membership.objects.get(member__code="TLS", organization__code="ASEAN")
    membership.joined = D(2024, 7, 1)  # the engagement no longer rolls up into ASEAN
    membership.save()
    assert Job.objects.get().status == JobStatus.DONE
    assert exact()
    membership.delete()
    assert Job.objects.filter(status=JobStatus.DONE).count() == 2
    assert exact()


# While a change is being applied -------------------------------------------------------


def test_the_coverage_report_says_a_change_is_being_applied(client, manager_ns, settings):
    japan_engagements()
    settings.TASKS = DUMMY  # queued, and nothing runs it
    japan = Partner.objects.get(code="JPN")
    japan.region = "global"
    japan.save()
    job = Job.objects.get()
    assert job.status == JobStatus.QUEUED
    client.force_login(manager_ns)
    page = client.get("/reports/coverage/").content.decode()
    assert "Being applied to these numbers: a change to Japan." in page
    assert not exact()  # the region groups still count Japan where it was

    tasks.regroup.call(job.pk)  # what a worker does with it

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert "Being applied" not in client.get("/reports/coverage/").content.decode()
    assert exact()


def test_the_regroup_is_idempotent_and_a_lost_workers_job_runs_again(settings):
    japan_engagements()
    settings.TASKS = DUMMY
    japan = Partner.objects.get(code="JPN")
    japan.kind = "international_org"
    japan.save()
    job = Job.objects.get()
    tasks.regroup.call(job.pk)
    after_once = summaries.stored_all()
    assert exact()
    # Its worker died half-way (the job left running, untouched for longer than the
    # lease): a worker starting queues it again, and running it again changes nothing.
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        updated_at=timezone.now() - datetime.timedelta(seconds=settings.JOBS_LEASE_SECONDS + 1),
    )
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    assert requeue_abandoned() == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert summaries.stored_all() == after_once
    assert exact()


@pytest.mark.parametrize(
    "change",
    [("active", False), ("region", "global"), ("kind", "international_org")],
    ids=["deactivated", "region", "kind"],
)
def test_writes_made_while_a_change_waits_for_its_job_come_out_exact(settings, admin_ns, change):
    """A write moves the summaries by what it changed, counted under the directory as it is
    now, while the buckets of the groups the change moves are still counted under the old
    one: those are the job's to count again, and once it has run every number is exact."""
    japan_engagements()
    settings.TASKS = DUMMY
    japan = Partner.objects.get(code="JPN")
    setattr(japan, *change)
    japan.save()
    job = Job.objects.get()
    first, second = Engagement.objects.filter(partners__code="JPN").order_by("pk")
    delete_engagement(admin_ns, first.pk, first.version)
    save_engagement(admin_ns, {"start_date": D(2025, 6, 2)}, second.pk, second.version)
    save_engagement(
        admin_ns,
        {
            "title": "Later",
            "kind": "staff_talks",
            "start_date": D(2025, 3, 4),
            "partners": [japan],
            "pillars": list(Pillar.objects.filter(code="security")),
        },
    )
    tasks.regroup.call(job.pk)
    assert exact()


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["in order", "the later first"])
def test_two_changes_applied_in_either_order_leave_the_same_numbers(settings, order):
    japan_engagements()
    settings.TASKS = DUMMY
    japan = Partner.objects.get(code="JPN")
    japan.active = False
    japan.save()
    japan.active, japan.region = True, "global"
    japan.save()
    jobs = list(Job.objects.order_by("pk"))
    assert len(jobs) == 2
    for index in order:
        tasks.regroup.call(jobs[index].pk)
    assert exact()


# Retries --------------------------------------------------------------------------------


@job_task
def fails_always(job):
    raise ValueError("the mail server said no")


@job_task
def fails_once(job):
    if job.attempts == 1:
        raise ConnectionError("lost the database")
    return {"attempts": job.attempts}


def test_a_failing_job_is_tried_again_then_failed_with_its_reason(settings):
    job = start(JobKind.DIGEST, fails_always)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.attempts == settings.JOBS_MAX_ATTEMPTS == 3
    assert job.error == "ValueError: the mail server said no"
    assert job.finished_at is not None


def test_a_job_that_fails_once_succeeds_on_its_second_attempt():
    job = start(JobKind.DIGEST, fails_once)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (JobStatus.DONE, 2, {"attempts": 2})
    assert job.error == ""


def test_the_digest_can_be_queued_as_a_job(settings, manager_ns):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    out = io.StringIO()
    call_command("send_digest", "--queue", stdout=out)
    job = Job.objects.get(kind=JobKind.DIGEST)
    assert f"Queued the digest as job {job.pk}." in out.getvalue()
    assert job.status == JobStatus.DONE
    assert set(job.result) == {"sent", "empty", "failed"}


# The jobs API ---------------------------------------------------------------------------


def test_the_owner_reads_a_jobs_progress(owner_job, analyst_nu, django_assert_num_queries):
    api = api_client(analyst_nu)
    # the caller's role (its groups), the job through the gate
    with django_assert_num_queries(2):
        response = api.get(f"/api/v1/jobs/{owner_job.pk}/")
    assert response.json() == {
        "id": owner_job.pk,
        "kind": "regroup",
        "status": "running",
        "progress": 40,
        "result": None,
    }


def test_nobody_else_sees_a_job(owner_job, analyst_ns, admin_ns):
    for user in (analyst_ns, admin_ns):
        assert api_client(user).get(f"/api/v1/jobs/{owner_job.pk}/").status_code == 404
    assert api_client().get(f"/api/v1/jobs/{owner_job.pk}/").status_code == 401


def test_the_progress_page_reloads_until_the_job_ends(client, owner_job, analyst_nu):
    client.force_login(analyst_nu)
    response = client.get(f"/jobs/{owner_job.pk}/")
    assert response["Refresh"] == "2"
    assert "40%" in response.content.decode()


# A whole-table XLSX ---------------------------------------------------------------------


@pytest.fixture
def export_rows_over_the_limit(settings):
    """A list longer than XLSX_JOB_ROWS (2 here), one of its rows marked NS."""
    settings.XLSX_JOB_ROWS = 2
    make_engagement(title="Open talks", marking="NU", start_date=D(2025, 3, 1))
    make_engagement(title="Staff talks", marking="NU", start_date=D(2025, 3, 2))
    make_engagement(title="Operation Nebula", marking="NS", start_date=D(2025, 3, 3))


def export(client, user, query="start_before=&format=xlsx"):
    """Ask for the list's XLSX as `user`: the job it started (run in place)."""
    client.force_login(user)
    response = client.get(f"/engagements/?{query}")
    job = Job.objects.get(kind=JobKind.EXPORT)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    return job


def test_a_long_list_xlsx_is_written_by_a_job_then_downloaded_once_done(
    client, analyst_ns, export_rows_over_the_limit
):
    job = export(client, analyst_ns)
    assert (job.status, job.started_by, job.progress) == (JobStatus.DONE, analyst_ns, 100)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Download engagements-NS.xlsx" in page and "3 rows" in page
    response = client.get(job.result["download"])
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="engagements-NS.xlsx"'
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    titles = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(titles) == ["Open talks", "Operation Nebula", "Staff talks"]
    assert sheet.oddHeader.center.text == "NATO SECRET"
    entry = AuditEntry.objects.filter(action="download").latest("sequence")
    assert (entry.username, entry.marking, entry.detail["rows"]) == (analyst_ns.username, "NS", 3)
    assert entry.detail["filters"] == "start_before=&format=xlsx"


def test_the_job_writes_what_its_starter_may_see_with_the_lists_filters(
    client, analyst_nu, export_rows_over_the_limit
):
    make_engagement(title="Later talks", marking="NU", start_date=D(2025, 3, 4))
    job = export(client, analyst_nu, "start_before=&ordering=title&format=xlsx")
    assert (job.result["rows"], job.result["filename"]) == (3, "engagements-NU.xlsx")
    response = client.get(job.result["download"])
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    titles = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert titles == ["Later talks", "Open talks", "Staff talks"]  # no NS row, by title


def test_a_short_list_xlsx_is_answered_at_once(
    client, analyst_ns, export_rows_over_the_limit, settings
):
    settings.XLSX_JOB_ROWS = 3
    client.force_login(analyst_ns)
    response = client.get("/engagements/?start_before=&format=xlsx")
    assert response.status_code == 200 and not Job.objects.exists()


def test_an_exports_file_is_its_starters_within_clearance_and_for_a_day(
    client, analyst_ns, admin_ns, export_rows_over_the_limit
):
    job = export(client, analyst_ns)
    url = job.result["download"]
    client.force_login(admin_ns)
    assert client.get(url).status_code == 404  # not theirs
    analyst_ns.clearance = "NC"
    analyst_ns.save()
    client.force_login(analyst_ns)
    assert client.get(url).status_code == 404  # above their clearance now
    analyst_ns.clearance = "NS"
    analyst_ns.save()
    assert client.get(url).status_code == 200
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - datetime.timedelta(hours=25))
    assert tasks.prune_exports() == 1
    response = client.get(url)
    assert response.status_code == 410
    assert "Its file is no longer kept" in response.content.decode()


# A real worker --------------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the worker is another process: it needs the test database on a server "
    "(SQLite's test database is in memory); PostgreSQL only",
)
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_real_worker_applies_a_partner_change(settings, transactional_db):
    call_command("load_reference_data", stdout=io.StringIO())
    settings.TASKS = DATABASE
    partner = make_partner(code="WRK", name="Worker Land", region="oceania")
    make_engagement(partners=["WRK", "AUS"], start_date=D(2025, 2, 3))
    partner.region = "global"
    partner.save()
    job = Job.objects.get()
    assert job.status == JobStatus.QUEUED
    assert not exact()

    database = settings.DATABASES["default"]
    url = (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or 'localhost'}"
        f":{database['PORT'] or 5432}/{database['NAME']}"
    )
    environment = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "1"}
    for name in ("DJANGO_TASKS_URL", "DATABASE_REPLICA_URLS"):
        environment.pop(name, None)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker"],
        cwd=Path(__file__).resolve().parent.parent,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # Wait for the state, not for a time; the deadline only stops a test that hangs.
        deadline = time.monotonic() + 120
        while job.status in JobStatus.pending() and worker.poll() is None:
            assert time.monotonic() < deadline, "the worker never finished the job"
            time.sleep(0.2)
            job.refresh_from_db()
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0].decode()
    assert job.status == JobStatus.DONE, output
    assert (job.progress, job.result) == (100, {"months": 1})
    assert exact()
