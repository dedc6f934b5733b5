from django.contrib import admin
from django.urls import reverse

from protocols.models import (
    CareInstruction,
    CentrifugeSpin,
    CocktailIngredient,
    ConsentVersion,
    Protocol,
    ProtocolContraindication,
)


class SpinInline(admin.TabularInline):
    model = CentrifugeSpin
    extra = 0


class IngredientInline(admin.TabularInline):
    model = CocktailIngredient
    extra = 0


class ContraindicationInline(admin.TabularInline):
    model = ProtocolContraindication
    extra = 0


class CareInline(admin.TabularInline):
    model = CareInstruction
    extra = 0


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "indication",
        "technique",
        "sessions_in_course",
        "target_interval_days",
        "is_active",
    )
    list_filter = ("indication", "technique", "is_active")
    search_fields = ("name",)
    inlines = [SpinInline, IngredientInline, ContraindicationInline, CareInline]

    # Protocols change only through the catalogue editor, whose service checks the
    # whole protocol (spacing, spins, aftercare, names) and keeps a consent version;
    # the admin shows them and links there.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def view_on_site(self, obj):
        return reverse("protocols:detail", args=[obj.pk])


@admin.register(ConsentVersion)
class ConsentVersionAdmin(admin.ModelAdmin):
    list_display = ("protocol", "number", "created_by", "created_at", "locked_at")
    list_filter = ("protocol",)
    readonly_fields = (
        "protocol",
        "number",
        "text",
        "text_sha256",
        "created_by",
        "created_at",
        "locked_at",
    )

    # Versions are made by editing a protocol's consent; signed ones never change.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
