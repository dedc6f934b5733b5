"""Read queries about charts, lots and session documents that views share."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from patients.models import ClinicalPhoto, Patient
from sessions.charting.models import ChartAmendment, ChartProduct, SessionChart, SessionDocument
from sessions.scheduling.models import Appointment, TreatmentPlan


def chart_detail(appointment: Appointment) -> SessionChart | None:
    return (
        SessionChart.objects.filter(appointment=appointment)
        .select_related("signed_by", "created_by")
        .prefetch_related(
            "products",
            "spins",
            "areas",
            "adverse_events",
            Prefetch("amendments", queryset=ChartAmendment.objects.select_related("author")),
        )
        .first()
    )


def lot_usage(lot: str) -> QuerySet[ChartProduct]:
    """Every product line with this lot number, with its session and patient."""
    return (
        ChartProduct.objects.filter(lot_number__iexact=lot.strip())
        .select_related("chart__appointment__patient", "chart__appointment__protocol")
        .order_by("chart__appointment__starts_at")
    )


def session_documents(patient: Patient) -> list[SessionDocument]:
    return list(
        SessionDocument.objects.filter(appointment__patient=patient)
        .select_related("appointment__protocol")
        .order_by("-appointment__starts_at", "kind")
    )


def charted_sessions(patient: Patient) -> list[Appointment]:
    """The patient's sessions with a chart, or checked in and ready to chart; newest first."""
    ready = Q(status__in=Appointment.CHARTABLE_STATUSES) & ~Q(kind=Appointment.Kind.CONSULTATION)
    return list(
        Appointment.objects.filter(Q(chart__isnull=False) | ready, patient=patient)
        .select_related("protocol", "chart")
        .order_by("-starts_at")
    )


def chartable_of(appointments: list[Appointment]) -> list[Appointment]:
    """charted_sessions over appointments already read with their charts, in their order."""
    return [
        a
        for a in appointments
        if getattr(a, "chart", None) is not None
        or (a.status in Appointment.CHARTABLE_STATUSES and a.kind != Appointment.Kind.CONSULTATION)
    ]


@dataclass(frozen=True)
class SessionPhotos:
    appointment: Appointment
    before: list
    after: list


def course_photo_sessions(course: TreatmentPlan) -> list[SessionPhotos]:
    """Each session of a course with the photos taken on its day, before and after:
    the photos line up side by side across the course."""
    sessions = list(
        course.appointments.exclude(status__in=("cancelled", "no_show")).order_by("starts_at")
    )
    days = {timezone.localtime(a.starts_at).date(): a for a in sessions}
    by_day: dict = {}
    for photo in ClinicalPhoto.objects.filter(patient=course.patient, taken_on__in=list(days)):
        by_day.setdefault(photo.taken_on, []).append(photo)
    result = []
    for day, appointment in days.items():
        photos = by_day.get(day, [])
        result.append(
            SessionPhotos(
                appointment,
                [p for p in photos if p.kind != ClinicalPhoto.Kind.AFTER],
                [p for p in photos if p.kind == ClinicalPhoto.Kind.AFTER],
            )
        )
    return result
