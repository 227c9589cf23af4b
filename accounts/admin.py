from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.admin import AuthTokenAdmin as BaseAuthTokenAdmin
from knox.models import AuthToken

from accounts import mfa
from accounts.choices import Role
from accounts.forms import ROLE_ORDER, AccountAddForm, AccountChangeForm
from accounts.models import User
from core import gates
from core.admin import RestrictedAdmin


@admin.register(User)
class UserAdmin(RestrictedAdmin, BaseUserAdmin):
    """Accounts within the admin's reach, with their role and clearance on the add and
    change forms and in the list. A superuser also sees the superuser flag and the raw
    permissions; everyone else manages roles only."""

    form = AccountChangeForm
    add_form = AccountAddForm
    list_display = ["username", "email", "role_name", "clearance", "is_active", "last_login"]
    list_filter = [("groups", admin.RelatedOnlyFieldListFilter), "clearance", "is_active"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Role and clearance", {"fields": ("role", "clearance", "is_active")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
        ("Second factor", {"fields": ("second_factors",)}),
    )
    superuser_fieldsets = (("Superuser", {"fields": ("is_superuser", "user_permissions")}),)
    add_fieldsets = (
        (None, {"fields": ("username", "usable_password", "password1", "password2")}),
        ("Role and clearance", {"fields": ("role", "clearance")}),
    )
    readonly_fields = ["last_login", "date_joined", "second_factors"]
    actions = ["remove_second_factors"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="role")
    def role_name(self, user):
        names = {group.name for group in user.groups.all()}  # prefetched
        if user.is_superuser:
            return "admin (superuser)"
        return next((role for role in reversed(ROLE_ORDER) if role in names), "—")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and request.user.is_superuser:
            fieldsets = fieldsets + self.superuser_fieldsets
        return fieldsets

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        return type(form_class.__name__, (form_class,), {"granter": request.user})

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        form.apply_role(obj)

    @admin.display(description="second factors")
    def second_factors(self, user):
        return mfa.factors_of(user)

    @admin.action(description="Remove second factors of selected accounts", permissions=["change"])
    def remove_second_factors(self, request, queryset):
        """For someone who lost their app or passkey and their recovery codes: at their
        next sign-in they set up a new factor (where the policy asks for one). Only accounts
        cleared at or below the admin's own, as every door of this admin."""
        within = queryset.filter(pk__in=User.objects.restrict(request.user, "change").values("pk"))
        done = [account for account in within if mfa.remove_factors(account, request, by="admin")]
        if done:
            names = ", ".join(account.get_username() for account in done)
            self.message_user(request, f"Second factors removed: {names}.", messages.SUCCESS)
        else:
            self.message_user(request, "None of them had a second factor.", messages.INFO)


# The models other apps register, again on the restricted base: groups (roles), API tokens
# (revoked here, never made: a token made for someone else is that person's key) and the
# sign-in lockout's records (only of accounts the admin may see, or of no account).


class SuperusersOnly:
    """Machinery a partner curator does not need (roles are kept in sync by themselves,
    tokens and lockouts are the system's): shown to superusers only."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request) and super().has_delete_permission(request, obj)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(SuperusersOnly, RestrictedAdmin, BaseGroupAdmin):
    """The role groups are kept in sync with their permissions after every `migrate`
    (accounts.roles): read-only here, for everyone, since renaming one or taking its
    permissions would take every member's access, also of accounts above the admin."""

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not _is_role(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not _is_role(obj)


def _is_role(group):
    return group is not None and group.name in Role.values


admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(SuperusersOnly, RestrictedAdmin, BaseAuthTokenAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def of_accounts_within_reach(records, user):
    """Records that name an account by its username (django-axes'): those of accounts the
    user may see, or of no account (a guessed name)."""
    above = User.objects.exclude(pk__in=User.objects.restrict(user).values("pk"))
    return records.exclude(username__in=above.values("username"))


for model in (AccessAttempt, AccessLog, AccessFailureLog):
    gates.register(model, of_accounts_within_reach)


class OfAccountByName(SuperusersOnly, RestrictedAdmin):
    pass


for model, base in [
    (AccessAttempt, axes_admin.AccessAttemptAdmin),
    (AccessLog, axes_admin.AccessLogAdmin),
    (AccessFailureLog, axes_admin.AccessFailureLogAdmin),
]:
    admin.site.unregister(model)
    admin.site.register(model, type(base.__name__, (OfAccountByName, base), {}))


# The second factor's devices are not managed here: an authenticator app's secret is its
# owner's alone, and what an admin may do, remove them all, is the user admin's action.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)
