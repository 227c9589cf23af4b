import re

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from accounts.choices import Marking, Role
from accounts.models import User
from roadmap.models import Tip, TipStatusUpdate
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def admin_urls(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        yield reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        if model_admin.has_add_permission(request):  # axes' logs cannot be added by hand
            yield reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            yield reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])


def test_every_admin_page_answers_for_an_admin(client, admin_user):
    make_engagement(partners=["JPN", "KOR"], pillars=["security"], facets=["security.cyber"])
    TipStatusUpdate.objects.create(tip=Tip.objects.get(number=2), status="on_track")
    client.force_login(admin_user)
    urls = list(admin_urls(admin_user))
    assert len(urls) >= 2 * len(admin.site._registry) - 3
    ours = [
        "engagements_engagement",
        "partners_partner",
        "partners_membership",
        "roadmap_tip",
        "roadmap_tipstatusupdate",
        "roadmap_pillar",
        "roadmap_facet",
        "roadmap_challenge",
    ]
    for name in ours:
        app, model = name.split("_")
        assert any(
            url.startswith(f"/admin/{app}/{model}/") and url.endswith("/change/") for url in urls
        ), name
    superusers_only = ("/admin/auth/", "/admin/knox/", "/admin/axes/")
    for url in urls:
        response = client.get(url)
        expected = 403 if url.startswith(superusers_only) else 200
        assert response.status_code == expected, url
    root = make_user(Role.ADMIN, Marking.NS, username="root")
    root.is_superuser = True
    root.save()
    client.force_login(root)
    for url in admin_urls(root):
        assert client.get(url).status_code == 200, url


def test_a_partner_curator_sees_what_they_need_and_nothing_else(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/").content.decode()
    for needed in ["Users", "Partners", "Memberships", "Engagements", "Targets", "Tips"]:
        assert f">{needed}<" in page, needed
    for machinery in ["Groups", "Auth tokens", "Access attempts", "Access logs", "Permissions"]:
        assert machinery not in page, machinery
    form = client.get("/admin/accounts/user/add/").context["adminform"].form
    assert {"role", "clearance"} <= set(form.fields)
    assert "groups" not in form.fields and "user_permissions" not in form.fields


def test_a_user_is_added_with_a_role_and_a_clearance(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "newcomer",
            "password1": "a-long-test-password-1",
            "password2": "a-long-test-password-1",
            "usable_password": "true",
            "role": "manager",
            "clearance": "NR",
        },
    )
    assert response.status_code == 302
    newcomer = User.objects.get(username="newcomer")
    assert (newcomer.role, newcomer.clearance, newcomer.is_staff) == ("manager", "NR", False)
    listing = client.get("/admin/accounts/user/").content.decode()
    (row,) = re.findall(r"<tr>(?:(?!</tr>).)*>newcomer</a>(?:(?!</tr>).)*</tr>", listing, re.S)
    assert ">manager</td>" in row and ">NATO Restricted</td>" in row
    # Made an admin: staff; back to analyst: not.
    change = f"/admin/accounts/user/{newcomer.pk}/change/"
    data = {"username": "newcomer", "role": "admin", "clearance": "NR", "is_active": "on"}
    assert client.post(change, data).status_code == 302
    newcomer = User.objects.get(pk=newcomer.pk)
    assert (newcomer.role, newcomer.is_staff) == ("admin", True)
    assert client.post(change, {**data, "role": "analyst"}).status_code == 302
    newcomer = User.objects.get(pk=newcomer.pk)
    assert (newcomer.role, newcomer.is_staff) == ("analyst", False)
    assert list(newcomer.groups.values_list("name", flat=True)) == ["analyst"]


def test_admin_search_and_filters_answer(client, admin_user):
    client.force_login(admin_user)
    for url in [
        reverse("admin:engagements_engagement_changelist") + "?q=talks&status__exact=completed",
        reverse("admin:partners_partner_changelist") + "?q=burma&kind__exact=state",
        reverse("admin:partners_membership_changelist") + "?organization__id__exact=1",
    ]:
        assert client.get(url).status_code == 200


def test_staff_see_only_engagements_their_clearance_allows(client):
    staff = make_user(Role.ADMIN, Marking.NR)
    visible = make_engagement(title="Routine coffee", marking=Marking.NR)
    hidden = make_engagement(title="Quiet submarine talk", marking=Marking.NS)
    client.force_login(staff)
    page = client.get(reverse("admin:engagements_engagement_changelist"))
    assert visible.title in page.content.decode()
    assert hidden.title not in page.content.decode()
    url = reverse("admin:engagements_engagement_change", args=[hidden.pk])
    assert client.get(url).status_code == 404  # as absent
    marking_choices = (
        client.get(reverse("admin:engagements_engagement_add"))
        .context["adminform"]
        .form.fields["marking"]
        .choices
    )
    assert [value for value, _ in marking_choices] == ["NU", "NR"]


def test_analysts_are_kept_out_of_the_admin_with_the_apps_403_page(client, analyst):
    """Not Django's second sign-in form (CONTRACT: the app's 403 page)."""
    client.force_login(analyst)
    for url in ["/admin/", "/admin/login/", "/admin/partners/partner/"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "The admin is for admins" in response.content.decode()
        assert 'name="password"' not in response.content.decode()
    client.logout()
    response = client.get("/admin/partners/partner/")
    assert response.status_code == 302
    assert client.get(response.url, follow=True).request["PATH_INFO"] == "/accounts/login/"


def test_every_model_admin_reads_through_the_gate():
    """Every door of the admin, Django's and other apps' models included, is a
    core.admin.RestrictedAdmin: lists, pages and delete confirmations through the gate."""
    from core.admin import RestrictedAdmin

    loose = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, RestrictedAdmin)
    ]
    assert not loose


def test_api_tokens_are_revoked_in_the_admin_never_made(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/knox/authtoken/add/").status_code == 403
    assert "TOKEN" not in str(list(client.get("/admin/knox/authtoken/").context["messages"]))


def test_a_form_offers_only_accounts_within_the_admins_reach(client):
    from engagements.models import Action

    admin_nu = make_user(Role.ADMIN, Marking.NU)
    nu = make_user(Role.ANALYST, Marking.NU, username="nu-owner")
    ns = make_user(Role.ANALYST, Marking.NS, username="ns-owner")
    engagement = make_engagement()
    action = Action.objects.create(
        engagement=engagement, title="Minutes", owner=nu, due="2030-01-01"
    )
    client.force_login(admin_nu)
    form = client.get(f"/admin/engagements/action/{action.pk}/change/").context["adminform"].form
    owners = set(form.fields["owner"].queryset.values_list("username", flat=True))
    assert nu.username in owners and ns.username not in owners
