"""Billing forms: they clean input; services do the work."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django import forms

from billing import pricing
from billing.models import Payment
from protocols.areas import ZONE_CHOICES

MAX_AMOUNT = Decimal("1000000")


def money_input(label: str, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        **kwargs,
    )


class QuoteForm(forms.Form):
    """Protocols and session counts (one field per priced protocol), areas, discount, option."""

    location = forms.ChoiceField(
        required=False, label="Location", widget=forms.Select(attrs={"class": "form-select"})
    )
    areas = forms.MultipleChoiceField(
        choices=ZONE_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    discount_percent = forms.DecimalField(
        label="Discount (%)",
        required=False,
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.5", "min": "0", "max": "100"}),
    )
    discount_reason = forms.CharField(
        label="Reason for the discount", required=False, max_length=200
    )
    option = forms.CharField(required=False, widget=forms.HiddenInput)
    notes = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, protocols, locations=(), addons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.protocols = list(protocols)
        self.addons = list(addons)
        for addon in self.addons:
            self.fields[f"addon_{addon.pk}"] = forms.IntegerField(
                label=addon.name,
                required=False,
                min_value=0,
                max_value=20,
                widget=forms.NumberInput(attrs={"min": "0", "max": "20", "class": "form-control"}),
            )
        for protocol in self.protocols:
            self.fields[f"sessions_{protocol.pk}"] = forms.IntegerField(
                label=protocol.name,
                required=False,
                min_value=0,
                max_value=50,
                widget=forms.NumberInput(attrs={"min": "0", "max": "50", "class": "form-control"}),
            )
        self.fields["location"].choices = [("", "Whole clinic")] + [
            (str(loc.public_id), loc.name) for loc in locations
        ]

    def session_fields(self):
        return [(p, self[f"sessions_{p.pk}"]) for p in self.protocols]

    def addon_fields(self):
        return [(a, self[f"addon_{a.pk}"]) for a in self.addons]

    def extras(self) -> list[pricing.Line]:
        """The add-ons asked for, at their price-list price."""
        data = self.cleaned_data
        return [
            pricing.Line(a.name, data[f"addon_{a.pk}"], a.amount)
            for a in self.addons
            if data.get(f"addon_{a.pk}")
        ]

    def clean_discount_percent(self):
        value = self.cleaned_data.get("discount_percent") or Decimal(0)
        if value < 0:
            raise forms.ValidationError("A discount cannot be negative.")
        if value > 100:
            raise forms.ValidationError("A discount cannot be more than 100%.")
        return value

    def wanted(self) -> list[tuple[int, str, int]]:
        data = self.cleaned_data
        return [
            (p.pk, p.name, data.get(f"sessions_{p.pk}") or 0)
            for p in self.protocols
            if data.get(f"sessions_{p.pk}")
        ]


class StyledForm(forms.Form):
    """Bootstrap classes on every widget (these forms are laid out by hand)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")


class TokenForm(StyledForm):
    """A form submitted once: its token makes a second submit a no-op."""

    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4())


class AcceptForm(StyledForm):
    instalments = forms.TypedChoiceField(
        label="How will the patient pay?",
        coerce=int,
        choices=[(0, "In full (deposit now, the rest before the course ends)")]
        + [(n, f"Deposit now, then {n} monthly instalments") for n in (2, 3, 4, 6, 12)],
        initial=0,
    )


class PaymentForm(TokenForm):
    amount = money_input("Amount")
    method = forms.ChoiceField(choices=Payment.Method.choices, initial=Payment.Method.CARD)
    is_deposit = forms.BooleanField(label="This is the deposit", required=False)
    reference = forms.CharField(required=False, max_length=100, label="Reference (optional)")


class RefundForm(TokenForm):
    """Shown on the same page as the payment form: its own ids (the names stay)."""

    amount = money_input("Amount to refund")
    method = forms.ChoiceField(choices=Payment.Method.choices, initial=Payment.Method.CARD)
    reference = forms.CharField(required=False, max_length=100, label="Reason / reference")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_refund_%s")
        super().__init__(*args, **kwargs)


class CancelPurchaseForm(TokenForm):
    method = forms.ChoiceField(
        choices=Payment.Method.choices, initial=Payment.Method.CARD, label="Refund by"
    )
    confirm = forms.BooleanField(label="I have explained the refund to the patient")


class CreditNoteForm(StyledForm):
    """Shown on the same page as the payment form: its own ids (the names stay)."""

    amount = money_input("Amount to credit (tax included)")
    reason = forms.CharField(max_length=200)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_credit_%s")
        super().__init__(*args, **kwargs)


# Reports look back a year from the end date and run to the day after it.
REPORT_EARLIEST = date(2000, 1, 1)
REPORT_LATEST = date(2199, 12, 31)


class ReportFilterForm(StyledForm):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    location = forms.ChoiceField(required=False)

    def __init__(self, *args, locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [("", "All locations")] + [
            (str(loc.public_id), loc.name) for loc in locations
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        for name, day in (("start", start), ("end", end)):
            if day and not REPORT_EARLIEST <= day <= REPORT_LATEST:
                self.add_error(name, "Choose a date between 2000 and 2199.")
                start = end = None
        if start and end and start > end:
            raise forms.ValidationError("The start date must be before the end date.")
        return data

    def period(self, today: date) -> tuple[date, date]:
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or today
        start = data.get("start") or date(end.year - 1, end.month, 1)
        return start, end
