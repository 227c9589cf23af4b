from notifications.models import Notification


def unread(request):
    """Context processor: the header's count of unread notifications (asked only when a
    page shows it, once: `{% with %}` it)."""
    user = getattr(request, "user", None)

    def count():
        if user is None or not user.is_authenticated or not user.role:
            return 0
        return Notification.objects.restrict(user).unread().count()

    return {"unread_notifications": count}
