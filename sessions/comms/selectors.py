"""Reads behind patient communications: message builders, patient link pages, staff panels."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from mesoclinic.core.models import OutboundMessage
from patients.models import Patient, SignedConsent
from protocols.models import CareInstruction
from sessions.charting.models import SessionDocument
from sessions.scheduling import rules as scheduling_rules
from sessions.scheduling import selectors
from sessions.scheduling.models import Appointment, TreatmentPlan

Status = Appointment.Status
# A maintenance reminder whose day passed longer ago than this is not sent late.
MAINTENANCE_GRACE_DAYS = 14
RESCHEDULE_KIND = "reschedule_request"
UNUSED_IN_MESSAGES = (
    "patient__allergies",
    "patient__notes",
    "protocol__description",
    "protocol__evidence_note",
    "protocol__risks",
    "protocol__what_is_normal",
    "protocol__warning_signs",
)


def appointments_for_messages(appointment_ids: list[int]) -> dict[int, Appointment]:
    """appointment_for_message for a batch of messages: one query."""
    return {
        a.pk: a
        for a in Appointment.objects.select_related(
            "patient", "protocol", "practitioner", "location"
        )
        .defer(*UNUSED_IN_MESSAGES)
        .filter(pk__in=appointment_ids)
    }


def appointment_for_message(appointment_id: int) -> Appointment | None:
    """One query with what an email or a link page shows (every reminder runs it).

    The long clinical and catalogue texts are never part of an email: not loaded.
    """
    try:
        return (
            Appointment.objects.select_related("patient", "protocol", "practitioner", "location")
            .defer(*UNUSED_IN_MESSAGES)
            .get(pk=appointment_id)
        )
    except Appointment.DoesNotExist:
        return None


def course_for_message(course_id: int) -> TreatmentPlan | None:
    return (
        TreatmentPlan.objects.select_related("patient", "protocol", "location")
        .filter(pk=course_id)
        .first()
    )


def care_items(protocol, phase: str) -> list[CareInstruction]:
    if protocol is None:
        return []
    return list(protocol.care_instructions.filter(phase=phase).order_by("order", "id"))


@dataclass(frozen=True)
class PrecareLine:
    text: str
    # The clinic-local day the instruction starts to apply; None: no time limit given.
    from_day: date | None


def precare_lines(items: list[CareInstruction], *, starts_at: datetime) -> list[PrecareLine]:
    """Each pre-care instruction with the day it starts ("from Tuesday 3 March")."""
    local = timezone.localtime(starts_at)
    lines = []
    for item in items:
        hours = item.duration_hours
        lines.append(
            PrecareLine(item.text, (local - timedelta(hours=hours)).date() if hours else None)
        )
    return lines


def aftercare_document(appointment: Appointment) -> SessionDocument | None:
    return (
        SessionDocument.objects.filter(appointment=appointment, kind=SessionDocument.Kind.AFTERCARE)
        .exclude(file="")
        .first()
    )


def consent_document(*, patient: Patient, protocol) -> SignedConsent | None:
    """The patient's latest signed consent to the protocol whose PDF is stored."""
    if protocol is None:
        return None
    return (
        SignedConsent.objects.filter(patient=patient, protocol=protocol)
        .exclude(pdf="")
        .select_related("protocol")
        .order_by("-signed_at")
        .first()
    )


def signed_consent_for_link(consent_id: int) -> SignedConsent | None:
    return (
        SignedConsent.objects.select_related("patient", "protocol")
        .filter(pk=consent_id)
        .exclude(pdf="")
        .first()
    )


def next_course_session(appointment: Appointment) -> Appointment | None:
    """The course's next live session after this one, if booked."""
    if appointment.course_id is None:
        return None
    return (
        Appointment.objects.filter(
            course_id=appointment.course_id, starts_at__gt=appointment.starts_at
        )
        .exclude(status__in=(Status.CANCELLED, Status.NO_SHOW, Status.COMPLETED))
        .order_by("starts_at")
        .first()
    )


