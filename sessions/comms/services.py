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
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mesoclinic.core import audit, message_kinds, outbox
from mesoclinic.core.models import OutboundMessage
from sessions.comms import selectors as comms_selectors
from sessions.scheduling import services as scheduling_services
from sessions.scheduling.models import Appointment

APPOINTMENT_KINDS = ("booking_confirmation", "precare", "appointment_reminder", "appointment_moved")
# The kinds `appointment_messages_sync` keeps in step with the appointment's time.
TIMED_KINDS = ("booking_confirmation", "precare", "appointment_reminder")
MOVED_KIND = "appointment_moved"
# A patient's request (from a signed link) to move an appointment, sent to the clinic.
RESCHEDULE_KIND = comms_selectors.RESCHEDULE_KIND
# Kinds whose offset 0 means "at booking" rather than "at the appointment's start".
SENT_AT_BOOKING = frozenset({"booking_confirmation", "precare"})
# Offset keys of at-booking rows: one appointment's ("0"), or a whole booking step of a
# course ("course:1-3", on the step's first session, naming the sessions it covers).
AT_BOOKING_KEY = "0"
COURSE_KEY_PREFIX = "course:"
TOLD = (OutboundMessage.State.SENT, OutboundMessage.State.SENDING)


def _due_at(kind: str, offset_hours: int, appointment: Appointment, now: datetime) -> datetime:
    if offset_hours == 0 and kind in SENT_AT_BOOKING:
        return now
    return appointment.starts_at + timedelta(hours=offset_hours)


def course_step_key(sequences) -> str:
    """The offset key naming the course sessions booked in one step: "course:1-3,5"."""
    numbers = sorted(set(sequences))
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ",".join(f"{a}-{b}" if b > a else str(a) for a, b in runs)
    key = COURSE_KEY_PREFIX + text
    if len(key) > 20:  # the column's width; a wider range only lists more of their sessions
        key = f"{COURSE_KEY_PREFIX}{numbers[0]}-{numbers[-1]}"
    return key


def course_step_sequences(key: str) -> set[int]:
    """The session numbers a "course:..." key names (empty for any other key)."""
    if not key.startswith(COURSE_KEY_PREFIX):
        return set()
    numbers: set[int] = set()
    for part in key[len(COURSE_KEY_PREFIX) :].split(","):
        first, _, last = part.partition("-")
        numbers.update(range(int(first), int(last or first) + 1))
    return numbers


def _may_message(appointment: Appointment, now: datetime) -> bool:
    patient = appointment.patient
    return bool(
        appointment.is_live
        and appointment.starts_at > now
        and patient.email
        and patient.consents_to_transactional
    )


def _wants(kind: str, appointment: Appointment) -> bool:
    # Pre-care is the protocol's: a consultation has none, so nothing is scheduled.
    return kind != "precare" or appointment.protocol_id is not None


def appointment_messages_cancel(*, appointment: Appointment) -> int:
    """Cancel the appointment's messages still waiting: it was checked in, cancelled,
    missed, or can no longer be messaged.

    A course's at-booking messages (key "course:...", anchored on the first session of
    the step) are about every session they cover: they stay while another of those is
    still upcoming, and list only those when they go out (the builders re-read them).
    """
    subject_type = ContentType.objects.get_for_model(appointment)
    pending = OutboundMessage.objects.filter(
        subject_type=subject_type,
        subject_id=appointment.pk,
        state=OutboundMessage.State.PENDING,
        kind__in=list(APPOINTMENT_KINDS),
    )
    done = [
        row.pk
        for row in pending.filter(offset_key__startswith=COURSE_KEY_PREFIX)
        if not _others_still_upcoming(appointment, row.offset_key)
    ]
    keep_course_rows = Q(offset_key__startswith=COURSE_KEY_PREFIX) & ~Q(pk__in=done)
    return pending.exclude(keep_course_rows).update(
        state=OutboundMessage.State.CANCELLED,
        last_error="No longer needed",
        updated_at=timezone.now(),
    )


def _others_still_upcoming(anchor: Appointment, key: str) -> bool:
    """Does a course message on `anchor` still cover another session to come?"""
    now = timezone.now()
    return any(a.pk != anchor.pk and a.starts_at > now for a in course_step_sessions(anchor, key))


