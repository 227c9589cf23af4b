from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from knox.admin import AuthTokenAdmin as BaseAuthTokenAdmin
from knox.models import AuthToken

from accounts.choices import Marking, Role
from accounts.models import User
from core.admin import RestrictedAdmin

ROLE_ORDER = [Role.ANALYST, Role.MANAGER, Role.ADMIN]


def check_grant(granter, clearance=None, initial_clearance=None, groups=(), superuser=False):
    """No admin may give anyone, themselves included, a clearance or a role above their
    own. (Accounts cleared above the admin are out of its reach altogether:
    `User.objects.visible_to`.)"""
    errors = {}
    if clearance and clearance != initial_clearance and not granter.may_see(clearance):
        errors["clearance"] = [f"You cannot give a clearance above your own ({granter.clearance})."]
    own = ROLE_ORDER.index(granter.role) if granter.role else -1
    above = [group.name for group in groups if group.name in ROLE_ORDER]
    above = [name for name in above if ROLE_ORDER.index(name) > own]
    if above or (superuser and not granter.is_superuser):
        errors["groups" if above else "is_superuser"] = ["You cannot give a role above your own."]
    if errors:
        raise ValidationError(errors)


class GrantCheckingForm:
    """Mixed into the user admin's forms; `granter` is the admin making the change."""

    granter = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "clearance" in self.fields:  # offer what this admin may give
            self.fields["clearance"].choices = [
                (value, label) for value, label in Marking.choices if self.granter.may_see(value)
            ]

    def clean(self):
        cleaned = super().clean()
        initial = self.instance.clearance if self.instance.pk else None
        try:
            check_grant(
                self.granter,
                clearance=cleaned.get("clearance"),
                initial_clearance=initial,
                groups=[g for g in cleaned.get("groups") or [] if g not in self._initial_groups()],
                superuser=cleaned.get("is_superuser") and not self.instance.is_superuser,
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned

    def _initial_groups(self):
        return set(self.instance.groups.all()) if self.instance.pk else set()


@admin.register(User)
class UserAdmin(RestrictedAdmin, BaseUserAdmin):
    list_display = ["username", "email", "clearance", "is_active", "is_staff", "last_login"]
    list_filter = ["clearance", "groups", "is_active", "is_staff"]
    fieldsets = BaseUserAdmin.fieldsets + (("Clearance", {"fields": ["clearance"]}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("Clearance", {"fields": ["clearance"]}),)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        form_class = type(form_class.__name__, (GrantCheckingForm, form_class), {})
        form_class.granter = request.user
        return form_class


# The models other apps register, again on the restricted base: groups (roles), API tokens
# (revoked here, never made: a token made for someone else is that person's key) and the
# sign-in lockout's records (only of accounts the admin may see, or of no account).

admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(RestrictedAdmin, BaseGroupAdmin):
    pass


admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(RestrictedAdmin, BaseAuthTokenAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OfAccountByName(RestrictedAdmin):
    """Records that name an account by its username (django-axes')."""

    def get_queryset(self, request):
        above = User.objects.exclude(pk__in=User.objects.visible_to(request.user).values("pk"))
        return super().get_queryset(request).exclude(username__in=above.values("username"))


for model, base in [
    (AccessAttempt, axes_admin.AccessAttemptAdmin),
    (AccessLog, axes_admin.AccessLogAdmin),
    (AccessFailureLog, axes_admin.AccessFailureLogAdmin),
]:
    admin.site.unregister(model)
    admin.site.register(model, type(base.__name__, (OfAccountByName, base), {}))
