from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from engagements.models import Engagement
from engagements.pagination import paginate
from engagements.tables import table_rows
from partners.filters import PartnerFilterSet
from partners.models import Membership, Partner
from roadmap import reports
from roadmap.models import Pillar


def partner_list(request):
    data = request.GET.copy()
    data.setdefault("active", "true")  # the directory opens on the partners in use
    filterset = PartnerFilterSet(data, queryset=Partner.objects.order_by("name"))
    partners = filterset.qs if filterset.is_valid() else Partner.objects.none()
    page = Paginator(partners, 100).get_page(request.GET.get("page"))
    return render(request, "partners/partner_list.html", {"filterset": filterset, "page": page})


def partner_detail(request, code):
    partner = get_object_or_404(Partner, code=code)
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
            "coverage_cells": [
                (pillars[code], cell) for code, cell in coverage["rows"][0]["cells"].items()
            ],
        },
    )
