"""Writes about session charts: open with protocol defaults, save, sign and lock, amend;
the completion gate; generated session documents (aftercare sheet, printable chart);
product recalls by lot.

Plain keyword-only functions in transactions, raising ChartingError (a ValidationError)
with messages a practitioner can act on. The rules themselves are pure, in
sessions/charting_rules.py and sessions/aftercare.py.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mesoclinic.core import audit, emails, message_kinds, outbox
from mesoclinic.core.models import OutboundMessage
from patients.models import Patient
from patients.selectors import current_signed_consent, latest_screening, screening_for_protocol
from protocols.areas import ZONE_BY_CODE
from protocols.models import Protocol
from sessions.charting import rules as charting_rules
from sessions.charting import tasks
from sessions.charting.models import (
    AdverseEvent,
    ChartAmendment,
    ChartArea,
    ChartProduct,
    ChartSpin,
    SessionChart,
    SessionDocument,
)
from sessions.charting.rules import Area, ChartInput, Event, Point, Product, Spin
from sessions.charting.selectors import lot_usage
from sessions.scheduling.models import Appointment

RECALL_KIND = "recall_notice"
CHART_FIELDS = (
    "check_screening_current",
    "check_consent_signed",
    "check_before_photos",
    "blood_volume_ml",
    "tubes",
    "prp_yield_ml",
    "activation",
    "anaesthetic_cream",
    "anaesthetic_minutes",
    "technique",
    "needle_gauge",
    "microneedling_depth_mm",
    "combined_procedures",
    "immediate_reactions",
    "notes",
)
DEFAULT_TECHNIQUE = {
    Protocol.Technique.PRP_INJECTION: SessionChart.Technique.POINT_BY_POINT,
    Protocol.Technique.PRP_MICRONEEDLING: SessionChart.Technique.MICRONEEDLING,
    Protocol.Technique.PRP_FRACTIONAL_LASER: SessionChart.Technique.FRACTIONAL_LASER,
    Protocol.Technique.MESO_COCKTAIL: SessionChart.Technique.NAPPAGE,
}


class ChartingError(ValidationError):
    """A chart change that cannot be made, with a message for the practitioner."""


def session_day(appointment: Appointment):
    return timezone.localtime(appointment.starts_at).date()


# --- Opening and reading a chart


def pre_treatment_checks(appointment: Appointment) -> dict[str, bool]:
    """What the pre-treatment checks say right now, to pre-tick the boxes."""
    evaluation = screening_for_protocol(
        latest=latest_screening(appointment.patient),
        protocol=appointment.protocol,
        today=session_day(appointment),
    )
    photos_today = appointment.patient.photos.filter(
        taken_on=session_day(appointment), kind="before"
    ).exists()
    return {
        "check_screening_current": evaluation.may_treat,
        "check_consent_signed": current_signed_consent(
            patient=appointment.patient, protocol=appointment.protocol
        )
        is not None,
        "check_before_photos": photos_today,
    }


def _check_chartable(appointment: Appointment) -> None:
    if not appointment.is_treatment or appointment.protocol is None:
        raise ChartingError("Only treatment sessions have a chart.")
    if appointment.status not in Appointment.CHARTABLE_STATUSES:
        raise ChartingError("Check the patient in before charting the session.")


def _opening_fields(appointment: Appointment) -> dict:
    """A new chart's values: the protocol's defaults and today's pre-treatment checks."""
    protocol = appointment.protocol
    return {
        "blood_volume_ml": protocol.blood_volume_ml,
        "tubes": protocol.tubes,
        "activation": protocol.activation,
        "technique": DEFAULT_TECHNIQUE.get(protocol.technique, ""),
        **pre_treatment_checks(appointment),
    }


def _opening_zones(protocol: Protocol) -> list[str]:
    return [code for code in dict.fromkeys(protocol.treatment_areas) if code in ZONE_BY_CODE]


