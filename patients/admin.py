from django.contrib import admin

from patients.models import Patient, Screening, ScreeningAcknowledgement


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "date_of_birth", "phone", "email", "archived_at")
    list_filter = ("sex", "preferred_channel", "consents_to_marketing")
    search_fields = ("search_name", "phone", "email")
    readonly_fields = ("public_id", "created_at", "updated_at", "created_by")
    date_hierarchy = "created_at"


class AcknowledgementInline(admin.TabularInline):
    model = ScreeningAcknowledgement
    extra = 0
    readonly_fields = ("code", "reason", "acknowledged_by", "acknowledged_at")
    can_delete = False


@admin.register(Screening)
class ScreeningAdmin(admin.ModelAdmin):
    list_display = ("patient", "taken_on", "recorded_by", "recorded_at")
    list_select_related = ("patient", "recorded_by")
    raw_id_fields = ("patient",)
    readonly_fields = ("recorded_at", "recorded_by")
    inlines = [AcknowledgementInline]

    def has_delete_permission(self, request, obj=None):
        return False  # screenings are part of the clinical record
