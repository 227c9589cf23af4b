"""Django's ModelBackend, with a user's permissions read together with its role."""

from django.contrib.auth import backends


class ModelBackend(backends.ModelBackend):
    """Signs in and checks permissions as Django's ModelBackend does, but takes a user's
    permissions from `User.access`: its groups (the role) and every permission, its own and
    its groups', in one query where Django's backend runs two more after the role's. Every
    page asks for both (the role for what it shows, the permissions for the header's
    buttons). Read once per request, as Django's are: a changed role counts from the next
    request on."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj)  # every permission there is
        return user_obj.access.permissions