def chart_draft(*, appointment: Appointment) -> tuple[SessionChart, ChartInput]:
    """What a chart not yet opened would start with, saving nothing (the chart page's GET).

    The first save opens the chart (`chart_open`) with these same values.
    """
    _check_chartable(appointment)
    chart = SessionChart(appointment=appointment, **_opening_fields(appointment))
    data = ChartInput(
        **{name: getattr(chart, name) for name in CHART_FIELDS},
        spins=[Spin(s.g_force, s.minutes) for s in appointment.protocol.spins.all()],
        areas=[Area(code, None) for code in _opening_zones(appointment.protocol)],
    )
    return chart, data


@transaction.atomic
def chart_open(*, appointment: Appointment, by, request=None) -> SessionChart:
    """The appointment's chart; the first time, a new one with the protocol's defaults."""
    existing = SessionChart.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    _check_chartable(appointment)
    Appointment.objects.select_for_update().get(pk=appointment.pk)
    existing = SessionChart.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    protocol = appointment.protocol
    chart = SessionChart.objects.create(
        appointment=appointment, created_by=by, **_opening_fields(appointment)
    )
    ChartSpin.objects.bulk_create(
        ChartSpin(chart=chart, order=s.order, g_force=s.g_force, minutes=s.minutes)
        for s in protocol.spins.all()
    )
    ChartArea.objects.bulk_create(
        ChartArea(chart=chart, zone=code) for code in _opening_zones(protocol)
    )
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.CREATE,
        patient=appointment.patient,
        obj=chart,
        summary=f"Chart opened for {protocol.name}",
    )
    return chart


def checks_to_tick(chart: SessionChart, checks: dict[str, bool]) -> dict[str, bool]:
    """The pre-treatment checks an unsigned chart shows ticked beyond what it stored: each
    that holds now (`checks`, from pre_treatment_checks), although it did not when the
    chart was opened, e.g. the consent signed on the tablet since. The record decides,
    not the moment the chart was opened; saving stores them. A signed chart shows what
    was signed."""
    if chart.is_signed:
        return {}
    return {name: True for name, holds in checks.items() if holds and not getattr(chart, name)}


def chart_input_of(chart: SessionChart) -> ChartInput:
    return ChartInput(
        **{name: getattr(chart, name) for name in CHART_FIELDS},
        products=[
            Product(p.kind, p.brand, p.lot_number, p.expiry_date, p.name)
            for p in chart.products.all()
        ],
        spins=[Spin(s.g_force, s.minutes) for s in chart.spins.all()],
        areas=[Area(a.zone, a.volume_ml, points_of(a.points)) for a in chart.areas.all()],
        adverse_events=[
            Event(e.type, e.severity, e.onset, e.action_taken) for e in chart.adverse_events.all()
        ],
    )


def points_of(stored: list) -> tuple[Point, ...]:
    """A ChartArea's stored points as rule values."""
    return tuple(
        Point(
            Decimal(p["x"]),
            Decimal(p["y"]),
            p["product"],
            Decimal(p["volume_ml"]) if p.get("volume_ml") else None,
        )
        for p in stored or ()
    )


def points_json(points) -> list[dict]:
    return [
        {
            "x": str(p.x),
            "y": str(p.y),
            "product": p.product.strip().upper(),
            "volume_ml": str(p.volume_ml),
        }
        for p in points
    ]


def chart_snapshot(chart: SessionChart) -> dict:
    """The chart's content as plain JSON-able values: what the signature covers."""
    data = chart_input_of(chart)
    return {
        "appointment": str(chart.appointment.public_id),
        **{name: str(getattr(data, name)) for name in CHART_FIELDS},
        "products": [
            [p.kind, p.brand, p.name, p.lot_number, str(p.expiry_date)] for p in data.products
        ],
        "spins": [[s.g_force, s.minutes] for s in data.spins],
        # An area's points only when it has some, so charts signed before points
        # existed keep the snapshot they were signed with.
        "areas": [
            [a.zone, str(a.volume_ml), *([points_json(a.points)] if a.points else [])]
            for a in data.areas
        ],
        "adverse_events": [
            [e.type, e.severity, e.onset, e.action_taken] for e in data.adverse_events
        ],
    }


