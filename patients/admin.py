from django.contrib import admin

from patients.models import (
    ConsentWithdrawal,
    Patient,
    Screening,
    ScreeningAcknowledgement,
    SignedConsent,
)


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


# --- Signed consents: read-only here; they are signed in the browser and never change.


class ConsentWithdrawalInline(admin.StackedInline):
    model = ConsentWithdrawal
    extra = 0
    can_delete = False
    readonly_fields = ("withdrawn_at", "recorded_by", "reason")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SignedConsent)
class SignedConsentAdmin(admin.ModelAdmin):
    list_display = ("patient", "protocol", "consent_version", "signed_at", "practitioner")
    list_select_related = ("patient", "protocol", "consent_version", "practitioner")
    raw_id_fields = ("patient",)
    exclude = ("patient_signature_png", "practitioner_signature_png")
    inlines = [ConsentWithdrawalInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
