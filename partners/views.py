from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from engagements.models import Engagement
from engagements.pagination import paginate
from engagements.tables import table_rows
from partners.filters import PartnerFilterSet
from partners.models import Membership, Partner
from roadmap import reports
from roadmap.models import Pillar
from roadmap.views import target_form


def partner_list(request):
    filterset = PartnerFilterSet(request.GET, queryset=Partner.objects.order_by("name"))
    partners = filterset.qs if filterset.is_valid() else Partner.objects.none()
    page = Paginator(partners, 100).get_page(request.GET.get("page"))
    return render(request, "partners/partner_list.html", {"filterset": filterset, "page": page})


def partner_detail(request, code):
    partner = get_object_or_404(Partner, code=code)
    new_target, saved = target_form(request, partner=partner)
    if saved:
        return redirect(partner)
    timeline = Engagement.objects.visible_to(request.user).filter(partner_links__partner=partner)
    try:
        page = paginate(timeline, ["-start_date", "-id"], 25, request.GET.get("cursor"))
    except ValidationError:
        page = paginate(timeline, ["-start_date", "-id"], 25)
    coverage = reports.coverage(request.user, partner_code=partner.code)
    pillars = {pillar.code: pillar for pillar in Pillar.objects.order_by("order")}
    return render(
        request,
        "partners/partner_detail.html",
        {
            "partner": partner,
            "memberships": Membership.objects.filter(member=partner).select_related("organization"),
            "members": Membership.objects.filter(organization=partner).select_related("member"),
            "page": page,
            "rows": table_rows(page),
            "coverage": coverage,
            "plan": reports.plan(request.user, partner_code=partner.code),
            "target_form": new_target,
            "coverage_cells": [
                (pillars[code], cell) for code, cell in coverage["rows"][0]["cells"].items()
            ],
        },
    )
