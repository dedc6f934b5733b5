"""Online booking in the admin: read-only (the services and the staff pages own the writes;
the settings and policy are edited on Online booking settings)."""

from django.contrib import admin

from sessions.online.models import (
    BookingPolicy,
    Hold,
    OnlineBooking,
    OnlinePatientReview,
    OnlineSettings,
    RemoteConsent,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OnlineBooking)
class OnlineBookingAdmin(ReadOnly):
    list_display = ["created_at", "kind", "protocol", "location", "status", "patient"]
    list_filter = ["status", "kind", "location"]
    list_select_related = ["protocol", "location", "patient"]


@admin.register(Hold)
class HoldAdmin(ReadOnly):
    list_display = ["starts_at", "ends_at", "practitioner", "expires_at", "released_at"]
    list_select_related = ["practitioner"]


@admin.register(RemoteConsent)
class RemoteConsentAdmin(ReadOnly):
    list_display = ["patient", "protocol", "signed_at", "signed_consent"]
    list_select_related = ["patient", "protocol", "signed_consent"]
    exclude = ["signature_png"]


admin.site.register(OnlineSettings, ReadOnly)
admin.site.register(BookingPolicy, ReadOnly)
admin.site.register(OnlinePatientReview, ReadOnly)
