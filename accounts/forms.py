"""The sign-in form, and the user admin's forms: an account's role and clearance chosen
among what the admin may give, never above their own."""

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from accounts.choices import Marking, Role

ROLE_ORDER = [Role.ANALYST, Role.MANAGER, Role.ADMIN]


def role_rank(role):
    return ROLE_ORDER.index(role) if role in ROLE_ORDER else -1


def check_grant(
    granter, clearance=None, initial_clearance=None, role=None, initial_role=None, superuser=False
):
    """No admin may give anyone, themselves included, a clearance or a role above their
    own. (Accounts cleared above the admin are out of its reach altogether:
    `User.objects.restrict`.)"""
    errors = {}
    if clearance and clearance != initial_clearance and not granter.may_see(clearance):
        errors["clearance"] = [f"You cannot give a clearance above your own ({granter.clearance})."]
    if role and role != initial_role and role_rank(role) > role_rank(granter.role):
        errors["role"] = ["You cannot give a role above your own."]
    if superuser and not granter.is_superuser:
        errors["is_superuser"] = ["You cannot make a superuser."]
    if errors:
        raise ValidationError(errors)


class AccountForm(forms.ModelForm):
    """Role and clearance of an account, for the admin `granter` (set by the user admin on
    a subclass): offered up to the granter's own; the role is the account's one role group,
    and admins are staff (they use /admin/)."""

    granter = None
    role = forms.ChoiceField(label="Role", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial_role = self.instance.role if self.instance.pk else None
        reachable = [role for role in ROLE_ORDER if role_rank(role) <= role_rank(self.granter.role)]
        self.fields["role"].choices = [("", "No role (sees nothing)")] + [
            (role.value, role.label) for role in reachable
        ]
        self.fields["role"].initial = self.initial_role or Role.ANALYST
        self.fields["role"].help_text = (
            "Analysts log and read; managers also review, set targets and tip statuses; "
            "admins also curate partners and users."
        )
        if "clearance" in self.fields:  # offer what this admin may give
            self.fields["clearance"].choices = [
                (value, label) for value, label in Marking.choices if self.granter.may_see(value)
            ]

    def clean(self):
        cleaned = super().clean()
        try:
            check_grant(
                self.granter,
                clearance=cleaned.get("clearance"),
                initial_clearance=self.instance.clearance if self.instance.pk else None,
                role=cleaned.get("role"),
                initial_role=self.initial_role,
                superuser=cleaned.get("is_superuser") and not self.instance.is_superuser,
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned

    def apply_role(self, user):
        """After the account is saved: its role group as chosen (other groups kept), and
        staff rights for admins."""
        chosen = self.cleaned_data.get("role") or None
        roles = Group.objects.filter(name__in=Role.values)
        user.groups.remove(*roles.exclude(name=chosen))
        if chosen:
            user.groups.add(Group.objects.get(name=chosen))
        staff = user.is_superuser or chosen == Role.ADMIN
        if user.is_staff != staff:
            user.is_staff = staff
            user.save(update_fields=["is_staff"])


class AccountAddForm(AccountForm, AdminUserCreationForm):
    pass


class AccountChangeForm(AccountForm, UserChangeForm):
    pass


class SignInForm(AuthenticationForm):
    """Django's sign-in form, with the system-use notice to acknowledge (NIST SP 800-53
    AC-8): without the box ticked the password is not even checked."""

    accept_notice = forms.BooleanField(
        label="I have read the notice above and accept its terms.",
        error_messages={"required": "Tick the box to accept the notice before signing in."},
    )

    field_order = ["username", "password", "accept_notice"]

    def clean(self):
        if not self.cleaned_data.get("accept_notice"):
            return self.cleaned_data
        return super().clean()
