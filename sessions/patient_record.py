"""A patient's appointments and courses as the patient page reads them: two queries.

The page's timeline (sessions.timeline) and its panels (sessions.panels: what is
coming up, the courses, charts and documents) all look at the same appointments. They
are read once, with what each needs about an appointment in the same row: protocol,
course, practitioner, location, who cancelled, the moves recorded in the audit log,
and for clinical readers only the chart and who signed it, its amendments and adverse
events and the session's documents (mesoclinic.core.nested). Courses are the second
query. The number of queries does not grow with the patient's history.

Who cancelled and who signed the chart travel as nested rows too, not as joins: two
more user tables in the join made PostgreSQL spend 3-4 ms choosing a join order for a
query that runs in 0.4 ms (planning ~1 ms without them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import CharField, F, OuterRef
from django.db.models.functions import Cast

from mesoclinic.core import nested
from mesoclinic.core.models import AuditEvent
from sessions.charting.models import AdverseEvent, ChartAmendment, SessionDocument
from sessions.scheduling.models import Appointment, TreatmentPlan

# sessions.scheduling.services._reschedule writes "Moved from <old> to <new>" on every move.
MOVED_PREFIX = "Moved from "
MOVE_FIELDS = ("id", "at", "actor_label", "summary")
AMENDMENT_FIELDS = ("id", "at", "what", "why", "author")
AMENDMENT_EXTRA = ("author_first_name", "author_last_name", "author_username")
EVENT_FIELDS = ("id", "type", "severity", "onset", "action_taken")
DOCUMENT_FIELDS = ("id", "public_id", "appointment", "kind", "file", "generated_at")
# What the page shows of a person: get_full_name() or the username.
PERSON_FIELDS = ("id", "username", "first_name", "last_name")


@dataclass
class PatientRecord:
    # Every appointment of the patient, newest start first; each has `.moves` (audit
    # events), and when read for a clinical role `.amendments`, `.adverse_events`
    # (the chart's, newest first) and `.session_documents`.
    appointments: list[Appointment]
    # Every course, newest first.
    courses: list[TreatmentPlan]
    clinical: bool
    by_course: dict[int, list[Appointment]] = field(default_factory=dict)

    def __post_init__(self):
        grouped: dict[int, list[Appointment]] = defaultdict(list)
        for appointment in self.appointments:
            if appointment.course_id:
                grouped[appointment.course_id].append(appointment)
        for rows in grouped.values():
            rows.sort(key=lambda a: (a.sequence or 0, a.starts_at))
        self.by_course = dict(grouped)

    def appointment(self, pk: int) -> Appointment | None:
        return next((a for a in self.appointments if a.pk == pk), None)


def _appointments(patient, *, clinical: bool) -> list[Appointment]:
    moves = AuditEvent.objects.filter(
        patient_id=OuterRef("patient_id"),
        object_type=Appointment._meta.label,
        object_id=Cast(OuterRef("pk"), CharField()),
        action=AuditEvent.Action.CHANGE,
        summary__startswith=MOVED_PREFIX,
    )
    User = get_user_model()
    annotations = {
        "move_rows": nested.rows(moves, MOVE_FIELDS, order_by=("-at", "-id")),
        "cancelled_by_rows": nested.rows(
            User.objects.filter(pk=OuterRef("cancelled_by_id")), PERSON_FIELDS
        ),
    }
    if clinical:
        annotations["signer_rows"] = nested.rows(
            User.objects.filter(pk=OuterRef("chart__signed_by_id")), PERSON_FIELDS
        )
        annotations["amendment_rows"] = nested.rows(
            ChartAmendment.objects.filter(chart__appointment=OuterRef("pk")),
            AMENDMENT_FIELDS,
            order_by=("-at", "-id"),
            extra={
                "author_first_name": F("author__first_name"),
                "author_last_name": F("author__last_name"),
                "author_username": F("author__username"),
            },
        )
        annotations["event_rows"] = nested.rows(
            AdverseEvent.objects.filter(chart__appointment=OuterRef("pk")),
            EVENT_FIELDS,
            order_by=("-id",),
        )
        annotations["document_rows"] = nested.rows(
            SessionDocument.objects.filter(appointment=OuterRef("pk")),
            DOCUMENT_FIELDS,
            order_by=("kind",),
        )
    related = ["protocol", "course", "practitioner", "location"]
    if clinical:
        related.append("chart")
    rows = list(
        Appointment.objects.filter(patient=patient)
        .select_related(*related)
        .annotate(**annotations)
        .order_by("-starts_at", "-id")
    )
    for appointment in rows:
        appointment.patient = patient  # the page's own patient: never read again
        appointment.moves = nested.instances(AuditEvent, appointment.move_rows, MOVE_FIELDS)
        if appointment.cancelled_by_id:
            (appointment.cancelled_by,) = nested.instances(
                User, appointment.cancelled_by_rows, PERSON_FIELDS
            )
        if not clinical:
            continue
        amendments = nested.instances(
            ChartAmendment, appointment.amendment_rows, AMENDMENT_FIELDS, extra=AMENDMENT_EXTRA
        )
        events = nested.instances(AdverseEvent, appointment.event_rows, EVENT_FIELDS)
        chart = getattr(appointment, "chart", None)
        if chart is not None and chart.signed_by_id:
            (chart.signed_by,) = nested.instances(User, appointment.signer_rows, PERSON_FIELDS)
        for child in (*amendments, *events):
            if chart is not None:
                child.chart = chart
        appointment.amendments = amendments
        appointment.adverse_events = events
        documents = nested.instances(SessionDocument, appointment.document_rows, DOCUMENT_FIELDS)
        for document in documents:
            document.appointment = appointment
        appointment.session_documents = documents
    return rows


def patient_record(patient, *, clinical: bool) -> PatientRecord:
    """Read once per patient page (and per kind of reader)."""

    def read() -> PatientRecord:
        courses = list(
            TreatmentPlan.objects.filter(patient=patient)
            .select_related("protocol", "practitioner", "location")
            .order_by("-created_at", "-id")
        )
        for course in courses:
            course.patient = patient
        return PatientRecord(
            appointments=_appointments(patient, clinical=clinical),
            courses=courses,
            clinical=clinical,
        )

    return nested.once(patient, f"sessions.patient_record.{clinical}", read)
