"""`{% list_url pillar="security" status=data.status start_after=... %}`: the engagement
list showing exactly the rows behind a number. Every report number links through it, with
the list's filter names (engagements/filters.py)."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def list_url(**filters):
    """None, False and "" leave a filter out; a list repeats it (any of); a date is
    written ISO, True as "true"."""
    pairs = []
    for name, value in filters.items():
        if value is None or value is False or value == "":
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            item = item.isoformat() if hasattr(item, "isoformat") else item
            pairs.append((name, "true" if item is True else item))
    return reverse("engagements:list") + ("?" + urlencode(pairs) if pairs else "")


@register.simple_tag
def engagement_columns():
    """The engagement tables' columns: [(name, heading, sortable)] (engagements/tables.py)."""
    from engagements.tables import COLUMNS

    return COLUMNS
