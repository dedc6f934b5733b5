"""Outbox builders for the appointment and course emails patients receive.

Each builder re-reads its subject when the message is due and returns None when the
message no longer applies (the appointment was cancelled or has passed, the next
session got booked, the patient withdrew consent or has no email address), so the row
is cancelled rather than sent. Raising makes the outbox retry later with backoff.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vText

from mesoclinic.core import emails, outbox
from patients import links as patient_links
from patients.models import Patient
from sessions.charting import documents
from sessions.charting.models import SessionDocument
from sessions.comms import links
from sessions.comms import selectors as comms_selectors
from sessions.comms import services as reminders
from sessions.scheduling.models import Appointment, TreatmentPlan

Status = Appointment.Status


class AftercareNotReady(RuntimeError):
    """The aftercare sheet could not be produced yet; the outbox tries again later."""


# --- Who may be emailed, and about what


def _may_email(patient: Patient, *, marketing: bool = False, care_document: bool = False) -> bool:
    """Consent and channel: care messages need transactional consent, offers marketing too.

    A patient who prefers phone or text gets no routine emails; the aftercare sheet
    (`care_document`) still goes by email, being the written care the clinic owes.
    """
    if not patient.email or patient.is_archived or not patient.consents_to_transactional:
        return False
    if marketing and not patient.consents_to_marketing:
        return False
    return care_document or patient.preferred_channel == Patient.Channel.EMAIL


def _appointment(message) -> Appointment | None:
    """The message's appointment, as loaded for the outbox's batch."""
    return outbox.subject_of(message, comms_selectors.appointment_for_message)


# The kinds about one appointment: the outbox loads a batch's appointments in one query.
BY_APPOINTMENT = {"subjects": comms_selectors.appointments_for_messages}


def _upcoming(message) -> Appointment | None:
    appointment = _appointment(message)
    if appointment is None or not appointment.is_upcoming:
        return None
    if appointment.starts_at <= timezone.now() or not _may_email(appointment.patient):
        return None
    return appointment


def _appointment_context(appointment: Appointment) -> dict:
    return {
        "appointment": appointment,
        "patient": appointment.patient,
        "starts_local": timezone.localtime(appointment.starts_at),
        "ends_local": timezone.localtime(appointment.ends_at),
        "what": str(appointment.protocol) if appointment.protocol else "Consultation",
        "link_days": settings.PATIENT_LINK_MAX_AGE_DAYS,
        **links.appointment_links(appointment),
    }


# --- The calendar file


def _event(appointment: Appointment, *, now) -> Event:
    what = str(appointment.protocol) if appointment.protocol else "Consultation"
    event = Event()
    event.add("uid", f"{appointment.public_id}@mesoclinic")
    event.add("dtstamp", now)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    # Each change re-issues the event with a higher sequence, so calendars update it.
    event.add("sequence", int(appointment.updated_at.timestamp()) % 2_000_000_000)
    event.add("summary", f"{what} at {settings.CLINIC_NAME}")
    location = appointment.location
    event["location"] = vText(", ".join(p for p in (location.name, location.address) if p))
    event.add(
        "description",
        f"{what} with {appointment.practitioner.get_full_name() or 'your practitioner'}.\n"
        f"To change or cancel, call {settings.CLINIC_PHONE}.",
    )
    event.add("status", "CONFIRMED")
    return event


def appointments_ics(appointments, *, now=None) -> bytes:
    """An iCalendar file (RFC 5545) with one VEVENT per appointment, for the patient."""
    now = now or timezone.now()
    calendar = Calendar()
    calendar.add("prodid", "-//Mesoclinic//Patient appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    for appointment in appointments:
        calendar.add_component(_event(appointment, now=now))
    return calendar.to_ical()


def _ics_attachment(appointments, name: str = "appointment.ics") -> emails.Attachment:
    return emails.Attachment(name, appointments_ics(appointments), "text/calendar; method=PUBLISH")


# --- Builders


def _course_step(message) -> list[Appointment]:
    """The upcoming sessions a course confirmation (key "course:...") covers."""
    anchor = _appointment(message)
    if anchor is None or not _may_email(anchor.patient):
        return []
    now = timezone.now()
    return [
        a for a in reminders.course_step_sessions(anchor, message.offset_key) if a.starts_at > now
    ]


@outbox.builder("booking_confirmation", **BY_APPOINTMENT)
def booking_confirmation(message):
    if message.offset_key.startswith(reminders.COURSE_KEY_PREFIX):
        sessions = _course_step(message)
        if not sessions:
            return None
        if len(sessions) > 1:
            first = sessions[0]
            return emails.build(
                "course_booking_confirmation",
                to=[first.patient.email],
                context={
                    **_appointment_context(first),
                    "course": first.course,
                    "sessions": [
                        {
                            "appointment": a,
                            "starts_local": timezone.localtime(a.starts_at),
                            "ends_local": timezone.localtime(a.ends_at),
                            **links.appointment_links(a),
                        }
                        for a in sessions
                    ],
                },
                attachments=(_ics_attachment(sessions, "appointments.ics"),),
            )
        appointment = sessions[0]
    else:
        appointment = _upcoming(message)
    if appointment is None:
        return None
    return emails.build(
        "booking_confirmation",
        to=[appointment.patient.email],
        context=_appointment_context(appointment),
        attachments=(_ics_attachment([appointment]),),
    )


@outbox.builder(reminders.MOVED_KIND, **BY_APPOINTMENT)
def appointment_moved(message):
    appointment = _upcoming(message)
    if appointment is None:
        return None
    return emails.build(
        "appointment_moved",
        to=[appointment.patient.email],
        context=_appointment_context(appointment),
        attachments=(_ics_attachment([appointment]),),
    )


@outbox.builder("precare", **BY_APPOINTMENT)
def precare(message):
    course_step = message.offset_key.startswith(reminders.COURSE_KEY_PREFIX)
    if course_step:
        sessions = _course_step(message)
        appointment = sessions[0] if sessions else None
    else:
        appointment = _upcoming(message)
    if appointment is None:
        return None
    items = comms_selectors.care_items(appointment.protocol, "pre")
    if not items:
        return None
    return emails.build(
        "precare",
        to=[appointment.patient.email],
        context={
            **_appointment_context(appointment),
            "lines": comms_selectors.precare_lines(items, starts_at=appointment.starts_at),
            "course_sessions": len(sessions) if course_step else 0,
        },
    )


@outbox.builder("appointment_reminder", **BY_APPOINTMENT)
def appointment_reminder(message):
    appointment = _upcoming(message)
    if appointment is None:
        return None
    return emails.build(
        "appointment_reminder",
        to=[appointment.patient.email],
        context=_appointment_context(appointment),
    )


def _completed(message) -> Appointment | None:
    appointment = comms_selectors.appointment_for_message(message.subject_id)
    if appointment is None or appointment.status != Status.COMPLETED:
        return None
    return appointment


def _aftercare_pdf(appointment: Appointment) -> bytes:
    pdf = documents.aftercare_pdf_for(appointment)
    if pdf is None:
        # The sheet is rendered after completion commits; make it here if that has
        # not happened yet (a worker, not a request, runs this).
        documents.session_document_generate(
            appointment_id=appointment.pk, kind=SessionDocument.Kind.AFTERCARE
        )
        pdf = documents.aftercare_pdf_for(appointment)
    if pdf is None:
        raise AftercareNotReady("The aftercare sheet is not ready (is the chart signed?).")
    return pdf


@outbox.builder("aftercare")
def aftercare(message):
    appointment = _completed(message)
    if appointment is None or not _may_email(appointment.patient, care_document=True):
        return None
    pdf = _aftercare_pdf(appointment)
    consent = comms_selectors.consent_document(
        patient=appointment.patient, protocol=appointment.protocol
    )
    day = timezone.localtime(appointment.starts_at)
    return emails.build(
        "aftercare",
        to=[appointment.patient.email],
        context={
            "appointment": appointment,
            "patient": appointment.patient,
            "what": str(appointment.protocol) if appointment.protocol else "your session",
            "session_local": day,
            "aftercare_url": links.aftercare_pdf_url(appointment),
            "consent_url": links.consent_pdf_url(consent) if consent else "",
            "next_session": comms_selectors.next_course_session(appointment),
            "link_days": settings.PATIENT_LINK_MAX_AGE_DAYS,
        },
        attachments=(emails.Attachment(f"aftercare-{day:%Y-%m-%d}.pdf", pdf, "application/pdf"),),
    )


@outbox.builder("aftercare_followup")
def aftercare_followup(message):
    appointment = _completed(message)
    if appointment is None or not _may_email(appointment.patient):
        return None
    return emails.build(
        "aftercare_followup",
        to=[appointment.patient.email],
        context={
            "appointment": appointment,
            "patient": appointment.patient,
            "what": str(appointment.protocol) if appointment.protocol else "your session",
            "session_local": timezone.localtime(appointment.starts_at),
            "aftercare_url": links.aftercare_pdf_url(appointment),
        },
    )


def _course_key(message) -> str:
    return message.offset_key.split(":", 1)[0]


@outbox.builder("next_session_due")
def next_session_due(message):
    course = comms_selectors.course_for_message(message.subject_id)
    if course is None or course.status != TreatmentPlan.Status.ACTIVE:
        return None
    if not _may_email(course.patient):
        return None
    today = timezone.localdate()
    progress = comms_selectors.course_view(course, today=today).progress
    if (
        progress.next_sequence is None
        or str(progress.next_sequence) != _course_key(message)
        or progress.next_booked_on is not None
        or progress.next_window is None
        or today > progress.next_window[1]
    ):
        return None
    return emails.build(
        "next_session_due",
        to=[course.patient.email],
        context={
            "course": course,
            "patient": course.patient,
            "sequence": progress.next_sequence,
            "planned": course.sessions_planned,
            "window_from": max(progress.next_window[0], today),
            "window_to": progress.next_window[1],
        },
    )


@outbox.builder("maintenance_due")
def maintenance_due(message):
    course = comms_selectors.course_for_message(message.subject_id)
    if course is None or course.status != TreatmentPlan.Status.COMPLETED:
        return None
    if not _may_email(course.patient, marketing=True):
        return None
    if comms_selectors.maintenance_not_needed(course):
        return None
    progress = comms_selectors.course_view(course, today=timezone.localdate()).progress
    if progress.maintenance_due_on is None:
        return None
    unsubscribe = patient_links.unsubscribe_url(course.patient)
    return emails.build(
        "maintenance_due",
        to=[course.patient.email],
        context={
            "course": course,
            "patient": course.patient,
            "due_on": progress.maintenance_due_on,
            "months": course.maintenance_interval_months,
            "unsubscribe_url": unsubscribe,
        },
        headers={"List-Unsubscribe": f"<{unsubscribe}>"},
    )


@outbox.builder(comms_selectors.RESCHEDULE_KIND)
def reschedule_request(message):
    """To the clinic, not the patient: someone asked to move an appointment."""
    appointment = comms_selectors.appointment_for_message(message.subject_id)
    if appointment is None or not appointment.is_upcoming:
        return None
    patient = appointment.patient
    return emails.build(
        "reschedule_request",
        to=[settings.CLINIC_EMAIL],
        context={
            "appointment": appointment,
            "patient": patient,
            "starts_local": timezone.localtime(appointment.starts_at),
            "asked_at": timezone.localtime(message.created_at),
            "what": str(appointment.protocol) if appointment.protocol else "Consultation",
            "patient_url": settings.SITE_URL.rstrip("/")
            + reverse("patients:detail", kwargs={"patient_id": patient.public_id}),
            "soon": appointment.starts_at - timezone.now() < timedelta(hours=48),
        },
    )
