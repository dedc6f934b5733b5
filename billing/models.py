"""Billing tables: price lists, packages, quotes, purchases with session credits,
invoices (immutable once issued, corrected by credit notes), payments and instalments.

Money columns are Decimal(12, 2) holding amounts already quantized by billing.pricing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from protocols.areas import ZONE_CHOICES


def money_field(verbose_name=None, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class PriceList(models.Model):
    """Prices from a date on, for the whole clinic or one location.

    A new list never changes past quotes or invoices: they copy their prices.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    effective_from = models.DateField()
    location = models.ForeignKey(
        "clinic_sessions.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="price_lists",
        help_text="Empty: every location without its own list.",
    )
    consultation_fee = money_field(default=Decimal("0"))
    maintenance_price = money_field(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-effective_from", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(consultation_fee__gte=0)
                & (Q(maintenance_price__isnull=True) | Q(maintenance_price__gte=0)),
                name="price_list_prices_not_negative",
                violation_error_message="Prices cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location_id else ""
        return f"{self.name} from {self.effective_from:%d %b %Y}{where}"


class Price(models.Model):
    """One item on a price list: a protocol session, or an add-on."""

    class Kind(models.TextChoices):
        SESSION = "session", "Session of a protocol"
        ADDON = "addon", "Add-on"

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="prices")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SESSION)
    protocol = models.ForeignKey(
        "protocols.Protocol", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=120, blank=True, help_text="For add-ons.")
    amount = money_field()

    class Meta:
        ordering = ["kind", "protocol__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="price_not_negative",
                violation_error_message="A price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=(Q(kind="session") & Q(protocol__isnull=False))
                | (Q(kind="addon") & ~Q(name="")),
                name="price_session_has_protocol_addon_has_name",
                violation_error_message="A session price needs a protocol; an add-on a name.",
            ),
            models.UniqueConstraint(
                fields=["price_list", "protocol"],
                condition=Q(kind="session"),
                name="one_session_price_per_protocol_per_list",
                violation_error_message="This list already prices that protocol.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol or self.name}: {self.amount}"


class Package(models.Model):
    """N sessions of one or more protocols (+ maintenance) at a price or % off."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    maintenance_sessions = models.PositiveSmallIntegerField(default=0)
    price = money_field(
        null=True, blank=True, help_text="A fixed package price; or leave empty and set % off."
    )
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    valid_months = models.PositiveSmallIntegerField(default=12)
    allow_above_single_price = models.BooleanField(
        default=False,
        help_text="Allow a package dearer than paying per session (otherwise capped).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(price__isnull=False) & Q(percent_off__isnull=True) & Q(price__gte=0))
                | (
                    Q(price__isnull=True)
                    & Q(percent_off__isnull=False)
                    & Q(percent_off__gte=0)
                    & Q(percent_off__lte=100)
                ),
                name="package_price_or_percent",
                violation_error_message=(
                    "Give either a package price (not negative) or a percentage off (0–100)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(valid_months__gte=1), name="package_valid_months_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PackageItem(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="items")
    protocol = models.ForeignKey("protocols.Protocol", on_delete=models.PROTECT, related_name="+")
    sessions = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "protocol"], name="package_item_unique"),
            models.CheckConstraint(condition=Q(sessions__gte=1), name="package_item_sessions"),
        ]

    def __str__(self) -> str:
        return f"{self.sessions} × {self.protocol}"


class DocumentCounter(models.Model):
    """The last number used per series and year; locked row by row when numbering."""

    series = models.CharField(max_length=4)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="one_counter_per_series_year")
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last}"


class Quote(models.Model):
    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Waiting for a manager's approval"
        ISSUED = "issued", "Issued"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=20, unique=True)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="quotes")
    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, related_name="quotes")
    location = models.ForeignKey(
        "clinic_sessions.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    # The option chosen: pay per session, or a package.
    package = models.ForeignKey(
        Package, null=True, blank=True, on_delete=models.PROTECT, related_name="quotes"
    )
    option_name = models.CharField(max_length=120)
    areas = ArrayField(models.CharField(max_length=40, choices=ZONE_CHOICES), default=list)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    discount_reason = models.CharField(max_length=200, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # Snapshot of the figures, so a new price list never changes the quote.
    single_price_total = money_field()
    subtotal = money_field()
    discount = money_field()
    net = money_field()
    tax = money_field()
    total = money_field()
    deposit = money_field()
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    prices_include_tax = models.BooleanField()
    # A recent consultation's fee, taken off this first treatment.
    consultation_invoice = models.ForeignKey(
        "Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consultation_deduction = money_field(default=Decimal("0"))
    # Every option shown side by side when the quote was made (for the page and PDF).
    comparison = models.JSONField(default=list)
    valid_until = models.DateField()
    valid_months = models.PositiveSmallIntegerField(default=12)
    notes = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    declined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="quote_discount_0_100",
            ),
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(deposit__gte=0) & Q(deposit__lte=models.F("total")),
                name="quote_amounts_sane",
            ),
        ]
        indexes = [models.Index(fields=["patient", "-created_at"], name="quote_patient")]

    def __str__(self) -> str:
        return self.number

    def is_expired(self, today) -> bool:
        return self.status in (self.Status.ISSUED, self.Status.PENDING_APPROVAL) and (
            today > self.valid_until
        )

    def display_status(self, today) -> str:
        return "Expired" if self.is_expired(today) else self.get_status_display()


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    protocol = models.ForeignKey(
        "protocols.Protocol", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_maintenance = models.BooleanField(default=False)
    # An add-on from the price list (a product, not a session: no credit).
    is_addon = models.BooleanField(default=False)
    description = models.CharField(max_length=200)
    quantity = models.PositiveSmallIntegerField()
    unit_price = money_field()
    amount = money_field()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"


class Purchase(models.Model):
    """What the patient bought: session credits, valid until a date."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="purchases"
    )
    quote = models.OneToOneField(
        Quote, null=True, blank=True, on_delete=models.PROTECT, related_name="purchase"
    )
    package = models.ForeignKey(
        Package, null=True, blank=True, on_delete=models.PROTECT, related_name="purchases"
    )
    name = models.CharField(max_length=120)
    location = models.ForeignKey(
        "clinic_sessions.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="purchases",
    )
    total = money_field()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    purchased_at = models.DateTimeField(default=timezone.now)
    valid_until = models.DateField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["purchased_at", "id"]
        indexes = [models.Index(fields=["patient", "status"], name="purchase_patient_status")]

    def __str__(self) -> str:
        return f"{self.name} for {self.patient}"


