"""Kept apart from core/api.py: DRF imports its permission classes while it is still
loading its own views, so this module must import nothing but permissions."""

from rest_framework import permissions


class HasRole(permissions.BasePermission):
    """Signed in with one of the three roles; writes need the model permission of the
    view's `write_permission` (reads are open to every role, like the pages)."""

    message = "You need the analyst, manager or admin role."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.role):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        needed = getattr(view, "write_permissions", {}).get(request.method)
        return needed is None or user.has_perm(needed)
