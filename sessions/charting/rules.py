"""Rules of a session chart as pure functions: no ORM, no clock.

`chart_errors` checks what a practitioner typed (field by field, with messages a
person can act on); `signing_errors` says what a chart still lacks before it can be
signed; `completion_blockers_for` says why a session cannot be completed yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from protocols.areas import ZONE_BY_CODE
from protocols.rules import SPIN_G_MAX, SPIN_G_MIN, SPIN_MINUTES_MAX, SPIN_MINUTES_MIN

MAX_BLOOD_ML = Decimal("120")
GAUGE_RANGE = (18, 34)
DEPTH_RANGE = (Decimal("0.1"), Decimal("3.0"))
ANAESTHETIC_MAX_MINUTES = 120


@dataclass(frozen=True)
class Product:
    kind: str
    brand: str
    lot_number: str
    expiry_date: date | None
    name: str = ""


@dataclass(frozen=True)
class Spin:
    g_force: int | None
    minutes: int | None


@dataclass(frozen=True)
class Area:
    zone: str
    volume_ml: Decimal | None


@dataclass(frozen=True)
class Event:
    type: str
    severity: str
    onset: str
    action_taken: str


@dataclass
class ChartInput:
    """Everything the chart form holds, as plain values."""

    check_screening_current: bool = False
    check_consent_signed: bool = False
    check_before_photos: bool = False
    blood_volume_ml: Decimal | None = None
    tubes: int | None = None
    prp_yield_ml: Decimal | None = None
    activation: str = "none"
    anaesthetic_cream: str = ""
    anaesthetic_minutes: int | None = None
    technique: str = ""
    needle_gauge: int | None = None
    microneedling_depth_mm: Decimal | None = None
    combined_procedures: str = ""
    immediate_reactions: str = ""
    notes: str = ""
    products: list[Product] = field(default_factory=list)
    spins: list[Spin] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    adverse_events: list[Event] = field(default_factory=list)


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def chart_errors(data: ChartInput, *, session_date: date) -> dict[str, list[str]]:
    """Every problem with the values, keyed by field ("products", "areas" for lines)."""
    errors: dict[str, list[str]] = {}
    _preparation_errors(data, errors)
    _product_errors(data, errors, session_date=session_date)
    _spin_errors(data, errors)
    _area_errors(data, errors)
    _event_errors(data, errors)
    return errors


def _preparation_errors(data: ChartInput, errors: dict[str, list[str]]) -> None:
    """Blood draw, yield, needle, microneedling and anaesthetic: each value in its range."""
    for name in ("blood_volume_ml", "prp_yield_ml", "microneedling_depth_mm"):
        value = getattr(data, name)
        if value is not None and value < 0:
            _add(errors, name, "Cannot be negative.")
    for name in ("tubes", "anaesthetic_minutes", "needle_gauge"):
        value = getattr(data, name)
        if value is not None and value < 0:
            _add(errors, name, "Cannot be negative.")
    if data.blood_volume_ml is not None and data.blood_volume_ml > MAX_BLOOD_ML:
        _add(errors, "blood_volume_ml", f"More than {MAX_BLOOD_ML} mL of blood? Check the value.")
    if (
        data.prp_yield_ml is not None
        and data.blood_volume_ml is not None
        and data.prp_yield_ml > data.blood_volume_ml
    ):
        _add(
            errors,
            "prp_yield_ml",
            f"The PRP yield ({data.prp_yield_ml} mL) cannot be more than the blood drawn "
            f"({data.blood_volume_ml} mL).",
        )
    if data.prp_yield_ml is not None and data.blood_volume_ml is None:
        _add(errors, "blood_volume_ml", "Record the blood drawn when there is a PRP yield.")
    if data.needle_gauge is not None and not (
        GAUGE_RANGE[0] <= data.needle_gauge <= GAUGE_RANGE[1]
    ):
        low, high = GAUGE_RANGE
        _add(errors, "needle_gauge", f"Needle gauge is between {low} and {high}.")
    depth = data.microneedling_depth_mm
    if depth is not None and depth >= 0 and not (DEPTH_RANGE[0] <= depth <= DEPTH_RANGE[1]):
        _add(
            errors,
            "microneedling_depth_mm",
            f"Microneedling depth is between {DEPTH_RANGE[0]} and {DEPTH_RANGE[1]} mm.",
        )
    if data.anaesthetic_minutes is not None and data.anaesthetic_minutes > ANAESTHETIC_MAX_MINUTES:
        _add(errors, "anaesthetic_minutes", "More than two hours of anaesthetic cream? Check it.")
    if data.anaesthetic_minutes and not data.anaesthetic_cream.strip():
        _add(errors, "anaesthetic_cream", "Name the anaesthetic cream used.")


def _product_errors(data: ChartInput, errors: dict[str, list[str]], *, session_date: date) -> None:
    """Each product named, with its lot and an expiry on or after the session's day."""
    for product in data.products:
        label = f"{product.brand} lot {product.lot_number}".strip()
        if not product.brand.strip() or not product.lot_number.strip():
            _add(errors, "products", "Each product needs its brand and lot number.")
        if len(product.brand) > 120 or len(product.name) > 120 or len(product.lot_number) > 60:
            _add(errors, "products", f"{label[:40]}…: brand and name up to 120 characters, lot 60.")
        if product.expiry_date is None:
            _add(errors, "products", f"{label}: give the expiry date.")
        elif product.expiry_date < session_date:
            _add(
                errors,
                "products",
                f"{label} expired on {product.expiry_date:%d %b %Y}, before this session "
                f"({session_date:%d %b %Y}). Use another lot.",
            )


