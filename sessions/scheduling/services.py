"""Every write about courses and appointments. Keyword-only, each in a transaction.

What other parts do when an appointment is booked, moved, completed, cancelled or
missed (messages, the chart gate, charges and fees) runs through `hooks`, inside the
same transaction: scheduling imports neither charting, comms nor billing.

One path decides whether a time may be booked — `_check_slot` (hours, closures,
absences, clashes) and `_check_spacing` (the course's minimum and maximum) — used
by the booking form, the calendar's click, drag and resize, and course booking.
The database's exclusion constraints have the last word on clashes; their
violation becomes a `SlotTaken` error with a message, never a 500.

Every write that places an appointment first takes `_lock_calendars`: a lock on each
practitioner's and each room's calendar it touches, always in one order. Two bookings
of the same room by two practitioners would otherwise each wait for the other inside
PostgreSQL's exclusion checks (one on the room, one on the practitioner) and deadlock;
under the locks the second waits for the first to commit, then reads its appointment
and is refused in words.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from mesoclinic.core import audit, roles
from patients.models import Patient
from patients.selectors import (
    consent_withdrawal,
    latest_screening,
    screening_as_seen_by,
    screening_for_protocol,
)
from protocols.models import Protocol
from sessions.scheduling import hooks, selectors
from sessions.scheduling import rules as scheduling
from sessions.scheduling.errors import OverrideNeeded, SchedulingError, SlotTaken
from sessions.scheduling.models import Appointment, CalendarFeed, Location, Room, TreatmentPlan

Status = Appointment.Status
Kind = Appointment.Kind

CONSULTATION_MINUTES = 30
MAX_APPOINTMENT = timedelta(hours=selectors.MAX_APPOINTMENT_HOURS)

CONSTRAINT_MESSAGES = {
    "appointment_no_practitioner_overlap": (
        "The practitioner already has an appointment at that time. Choose another time."
    ),
    "appointment_no_room_overlap": "The room is already in use at that time. Choose another room "
    "or time.",
    "appointment_one_live_per_course_sequence": "This course already has a session with that "
    "number.",
    # A trigger (migration 0006): a patient booking online holds this time for a few minutes.
    "appointment_no_hold_overlap": "That time is held for a patient who is booking online "
    "right now. Choose another time, or try again in a few minutes.",
}


__all__ = ["OverrideNeeded", "SchedulingError", "SlotTaken"]  # re-exported for callers


def _integrity_error(exc: IntegrityError) -> SchedulingError:
    name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or ""
    if name in CONSTRAINT_MESSAGES:
        return SlotTaken(CONSTRAINT_MESSAGES[name], code=name)
    return SchedulingError("That change conflicts with other records and was not saved.")


DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE for "deadlock detected"

# Advisory-lock namespaces (the first key of pg_advisory_xact_lock(int, int)).
PRACTITIONER_CALENDAR = 7301
ROOM_CALENDAR = 7302


def _lock_calendars(*, practitioners: Sequence[User], rooms: Sequence[Room | None]) -> None:
    """Hold the calendars of these practitioners and rooms until the transaction ends.

    Always practitioners before rooms, each by id: two writers never hold one each
    while waiting for the other. Taking the same lock again in one transaction is free.
    """
    keys = sorted(
        {(PRACTITIONER_CALENDAR, u.pk) for u in practitioners}
        | {(ROOM_CALENDAR, r.pk) for r in rooms if r is not None}
    )
    with connection.cursor() as cursor:
        for namespace, pk in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, pk])


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "pgcode", None) == DEADLOCK_DETECTED


def _write(write: Callable[[], object]) -> None:
    """Run one write inside a savepoint so a constraint violation leaves the transaction
    usable, and refuse it in words.

    A deadlock (a writer that bypassed `_lock_calendars`) is retried once: the other
    transaction has gone ahead meanwhile, so the retry either saves or meets its
    appointment and is refused in words.
    """
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                write()
            return
        except IntegrityError as exc:
            raise _integrity_error(exc) from exc
        except OperationalError as exc:
            if not _is_deadlock(exc) or attempt == 2:
                raise


def _save(instance, **kwargs) -> None:
    _write(lambda: instance.save(**kwargs))


def _save_all(appointments: Sequence[Appointment]) -> None:
    """Insert new appointments in one statement, as `_save` saves one."""
    _write(lambda: Appointment.objects.bulk_create(appointments))


def _prefixed(exc: SchedulingError, sequence: int | None) -> SchedulingError:
    """The same error, saying which session of several it is about."""
    text = " ".join(exc.messages)
    if sequence is not None and not text.startswith(f"Session {sequence} "):
        text = f"Session {sequence}: {text}"
    return type(exc)(text, code=exc.code)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(timezone.get_default_timezone()).date()


def _is_practitioner(user: User) -> bool:
    return user.is_active and roles.has_role(user, {roles.PRACTITIONER})


# --- The rules every booking and move goes through


@dataclass(frozen=True)
class Placement:
    """Where one appointment should be: the subject of every check."""

    appointment_id: int | None
    practitioner: User
    location: Location
    room: Room | None
    starts_at: datetime
    ends_at: datetime
    course: TreatmentPlan | None = None
    sequence: int | None = None


def _check_basics(p: Placement) -> None:
    if p.starts_at.tzinfo is None or p.ends_at.tzinfo is None:
        raise SchedulingError("Times must carry a time zone.")
    if p.ends_at <= p.starts_at:
        raise SchedulingError("The end must be after the start.")
    if p.starts_at < timezone.now():
        raise SchedulingError("That time has already passed.")
    if p.ends_at - p.starts_at > MAX_APPOINTMENT:
        raise SchedulingError("An appointment cannot be longer than 8 hours.")
    if not _is_practitioner(p.practitioner):
        raise SchedulingError(f"{selectors.display_name(p.practitioner)} is not a practitioner.")
    if not p.location.is_active:
        raise SchedulingError(f"{p.location} is closed for bookings.")
    if p.room is not None and (p.room.location_id != p.location.pk or not p.room.is_active):
        raise SchedulingError(f"{p.room.name} is not an open room at {p.location}.")


def _check_slot(p: Placement, *, exclude_ids: tuple[int, ...], also_busy=()) -> None:
    day = _local_day(p.starts_at)
    availability = selectors.availability_for(
        practitioner=p.practitioner,
        location=p.location,
        room=p.room,
        first_day=day,
        last_day=day,
        exclude_ids=exclude_ids,
    )
    if also_busy:
        availability = availability.with_busy(also_busy)
    _refuse_slot(scheduling.slot_problems(p.starts_at, p.ends_at, availability))


def _refuse_slot(problems: list[str]) -> None:
    if problems:
        error = SlotTaken if any("already booked" in m for m in problems) else SchedulingError
        raise error(" ".join(problems))


def _course_positions(
    course: TreatmentPlan, *, exclude_ids: tuple[int, ...], planned: dict[int, datetime]
) -> dict[int, datetime]:
    positions = {
        a.sequence: a.starts_at
        for a in selectors.course_live_sessions(course, exclude_ids=exclude_ids)
        if a.kind == Kind.COURSE_SESSION
    }
    positions.update(planned)
    return positions


def _check_spacing(
    *,
    course: TreatmentPlan,
    sequence: int,
    positions: dict[int, datetime],
    override_reason: str,
    booked_with: Collection[int] = (),
) -> str:
    """Refuse too soon; beyond the maximum needs a reason. Returns the reason to record.

    `positions` is the course as it will be: the session is checked against its
    neighbours there, the one before and the one after. It records the reason when its
    gap after the one before is beyond the maximum, or its gap to the one after — unless
    that one is booked in the same step (`booked_with`): the gap is then the later
    session's own, and that session records the reason (as when booked one by one).
    """
    check = _spacing_among(course, sequence, positions)
    if not check.allowed:
        raise SchedulingError(check.too_soon, code="too_soon")
    if not check.needs_override:
        return ""
    if not override_reason.strip():
        raise OverrideNeeded(
            f"{check.beyond_max} To book it anyway, give a reason for the override.",
            code="override_needed",
        )
    following = min((s for s in positions if s > sequence), default=None)
    if following in booked_with:
        own = _spacing_among(course, sequence, positions, after=False)
        if not own.beyond_max:
            return ""
    return override_reason.strip()[:300]


def _spacing_among(
    course: TreatmentPlan, sequence: int, positions: dict[int, datetime], *, after: bool = True
) -> scheduling.SpacingCheck:
    """The pure spacing check of one session against its neighbours in `positions` (the
    course as it will be): the one before, and with `after` the one after."""
    earlier = [s for s in positions if s < sequence]
    later = [s for s in positions if s > sequence]
    return scheduling.check_spacing(
        sequence=sequence,
        start=positions[sequence],
        previous_start=positions[max(earlier)] if earlier else None,
        next_start=positions[min(later)] if later and after else None,
        spacing=selectors.spacing_of(course),
        zone=timezone.get_default_timezone(),
    )


def _check_protocol(protocol: Protocol | None, kind: str) -> None:
    if kind == Kind.CONSULTATION:
        return
    if protocol is None:
        raise SchedulingError("Choose the protocol for a treatment session.")
    if not protocol.is_active:
        raise SchedulingError(f"{protocol} is retired and can no longer be booked.")


def _audit(*, by, appointment: Appointment, action, summary: str) -> None:
    audit.record(
        actor=by, action=action, patient=appointment.patient, obj=appointment, summary=summary
    )


# --- Booking


def appointment_book(
    *,
    patient: Patient,
    practitioner: User,
    location: Location,
    starts_at: datetime,
    by: User | None,
    kind: str = Kind.CONSULTATION,
    protocol: Protocol | None = None,
    course: TreatmentPlan | None = None,
    sequence: int | None = None,
    room: Room | None = None,
    ends_at: datetime | None = None,
    override_reason: str = "",
    notes: str = "",
    booked_online: bool = False,
) -> Appointment:
    """Book one appointment after every rule has been checked (several sessions of a
    course booked in one step: `course_sessions_book`)."""
    if patient.is_archived:
        raise SchedulingError("This patient is archived; restore them before booking.")
    if course is not None:
        protocol = course.protocol
        # Maintenance may follow a finished course; its sessions need an active one.
        if kind == Kind.COURSE_SESSION and course.status != TreatmentPlan.Status.ACTIVE:
            raise SchedulingError("This course is no longer active.")
        if course.patient_id != patient.pk:
            raise SchedulingError("That course belongs to another patient.")
        if kind == Kind.COURSE_SESSION and sequence is None:
            sequence = len(selectors.course_live_sessions(course)) + 1
        if kind == Kind.COURSE_SESSION and not 1 <= sequence <= course.sessions_planned:
            raise SchedulingError(f"This course has {course.sessions_planned} sessions.")
    elif kind == Kind.COURSE_SESSION:
        raise SchedulingError("A course session needs a course.")
    _check_protocol(protocol, kind)
    if ends_at is None:
        minutes = protocol.session_minutes if protocol is not None else CONSULTATION_MINUTES
        ends_at = starts_at + timedelta(minutes=minutes)
    placement = Placement(None, practitioner, location, room, starts_at, ends_at, course, sequence)
    with transaction.atomic():
        _lock_calendars(practitioners=[practitioner], rooms=[room])
        _check_basics(placement)
        _check_slot(placement, exclude_ids=())
        reason = ""
        if course is not None and kind == Kind.COURSE_SESSION:
            positions = _course_positions(course, exclude_ids=(), planned={sequence: starts_at})
            reason = _check_spacing(
                course=course,
                sequence=sequence,
                positions=positions,
                override_reason=override_reason,
            )
        appointment = Appointment(
            patient=patient,
            protocol=protocol,
            course=course,
            sequence=sequence if kind == Kind.COURSE_SESSION else None,
            kind=kind,
            practitioner=practitioner,
            location=location,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            override_reason=reason,
            notes=notes,
            booked_online=booked_online,
            created_by=by,
        )
        _save(appointment)
        hooks.run(hooks.BOOKED, appointment=appointment)
        _audit(
            by=by,
            appointment=appointment,
            action=audit.Action.CREATE,
            summary=f"Booked {appointment.get_kind_display().lower()} "
            f"{timezone.localtime(starts_at):%d %b %Y %H:%M}",
        )
    return appointment


# --- Courses


def course_plan(
    *,
    protocol: Protocol,
    practitioner: User,
    location: Location,
    room: Room | None = None,
    earliest: date,
    first_start: datetime | None = None,
    preferences: scheduling.Preferences = scheduling.NO_PREFERENCES,
    course: TreatmentPlan | None = None,
    now: datetime | None = None,
) -> scheduling.Proposal:
    """Propose every session of a new course, or the remaining ones of `course`.

    Reads only: the proposal is shown for staff to review and adjust before booking.
    Nothing is proposed before now plus the clinic's minimum notice
    (settings.CLINIC_MIN_NOTICE_MINUTES), so every proposal can be booked as shown.
    """
    if course is not None:
        live = [a for a in selectors.course_live_sessions(course) if a.kind == Kind.COURSE_SESSION]
        sessions = course.sessions_planned - len(live)
        previous = live[-1].starts_at if live else None
        start_sequence = (live[-1].sequence + 1) if live else 1
        spacing = selectors.spacing_of(course)
        minutes = protocol.session_minutes
    else:
        sessions, previous, start_sequence = protocol.sessions_in_course, None, 1
        spacing = scheduling.Spacing(
            protocol.min_interval_days, protocol.target_interval_days, protocol.max_interval_days
        )
        minutes = protocol.session_minutes
    if sessions <= 0:
        return scheduling.Proposal(())
    from_day = min(earliest, _local_day(previous)) if previous else earliest
    last_day = earliest + timedelta(
        days=scheduling.FIRST_SESSION_HORIZON_DAYS + spacing.max_days * sessions
    )
    availability = selectors.availability_for(
        practitioner=practitioner,
        location=location,
        room=room,
        first_day=from_day,
        last_day=last_day,
        not_before=selectors.earliest_offer(now),
        offering=True,
    )
    return scheduling.propose_course(
        sessions=sessions,
        spacing=spacing,
        duration=timedelta(minutes=minutes),
        availability=availability,
        earliest=earliest,
        first_start=first_start,
        preferences=preferences,
        previous_start=previous,
        start_sequence=start_sequence,
    )


def course_create(
    *,
    patient: Patient,
    protocol: Protocol,
    practitioner: User,
    location: Location,
    room: Room | None,
    by: User | None,
    preferences: scheduling.Preferences = scheduling.NO_PREFERENCES,
    notes: str = "",
) -> TreatmentPlan:
    _check_protocol(protocol, Kind.COURSE_SESSION)
    course = TreatmentPlan(
        patient=patient,
        protocol=protocol,
        practitioner=practitioner,
        location=location,
        room=room,
        sessions_planned=protocol.sessions_in_course,
        min_interval_days=protocol.min_interval_days,
        target_interval_days=protocol.target_interval_days,
        max_interval_days=protocol.max_interval_days,
        maintenance_interval_months=protocol.maintenance_interval_months,
        preferred_weekdays=sorted(preferences.weekdays),
        preferred_time_from=preferences.time_from,
        preferred_time_to=preferences.time_to,
        notes=notes,
        created_by=by,
    )
    _save(course)
    return course


def course_sessions_book(
    *,
    course: TreatmentPlan,
    starts: Sequence[tuple[int, datetime]],
    by: User | None,
    override_reason: str = "",
    booked_online: bool = False,
) -> list[Appointment]:
    """Book several sessions of a course at once: all of them, or none.

    `starts` pairs each session number with its start. Spacing is checked against
    the whole set as it will be, so sessions can be given in any order. Every session
    passes the checks `appointment_book` makes, against one read of the calendar for
    all their days; they are then inserted together, and COURSE_BOOKED (not BOOKED)
    runs once with all of them.
    """
    if course.status != TreatmentPlan.Status.ACTIVE:
        raise SchedulingError("This course is no longer active.")
    planned = dict(starts)
    if len(planned) != len(starts):
        raise SchedulingError("Each session may be given only once.")
    if course.patient.is_archived:
        raise SchedulingError("This patient is archived; restore them before booking.")
    if any(not 1 <= sequence <= course.sessions_planned for sequence in planned):
        raise SchedulingError(f"This course has {course.sessions_planned} sessions.")
    _check_protocol(course.protocol, Kind.COURSE_SESSION)
    if not planned:
        return []
    duration = timedelta(minutes=course.protocol.session_minutes)
    with transaction.atomic():
        # The course row first, as course_cancel takes it: a course stopped meanwhile
        # gets no new sessions.
        locked = TreatmentPlan.objects.select_for_update().only("status").get(pk=course.pk)
        if locked.status != TreatmentPlan.Status.ACTIVE:
            raise SchedulingError("This course is no longer active.")
        _lock_calendars(practitioners=[course.practitioner], rooms=[course.room])
        booked_before = _course_positions(course, exclude_ids=(), planned={})
        clash = sorted(set(booked_before) & set(planned))
        if clash:
            raise SchedulingError(f"Session {clash[0]} is already booked.")
        positions = {**booked_before, **planned}
        availability = selectors.availability_on_days(
            practitioner=course.practitioner,
            location=course.location,
            room=course.room,
            days=[_local_day(start) for start in planned.values()],
        )
        booked = []
        for sequence, start in sorted(planned.items()):
            try:
                placement = Placement(
                    None,
                    course.practitioner,
                    course.location,
                    course.room,
                    start,
                    start + duration,
                    course,
                    sequence,
                )
                _check_basics(placement)
                others = [(s, s + duration) for q, s in planned.items() if q != sequence]
                _refuse_slot(
                    scheduling.slot_problems(
                        placement.starts_at, placement.ends_at, availability.with_busy(others)
                    )
                )
                # Against its neighbours as they will be (booked before or in this step);
                # a gap beyond the maximum between two sessions booked now is recorded on
                # the later one, as when they were booked one after another.
                reason = _check_spacing(
                    course=course,
                    sequence=sequence,
                    positions=positions,
                    override_reason=override_reason,
                    booked_with=set(planned),
                )
            except SchedulingError as exc:
                raise _prefixed(exc, sequence) from exc
            booked.append(
                Appointment(
                    patient=course.patient,
                    protocol=course.protocol,
                    course=course,
                    sequence=sequence,
                    kind=Kind.COURSE_SESSION,
                    practitioner=course.practitioner,
                    location=course.location,
                    room=course.room,
                    starts_at=start,
                    ends_at=start + duration,
                    override_reason=reason,
                    booked_online=booked_online,
                    created_by=by,
                )
            )
        _save_all(booked)
        hooks.run(hooks.COURSE_BOOKED, appointments=booked)
        audit.record_many(
            actor=by,
            action=audit.Action.CREATE,
            rows=[
                (
                    a.patient,
                    a,
                    f"Booked {a.get_kind_display().lower()} "
                    f"{timezone.localtime(a.starts_at):%d %b %Y %H:%M}",
                )
                for a in booked
            ],
        )
    return booked


def course_book(
    *,
    patient: Patient,
    protocol: Protocol,
    practitioner: User,
    location: Location,
    room: Room | None,
    starts: Sequence[datetime],
    by: User | None,
    preferences: scheduling.Preferences = scheduling.NO_PREFERENCES,
    override_reason: str = "",
    notes: str = "",
    screening_acknowledged: bool = False,
    booked_online: bool = False,
) -> TreatmentPlan:
    """Create the course and book every session in one step: all or nothing.

    When the patient's screening stands in the way of the protocol (blocked, or awaiting
    a practitioner's decision), booking needs `screening_acknowledged`: staff saw that
    screening must be cleared before treatment (the treatment gates are unchanged).
    """
    if len(starts) != protocol.sessions_in_course:
        raise SchedulingError(
            f"{protocol} is a course of {protocol.sessions_in_course} sessions; "
            f"{len(starts)} times were given."
        )
    if patient.is_archived:
        raise SchedulingError("This patient is archived; restore them before booking.")
    screening = course_screening(patient=patient, protocol=protocol)
    if screening.stands_in_the_way and not screening_acknowledged:
        raise SchedulingError(
            f"Screening for {protocol}: {screening.label}. Screening must be cleared before "
            "treatment; to book the course anyway, acknowledge this.",
            code="screening_acknowledgement_needed",
        )
    with transaction.atomic():
        course = course_create(
            patient=patient,
            protocol=protocol,
            practitioner=practitioner,
            location=location,
            room=room,
            by=by,
            preferences=preferences,
            notes=notes,
        )
        course_sessions_book(
            course=course,
            starts=list(enumerate(sorted(starts), start=1)),
            by=by,
            override_reason=override_reason,
            booked_online=booked_online,
        )
        if screening.stands_in_the_way:
            audit.record(
                actor=by,
                action=audit.Action.ACKNOWLEDGE,
                patient=patient,
                obj=course,
                summary=f"Booked {protocol} although the screening is: {screening.label}. "
                "Acknowledged: screening must be cleared before treatment.",
            )
    return course


def course_screening(*, patient: Patient, protocol: Protocol, today: date | None = None):
    """What the patient's latest screening says about this protocol (full evaluation:
    show it through `screening_as_seen_by`)."""
    return screening_for_protocol(
        latest=latest_screening(patient),
        protocol=protocol,
        today=today or timezone.localdate(),
    )


def course_cancel(*, course: TreatmentPlan, reason: str, by: User | None) -> TreatmentPlan:
    """Stop a course: its sessions still to come are cancelled (not late: the clinic decided)."""
    if not reason.strip():
        raise SchedulingError("Give a reason for stopping the course.")
    with transaction.atomic():
        course = TreatmentPlan.objects.select_for_update().get(pk=course.pk)
        if course.status != TreatmentPlan.Status.ACTIVE:
            raise SchedulingError("This course is no longer active.")
        for appointment in course.appointments.filter(status__in=Appointment.UPCOMING_STATUSES):
            appointment_cancel(
                appointment=appointment,
                reason=f"Course stopped: {reason}",
                by=by,
                party=Party.CLINIC,
                late=False,
            )
        course.status = TreatmentPlan.Status.CANCELLED
        course.save(update_fields=["status", "updated_at"])
    return course


# --- Moving


@dataclass(frozen=True)
class Move:
    appointment: Appointment
    starts_at: datetime
    ends_at: datetime | None = None
    practitioner: User | None = None
    room: Room | None | bool = False  # False: keep the room


@dataclass(frozen=True)
class MoveResult:
    appointment: Appointment
    shifts: list[scheduling.Shift]


def _reschedule(*, moves: Sequence[Move], by: User | None, override_reason: str) -> list:
    """Apply several moves as one change: checked against each other, saved in a safe order."""
    ids = tuple(m.appointment.pk for m in moves)
    placements = []
    for move in moves:
        a = move.appointment
        if not a.is_upcoming:
            raise SchedulingError(f"A {a.get_status_display().lower()} appointment cannot move.")
        ends_at = move.ends_at or move.starts_at + a.duration
        room = a.room if move.room is False else move.room
        placements.append(
            Placement(
                a.pk,
                move.practitioner or a.practitioner,
                a.location,
                room,
                move.starts_at,
                ends_at,
                a.course,
                a.sequence,
            )
        )
    _lock_calendars(
        practitioners=[p.practitioner for p in placements], rooms=[p.room for p in placements]
    )
    positions_by_course: dict[int, dict[int, datetime]] = {}
    for p in placements:
        if p.course is not None and p.sequence is not None:
            planned = {
                q.sequence: q.starts_at for q in placements if q.course == p.course and q.sequence
            }
            positions_by_course.setdefault(
                p.course.pk, _course_positions(p.course, exclude_ids=ids, planned=planned)
            )
    reasons = {}
    for move, p in zip(moves, placements, strict=True):
        try:
            _check_basics(p)
            others = [(q.starts_at, q.ends_at) for q in placements if q is not p]
            _check_slot(p, exclude_ids=ids, also_busy=others)
            reasons[p.appointment_id] = ""
            if p.course is not None and move.appointment.kind == Kind.COURSE_SESSION:
                reasons[p.appointment_id] = _check_spacing(
                    course=p.course,
                    sequence=p.sequence,
                    positions=positions_by_course[p.course.pk],
                    override_reason=override_reason,
                    # Sessions moved together: a long gap between two of them is the
                    # later one's to record, as when they are booked together.
                    booked_with={
                        q.sequence for q in placements if q.course == p.course and q is not p
                    },
                )
        except SchedulingError as exc:
            raise _prefixed(exc, p.sequence if len(moves) > 1 else None) from exc
    # Later first when moving later, earlier first when moving earlier, so the moved
    # appointments never collide with each other's old times on the way.
    pairs = list(zip(moves, placements, strict=True))
    moving_later = (
        sum((p.starts_at - m.appointment.starts_at).total_seconds() for m, p in pairs) > 0
    )
    order = sorted(pairs, key=lambda mp: mp[1].starts_at, reverse=moving_later)
    saved = []
    for move, p in order:
        a = move.appointment
        old = a.starts_at
        a.starts_at, a.ends_at = p.starts_at, p.ends_at
        a.practitioner, a.room = p.practitioner, p.room
        previous_reason = a.override_reason
        if a.kind == Kind.COURSE_SESSION:
            # What its new place needs: a reason recorded for the old place goes when
            # the session moves back inside the rules (the move's audit row keeps it).
            a.override_reason = reasons[a.pk]
        _save(
            a,
            update_fields=[
                "starts_at",
                "ends_at",
                "practitioner",
                "room",
                "override_reason",
                "updated_at",
            ],
        )
        hooks.run(hooks.MOVED, appointment=a, old_starts_at=old)
        _audit(
            by=by,
            appointment=a,
            action=audit.Action.CHANGE,
            summary=f"Moved from {timezone.localtime(old):%d %b %Y %H:%M} "
            f"to {timezone.localtime(a.starts_at):%d %b %Y %H:%M}",
        )
        if a.override_reason != previous_reason:
            _audit(
                by=by,
                appointment=a,
                action=audit.Action.CHANGE,
                summary=f"Override reason now: {a.override_reason or 'none needed'} "
                f"(was: {previous_reason or 'none'})",
            )
        saved.append(a)
    _clear_lapsed_reasons(positions_by_course, moved_ids=ids, by=by)
    return saved


def _clear_lapsed_reasons(
    positions_by_course: dict[int, dict[int, datetime]], *, moved_ids: tuple[int, ...], by
) -> None:
    """A session still to come that did not move, whose recorded over-the-maximum reason
    no longer stands now that a neighbour moved (both its gaps inside the rules): the
    reason goes, and an audit row keeps it."""
    if not positions_by_course:
        return
    stale_candidates = (
        Appointment.objects.filter(
            course_id__in=list(positions_by_course),
            kind=Kind.COURSE_SESSION,
            status__in=Appointment.UPCOMING_STATUSES,
        )
        .exclude(override_reason="")
        .exclude(pk__in=moved_ids)
        .select_related("course", "patient")
    )
    for a in stale_candidates:
        if _spacing_among(a.course, a.sequence, positions_by_course[a.course_id]).needs_override:
            continue
        previous_reason, a.override_reason = a.override_reason, ""
        a.save(update_fields=["override_reason", "updated_at"])
        _audit(
            by=by,
            appointment=a,
            action=audit.Action.CHANGE,
            summary=f"Override reason now: none needed, a neighbour moved (was: {previous_reason})",
        )


def appointment_move(
    *,
    appointment: Appointment,
    starts_at: datetime,
    by: User | None,
    ends_at: datetime | None = None,
    practitioner: User | None = None,
    room: Room | None | bool = False,
    override_reason: str = "",
) -> MoveResult:
    """Move (or resize) one appointment; returns the shifts offered to later sessions."""
    old_start = appointment.starts_at
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status != appointment.status or locked.starts_at != appointment.starts_at:
            raise SchedulingError("This appointment changed meanwhile; reload and try again.")
        _reschedule(
            moves=[Move(appointment, starts_at, ends_at, practitioner, room)],
            by=by,
            override_reason=override_reason,
        )
    return MoveResult(appointment, shifts_offered(appointment=appointment, old_start=old_start))


def shifts_offered(*, appointment: Appointment, old_start: datetime) -> list[scheduling.Shift]:
    """What could happen to the later sessions of the course after this one moved."""
    course = appointment.course
    if course is None or appointment.sequence is None or old_start == appointment.starts_at:
        return []
    later = [
        a
        for a in selectors.course_live_sessions(course)
        if a.sequence > appointment.sequence and a.is_upcoming
    ]
    if not later:
        return []
    spacing = selectors.spacing_of(course)
    first_day = _local_day(appointment.starts_at)
    last_day = first_day + timedelta(days=spacing.max_days * (len(later) + 1))
    availability = selectors.availability_for(
        practitioner=appointment.practitioner,
        location=appointment.location,
        room=appointment.room,
        first_day=first_day,
        last_day=last_day,
        exclude_ids=tuple(a.pk for a in later) + (appointment.pk,),
        not_before=selectors.earliest_offer(),
        offering=True,
    )
    return scheduling.propose_shift(
        moved_sequence=appointment.sequence,
        old_start=old_start,
        new_start=appointment.starts_at,
        later=[(a.sequence, a.starts_at) for a in later],
        spacing=spacing,
        duration=appointment.duration,
        availability=availability,
    )


def course_shift_apply(
    *,
    course: TreatmentPlan,
    starts: Sequence[tuple[int, datetime]],
    by: User | None,
    override_reason: str = "",
) -> list[Appointment]:
    """Move several sessions of a course together (e.g. accept the offered shift)."""
    by_sequence = {
        a.sequence: a
        for a in selectors.course_live_sessions(course)
        if a.kind == Kind.COURSE_SESSION
    }
    moves = []
    for sequence, start in starts:
        if sequence not in by_sequence:
            raise SchedulingError(f"Session {sequence} is not booked in this course.")
        moves.append(Move(by_sequence[sequence], start))
    if not moves:
        return []
    with transaction.atomic():
        Appointment.objects.select_for_update().filter(
            pk__in=[m.appointment.pk for m in moves]
        ).exists()
        return _reschedule(moves=moves, by=by, override_reason=override_reason)


# --- Status lifecycle

TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.BOOKED: (Status.CONFIRMED, Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW),
    Status.CONFIRMED: (Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW),
    Status.CHECKED_IN: (Status.IN_TREATMENT, Status.COMPLETED, Status.CANCELLED),
    Status.IN_TREATMENT: (Status.COMPLETED,),
    Status.COMPLETED: (),
    Status.CANCELLED: (),
    Status.NO_SHOW: (),
}


def _lock_for(appointment: Appointment, target: str) -> Appointment:
    """Lock the row and refuse a transition the lifecycle does not allow."""
    current = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if target not in TRANSITIONS[current.status]:
        raise SchedulingError(
            f"A {current.get_status_display().lower()} appointment cannot be marked "
            f"{Status(target).label.lower()}."
        )
    appointment.status = current.status
    return appointment


def _screening_gate(appointment: Appointment, *, today: date, by: User | None) -> None:
    """Treatment needs a current screening for the protocol with nothing blocking."""
    if not appointment.is_treatment:
        return
    evaluation = screening_for_protocol(
        latest=latest_screening(appointment.patient),
        protocol=appointment.protocol,
        today=today,
    )
    if not evaluation.may_treat:
        # The refusal reads as the person acting may read the screening.
        shown = screening_as_seen_by(evaluation, roles=roles.roles_of(by))
        raise SchedulingError(
            f"Screening: {shown.label}. {' '.join(shown.reasons)}".strip(), code="screening"
        )


def _consent_gate(appointment: Appointment) -> None:
    """A withdrawn consent blocks further sessions until the patient signs a new one."""
    if not appointment.is_treatment:
        return
    withdrawal = consent_withdrawal(patient=appointment.patient, protocol=appointment.protocol)
    if withdrawal is not None:
        when = timezone.localtime(withdrawal.withdrawn_at)
        raise SchedulingError(
            f"The patient withdrew consent to {appointment.protocol.name} on "
            f"{when:%d %b %Y}. They must sign a new consent before any further session.",
            code="consent_withdrawn",
        )


def _set_status(appointment: Appointment, status: str, **fields) -> Appointment:
    appointment.status = status
    for name, value in fields.items():
        setattr(appointment, name, value)
    appointment.save(update_fields=["status", *fields, "updated_at"])
    return appointment


def appointment_confirm(
    *, appointment: Appointment, by: User | None, now: datetime | None = None
) -> Appointment:
    with transaction.atomic():
        _lock_for(appointment, Status.CONFIRMED)
        return _set_status(appointment, Status.CONFIRMED, confirmed_at=now or timezone.now())


OVERRIDE_REASON_CHARS = 200  # the audit summary holds the whole reason


def _timing_override(
    problem: str, *, appointment: Appointment, by: User | None, reason: str, doing: str
) -> None:
    """A timing rule broken: refuse, unless a reason is given; then audit who and why."""
    if not problem:
        return
    reason = reason.strip()[:OVERRIDE_REASON_CHARS]
    if not reason:
        raise OverrideNeeded(
            f"{problem} To {doing} anyway, give a reason for the override.",
            code="timing_override_needed",
        )
    _audit(
        by=by,
        appointment=appointment,
        action=audit.Action.CHANGE,
        summary=f"Override: {doing} outside the appointment's time. Reason: {reason}",
    )


def appointment_check_in(
    *,
    appointment: Appointment,
    by: User | None,
    now: datetime | None = None,
    override_reason: str = "",
) -> Appointment:
    """Check in on the appointment's day (clinic time zone); another day needs a reason."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_for(appointment, Status.CHECKED_IN)
        _screening_gate(appointment, today=_local_day(now), by=by)
        _consent_gate(appointment)
        problem = selectors.timing_problems(appointment, now=now)["check_in"]
        _timing_override(
            problem, appointment=appointment, by=by, reason=override_reason, doing="check in"
        )
        _set_status(appointment, Status.CHECKED_IN, checked_in_at=now)
        hooks.run(hooks.CHECKED_IN, appointment=appointment)
    return appointment


