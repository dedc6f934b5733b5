"""Forms for keeping price lists and packages. They parse input; the rules are in
billing.pricing (price_list_problems, package_problems), applied by the services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms

from billing.forms import MAX_AMOUNT, StyledForm
from billing.models import Package, PriceList

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
MAX_SESSIONS = 50


def _amount(label: str, *, required: bool = False, help_text: str = "") -> forms.DecimalField:
    # No minimum here: a negative amount gets the pricing rule's own message.
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=12,
        decimal_places=2,
        max_value=MAX_AMOUNT,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


class PriceListForm(StyledForm):
    """A list's own fields and one price per protocol (empty: not on this list)."""

    name = forms.CharField(max_length=120)
    effective_from = forms.DateField(
        label="Applies from", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    location = forms.ChoiceField(
        required=False, help_text="A location's own list wins over the whole clinic's."
    )
    consultation_fee = _amount("Consultation fee", required=True)
    maintenance_price = _amount(
        "Maintenance session", help_text="Empty: packages with maintenance are not offered."
    )

    def __init__(self, *args, protocols, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.protocols = list(protocols)
        self.locations = {str(loc.public_id): loc for loc in locations}
        self.fields["location"].choices = [("", "Whole clinic")] + [
            (key, loc.name) for key, loc in self.locations.items()
        ]
        for protocol in self.protocols:
            field = _amount(protocol.name)
            field.widget.attrs["class"] = "form-control"
            self.fields[f"price_{protocol.pk}"] = field

    def price_fields(self):
        return [(p, self[f"price_{p.pk}"]) for p in self.protocols]

    def clean_effective_from(self):
        day = self.cleaned_data["effective_from"]
        if not EARLIEST <= day <= LATEST:
            raise forms.ValidationError("Choose a date between 2000 and 2099.")
        return day

    def chosen_location(self):
        return self.locations.get(self.cleaned_data.get("location") or "")

    def session_prices(self) -> dict:
        data = self.cleaned_data
        fields = {p: f"price_{p.pk}" for p in self.protocols}
        return {p: data[name] for p, name in fields.items() if data.get(name) is not None}

    @staticmethod
    def initial_from(price_list: PriceList, *, copy: bool = False) -> dict:
        initial = {
            "name": "" if copy else price_list.name,
            "effective_from": None if copy else price_list.effective_from,
            "location": str(price_list.location.public_id) if price_list.location_id else "",
            "consultation_fee": price_list.consultation_fee,
            "maintenance_price": price_list.maintenance_price,
        }
        for price in price_list.prices.all():
            if price.protocol_id:
                initial[f"price_{price.protocol_id}"] = price.amount
        return initial


class AddonForm(StyledForm):
    name = forms.CharField(max_length=120, label="Add-on", required=False)
    amount = _amount("Price")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["aria-label"] = "Add-on name"
        self.fields["amount"].widget.attrs["aria-label"] = "Add-on price"

    def clean(self):
        data = super().clean()
        if data.get("name") and data.get("amount") is None and not self.has_error("amount"):
            self.add_error("amount", "Give its price.")
        if data.get("amount") is not None and not data.get("name"):
            self.add_error("name", "Give the add-on a name.")
        return data


class BaseAddonFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs.update(
                {"class": "form-check-input", "aria-label": "Remove this add-on"}
            )


AddonFormSet = forms.formset_factory(
    AddonForm, formset=BaseAddonFormSet, extra=2, can_delete=True, max_num=30, validate_max=True
)


def addons_of(formset) -> dict[str, Decimal]:
    """Add-ons kept in the formset (named, not removed), by name."""
    return {
        f.cleaned_data["name"].strip(): f.cleaned_data["amount"]
        for f in formset.forms
        if f.cleaned_data.get("name") and not f.cleaned_data.get("DELETE")
    }


class PackageForm(StyledForm):
    """A package: sessions per protocol (empty: not in it), at a price or a % off."""

    name = forms.CharField(max_length=120)
    price = _amount("Package price", help_text="Either a price for the whole package…")
    percent_off = forms.DecimalField(
        label="Or % off the per-session price",
        required=False,
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.5", "inputmode": "decimal"}),
    )
    maintenance_sessions = forms.IntegerField(
        label="Maintenance sessions included", initial=0, max_value=1000, min_value=-1000
    )
    valid_months = forms.IntegerField(
        label="Valid for (months after purchase)", initial=12, max_value=1000, min_value=-1000
    )
    allow_above_single_price = forms.BooleanField(
        label="May cost more than paying per session (e.g. it bundles something not priced)",
        required=False,
    )
    is_active = forms.BooleanField(label="Offered on new quotes", required=False, initial=True)

    def __init__(self, *args, protocols, **kwargs):
        super().__init__(*args, **kwargs)
        self.protocols = list(protocols)
        for protocol in self.protocols:
            self.fields[f"sessions_{protocol.pk}"] = forms.IntegerField(
                label=protocol.name,
                required=False,
                max_value=MAX_SESSIONS,
                min_value=-MAX_SESSIONS,
                widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
            )

    def session_fields(self):
        return [(p, self[f"sessions_{p.pk}"]) for p in self.protocols]

    def sessions(self) -> dict:
        data = self.cleaned_data
        return {
            p: data[f"sessions_{p.pk}"]
            for p in self.protocols
            if data.get(f"sessions_{p.pk}") not in (None, 0)
        }

    @staticmethod
    def initial_from(package: Package) -> dict:
        initial = {
            "name": package.name,
            "price": package.price,
            "percent_off": package.percent_off,
            "maintenance_sessions": package.maintenance_sessions,
            "valid_months": package.valid_months,
            "allow_above_single_price": package.allow_above_single_price,
            "is_active": package.is_active,
        }
        for item in package.items.all():
            initial[f"sessions_{item.protocol_id}"] = item.sessions
        return initial
