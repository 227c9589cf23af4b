"""The rows of an engagement table on a page (`templates/includes/engagement_table.html`:
the list, a partner's timeline, a tip's engagements, the dashboard).

A row shows a few columns, the partners and the pillars. `table_rows()` reads the partners
and pillars of the whole table in two queries of plain values and gives each row what the
template shows ready-made: no related managers, querysets or model instances per chip, no
`reverse()` or `get_FOO_display()` per row, and each partner's or pillar's chip written
once per table, however many rows show it: per row and per chip, that work would cost a
page more than its SQL.
"""

from collections import defaultdict
from urllib.parse import quote

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import mark_safe

from engagements.choices import EngagementKind, EngagementStatus, PartnerRole
from engagements.fields import HEADINGS, RELATION_FIELDS, TABLE_ORDER
from engagements.filters import SORTABLE
from engagements.models import Engagement, EngagementPartner

# The tables' columns (engagements/fields.py): (name, heading, sortable on the list).
COLUMNS = [(name, HEADINGS[name], name in SORTABLE) for name in TABLE_ORDER]
# The engagement columns a row shows (besides its id): what a page needs to read.
TABLE_COLUMNS = tuple(name for name in TABLE_ORDER if name not in RELATION_FIELDS)

KIND_LABELS = dict(EngagementKind.choices)
STATUS_LABELS = dict(EngagementStatus.choices)
ROLE_LABELS = dict(PartnerRole.choices)


def table_rows(engagements):
    """`engagements` (a queryset, a slice or a page) as a list of engagements, each with

    - `url`: its page;
    - `kind_label`, `status_label`: its kind and status as shown;
    - `partner_chips`: its partners as links, in the order given (lead first);
    - `pillar_chips`: its pillars, in the roadmap's order.

    Two queries whatever the number of rows (none for no rows).
    """
    rows = list(engagements)
    ids = [row.pk for row in rows]
    partners, pillars = defaultdict(list), defaultdict(list)
    if ids:
        partner_url, chips = link("partners:detail"), {}
        links = (
            EngagementPartner.objects.filter(engagement_id__in=ids)
            .order_by("engagement_id", "id")
            .values_list("engagement_id", "partner__code", "partner__name", "role")
        )
        for engagement_id, *chip in links:
            if (key := tuple(chip)) not in chips:
                code, name, role = chip
                chips[key] = format_html(
                    '<a class="chip" href="{}" title="{}, {}">{}</a>',
                    partner_url(code),
                    code,
                    ROLE_LABELS.get(role, role).lower(),
                    name,
                )
            partners[engagement_id].append(chips[key])
        pillar_links = (
            Engagement.pillars.through.objects.filter(engagement_id__in=ids)
            .order_by("pillar__order", "pillar_id")
            .values_list("engagement_id", "pillar__code", "pillar__name")
        )
        for engagement_id, *chip in pillar_links:
            if (key := tuple(chip)) not in chips:
                chips[key] = format_html('<span class="chip pillar-{}">{}</span>', *chip)
            pillars[engagement_id].append(chips[key])
    detail_url = link("engagements:detail")
    for row in rows:
        row.url = detail_url(row.pk)
        row.kind_label = KIND_LABELS.get(row.kind, row.kind)
        row.status_label = STATUS_LABELS.get(row.status, row.status)
        # Each chip was escaped by format_html; a space between them, as before.
        row.partner_chips = mark_safe(" ".join(partners[row.pk]))
        row.pillar_chips = mark_safe(" ".join(pillars[row.pk]))
        row.cells = [(heading, *_cell(row, name)) for name, heading, _ in COLUMNS]
    return rows


def _cell(row, name):
    """(what a cell shows, its class) for one column of a row; a column without a way of
    its own here shows its value as text."""
    if name == "start_date":
        return date_format(row.start_date), "nowrap"
    if name == "title":
        return format_html('<a href="{}">{}</a>', row.url, row.title), ""
    if name == "kind":
        return row.kind_label, ""
    if name == "status":
        return format_html(
            '<span class="status status-{}">{}</span>', row.status, row.status_label
        ), ""
    if name == "partners":
        return row.partner_chips, ""
    if name == "pillars":
        return row.pillar_chips, ""
    if name == "marking":
        return format_html(
            '<span class="badge marking-{0}" title="Marking">{0}</span>', row.marking
        ), ""
    value = getattr(row, f"get_{name}_display", lambda: getattr(row, name))()
    return ("" if value is None else str(value)), ""


def link(view):
    """`reverse(view, args=[value])` for many values at the cost of one `reverse()`, for a
    view with one `int` or `str` argument (a table has up to 500 rows, and a `reverse()`
    costs as much as writing a row)."""
    marker = "9876543210"  # digits: a valid `int` and `str` alike
    prefix, suffix = reverse(view, args=[marker]).split(marker)
    safe = RFC3986_SUBDELIMS + "/~:@"  # as reverse() quotes a path
    return lambda value: prefix + quote(str(value), safe=safe) + suffix
