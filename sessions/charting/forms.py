"""Forms of the session chart. They parse and check types; sessions.charting.services decides."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.validators import MinValueValidator

from protocols.areas import ZONE_BY_CODE, ZONES
from sessions.charting.models import AdverseEvent, ChartProduct, SessionChart
from sessions.charting.rules import Area, ChartInput, Event, Point, Product, Spin
from sessions.charting.services import CHART_FIELDS

MAX_LINES = 30
NEGATIVE = "Cannot be negative."


class ChartForm(forms.ModelForm):
    """The chart's own fields; product, spin, area and adverse-event lines arrive as
    parallel lists (one row per line) and are parsed in `clean`."""

    class Meta:
        model = SessionChart
        fields = list(CHART_FIELDS)
        widgets = {
            "immediate_reactions": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("blood_volume_ml", "prp_yield_ml", "microneedling_depth_mm"):
            self.fields[name].validators.append(MinValueValidator(0, NEGATIVE))
            self.fields[name].widget.attrs.update(
                {"min": "0", "step": "0.1", "inputmode": "decimal"}
            )
        for name in ("tubes", "anaesthetic_minutes", "needle_gauge"):
            self.fields[name].validators.append(MinValueValidator(0, NEGATIVE))
            self.fields[name].widget.attrs.update({"min": "0", "inputmode": "numeric"})
        self.lines: dict = {}

    # -- parsing the line lists

    def _rows(self, *names: str) -> list[tuple[str, ...]]:
        columns = [self.data.getlist(name) for name in names]
        length = max((len(c) for c in columns), default=0)
        rows = []
        for i in range(min(length, MAX_LINES)):
            row = tuple((c[i] if i < len(c) else "").strip() for c in columns)
            if any(row):
                rows.append(row)
        return rows

    def _decimal(self, text: str, field: str, what: str) -> Decimal | None:
        if not text:
            return None
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation:
            self.add_error(None, f"{what}: {text!r} is not a number.")
            return None
        if not value.is_finite() or value < 0 or value >= 100:
            self.add_error(None, f"{what}: {text} is not a sensible amount.")
            return None
        return value.quantize(Decimal("0.01"))

    def _position(self, text: str, what: str) -> Decimal | None:
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or not -1000 < value < 1000:
            self.add_error(None, f"{what}: the position is not on the diagram.")
            return None
        return value.quantize(Decimal("0.1"))

    def _int(self, text: str, what: str) -> int | None:
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            self.add_error(None, f"{what}: {text!r} is not a whole number.")
            return None

    def _date(self, text: str, what: str) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.add_error(None, f"{what}: {text!r} is not a date.")
            return None

    def clean(self):
        cleaned = super().clean()
        kinds = {k for k, _ in ChartProduct.Kind.choices}
        products = []
        for kind, brand, name, lot, expiry in self._rows(
            "product_kind", "product_brand", "product_name", "product_lot", "product_expiry"
        ):
            if not (brand or name or lot or expiry):
                continue
            if kind not in kinds:
                self.add_error(None, "Choose what each product is (kit, tube, activator...).")
                continue
            products.append(
                Product(kind, brand, lot, self._date(expiry, f"Expiry of lot {lot}"), name)
            )
        spins = [
            Spin(self._int(g, "Spin force"), self._int(m, "Spin minutes"))
            for g, m in self._rows("spin_g", "spin_minutes")
        ]
        areas = []
        for code in dict.fromkeys(self.data.getlist("zone")[:MAX_LINES]):
            if code not in ZONE_BY_CODE:
                self.add_error(None, f"Unknown treatment area {code!r}.")
                continue
            volume = self._decimal(
                self.data.get(f"volume_{code}", "").strip(), "", ZONE_BY_CODE[code].label
            )
            areas.append(Area(code, volume))
        # Injection points tapped on the diagram, each with its zone (rules check them).
        points: dict[str, list[Point]] = {}
        for zone, x, y, product, volume in self._rows(
            "point_zone", "point_x", "point_y", "point_product", "point_volume"
        ):
            if zone not in ZONE_BY_CODE:
                self.add_error(None, f"Injection point in an unknown area {zone!r}.")
                continue
            label = f"Injection point in {ZONE_BY_CODE[zone].label}"
            px, py = self._position(x, label), self._position(y, label)
            if px is None or py is None:
                continue
            points.setdefault(zone, []).append(
                Point(px, py, product, self._decimal(volume, "", f"{label}: volume"))
            )
        chosen = {a.zone for a in areas}
        for zone in points:  # a point's zone is a treated area
            if zone not in chosen:
                areas.append(Area(zone, None))
        areas = [Area(a.zone, a.volume_ml, tuple(points.get(a.zone, ()))) for a in areas]
        events = []
        types = {k for k, _ in AdverseEvent.Type.choices}
        for kind, severity, onset, action in self._rows(
            "event_type", "event_severity", "event_onset", "event_action"
        ):
            if kind and kind not in types:
                self.add_error(None, "Unknown adverse event type.")
                continue
            if severity and severity not in AdverseEvent.Severity.values:
                self.add_error(None, "Unknown severity.")
                continue
            if onset and onset not in AdverseEvent.Onset.values:
                self.add_error(None, "Unknown onset.")
                continue
            events.append(Event(kind, severity, onset, action))
        self.lines = {
            "products": products,
            "spins": spins,
            "areas": areas,
            "adverse_events": events,
        }
        return cleaned

    def chart_input(self) -> ChartInput:
        values = {name: self.cleaned_data.get(name) for name in self.Meta.fields}
        for name in ("anaesthetic_cream", "combined_procedures", "immediate_reactions", "notes"):
            values[name] = values[name] or ""
        values["technique"] = values["technique"] or ""
        values["activation"] = values["activation"] or "none"
        return ChartInput(**values, **self.lines)


class AmendmentForm(forms.Form):
    what = forms.CharField(
        max_length=4000,
        label="What changes",
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "e.g. Left cheek volume was 0.8 mL"}
        ),
    )
    why = forms.CharField(
        max_length=500,
        label="Why",
        widget=forms.TextInput(attrs={"placeholder": "e.g. transcription error"}),
    )


class LotSearchForm(forms.Form):
    lot = forms.CharField(max_length=60, label="Lot number", strip=True)


ZONE_GROUPS = {
    region: [z for z in ZONES if z.region == region] for region in ("face", "scalp", "body")
}