def _timed_plan(
    kind: str, setting, appointment: Appointment, now: datetime, *, booking: bool
) -> list[tuple[str, datetime]]:
    """The (offset key, due time) of each message of this kind the appointment should
    have now. `booking`: with its at-booking one (offset 0 of a SENT_AT_BOOKING kind)."""
    wanted = []
    for offset in setting.offsets_hours:
        if offset == 0 and kind in SENT_AT_BOOKING and not booking:
            continue
        due = _due_at(kind, offset, appointment, now)
        if due < now - timedelta(minutes=1) or (offset != 0 and due >= appointment.starts_at):
            # Too late for this one (booked at short notice): nothing to send.
            continue
        wanted.append((str(offset), due))
    return wanted


def appointment_messages_sync(
    *, appointment: Appointment, now: datetime | None = None, booking: bool = False
) -> None:
    """Make the appointment's pending messages match its time, the settings and consent.

    `booking`: the appointment was just booked on its own, so its at-booking messages
    (confirmation, first pre-care) are created now. Otherwise (a move) at-booking rows
    that exist are kept and none are created.
    """
    now = now or timezone.now()
    patient = appointment.patient
    if not _may_message(appointment, now):
        appointment_messages_cancel(appointment=appointment)
        return
    subject_type = ContentType.objects.get_for_model(appointment)
    settings_by_kind = {s.kind.code: s for s in message_kinds.all_settings()}
    for kind in TIMED_KINDS:
        setting = settings_by_kind[kind]
        if not setting.enabled or not _wants(kind, appointment):
            outbox.messages_cancel(subject=appointment, kinds=[kind])
            continue
        wanted = _timed_plan(kind, setting, appointment, now, booking=booking)
        for key, due in wanted:
            outbox.message_schedule(
                kind=kind,
                subject=appointment,
                due_at=due,
                recipient=patient.email,
                patient=patient,
                offset_key=key,
                respect_quiet_hours=setting.respects_quiet_hours,
            )
        stale = OutboundMessage.objects.filter(
            subject_type=subject_type,
            subject_id=appointment.pk,
            kind=kind,
            state=OutboundMessage.State.PENDING,
        ).exclude(offset_key__in=[key for key, _ in wanted])
        if kind in SENT_AT_BOOKING and 0 in setting.offsets_hours:
            # The at-booking rows that exist are kept.
            stale = stale.exclude(offset_key=AT_BOOKING_KEY).exclude(
                offset_key__startswith=COURSE_KEY_PREFIX
            )
        stale.update(
            state=OutboundMessage.State.CANCELLED,
            last_error="No longer needed",
            updated_at=now,
        )


def course_booked_messages(*, appointments: list[Appointment], now: datetime | None = None) -> None:
    """Every message of the sessions of one course just booked in one step (the
    COURSE_BOOKED hook, inside the booking transaction), created together.

    Each session gets what `appointment_messages_sync` gives a session: its reminders
    and its days-before pre-care. At booking, one session gets its own confirmation and
    pre-care; several get ONE confirmation (listing them all, with one calendar file)
    and ONE at-booking pre-care, both on the step's first session with the key
    "course:<sessions>". The sessions are new: none has a message to cancel or re-time.
    """
    now = now or timezone.now()
    live = sorted(
        (a for a in appointments if _may_message(a, now)), key=lambda a: (a.starts_at, a.pk)
    )
    if not live:
        return
    settings_by_kind = {s.kind.code: s for s in message_kinds.all_settings()}
    planned = []
    for appointment in live:
        for kind in TIMED_KINDS:
            setting = settings_by_kind[kind]
            if not setting.enabled or not _wants(kind, appointment):
                continue
            planned += [
                _planned(kind, setting, appointment, key=key, due=due)
                for key, due in _timed_plan(kind, setting, appointment, now, booking=len(live) == 1)
            ]
    if len(live) > 1:
        first = live[0]
        key = course_step_key(a.sequence or 0 for a in live)
        for kind in sorted(SENT_AT_BOOKING):
            setting = settings_by_kind[kind]
            if not setting.enabled or 0 not in setting.offsets_hours or not _wants(kind, first):
                continue
            planned.append(_planned(kind, setting, first, key=key, due=now))
    outbox.messages_schedule(planned)


def _planned(kind: str, setting, appointment: Appointment, *, key: str, due: datetime):
    """One of the appointment's messages to the patient, for `outbox.messages_schedule`."""
    return outbox.Planned(
        kind=kind,
        subject=appointment,
        due_at=due,
        recipient=appointment.patient.email,
        patient=appointment.patient,
        offset_key=key,
        respect_quiet_hours=setting.respects_quiet_hours,
    )