def _locked_error() -> ChartingError:
    return ChartingError(
        "This chart is signed and locked. Add an amendment (what changes and why) instead."
    )


# --- Saving, signing, amending


@transaction.atomic
def chart_save(*, chart: SessionChart, data: ChartInput, by, request=None) -> SessionChart:
    """Replace the chart's values and lines with `data`, or change nothing."""
    locked = SessionChart.objects.select_for_update().get(pk=chart.pk)
    if locked.is_signed:
        raise _locked_error()
    errors = charting_rules.chart_errors(data, session_date=session_day(chart.appointment))
    if errors:
        raise ChartingError(errors)
    for name in CHART_FIELDS:
        setattr(chart, name, getattr(data, name))
    chart.updated_at = timezone.now()
    chart.full_clean(exclude=["appointment", "created_by", "signed_by"])
    chart.save()
    chart.products.all().delete()
    chart.spins.all().delete()
    chart.areas.all().delete()
    chart.adverse_events.all().delete()
    ChartProduct.objects.bulk_create(
        ChartProduct(
            chart=chart,
            kind=p.kind,
            brand=p.brand.strip(),
            name=p.name.strip(),
            lot_number=p.lot_number.strip().upper(),
            expiry_date=p.expiry_date,
        )
        for p in data.products
    )
    ChartSpin.objects.bulk_create(
        ChartSpin(chart=chart, order=i, g_force=s.g_force, minutes=s.minutes)
        for i, s in enumerate(data.spins, start=1)
    )
    ChartArea.objects.bulk_create(
        ChartArea(chart=chart, zone=a.zone, volume_ml=a.volume_ml, points=points_json(a.points))
        for a in data.areas
    )
    AdverseEvent.objects.bulk_create(
        AdverseEvent(
            chart=chart,
            type=e.type,
            severity=e.severity,
            onset=e.onset,
            action_taken=e.action_taken.strip(),
        )
        for e in data.adverse_events
    )
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.CHANGE,
        patient=chart.appointment.patient,
        obj=chart,
        summary="Chart saved",
    )
    return chart


@transaction.atomic
def chart_sign(*, chart: SessionChart, by, request=None) -> SessionChart:
    """The practitioner signs: the chart locks for good."""
    locked = SessionChart.objects.select_for_update().get(pk=chart.pk)
    if locked.is_signed:
        raise ChartingError("This chart is already signed.")
    missing = charting_rules.signing_errors(
        chart_input_of(locked), is_prp=chart.appointment.protocol.is_prp
    )
    if missing:
        raise ChartingError(missing)
    digest = hashlib.sha256(
        json.dumps(chart_snapshot(locked), sort_keys=True).encode("utf-8")
    ).hexdigest()
    now = timezone.now()
    SessionChart.objects.filter(pk=chart.pk, signed_at__isnull=True).update(
        signed_at=now, signed_by=by, signed_sha256=digest, updated_at=now
    )
    chart.refresh_from_db()
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.SIGN,
        patient=chart.appointment.patient,
        obj=chart,
        summary="Chart signed and locked",
    )
    _after_commit_generate(chart.appointment_id, SessionDocument.Kind.CHART)
    return chart


@transaction.atomic
def chart_amend(*, chart: SessionChart, what: str, why: str, by, request=None) -> ChartAmendment:
    """Append a correction to a signed chart; the signed original never changes."""
    what, why = (what or "").strip(), (why or "").strip()
    if not chart.is_signed:
        raise ChartingError("The chart is not signed yet: edit it directly.")
    errors = {}
    if not what:
        errors["what"] = ["Say what changes."]
    if not why:
        errors["why"] = ["Say why it changes."]
    if errors:
        raise ChartingError(errors)
    amendment = ChartAmendment.objects.create(chart=chart, author=by, what=what, why=why)
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.AMEND,
        patient=chart.appointment.patient,
        obj=chart,
        summary=f"Chart amended: {why}",
    )
    _after_commit_generate(chart.appointment_id, SessionDocument.Kind.CHART)
    return amendment


