from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def heat(count, highest):
    """0 (a gap) to 4 (the busiest cell): the shade class of a coverage cell."""
    if not count:
        return 0
    if not highest:
        return 1
    return min(4, 1 + int(3 * count / highest))


@register.simple_tag(takes_context=True)
def query(context, **changes):
    """The current query string with some parameters replaced (None drops one)."""
    params = context["request"].GET.copy()
    for name, value in changes.items():
        params.pop(name, None)
        if value not in (None, ""):
            params[name] = value
    return "?" + params.urlencode() if params else "?"


@register.simple_tag(takes_context=True)
def sort_link(context, field, label):
    """A column heading that sorts by `field`, flipping direction on a second click."""
    current = context.get("ordering", "")
    target = f"-{field}" if current == field else field
    arrow = {field: " ▲", f"-{field}": " ▼"}.get(current, "")
    url = query(context, ordering=target, cursor=None)
    return format_html('<a href="{}">{}{}</a>', url, label, arrow)


@register.filter
def join_if_list(value):
    """A history value for reading: lists of codes joined by commas."""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return value
