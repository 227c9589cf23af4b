import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from accounts.models import User
from engagements.models import Engagement, EngagementPartner
from roadmap.models import Facet, Pillar
from tests.factories import PASSWORD


@pytest.fixture
def password(monkeypatch):
    monkeypatch.setenv("DJANGO_USER_PASSWORD", PASSWORD)


@pytest.mark.django_db
def test_create_user_makes_a_user_with_role_and_clearance(password):
    out = io.StringIO()
    call_command("create_user", "mai", "--role", "manager", "--clearance", "NC", stdout=out)
    user = User.objects.get(username="mai")
    assert (user.role, user.clearance, user.is_staff) == ("manager", "NC", False)
    assert user.check_password(PASSWORD)
    assert user.has_perm("roadmap.add_tipstatusupdate")
    assert "Created manager “mai” with clearance NC." in out.getvalue()


@pytest.mark.django_db
def test_create_user_admin_is_staff_with_every_permission(password):
    call_command("create_user", "ada", "--role", "admin", "--clearance", "NS", stdout=io.StringIO())
    user = User.objects.get(username="ada")
    assert user.is_staff and user.role == "admin"
    assert user.has_perm("partners.change_partner") and user.has_perm("accounts.add_user")


@pytest.mark.django_db
def test_analysts_cannot_delete_or_set_tip_status(password):
    call_command("create_user", "ann", "--role", "analyst", stdout=io.StringIO())
    user = User.objects.get(username="ann")
    assert user.clearance == "NU"
    assert user.has_perm("engagements.add_engagement")
    assert not user.has_perm("engagements.delete_engagement")
    assert not user.has_perm("roadmap.add_tipstatusupdate")
    assert not user.has_perm("partners.change_partner")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["x", "--role", "boss"], "Unknown role “boss”: use one of analyst, manager, admin."),
        (["x", "--role", "analyst", "--clearance", "TS"], "Unknown clearance “TS”"),
        (["taken", "--role", "analyst"], "A user named “taken” already exists."),
    ],
)
def test_create_user_refuses_bad_input(password, args, message):
    User.objects.create_user("taken")
    with pytest.raises(CommandError, match=message):
        call_command("create_user", *args)
    assert not User.objects.filter(username="x").exists()


@pytest.mark.django_db
def test_create_user_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("DJANGO_USER_PASSWORD", "123")
    with pytest.raises(CommandError, match="Password refused"):
        call_command("create_user", "weak", "--role", "analyst")


def run_manage(*args):
    """Run manage.py in a subprocess, as a user would, to see exit codes and stderr."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_USER_PASSWORD": PASSWORD, "DJANGO_DEBUG": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], capture_output=True, text=True, env=env
    )


def test_create_user_exits_non_zero_with_a_clear_message():
    result = run_manage("create_user", "x", "--role", "boss")
    assert result.returncode != 0
    assert "Unknown role “boss”" in result.stderr


def demo_rows():
    engagements = list(
        Engagement.objects.order_by("pk").values_list(
            "title", "kind", "status", "start_date", "end_date", "marking", "escalation_risk"
        )
    )
    links = sorted(
        EngagementPartner.objects.values_list("engagement__title", "partner__code", "role")
    )
    pillars = sorted(Engagement.pillars.through.objects.values_list("engagement_id", "pillar_id"))
    return engagements, links, len(pillars)


def seed(count, seed):
    call_command(
        "seed_demo",
        "--engagements",
        count,
        "--seed",
        seed,
        "--as-of",
        "2026-01-15",
        stdout=io.StringIO(),
    )


def test_seed_demo_is_deterministic(reference_data):
    seed(300, 7)
    first = demo_rows()
    Engagement.objects.all().delete()
    seed(300, 7)
    assert demo_rows() == first
    Engagement.objects.all().delete()
    seed(300, 8)
    assert demo_rows() != first


def test_seed_demo_data_is_realistic_and_valid(reference_data):
    seed(500, 1)
    engagements = Engagement.objects.prefetch_related("partners", "pillars", "facets")
    assert engagements.count() == 500
    as_of = datetime.date(2026, 1, 15)
    for engagement in engagements:
        pillars = list(engagement.pillars.all())
        Engagement.validate_relations(
            list(engagement.partners.all()), pillars, list(engagement.facets.all())
        )
        assert as_of - datetime.timedelta(days=3 * 365) <= engagement.start_date
        if engagement.start_date > as_of:
            assert engagement.status == "planned"
    assert set(engagements.values_list("marking", flat=True)) == {"NU", "NR", "NC", "NS"}
    assert len(set(engagements.values_list("kind", flat=True))) >= 8
    assert set(engagements.values_list("status", flat=True)) == {
        "planned",
        "completed",
        "cancelled",
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_seed_demo_leaves_its_tables_vacuumed_and_analyzed():
    """Run as from a shell (no transaction around it): the planner knows the tables it
    filled (row counts from ANALYZE) and VACUUM has marked their pages all-visible, so
    nothing is planned blind where autovacuum is off or has not come round yet."""
    call_command("load_reference_data", stdout=io.StringIO())
    seed(300, 7)
    tables = ["engagements_engagement", "engagements_engagementpartner", "roadmap_reportsummary"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples, relallvisible FROM pg_class WHERE relname = ANY(%s)",
            [tables],
        )
        known = {name: (rows, visible) for name, rows, visible in cursor.fetchall()}
    assert known["engagements_engagement"][0] == 300
    assert known["engagements_engagement"][1] > 0  # vacuumed
    assert known["engagements_engagementpartner"][0] == EngagementPartner.objects.count()
    assert known["roadmap_reportsummary"][0] > 0  # analyzed after the rebuild


@pytest.mark.skipif(connection.vendor != "postgresql", reason="fillfactor: PostgreSQL")
def test_the_summary_table_leaves_room_for_counts_updated_in_place(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'roadmap_reportsummary'")
        assert cursor.fetchone()[0] == ["fillfactor=90"]


def test_seed_demo_needs_reference_data(db):
    Facet.objects.all().delete()
    Pillar.objects.all().delete()
    with pytest.raises(CommandError, match="load_reference_data"):
        call_command("seed_demo", "--engagements", 5)


def test_bootstrap_demo_runs_only_on_a_new_database(reference_data):
    out = io.StringIO()
    call_command("bootstrap_demo", "--engagements", 50, stdout=out)
    assert set(User.objects.values_list("username", "groups__name")) == {
        ("analyst", "analyst"),
        ("manager", "manager"),
        ("admin", "admin"),
    }
    assert "Demo accounts (shown only this once)" in out.getvalue()
    assert Engagement.objects.count() == 50
    again = io.StringIO()
    call_command("bootstrap_demo", stdout=again)
    assert "already has users" in again.getvalue()
    assert Engagement.objects.count() == 50