# --- The completion gate (a scheduling hook, registered in sessions.charting.hooks)


def completion_blockers(*, appointment: Appointment) -> list[str]:
    """Why this session cannot be completed yet; empty when it can."""
    chart = SessionChart.objects.filter(appointment=appointment).first()
    consent_live = (
        appointment.protocol is not None
        and current_signed_consent(patient=appointment.patient, protocol=appointment.protocol)
        is not None
    )
    return charting_rules.completion_blockers_for(
        is_treatment=appointment.is_treatment,
        has_chart=chart is not None,
        chart_signed=chart is not None and chart.is_signed,
        consent_live=consent_live,
    )


def completion_gate(*, appointment: Appointment, error: type[ValidationError] = ChartingError):
    """Refuse completion without a signed chart and a live consent (raising `error`).
    Only checks: the aftercare sheet is arranged once the session is completed."""
    blockers = completion_blockers(appointment=appointment)
    if blockers:
        raise error(" ".join(blockers), code="charting")


def aftercare_sheet_schedule(*, appointment: Appointment) -> None:
    """A completed treatment gets its aftercare sheet, rendered once the completion commits."""
    if appointment.is_treatment:
        _after_commit_generate(appointment.pk, SessionDocument.Kind.AFTERCARE)


# --- Session documents


def _after_commit_generate(appointment_id: int, kind: str) -> None:
    transaction.on_commit(lambda: tasks.session_document_pdf.delay(appointment_id, kind))


# --- Recall notices


def _recall_offset(lot: str) -> str:
    return f"lot:{lot}"


@transaction.atomic
def recall_notices_schedule(*, lot: str, by, request=None) -> int:
    """Schedule one recall email per patient who had this lot (idempotent per patient
    and lot). Patients without an email address are left to a phone call."""
    lot = lot.strip().upper()
    patients: dict[int, Patient] = {}
    for product in lot_usage(lot):
        patient = product.chart.appointment.patient
        patients.setdefault(patient.pk, patient)
    setting = message_kinds.setting_for(RECALL_KIND)
    if not setting.enabled:
        raise ChartingError("Recall emails are switched off on the message settings page.")
    count = 0
    now = timezone.now()
    for patient in patients.values():
        if not patient.email:
            continue
        outbox.message_schedule(
            kind=RECALL_KIND,
            subject=patient,
            due_at=now,
            recipient=patient.email,
            patient=patient,
            offset_key=_recall_offset(lot),
            respect_quiet_hours=setting.respects_quiet_hours,
        )
        audit.record(
            request=request,
            actor=by,
            action=audit.Action.EMAIL,
            patient=patient,
            obj=patient,
            summary=f"Recall notice for lot {lot} scheduled",
        )
        count += 1
    return count


@outbox.builder(RECALL_KIND)
def build_recall_notice(message: OutboundMessage):
    """Re-read at send time: the patient may have been archived meanwhile."""
    if message.subject_type_id != ContentType.objects.get_for_model(Patient).pk:
        return None
    patient = Patient.objects.filter(pk=message.subject_id).first()
    lot = message.offset_key.removeprefix("lot:")
    if patient is None or patient.is_archived or not lot:
        return None

    uses = [p for p in lot_usage(lot) if p.chart.appointment.patient_id == patient.pk]
    if not uses:
        return None
    return emails.build(
        RECALL_KIND,
        to=[message.recipient],
        context={
            "patient": patient,
            "lot": lot,
            "product": uses[0],
            "dates": [timezone.localtime(p.chart.appointment.starts_at) for p in uses],
        },
    )
