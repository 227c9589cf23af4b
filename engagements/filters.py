"""The one FilterSet for engagements: the HTML list, its downloads and the API share it."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.choices import Marking
from core.filters import CodeMultipleChoiceFilter, FilterSet
from core.pagination import keyset_ordering
from core.widgets import QuickSelect, QuickSelectMultiple
from engagements.choices import ActionStatus, EngagementKind, EngagementStatus, EscalationRisk
from engagements.models import Action, Engagement, EngagementPartner
from partners.choices import PartnerKind, Region
from partners.models import Membership, Partner
from roadmap.models import Facet, Pillar, Tip

# `ordering` names → the column sorted on: a marking sorts by its rank (NU < NR < NC < NS).
SORTABLE = {
    "start_date": "start_date",
    "title": "title",
    "kind": "kind",
    "status": "status",
    "marking": "marking_rank",
    "escalation_risk": "escalation_risk",
    "id": "id",
}


def sort_column(sort_key):
    """The column behind an `ordering` value such as "-marking" ("-marking_rank")."""
    descending = sort_key.startswith("-")
    return ("-" if descending else "") + SORTABLE[sort_key.lstrip("-")]


def partner_label(partner):
    """A deactivated partner stays in the filters (old engagements name it), marked."""
    return partner.name if partner.active else f"{partner.name} (inactive)"


def partner_option_data(partner):
    """What the partner filter's type-to-filter box matches besides the name."""
    return {"code": partner.code, "aliases": "; ".join(partner.alias_list)}


class EngagementFilterSet(FilterSet):
    # Relations are matched with EXISTS rather than joins: no duplicate rows, no DISTINCT,
    # and the indexed ordering keeps working on large tables.
    partner = CodeMultipleChoiceFilter(
        label="Partners",
        queryset=Partner.objects.order_by("name"),
        to_field_name="code",
        method="filter_partner",
        help_text="Any of these partners.",
        widget=QuickSelectMultiple(attrs={"size": 5, "data-filterable": "true"}),
    )
    pillar = django_filters.ModelChoiceFilter(
        label="Pillar",
        queryset=Pillar.objects.order_by("order"),
        to_field_name="code",
        field_name="pillars",
        widget=QuickSelect,
        method="filter_through",
    )
    facet = django_filters.ModelChoiceFilter(
        label="Facet",
        queryset=Facet.objects.order_by("pillar__order", "order"),
        to_field_name="code",
        field_name="facets",
        widget=QuickSelect,
        method="filter_through",
    )
    tip = django_filters.ModelChoiceFilter(
        label="Tip",
        queryset=Tip.objects.order_by("number"),
        to_field_name="number",
        field_name="tips",
        widget=QuickSelect,
        method="filter_through",
    )
    kind = django_filters.ChoiceFilter(
        label="Kind", choices=EngagementKind.choices, widget=QuickSelect
    )
    status = django_filters.MultipleChoiceFilter(
        label="Status",
        choices=EngagementStatus.choices,
        distinct=False,  # a column of the row itself: no duplicates to remove
        help_text="Any of these statuses.",
        widget=QuickSelectMultiple(attrs={"size": 3}),
    )
    marking = django_filters.ChoiceFilter(
        label="Marking", choices=Marking.choices, widget=QuickSelect
    )
    escalation_risk = django_filters.ChoiceFilter(
        label="Escalation risk", choices=EscalationRisk.choices, widget=QuickSelect
    )
    region = django_filters.ChoiceFilter(
        choices=Region.choices, label="Partner region", widget=QuickSelect, method="filter_partner"
    )
    partner_kind = django_filters.ChoiceFilter(
        choices=PartnerKind.choices,
        label="Partner kind",
        widget=QuickSelect,
        method="filter_partner",
    )
    partner_active = django_filters.BooleanFilter(
        label="Partner active",
        method="filter_partner",
        widget=QuickSelect(choices=[("", "Any"), ("true", "Active"), ("false", "Inactive")]),
        help_text="With a partner that is (or is not) active in the directory.",
    )
    rollup = django_filters.ChoiceFilter(
        choices=[("members", "Include member states")],
        label="Roll-up",
        empty_label="Partners only",
        method="filter_partner",
        help_text="Partners above also match through the states that were their members "
        "on the engagement's start date (as the coverage report's roll-up).",
        widget=QuickSelect,
    )
    start_after = django_filters.DateFilter(
        field_name="start_date",
        lookup_expr="gte",
        label="Starts on or after",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    start_before = django_filters.DateFilter(
        field_name="start_date",
        lookup_expr="lte",
        label="Starts on or before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    search = django_filters.CharFilter(method="filter_search", label="Search")
    ordering = django_filters.OrderingFilter(
        fields=[(column, name) for name, column in SORTABLE.items()]
    )

    class Meta:
        model = Engagement
        fields = []

    @classmethod
    def build_form_class(cls, form_class):
        field = form_class.base_fields["partner"]
        field.label_from_instance = partner_label
        field.widget.option_data = partner_option_data
        return form_class

    # The partner filters (partner, region, partner_kind, partner_active, rollup) are
    # applied together by `filter_queryset`: `partner` is one condition (any of the codes),
    # the partner's attributes another (one partner of that kind, region and activity).
    PARTNER_FILTERS = ("partner", "region", "partner_kind", "partner_active", "rollup")

    def filter_partner(self, queryset, name, value):
        return queryset  # see filter_queryset

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        for name, value in data.items():
            if name not in self.PARTNER_FILTERS:
                queryset = self.filters[name].filter(queryset, value)
        rollup = data.get("rollup") == "members"
        if data.get("partner"):
            queryset = queryset.filter(
                with_partner(Q(pk__in=[p.pk for p in data["partner"]]), rollup)
            )
        attributes = Q()
        if data.get("region"):
            attributes &= Q(region=data["region"])
        if data.get("partner_kind"):
            attributes &= Q(kind=data["partner_kind"])
        if data.get("partner_active") is not None:
            attributes &= Q(active=data["partner_active"])
        if attributes:
            queryset = queryset.filter(with_partner(attributes, rollup))
        return queryset

    def filter_search(self, queryset, name, text):
        """Title, summary, outcomes and location, or a partner's names or code
        (`EngagementQuerySet.matching`)."""
        text = text.strip()
        return queryset.matching(text) if text else queryset

    def filter_through(self, queryset, name, value):
        """`name` is the many-to-many field (pillars, facets, tips)."""
        if not value:
            return queryset
        through = getattr(Engagement, name).through
        column = through._meta.get_field(name.removesuffix("s")).attname
        return queryset.filter(
            Exists(through.objects.filter(engagement=OuterRef("pk"), **{column: value.pk}))
        )


class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number from 1 to the largest a column holds (no 1e228)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)

    def get_max_validator(self):
        return None  # max_value says it


class ActionFilter(FilterSet):
    """Follow-up actions: the `/actions/` page and the API share it."""

    owner = django_filters.CharFilter(
        method="filter_owner", label="Owner", help_text="a username, or “me”"
    )
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices, widget=QuickSelect)
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Overdue", help_text="true: open and due before today"
    )
    engagement = IdFilter(field_name="engagement_id", label="Engagement id")

    class Meta:
        model = Action
        fields = []

    def filter_owner(self, queryset, name, username):
        if username == "me":
            return queryset.filter(owner=self.request.user) if self.request else queryset.none()
        return queryset.filter(owner__username=username)

    def filter_overdue(self, queryset, name, overdue):
        if overdue is None:
            return queryset
        late = queryset.overdue(timezone.localdate()).values("pk")
        return queryset.filter(pk__in=late) if overdue else queryset.exclude(pk__in=late)


