from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """Django's admin with the project's site (core.admin.AdminSite) as `admin.site`."""

    default_site = "core.admin.AdminSite"
