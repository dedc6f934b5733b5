from django.contrib import admin

from mesoclinic.core.models import AuditEvent, MessageSetting, OutboundMessage


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "actor_label",
        "action",
        "patient_id",
        "object_type",
        "summary",
        "ip_address",
    )
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "summary", "object_id")
    date_hierarchy = "at"

    # Append-only: the admin can read the log but never write it.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ("due_at", "kind", "offset_key", "recipient", "state", "attempts", "sent_at")
    list_filter = ("state", "kind")
    search_fields = ("recipient", "email_subject")
    readonly_fields = (
        "subject_type",
        "subject_id",
        "patient_id",
        "claimed_at",
        "sent_at",
        "created_at",
        "updated_at",
    )
    date_hierarchy = "due_at"


@admin.register(MessageSetting)
class MessageSettingAdmin(admin.ModelAdmin):
    list_display = ("kind", "enabled", "offsets_hours", "respects_quiet_hours")
