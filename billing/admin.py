"""Admin for billing, read-only where the app owns the writes: price lists and packages
are kept in the app (billing/price_views.py: the pricing rules, an audit row); issued
invoices and payments are read-only (the database refuses changes anyway)."""

from django.contrib import admin

from billing.models import (
    Credit,
    CreditUse,
    DocumentCounter,
    Instalment,
    Invoice,
    InvoiceLine,
    Package,
    PackageItem,
    Payment,
    Price,
    PriceList,
    Purchase,
    Quote,
    QuoteLine,
)


class KeptInTheApp:
    """Shown, not changed, here: edits go through the app's validated, audited pages."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PriceInline(KeptInTheApp, admin.TabularInline):
    model = Price
    extra = 0


@admin.register(PriceList)
class PriceListAdmin(KeptInTheApp, admin.ModelAdmin):
    list_display = ["name", "effective_from", "location", "consultation_fee", "maintenance_price"]
    list_filter = ["location"]
    date_hierarchy = "effective_from"
    inlines = [PriceInline]


class PackageItemInline(KeptInTheApp, admin.TabularInline):
    model = PackageItem
    extra = 0


@admin.register(Package)
class PackageAdmin(KeptInTheApp, admin.ModelAdmin):
    list_display = [
        "name",
        "price",
        "percent_off",
        "maintenance_sessions",
        "valid_months",
        "is_active",
    ]
    list_filter = ["is_active"]
    search_fields = ["name"]
    inlines = [PackageItemInline]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class QuoteLineInline(ReadOnlyInline):
    model = QuoteLine
    fields = ["description", "quantity", "unit_price", "amount"]
    readonly_fields = fields


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["number", "patient", "option_name", "total", "status", "valid_until"]
    list_filter = ["status"]
    search_fields = ["number", "patient__last_name"]
    raw_id_fields = ["patient", "price_list", "package", "approved_by", "created_by", "location"]
    readonly_fields = ["number", "comparison", "subtotal", "discount", "net", "tax", "total"]
    inlines = [QuoteLineInline]


class CreditInline(ReadOnlyInline):
    model = Credit
    fields = ["description", "quantity", "used", "unit_value", "single_price"]
    readonly_fields = fields


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    list_display = ["name", "patient", "total", "status", "purchased_at", "valid_until"]
    list_filter = ["status"]
    search_fields = ["name", "patient__last_name"]
    raw_id_fields = ["patient", "quote", "package", "cancelled_by", "created_by", "location"]
    inlines = [CreditInline]


@admin.register(CreditUse)
class CreditUseAdmin(admin.ModelAdmin):
    list_display = ["credit", "appointment", "value", "used_at"]
    raw_id_fields = ["credit", "appointment", "practitioner", "location"]


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["description", "quantity", "unit_price", "amount"]
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "kind", "patient", "total", "issued_at"]
    list_filter = ["kind", "status"]
    search_fields = ["number", "patient__last_name"]
    date_hierarchy = "issued_at"
    inlines = [InvoiceLineInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["taken_at", "kind", "method", "amount", "invoice", "patient"]
    list_filter = ["kind", "method"]
    search_fields = ["invoice__number", "patient__last_name", "reference"]
    date_hierarchy = "taken_at"

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Instalment)
class InstalmentAdmin(admin.ModelAdmin):
    list_display = ["invoice", "due_on", "amount", "is_deposit"]
    raw_id_fields = ["invoice"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DocumentCounter)
class DocumentCounterAdmin(admin.ModelAdmin):
    list_display = ["series", "year", "last"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
