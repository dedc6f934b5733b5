"""The sessions app's part of the patient timeline.

Every role: appointments booked, moved, cancelled (reason, late), missed and completed,
and courses planned, completed or stopped. Clinical roles only: charts signed, their
amendments and adverse events (docs/permissions.md: front desk does not read charts).

A constant number of queries, whatever the history: appointments, moves (from the
audit log, the only record of a move), courses, and for clinical roles charts,
amendments and adverse events; each ordered newest first and cut at `limit + 1` rows.
"""

from __future__ import annotations

from django.db.models import BigIntegerField, Case, F, OuterRef, Subquery, When
from django.db.models.functions import Cast, Coalesce, Greatest
from django.urls import reverse
from django.utils import formats, timezone

from mesoclinic.core.models import AuditEvent
from mesoclinic.core.roles import CLINICAL
from mesoclinic.core.timeline import TimelineEntry
from sessions.charting.models import AdverseEvent, ChartAmendment, SessionChart
from sessions.scheduling.models import Appointment, TreatmentPlan

Status = Appointment.Status
Kind = Appointment.Kind

# sessions.scheduling.services._reschedule writes "Moved from <old> to <new>" on every move.
MOVED_PREFIX = "Moved from "


def _take(rows, limit: int | None):
    return rows if limit is None else rows[: limit + 1]


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "D j M Y H:i")


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def session_label(
    *, kind: str, protocol_name: str | None, sequence: int | None, planned: int | None
) -> str:
    """ "PRP scalp, session 2 of 3", "PRP face, maintenance", "Consultation"."""
    if kind == Kind.CONSULTATION:
        return f"Consultation{f' ({protocol_name})' if protocol_name else ''}"
    if kind == Kind.MAINTENANCE:
        return f"{protocol_name}, maintenance session"
    if sequence and planned:
        return f"{protocol_name}, session {sequence} of {planned}"
    return f"{protocol_name}, course session"


def _label(a: Appointment) -> str:
    return session_label(
        kind=a.kind,
        protocol_name=a.protocol.name if a.protocol_id else None,
        sequence=a.sequence,
        planned=a.course.sessions_planned if a.course_id else None,
    )


def _appointment_entries(patient, limit) -> list[TimelineEntry]:
    rows = (
        Appointment.objects.filter(patient=patient)
        .select_related("protocol", "course", "practitioner", "location", "cancelled_by")
        .annotate(
            last_event=Greatest(
                F("created_at"),
                Coalesce("cancelled_at", "created_at"),
                Coalesce("completed_at", "created_at"),
                Case(When(status=Status.NO_SHOW, then=F("starts_at")), default=F("created_at")),
            )
        )
        .order_by("-last_event", "-id")
    )
    entries = []
    for a in _take(rows, limit):
        label = _label(a)
        url = reverse("sessions:appointment_detail", args=[a.public_id])
        entries.append(
            TimelineEntry(
                a.created_at,
                "appointment_booked",
                f"Booked: {label}",
                f"For {_when(a.starts_at)} with {_person(a.practitioner)}, {a.location.name}",
                "calendar-plus",
                url,
            )
        )
        if a.status == Status.CANCELLED and a.cancelled_at:
            by = f" by {_person(a.cancelled_by)}" if a.cancelled_by_id else ""
            entries.append(
                TimelineEntry(
                    a.cancelled_at,
                    "appointment_cancelled",
                    f"{'Late cancellation' if a.cancelled_late else 'Cancelled'}: {label}",
                    f"Was {_when(a.starts_at)}; cancelled{by}. Reason: {a.cancel_reason}",
                    "calendar-x",
                    url,
                    "danger" if a.cancelled_late else "warning",
                )
            )
        elif a.status == Status.NO_SHOW:
            entries.append(
                TimelineEntry(
                    a.starts_at,
                    "appointment_no_show",
                    f"No-show: {label}",
                    f"Did not come at {_when(a.starts_at)}",
                    "person-x",
                    url,
                    "danger",
                )
            )
        elif a.status == Status.COMPLETED and a.completed_at:
            entries.append(
                TimelineEntry(
                    a.completed_at,
                    "appointment_completed",
                    f"Completed: {label}",
                    f"With {_person(a.practitioner)}",
                    "check2-circle",
                    url,
                    "success",
                )
            )
    return entries


