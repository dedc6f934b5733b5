"""The admin's user pages: only a superuser grants superuser or staff status, assigns
permissions or changes a superuser. Managers manage staff in the app (Staff pages),
where every change is audited; the admin shows them accounts read-only."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from mesoclinic.accounts.models import StaffAccount

PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "user_permissions", "groups")


class ClinicUserAdmin(UserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        return fields + PRIVILEGE_FIELDS

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


admin.site.unregister(User)
admin.site.register(User, ClinicUserAdmin)


@admin.register(StaffAccount)
class StaffAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "public_id", "must_change_password", "created_by")
    readonly_fields = ("user", "public_id", "must_change_password", "created_by")
    search_fields = ("user__username",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
