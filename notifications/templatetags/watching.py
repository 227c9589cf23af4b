from django import template

from notifications.services import is_watching

register = template.Library()


@register.inclusion_tag("notifications/watch_button.html", takes_context=True)
def watch_button(context, engagement=None, partner=None):
    """Watch or stop watching the engagement or the partner (one query)."""
    user = context["request"].user
    return {
        "watching": is_watching(user, engagement=engagement, partner=partner),
        "engagement": engagement,
        "partner": partner,
        "csrf_token": context.get("csrf_token"),
    }