def appointment_start(
    *, appointment: Appointment, by: User | None, now: datetime | None = None
) -> Appointment:
    now = now or timezone.now()
    with transaction.atomic():
        _lock_for(appointment, Status.IN_TREATMENT)
        _screening_gate(appointment, today=_local_day(now), by=by)
        _consent_gate(appointment)
        return _set_status(appointment, Status.IN_TREATMENT, started_at=now)


def appointment_complete(
    *,
    appointment: Appointment,
    by: User | None,
    now: datetime | None = None,
    override_reason: str = "",
) -> Appointment:
    """Mark the session done: charting's gates first, then the completion hooks
    (billing takes a credit or invoices the session; comms sends the aftercare).
    Not before the appointment's start, unless a reason is given."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_for(appointment, Status.COMPLETED)
        problem = selectors.timing_problems(appointment, now=now)["complete"]
        _timing_override(
            problem, appointment=appointment, by=by, reason=override_reason, doing="complete it"
        )
        _screening_gate(appointment, today=_local_day(appointment.started_at or now), by=by)
        hooks.run(hooks.BEFORE_COMPLETE, appointment=appointment, by=by, now=now)
        _set_status(appointment, Status.COMPLETED, completed_at=now)
        _course_finish_if_done(appointment.course)
        hooks.run(hooks.COMPLETED, appointment=appointment, by=by, now=now)
        _audit(by=by, appointment=appointment, action=audit.Action.CHANGE, summary="Completed")
    return appointment


def _course_finish_if_done(course: TreatmentPlan | None) -> None:
    if course is None or course.status != TreatmentPlan.Status.ACTIVE:
        return
    done = course.appointments.filter(kind=Kind.COURSE_SESSION, status=Status.COMPLETED).count()
    if done >= course.sessions_planned:
        course.status = TreatmentPlan.Status.COMPLETED
        course.save(update_fields=["status", "updated_at"])


Party = Appointment.CancelledByParty


def appointment_cancel(
    *,
    appointment: Appointment,
    reason: str,
    by: User | None,
    party: str,
    now: datetime | None = None,
    late: bool | None = None,
    fee_waived_reason: str = "",
) -> Appointment:
    """Cancel with a reason, saying who cancelled: the patient or the clinic.

    Late (scheduling.rules.cancellation_is_late) only when the patient cancels within
    LATE_CANCEL_HOURS of the start and was not checked in; a late cancellation carries
    billing's fee unless waived, which needs a reason and is audited.
    """
    now = now or timezone.now()
    if not reason.strip():
        raise SchedulingError("Give a reason for the cancellation.")
    if party not in Party.values:
        raise SchedulingError("Say who cancelled: the patient or the clinic.", code="party")
    fee_waived_reason = fee_waived_reason.strip()[:200]
    with transaction.atomic():
        _lock_for(appointment, Status.CANCELLED)
        if late is None:
            late = scheduling.cancellation_is_late(
                starts_at=appointment.starts_at,
                now=now,
                by_patient=party == Party.PATIENT,
                checked_in=appointment.status == Status.CHECKED_IN,
            )
        if not late:
            fee_waived_reason = ""  # nothing to waive
        _set_status(
            appointment,
            Status.CANCELLED,
            cancelled_at=now,
            cancel_reason=reason.strip()[:300],
            cancelled_late=late,
            cancelled_by=by,
            cancelled_by_party=party,
            late_fee_waived_reason=fee_waived_reason,
        )
        hooks.run(hooks.CANCELLED, appointment=appointment, by=by)
        _audit(
            by=by,
            appointment=appointment,
            action=audit.Action.CHANGE,
            summary=f"Cancelled by {Party(party).label.lower()}{' (late)' if late else ''}: "
            f"{reason.strip()}",
        )
        if fee_waived_reason:
            _audit(
                by=by,
                appointment=appointment,
                action=audit.Action.CHANGE,
                summary=f"Late-cancellation fee waived. Reason: {fee_waived_reason}",
            )
    return appointment


def appointment_no_show(
    *, appointment: Appointment, by: User | None, now: datetime | None = None
) -> Appointment:
    now = now or timezone.now()
    with transaction.atomic():
        _lock_for(appointment, Status.NO_SHOW)
        if appointment.starts_at > now:
            raise SchedulingError("A patient can only miss an appointment once it has started.")
        _set_status(appointment, Status.NO_SHOW)
        hooks.run(hooks.NO_SHOW, appointment=appointment, by=by)
    return appointment


# --- Calendar feeds


def calendar_feed_reset(*, practitioner: User) -> CalendarFeed:
    """Create the practitioner's private feed, or replace its token (revoking the old URL)."""
    feed, created = CalendarFeed.objects.get_or_create(practitioner=practitioner)
    if not created:
        feed.token = CalendarFeed._meta.get_field("token").default()
        feed.created_at = timezone.now()
        feed.save(update_fields=["token", "created_at"])
    return feed


def calendar_feed_revoke(*, practitioner: User) -> None:
    CalendarFeed.objects.filter(practitioner=practitioner).delete()
