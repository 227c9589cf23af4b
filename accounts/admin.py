from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "clearance", "is_active", "is_staff", "last_login"]
    list_filter = ["clearance", "groups", "is_active", "is_staff"]
    fieldsets = BaseUserAdmin.fieldsets + (("Clearance", {"fields": ["clearance"]}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("Clearance", {"fields": ["clearance"]}),)
