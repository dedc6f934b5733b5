"""The outbox rows an appointment owns: created, re-timed and cancelled with it.

Called inside the transaction that books, moves or cancels the appointment, so the
messages exist exactly when the appointment does. Offsets are hours relative to
the appointment's start (negative: before it); an offset of 0 for a booking-time
kind (confirmation, first pre-care) means "now, at booking".
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from mesoclinic import message_kinds, outbox
from mesoclinic.models import OutboundMessage
from sessions import comms_selectors
from sessions.models import Appointment

APPOINTMENT_KINDS = ("booking_confirmation", "precare", "appointment_reminder")
# A patient's request (from a signed link) to move an appointment, sent to the clinic.
RESCHEDULE_KIND = comms_selectors.RESCHEDULE_KIND
# Kinds whose offset 0 means "at booking" rather than "at the appointment's start".
SENT_AT_BOOKING = frozenset({"booking_confirmation", "precare"})


def _due_at(kind: str, offset_hours: int, appointment: Appointment, now: datetime) -> datetime:
    if offset_hours == 0 and kind in SENT_AT_BOOKING:
        return now
    return appointment.starts_at + timedelta(hours=offset_hours)


def appointment_messages_cancel(*, appointment: Appointment) -> int:
    return outbox.messages_cancel(subject=appointment, kinds=APPOINTMENT_KINDS)


def appointment_messages_sync(*, appointment: Appointment, now: datetime | None = None) -> None:
    """Make the appointment's pending messages match its time, the settings and consent."""
    now = now or timezone.now()
    patient = appointment.patient
    if (
        not appointment.is_live
        or appointment.starts_at <= now
        or not patient.email
        or not patient.consents_to_transactional
    ):
        appointment_messages_cancel(appointment=appointment)
        return
    subject_type = ContentType.objects.get_for_model(appointment)
    settings_by_kind = {s.kind.code: s for s in message_kinds.all_settings()}
    for kind in APPOINTMENT_KINDS:
        setting = settings_by_kind[kind]
        if not setting.enabled:
            outbox.messages_cancel(subject=appointment, kinds=[kind])
            continue
        wanted_keys = []
        for offset in setting.offsets_hours:
            due = _due_at(kind, offset, appointment, now)
            if due < now - timedelta(minutes=1) or (offset != 0 and due >= appointment.starts_at):
                # Too late for this one (booked at short notice): nothing to send.
                continue
            key = str(offset)
            wanted_keys.append(key)
            outbox.message_schedule(
                kind=kind,
                subject=appointment,
                due_at=due,
                recipient=patient.email,
                patient=patient,
                offset_key=key,
                respect_quiet_hours=setting.respects_quiet_hours,
            )
        OutboundMessage.objects.filter(
            subject_type=subject_type,
            subject_id=appointment.pk,
            kind=kind,
            state=OutboundMessage.State.PENDING,
        ).exclude(offset_key__in=wanted_keys).update(
            state=OutboundMessage.State.CANCELLED,
            last_error="No longer needed",
            updated_at=now,
        )


# --- After a session, and along a course (patient communications)

AFTER_SESSION_KINDS = ("aftercare", "aftercare_followup")
# Course nudges go out at this clinic-local hour on their day (quiet hours still apply).
COURSE_MESSAGE_HOUR = 10
# A course message is created this long before it is due, so a booking made earlier
# means it is never created at all (its builder re-checks at send time anyway).
COURSE_MESSAGE_LOOKAHEAD = timedelta(days=1)


def appointment_completed_messages(
    *, appointment: Appointment, now: datetime | None = None
) -> None:
    """Schedule the aftercare email (with its PDF) and the later check-in for a completed session.

    Call inside the transaction that completes the appointment. Offsets are hours after
    completion; 0 means at once.
    """
    now = now or appointment.completed_at or timezone.now()
    patient = appointment.patient
    if not appointment.is_treatment or not patient.email or not patient.consents_to_transactional:
        return
    for kind in AFTER_SESSION_KINDS:
        setting = message_kinds.setting_for(kind)
        if not setting.enabled:
            continue
        for offset in setting.offsets_hours:
            outbox.message_schedule(
                kind=kind,
                subject=appointment,
                due_at=now + timedelta(hours=offset),
                recipient=patient.email,
                patient=patient,
                offset_key=str(offset),
                respect_quiet_hours=setting.respects_quiet_hours,
            )


def _on_day(day, offset_hours: int) -> datetime:
    zone = timezone.get_default_timezone()
    moment = datetime.combine(day, time(COURSE_MESSAGE_HOUR), tzinfo=zone)
    return moment + timedelta(hours=offset_hours)


def _already_scheduled(subject, kind: str, offset_key: str) -> bool:
    """A row waiting, sending, sent or failed stays as it is; only a cancelled one may revive."""
    return (
        OutboundMessage.objects.filter(
            subject_type=ContentType.objects.get_for_model(subject),
            subject_id=subject.pk,
            kind=kind,
            offset_key=offset_key,
        )
        .exclude(state=OutboundMessage.State.CANCELLED)
        .exists()
    )


def course_messages_schedule(*, now: datetime | None = None) -> int:
    """Beat job: create "next session due" and "maintenance due" messages whose day is near.

    Idempotent: the outbox keeps one row per (course, kind, key), and a row that exists
    is left alone, so running it every hour creates each message once. A row its builder
    cancelled (the session was booked then) comes back if the course is unbooked again.
    Returns how many messages were scheduled.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    horizon = now + COURSE_MESSAGE_LOOKAHEAD
    count = 0
    for kind in ("next_session_due", "maintenance_due"):
        setting = message_kinds.setting_for(kind)
        if not setting.enabled:
            continue
        for view in comms_selectors.courses_for_messages(kind=kind, today=today):
            patient = view.course.patient
            progress = view.progress
            if kind == "next_session_due":
                if progress.next_booked_on is not None or progress.interrupted:
                    continue
                day, key = progress.next_window[0], str(progress.next_sequence)
            else:
                last = comms_selectors.last_course_session_start(view.course)
                if last and comms_selectors.treatment_booked_after(course=view.course, after=last):
                    continue
                day, key = progress.maintenance_due_on, progress.maintenance_due_on.isoformat()
            for offset in setting.offsets_hours:
                due = _on_day(day, offset)
                offset_key = f"{key}:{offset}"[:20]
                if due > horizon or _already_scheduled(view.course, kind, offset_key):
                    continue
                outbox.message_schedule(
                    kind=kind,
                    subject=view.course,
                    due_at=max(due, now),
                    recipient=patient.email,
                    patient=patient,
                    offset_key=offset_key,
                    respect_quiet_hours=setting.respects_quiet_hours,
                )
                count += 1
    return count


def appointment_reschedule_request(
    *, appointment: Appointment, now: datetime | None = None
) -> OutboundMessage:
    """The patient asked, from a link, to move this appointment: tell the front desk.

    Recorded as a message to the clinic's address about the appointment, so staff see
    it on the outbox page and the patient's page, and get it by email. One a day per
    appointment: asking twice the same day changes nothing.
    """
    now = now or timezone.now()
    return outbox.message_schedule(
        kind=RESCHEDULE_KIND,
        subject=appointment,
        due_at=now,
        recipient=settings.CLINIC_EMAIL,
        patient=appointment.patient,
        offset_key=timezone.localdate(now).isoformat(),
        respect_quiet_hours=False,
    )
