from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Their receivers connect, and the API schema learns the token scheme (schema).
        from accounts import (  # noqa: F401
            access,
            audit,
            credentials,
            mfa,
            saved_views,
            schema,
            sessions,
        )
        from accounts.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
