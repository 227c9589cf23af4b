"""The three roles as Django groups, with the model permissions each needs.

Groups are (re)synchronised after every `migrate`, so a new model's permissions reach the
roles without a data migration. Object-level rules (an analyst deletes only its own
engagements) live on the models; these are the coarse, per-model permissions.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

from accounts.choices import Role

VIEW_ALL = [
    "partners.view_partner",
    "partners.view_membership",
    "roadmap.view_pillar",
    "roadmap.view_facet",
    "roadmap.view_tip",
    "roadmap.view_tipstatusupdate",
    "roadmap.view_challenge",
    "engagements.view_engagement",
    "roadmap.view_target",
    "engagements.view_action",
    "engagements.view_review",
    "engagements.view_note",
    "engagements.view_attachment",
    "people.view_person",
    "people.view_affiliation",
]
# Follow-up actions: anyone who logs engagements adds them and works on them.
ACTIONS = ["engagements.add_action", "engagements.change_action"]
# Notes and files: everyone adds them; an analyst changes and deletes its own (their
# gates), a manager or admin any.
NOTES = [
    "engagements.add_note",
    "engagements.change_note",
    "engagements.delete_note",
    "engagements.add_attachment",
    "engagements.delete_attachment",
]
# People: everyone who logs engagements enters and updates them; an analyst deletes those
# they entered (the gate), a manager or admin any.
PEOPLE = ["people.add_person", "people.change_person", "people.delete_person"]

ROLE_PERMISSIONS = {
    Role.ANALYST: VIEW_ALL
    + ["engagements.add_engagement", "engagements.change_engagement"]
    + ACTIONS
    + NOTES
    + PEOPLE,
    Role.MANAGER: VIEW_ALL
    + [
        "engagements.add_engagement",
        "engagements.change_engagement",
        "engagements.delete_engagement",
        "roadmap.add_tipstatusupdate",
        *ACTIONS,
        *NOTES,
        *PEOPLE,
        "engagements.delete_action",
        "engagements.add_review",
        "roadmap.add_target",
        "roadmap.change_target",
        "roadmap.delete_target",
    ],
    Role.ADMIN: None,  # every permission
}


def sync_role_groups(sender=None, apps=global_apps, verbosity=0, **kwargs):
    # Only once per migrate run, after the last app's permissions exist.
    if sender is not None and sender.name != "accounts":
        return
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=global_apps)
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        if codenames is None:
            permissions = Permission.objects.all()
        else:
            permissions = []
            for dotted in codenames:
                app_label, codename = dotted.split(".")
                permissions += Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
        group.permissions.set(permissions)


def create_user_with_role(username, password, role, clearance, email=""):
    """Create a user in the group of `role`; admins are also staff (they use /admin/)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(
        username=username,
        email=email,
        password=password,
        clearance=clearance,
        is_staff=(role == Role.ADMIN),
    )
    user.groups.add(Group.objects.get(name=role))
    return user
