"""The outbox rows an appointment owns: created, re-timed and cancelled with it.

Called inside the transaction that books, moves or cancels the appointment, so the
messages exist exactly when the appointment does. Offsets are hours relative to
the appointment's start (negative: before it); an offset of 0 for a booking-time
kind (confirmation, first pre-care) means "now, at booking".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from mesoclinic import message_kinds, outbox
from mesoclinic.models import OutboundMessage
from sessions.models import Appointment

APPOINTMENT_KINDS = ("booking_confirmation", "precare", "appointment_reminder")
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
    for kind in APPOINTMENT_KINDS:
        setting = message_kinds.setting_for(kind)
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
