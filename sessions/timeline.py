"""The sessions app's part of the patient timeline.

Every role: appointments booked, moved, cancelled (reason, late), missed and completed,
and courses planned, completed or stopped. Clinical roles only: charts signed, their
amendments and adverse events (docs/permissions.md: front desk does not read charts).

A constant number of queries, whatever the history: the patient's appointments (with
their moves from the audit log, the only record of a move, and for clinical roles their
charts, amendments and adverse events) and courses, read once by
`sessions.patient_record` and shared with the page's panels.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import formats, timezone

from mesoclinic.core.roles import CLINICAL
from mesoclinic.core.timeline import TimelineEntry
from sessions.patient_record import MOVED_PREFIX, PatientRecord, patient_record
from sessions.scheduling.models import Appointment, TreatmentPlan

Status = Appointment.Status
Kind = Appointment.Kind


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


def _last_event(a: Appointment):
    return max(
        a.created_at,
        a.cancelled_at or a.created_at,
        a.completed_at or a.created_at,
        a.starts_at if a.status == Status.NO_SHOW else a.created_at,
    )


def _appointment_entries(record: PatientRecord, limit) -> list[TimelineEntry]:
    rows = sorted(record.appointments, key=lambda a: (_last_event(a), a.pk), reverse=True)
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


def _move_entries(record: PatientRecord, limit) -> list[TimelineEntry]:
    rows = sorted(
        ((event, a) for a in record.appointments for event in a.moves),
        key=lambda pair: (pair[0].at, pair[0].pk),
        reverse=True,
    )
    entries = []
    for event, appointment in _take(rows, limit):
        label = _label(appointment)
        entries.append(
            TimelineEntry(
                event.at,
                "appointment_moved",
                f"Moved: {label}",
                f"From {event.summary.removeprefix(MOVED_PREFIX)}; by {event.actor_label}",
                "arrow-left-right",
                reverse("sessions:appointment_detail", args=[appointment.public_id]),
            )
        )
    return entries


def _course_entries(record: PatientRecord, limit) -> list[TimelineEntry]:
    rows = sorted(record.courses, key=lambda c: (c.updated_at, c.pk), reverse=True)
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


def _clinical_entries(record: PatientRecord, limit) -> list[TimelineEntry]:
    entries = []
    signed = [a for a in record.appointments if _chart(a) and a.chart.signed_at]
    charts = sorted(signed, key=lambda a: (a.chart.signed_at, a.chart.pk), reverse=True)
    for a in _take(charts, limit):
        entries.append(
            TimelineEntry(
                a.chart.signed_at,
                "chart_signed",
                f"Chart signed: {_label(a)}",
                f"By {_person(a.chart.signed_by)}",
                "file-earmark-lock",
                reverse("charting:chart", args=[a.public_id]),
            )
        )
    amendments = sorted(
        ((amendment, a) for a in record.appointments for amendment in a.amendments),
        key=lambda pair: (pair[0].at, pair[0].pk),
        reverse=True,
    )
    for amendment, a in _take(amendments, limit):
        author = (
            f"{amendment.author_first_name} {amendment.author_last_name}".strip()
            or amendment.author_username
        )
        entries.append(
            TimelineEntry(
                amendment.at,
                "chart_amended",
                f"Chart amended: {_label(a)}",
                f"{amendment.what} (why: {amendment.why}; by {author})",
                "pencil-square",
                reverse("charting:chart", args=[a.public_id]),
            )
        )
    events = sorted(
        ((event, a) for a in record.appointments for event in a.adverse_events),
        key=lambda pair: (pair[1].started_at or pair[1].starts_at, pair[0].pk),
        reverse=True,
    )
    for event, a in _take(events, limit):
        entries.append(
            TimelineEntry(
                a.started_at or a.starts_at,
                "adverse_event",
                f"Adverse event: {event.get_type_display()} "
                f"({event.get_severity_display().lower()})",
                f"{event.get_onset_display()}, {_label(a)}. Action taken: {event.action_taken}",
                "exclamation-triangle",
                reverse("charting:chart", args=[a.public_id]),
                "danger",
            )
        )
    return entries


def timeline_entries_for(
    patient, *, roles: frozenset[str], limit: int | None = None
) -> list[TimelineEntry]:
    clinical = bool(roles & CLINICAL)
    record = patient_record(patient, clinical=clinical)
    entries = [
        *_appointment_entries(record, limit),
        *_move_entries(record, limit),
        *_course_entries(record, limit),
    ]
    if clinical:
        entries += _clinical_entries(record, limit)
    return entries


def _chart(a: Appointment):
    return getattr(a, "chart", None)