def course_step_sessions(anchor: Appointment, key: str) -> list[Appointment]:
    """The live sessions a course confirmation on `anchor` covers, in time order."""
    sequences = course_step_sequences(key)
    if anchor.course_id is None or not sequences:
        return [anchor]
    return list(
        Appointment.objects.filter(
            course_id=anchor.course_id,
            kind=Appointment.Kind.COURSE_SESSION,
            sequence__in=sequences,
            status__in=Appointment.UPCOMING_STATUSES,
        )
        .select_related("patient", "protocol", "practitioner", "location")
        .order_by("starts_at", "pk")
    )


def patient_was_told(appointment: Appointment) -> bool:
    """Has an email with this appointment's time gone out (a confirmation or a move)?"""
    appointment_type = ContentType.objects.get_for_model(Appointment)
    rows = OutboundMessage.objects.filter(subject_type=appointment_type, state__in=TOLD)
    if rows.filter(
        subject_id=appointment.pk, kind__in=("booking_confirmation", MOVED_KIND)
    ).exists():
        return True
    if appointment.course_id is None or appointment.sequence is None:
        return False
    course_sessions = Appointment.objects.filter(course_id=appointment.course_id).values("pk")
    course_rows = rows.filter(
        kind="booking_confirmation",
        offset_key__startswith=COURSE_KEY_PREFIX,
        subject_id__in=course_sessions,
    ).values_list("offset_key", flat=True)
    return any(appointment.sequence in course_step_sequences(key) for key in course_rows)


def appointment_moved_messages(
    *, appointment: Appointment, old_starts_at: datetime, now: datetime | None = None
) -> OutboundMessage | None:
    """Tell the patient their appointment moved, if they had already been told its time.

    Call inside the transaction that moves it, after `appointment_messages_sync`. A
    confirmation still waiting will carry the new time itself, so nothing is added
    then. One row per move ("1", "2"...); moving again before it went out re-times the
    waiting row instead, so the patient gets one email with the latest time.
    """
    now = now or timezone.now()
    if old_starts_at == appointment.starts_at or not _may_message(appointment, now):
        return None
    setting = message_kinds.setting_for(MOVED_KIND)
    if not setting.enabled or not patient_was_told(appointment):
        return None
    rows = OutboundMessage.objects.filter(
        subject_type=ContentType.objects.get_for_model(appointment),
        subject_id=appointment.pk,
        kind=MOVED_KIND,
    )
    waiting = rows.filter(state=OutboundMessage.State.PENDING).order_by("-pk").first()
    key = waiting.offset_key if waiting else str(rows.count() + 1)
    return outbox.message_schedule(
        kind=MOVED_KIND,
        subject=appointment,
        due_at=now,
        recipient=appointment.patient.email,
        patient=appointment.patient,
        offset_key=key,
        respect_quiet_hours=setting.respects_quiet_hours,
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
                if comms_selectors.maintenance_not_needed(view.course, sessions=view.sessions):
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


def appointment_confirmed_by_patient(
    *, appointment: Appointment, request=None, now: datetime | None = None
) -> Appointment:
    """The patient confirmed from their emailed link: confirm it and audit who."""
    with transaction.atomic():
        appointment = scheduling_services.appointment_confirm(
            appointment=appointment, by=None, now=now
        )
        audit.record(
            request=request,
            action=audit.Action.CHANGE,
            patient=appointment.patient,
            obj=appointment,
            summary="Confirmed by the patient (email link)",
        )
    return appointment


def appointment_reschedule_request(
    *, appointment: Appointment, request=None, now: datetime | None = None
) -> OutboundMessage:
    """The patient asked, from a link, to move this appointment: tell the front desk.

    Recorded as a message to the clinic's address about the appointment, so staff see
    it on the outbox page and the patient's page, and get it by email. One a day per
    appointment: asking twice the same day changes nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        message = outbox.message_schedule(
            kind=RESCHEDULE_KIND,
            subject=appointment,
            due_at=now,
            recipient=settings.CLINIC_EMAIL,
            patient=appointment.patient,
            offset_key=timezone.localdate(now).isoformat(),
            respect_quiet_hours=False,
        )
        audit.record(
            request=request,
            action=audit.Action.CHANGE,
            patient=appointment.patient,
            obj=appointment,
            summary="Patient asked to reschedule (email link)",
        )
    return message