def _move_entries(patient, limit) -> list[TimelineEntry]:
    moved = Appointment.objects.filter(pk=Cast(OuterRef("object_id"), BigIntegerField()))
    rows = (
        AuditEvent.objects.filter(
            patient_id=patient.pk,
            object_type=Appointment._meta.label,
            action=AuditEvent.Action.CHANGE,
            summary__startswith=MOVED_PREFIX,
        )
        .annotate(
            appointment_public_id=Subquery(moved.values("public_id")[:1]),
            appointment_kind=Subquery(moved.values("kind")[:1]),
            appointment_protocol=Subquery(moved.values("protocol__name")[:1]),
            appointment_sequence=Subquery(moved.values("sequence")[:1]),
            appointment_planned=Subquery(moved.values("course__sessions_planned")[:1]),
        )
        .order_by("-at", "-id")
    )
    entries = []
    for event in _take(rows, limit):
        label = session_label(
            kind=event.appointment_kind,
            protocol_name=event.appointment_protocol,
            sequence=event.appointment_sequence,
            planned=event.appointment_planned,
        )
        entries.append(
            TimelineEntry(
                event.at,
                "appointment_moved",
                f"Moved: {label}",
                f"From {event.summary.removeprefix(MOVED_PREFIX)}; by {event.actor_label}",
                "arrow-left-right",
                reverse("sessions:appointment_detail", args=[event.appointment_public_id])
                if event.appointment_public_id
                else "",
            )
        )
    return entries


def _course_entries(patient, limit) -> list[TimelineEntry]:
    rows = (
        TreatmentPlan.objects.filter(patient=patient)
        .select_related("protocol", "practitioner")
        .order_by("-updated_at", "-id")
    )
    entries = []
    for course in _take(rows, limit):
        url = reverse("sessions:course_detail", args=[course.public_id])
        name = course.protocol.name
        entries.append(
            TimelineEntry(
                course.created_at,
                "course_planned",
                f"Course planned: {name}",
                f"{course.sessions_planned} sessions with {_person(course.practitioner)}",
                "diagram-3",
                url,
            )
        )
        if course.status == TreatmentPlan.Status.COMPLETED:
            entries.append(
                TimelineEntry(
                    course.updated_at,
                    "course_completed",
                    f"Course completed: {name}",
                    "",
                    "flag",
                    url,
                    "success",
                )
            )
        elif course.status == TreatmentPlan.Status.CANCELLED:
            entries.append(
                TimelineEntry(
                    course.updated_at,
                    "course_stopped",
                    f"Course stopped: {name}",
                    "",
                    "slash-circle",
                    url,
                    "warning",
                )
            )
    return entries


def _chart_label(chart: SessionChart) -> str:
    return _label(chart.appointment)


def _clinical_entries(patient, limit) -> list[TimelineEntry]:
    related = ("appointment__protocol", "appointment__course")
    entries = []
    charts = (
        SessionChart.objects.filter(appointment__patient=patient, signed_at__isnull=False)
        .select_related(*related, "signed_by")
        .order_by("-signed_at", "-id")
    )
    for chart in _take(charts, limit):
        entries.append(
            TimelineEntry(
                chart.signed_at,
                "chart_signed",
                f"Chart signed: {_chart_label(chart)}",
                f"By {_person(chart.signed_by)}",
                "file-earmark-lock",
                reverse("charting:chart", args=[chart.appointment.public_id]),
            )
        )
    amendments = (
        ChartAmendment.objects.filter(chart__appointment__patient=patient)
        .select_related(*(f"chart__{r}" for r in related), "author")
        .order_by("-at", "-id")
    )
    for amendment in _take(amendments, limit):
        chart = amendment.chart
        entries.append(
            TimelineEntry(
                amendment.at,
                "chart_amended",
                f"Chart amended: {_chart_label(chart)}",
                f"{amendment.what} (why: {amendment.why}; by {_person(amendment.author)})",
                "pencil-square",
                reverse("charting:chart", args=[chart.appointment.public_id]),
            )
        )
    events = (
        AdverseEvent.objects.filter(chart__appointment__patient=patient)
        .select_related(*(f"chart__{r}" for r in related))
        .annotate(at=Coalesce("chart__appointment__started_at", "chart__appointment__starts_at"))
        .order_by("-at", "-id")
    )
    for event in _take(events, limit):
        chart = event.chart
        entries.append(
            TimelineEntry(
                event.at,
                "adverse_event",
                f"Adverse event: {event.get_type_display()} "
                f"({event.get_severity_display().lower()})",
                f"{event.get_onset_display()}, {_chart_label(chart)}. "
                f"Action taken: {event.action_taken}",
                "exclamation-triangle",
                reverse("charting:chart", args=[chart.appointment.public_id]),
                "danger",
            )
        )
    return entries


def timeline_entries_for(
    patient, *, roles: frozenset[str], limit: int | None = None
) -> list[TimelineEntry]:
    entries = [
        *_appointment_entries(patient, limit),
        *_move_entries(patient, limit),
        *_course_entries(patient, limit),
    ]
    if roles & CLINICAL:
        entries += _clinical_entries(patient, limit)
    return entries
