"""Charting in the admin: read-only; charts are written, signed and amended in the app."""

from django.contrib import admin

from sessions.charting.models import (
    AdverseEvent,
    ChartAmendment,
    ChartArea,
    ChartProduct,
    ChartSpin,
    SessionChart,
    SessionDocument,
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _inline(model_class):
    return type(f"{model_class.__name__}Inline", (_ReadOnlyInline,), {"model": model_class})


@admin.register(SessionChart)
class SessionChartAdmin(admin.ModelAdmin):
    list_display = ["appointment", "signed_at", "signed_by", "created_at"]
    list_select_related = ["appointment", "signed_by"]
    raw_id_fields = ["appointment"]
    inlines = [_inline(m) for m in (ChartProduct, ChartSpin, ChartArea, AdverseEvent)] + [
        _inline(ChartAmendment)
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChartProduct)
class ChartProductAdmin(admin.ModelAdmin):
    list_display = ["lot_number", "brand", "name", "kind", "expiry_date", "chart"]
    search_fields = ["lot_number", "brand"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SessionDocument)
class SessionDocumentAdmin(admin.ModelAdmin):
    list_display = ["appointment", "kind", "generated_at"]
    readonly_fields = ["appointment", "kind", "file", "sha256", "generated_at"]

    def has_add_permission(self, request):
        return False
