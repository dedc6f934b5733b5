from django.contrib import admin

from sessions.scheduling.models import (
    Absence,
    Appointment,
    CalendarFeed,
    Closure,
    Location,
    Room,
    TreatmentPlan,
    WorkingHours,
)


class RoomInline(admin.TabularInline):
    model = Room
    extra = 0


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "is_active"]
    inlines = [RoomInline]


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    list_display = ["practitioner", "location", "weekday", "start", "end"]
    list_filter = ["location", "weekday"]


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ["practitioner", "kind", "starts_at", "ends_at"]
    list_filter = ["kind"]


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["name", "location", "starts_on", "ends_on"]


@admin.register(TreatmentPlan)
class TreatmentPlanAdmin(admin.ModelAdmin):
    list_display = ["patient", "protocol", "practitioner", "status", "created_at"]
    list_filter = ["status", "protocol"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient", "protocol", "practitioner"]


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """Read-mostly: bookings and moves go through the calendar so the rules apply."""

    list_display = ["starts_at", "patient", "kind", "protocol", "practitioner", "status"]
    list_filter = ["status", "kind", "location"]
    date_hierarchy = "starts_at"
    list_select_related = ["patient", "protocol", "practitioner"]
    raw_id_fields = ["patient", "course"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["practitioner", "created_at"]
    exclude = ["token"]