class Credit(models.Model):
    """Sessions of one protocol (or maintenance sessions) a purchase paid for."""

    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="credits")
    protocol = models.ForeignKey(
        "protocols.Protocol", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_maintenance = models.BooleanField(default=False)
    description = models.CharField(max_length=200)
    quantity = models.PositiveSmallIntegerField()
    used = models.PositiveSmallIntegerField(default=0)
    # This credit's share of the purchase price (all its sessions), a session's part of
    # it, and the single price it replaced. The last session used takes the remainder.
    value = money_field(default=Decimal("0"))
    unit_value = money_field()
    single_price = money_field()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used__lte=models.F("quantity")), name="credit_not_overused"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.used}/{self.quantity}"

    @property
    def remaining(self) -> int:
        return self.quantity - self.used

    def next_use_value(self) -> Decimal:
        """What the next session used is worth: the unit value, the remainder for the last."""
        if self.used + 1 >= self.quantity:
            return self.value - self.unit_value * (self.quantity - 1)
        return self.unit_value


class CreditUse(models.Model):
    """One completed appointment paid by one credit. One per appointment."""

    credit = models.ForeignKey(Credit, on_delete=models.PROTECT, related_name="uses")
    appointment = models.OneToOneField(
        "clinic_sessions.Appointment", on_delete=models.PROTECT, related_name="credit_use"
    )
    value = money_field()
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(
        "clinic_sessions.Location", null=True, on_delete=models.PROTECT, related_name="+"
    )
    used_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.credit} for appointment {self.appointment_id}"


class Invoice(models.Model):
    """An invoice or a credit note. Immutable once issued (a trigger refuses changes)."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(max_length=20, null=True, blank=True, unique=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="invoices"
    )
    purchase = models.ForeignKey(
        Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    appointment = models.ForeignKey(
        "clinic_sessions.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    location = models.ForeignKey(
        "clinic_sessions.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    reason = models.CharField(max_length=200, blank=True)
    subtotal = money_field(default=Decimal("0"))
    discount = money_field(default=Decimal("0"))
    # The consultation invoice whose fee this (first treatment) invoice takes off, once.
    consultation_deducted = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="deducted_by"
    )
    deduction = money_field(default=Decimal("0"))
    net = money_field(default=Decimal("0"))
    tax = money_field(default=Decimal("0"))
    total = money_field(default=Decimal("0"))
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    prices_include_tax = models.BooleanField(default=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "year", "sequence"], name="invoice_number_unique_per_kind_year"
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (
                    Q(number__isnull=False)
                    & Q(issued_at__isnull=False)
                    & Q(year__isnull=False)
                    & Q(sequence__isnull=False)
                ),
                name="issued_invoice_has_number",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_not_negative"),
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(kind="invoice"),
                name="one_invoice_per_appointment",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "-issued_at"], name="invoice_patient"),
            models.Index(fields=["issued_at"], name="invoice_issued_at"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.get_kind_display().lower()}"

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=200)
    protocol = models.ForeignKey(
        "protocols.Protocol", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveSmallIntegerField(default=1)
    unit_price = money_field()
    amount = money_field()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(amount__gte=0), name="invoice_line_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"


class Instalment(models.Model):
    """One due date of a payment plan (the deposit is the first)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="instalments")
    due_on = models.DateField()
    amount = money_field()
    is_deposit = models.BooleanField(default=False)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} due {self.due_on}"


class Payment(models.Model):
    """Money in (a payment or deposit) or out (a refund). Never edited or deleted."""

    class Method(models.TextChoices):
        CASH = "cash", "Cash"
        CARD = "card", "Card"
        TRANSFER = "transfer", "Bank transfer"

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The form's one-time token: a second submit of the same form finds this row.
    token = models.UUIDField(unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="payments"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PAYMENT)
    method = models.CharField(max_length=8, choices=Method.choices)
    amount = money_field()
    is_deposit = models.BooleanField(default=False)
    reference = models.CharField(max_length=100, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["taken_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["invoice", "kind"], name="payment_invoice_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.get_method_display()})"

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.kind == self.Kind.PAYMENT else -self.amount