def with_partner(partners, rollup=False):
    """An engagement condition: one of its partners matches `partners` (a Q on Partner);
    with `rollup`, also a partner that was then a member of a matching organization: a
    membership with `joined` on or before the engagement's start date and `left` after it
    or open (the rule of the coverage report's roll-up, engagements/summaries/)."""
    matching = Partner.objects.filter(partners).values("pk")
    condition = Exists(
        EngagementPartner.objects.filter(engagement=OuterRef("pk"), partner__in=matching)
    )
    if not rollup:
        return condition
    memberships = Membership.objects.current(OuterRef(OuterRef("start_date"))).filter(
        member=OuterRef("partner_id"), organization__in=matching
    )
    return condition | Exists(
        EngagementPartner.objects.filter(Exists(memberships), engagement=OuterRef("pk"))
    )


def filter_chips(filterset, query):
    """The active filters as chips, by name ("Partners: Indonesia", "Facet: Information
    Sharing"), each with `url`: the list without it (one value of a repeatable filter at a
    time; a removed `start_before` is given empty, so the list's default does not return).
    `query` is the request's QueryDict."""
    if not filterset.is_valid():
        return []
    chips = []
    for name, value in filterset.form.cleaned_data.items():
        if name == "ordering" or value in (None, "", []) or not filterset.form[name].value():
            continue
        field = filterset.form.fields[name]
        if isinstance(value, (list, tuple)) or hasattr(value, "model"):  # repeatable
            for item in value:
                raw = getattr(item, field.to_field_name) if hasattr(item, "pk") else item
                chips.append(_chip(query, name, field.label, _label(field, item), str(raw)))
        else:
            chips.append(_chip(query, name, field.label, _label(field, value), None))
    return chips


def _label(field, value):
    if isinstance(value, bool):
        return "active" if value else "inactive"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    choices = dict(getattr(field, "choices", None) or []) if not hasattr(value, "pk") else {}
    if value in choices:
        return str(choices[value])
    return str(value)


def _chip(query, name, label, shown, raw_value):
    params = query.copy()
    params.pop("cursor", None)
    if raw_value is not None:
        params.setlist(name, [v for v in params.getlist(name) if v != raw_value])
    else:
        params.pop(name, None)
    default = name == "start_before" and name not in query
    if name == "start_before":
        params[name] = ""  # "any date": the list's default would otherwise come back
    return {
        "name": name,
        "label": label,
        "value": shown + (" (default: up to today)" if default else ""),
        "url": "?" + params.urlencode() if params else "?",
    }


# The list's filters: given any of them, the list searches every date.
LIST_FILTERS = frozenset(EngagementFilterSet.base_filters) - {"ordering"}


def filtered_list(params, user):
    """(filterset, engagements, sort key, keyset ordering) of the list for `params` (a QueryDict) as
    `user` may see it: the page, its downloads and the export job read the same rows. With
    no filter or search at all, engagements starting up to today."""
    if not any(name in params for name in LIST_FILTERS):
        params = params.copy()
        params["start_before"] = timezone.localdate().isoformat()
    filterset = EngagementFilterSet(params, queryset=Engagement.objects.restrict(user))
    engagements = filterset.qs if filterset.is_valid() else Engagement.objects.none()
    ordering = (filterset.form.cleaned_data.get("ordering") if filterset.is_valid() else None) or [
        "-start_date"
    ]
    key = ordering[0]
    return filterset, engagements, key, keyset_ordering(sort_column(key))