def _spin_errors(data: ChartInput, errors: dict[str, list[str]]) -> None:
    """Each centrifuge spin within the force and time bounds protocols.rules names."""
    for index, spin in enumerate(data.spins, start=1):
        if spin.g_force is None or not (SPIN_G_MIN <= spin.g_force <= SPIN_G_MAX):
            _add(
                errors,
                "spins",
                f"Spin {index}: the force is between {SPIN_G_MIN} and {SPIN_G_MAX} g.",
            )
        if spin.minutes is None or not (SPIN_MINUTES_MIN <= spin.minutes <= SPIN_MINUTES_MAX):
            _add(
                errors,
                "spins",
                f"Spin {index}: the time is between {SPIN_MINUTES_MIN} and "
                f"{SPIN_MINUTES_MAX} minutes.",
            )


def _area_errors(data: ChartInput, errors: dict[str, list[str]]) -> None:
    """Known areas, each once, with positive volumes adding up to no more than the yield."""
    seen: set[str] = set()
    total = Decimal("0")
    for area in data.areas:
        if area.zone not in ZONE_BY_CODE:
            _add(errors, "areas", f"Unknown treatment area {area.zone!r}.")
            continue
        if area.zone in seen:
            _add(errors, "areas", f"{ZONE_BY_CODE[area.zone].label} is listed twice.")
        seen.add(area.zone)
        if area.volume_ml is not None:
            if area.volume_ml <= 0:
                label = ZONE_BY_CODE[area.zone].label
                _add(errors, "areas", f"{label}: the volume must be above 0.")
            total += area.volume_ml
    if data.prp_yield_ml is not None and total > data.prp_yield_ml:
        _add(
            errors,
            "areas",
            f"The volumes per area add up to {total} mL, more than the PRP yield "
            f"({data.prp_yield_ml} mL).",
        )


def _event_errors(data: ChartInput, errors: dict[str, list[str]]) -> None:
    """Each adverse event complete, with the action taken."""
    for event in data.adverse_events:
        if len(event.action_taken) > 500:
            _add(errors, "adverse_events", "Describe the action taken in 500 characters or fewer.")
        if not (event.type and event.severity and event.onset and event.action_taken.strip()):
            _add(
                errors,
                "adverse_events",
                "Each adverse event needs its type, severity, onset and the action taken.",
            )


def signing_errors(data: ChartInput, *, is_prp: bool) -> list[str]:
    """What a chart must hold before the practitioner can sign it."""
    missing = []
    if not data.check_screening_current:
        missing.append("Confirm the screening is current (pre-treatment checks).")
    if not data.check_consent_signed:
        missing.append("Confirm the consent is signed (pre-treatment checks).")
    if not data.technique:
        missing.append("Choose the technique.")
    if not data.areas:
        missing.append("Pick at least one treated area on the diagram.")
    if is_prp:
        if data.blood_volume_ml is None:
            missing.append("Record the blood drawn.")
        if data.prp_yield_ml is None:
            missing.append("Record the PRP yield.")
        if not data.spins:
            missing.append("Record the centrifuge spin(s).")
        if not any(p.kind == "kit" for p in data.products):
            missing.append("Record the PRP kit with its lot number.")
    return missing


def completion_blockers_for(
    *, is_treatment: bool, has_chart: bool, chart_signed: bool, consent_live: bool
) -> list[str]:
    if not is_treatment:
        return []
    blockers = []
    if not has_chart:
        blockers.append("The session has no chart yet.")
    elif not chart_signed:
        blockers.append("The chart is not signed yet.")
    if not consent_live:
        blockers.append(
            "There is no signed consent for this protocol's current consent version "
            "(or it was withdrawn)."
        )
    return blockers


DIAGRAM_REGIONS = ("face", "scalp", "body")


def opening_region(chosen_zones, protocol_zones) -> str:
    """The diagram a chart opens on: the region most of the chosen zones are in (else
    most of the protocol's treatment areas), so a hair protocol opens on the scalp."""
    for codes in (chosen_zones, protocol_zones):
        regions = [ZONE_BY_CODE[c].region for c in codes if c in ZONE_BY_CODE]
        if regions:
            return max(DIAGRAM_REGIONS, key=regions.count)
    return DIAGRAM_REGIONS[0]