def course_view(course: TreatmentPlan, *, today: date) -> selectors.CourseView:
    sessions = list(course.appointments.order_by("sequence", "starts_at"))
    return selectors.CourseView(
        course, sessions, selectors.course_progress(course, sessions, today=today)
    )


def treatment_booked_after(*, course: TreatmentPlan, after: datetime) -> bool:
    """The patient has a live or completed session of the course's protocol after `after`
    (a maintenance session, linked to the course or not, or a new course)."""
    return (
        Appointment.objects.filter(
            patient_id=course.patient_id, protocol_id=course.protocol_id, starts_at__gt=after
        )
        .exclude(status__in=(Status.CANCELLED, Status.NO_SHOW))
        .exists()
    )


def maintenance_not_needed(
    course: TreatmentPlan, *, sessions: list[Appointment] | None = None
) -> bool:
    """No maintenance reminder for this finished course: none of its sessions was
    completed, or the patient already has a later session of its protocol, booked or done.

    The hourly job passes the sessions it has loaded; the builder lets this read them.
    """
    if sessions is None:
        sessions = list(course.appointments.filter(status=Status.COMPLETED))
    last = max((a.starts_at for a in sessions if a.status == Status.COMPLETED), default=None)
    return last is None or treatment_booked_after(course=course, after=last)


def courses_for_messages(*, kind: str, today: date) -> list[selectors.CourseView]:
    """Courses that may need a "next session due" or "maintenance due" message now.

    Two queries whatever the number of courses: the courses, then their sessions.
    """
    courses = (
        TreatmentPlan.objects.filter(
            patient__archived_at__isnull=True, patient__consents_to_transactional=True
        )
        .exclude(patient__email="")
        .select_related("patient", "protocol")
    )
    if kind == "next_session_due":
        courses = courses.filter(status=TreatmentPlan.Status.ACTIVE)
    else:
        courses = courses.filter(
            status=TreatmentPlan.Status.COMPLETED,
            maintenance_interval_months__isnull=False,
            patient__consents_to_marketing=True,
        )
    courses = list(courses.order_by("id"))
    by_course: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in Appointment.objects.filter(course__in=courses).order_by(
        "sequence", "starts_at"
    ):
        by_course[appointment.course_id].append(appointment)
    views = []
    for course in courses:
        progress = selectors.course_progress(course, by_course[course.pk], today=today)
        if kind == "next_session_due":
            wanted = progress.next_sequence is not None and progress.next_window is not None
        else:
            due = progress.maintenance_due_on
            wanted = due is not None and due >= today - timedelta(days=MAINTENANCE_GRACE_DAYS)
        if wanted:
            views.append(selectors.CourseView(course, by_course[course.pk], progress))
    return views


@dataclass(frozen=True)
class CancellationTerms:
    late: bool
    fee: Decimal
    window_hours: int
    may_cancel: bool


def cancellation_terms(appointment: Appointment, *, now: datetime) -> CancellationTerms:
    """What cancelling now means for the patient: late or not, and the fee, if any."""
    late = scheduling_rules.cancellation_is_late(
        starts_at=appointment.starts_at,
        now=now,
        by_patient=True,
        checked_in=appointment.status == Appointment.Status.CHECKED_IN,
    )
    fee = Decimal(settings.BILLING_LATE_CANCEL_FEE) if late else Decimal("0")
    may_cancel = appointment.is_upcoming and appointment.starts_at > now
    return CancellationTerms(late, fee, scheduling_rules.LATE_CANCEL_HOURS, may_cancel)


def reschedule_requests(patient: Patient, *, limit: int = 10) -> list[OutboundMessage]:
    """The patient's recent requests to move an appointment, newest first."""
    return list(
        OutboundMessage.objects.filter(patient_id=patient.pk, kind=RESCHEDULE_KIND).order_by(
            "-created_at", "-id"
        )[:limit]
    )


def appointments_by_id(ids) -> dict[int, Appointment]:
    return {
        a.pk: a
        for a in Appointment.objects.filter(pk__in=list(ids)).select_related(
            "protocol", "practitioner", "location"
        )
    }


def appointment_type() -> ContentType:
    return ContentType.objects.get_for_model(Appointment)
