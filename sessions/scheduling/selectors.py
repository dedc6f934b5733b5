"""Read queries about places, hours, courses and appointments that views share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from mesoclinic.core import roles
from sessions.scheduling import rules as scheduling
from sessions.scheduling.models import (
    RELEASED_STATUSES,
    Absence,
    Appointment,
    CalendarFeed,
    Closure,
    Location,
    Room,
    TreatmentPlan,
    WorkingHours,
)

Status = Appointment.Status
# Services refuse longer appointments; the range queries rely on it.
MAX_APPOINTMENT_HOURS = 8


# --- Access helpers: the one way views load each object (404 for anything unknown).


def location_for_staff(public_id) -> Location:
    return get_object_or_404(Location, public_id=public_id)


def room_for_staff(public_id) -> Room:
    return get_object_or_404(Room.objects.select_related("location"), public_id=public_id)


def working_hours_for_staff(public_id) -> WorkingHours:
    return get_object_or_404(
        WorkingHours.objects.select_related("practitioner", "location"), public_id=public_id
    )


def absence_for_staff(public_id) -> Absence:
    return get_object_or_404(Absence.objects.select_related("practitioner"), public_id=public_id)


def closure_for_staff(public_id) -> Closure:
    return get_object_or_404(Closure.objects.select_related("location"), public_id=public_id)


def course_for_staff(public_id) -> TreatmentPlan:
    return get_object_or_404(
        TreatmentPlan.objects.select_related(
            "patient", "protocol", "practitioner", "location", "room"
        ),
        public_id=public_id,
    )


def appointment_for_staff(public_id) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related(
            "patient", "protocol", "course", "practitioner", "location", "room"
        ),
        public_id=public_id,
    )


# --- People and places


def practitioners() -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__name=roles.PRACTITIONER) | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def active_locations() -> QuerySet[Location]:
    return Location.objects.filter(is_active=True).order_by("name")


def working_location_ids(user) -> set[int]:
    """The locations where this person has working hours (none for front desk)."""
    return set(WorkingHours.objects.filter(practitioner=user).values_list("location_id", flat=True))


def practitioners_at(location: Location) -> list[User]:
    """Practitioners with working hours at the location."""
    ids = WorkingHours.objects.filter(location=location).values("practitioner_id")
    return list(practitioners().filter(pk__in=ids))


def display_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


# --- Time helpers (clinic time zone)


def overlapping(start: datetime, end: datetime) -> dict:
    """Filter for appointments overlapping [start, end), bounded on both sides of starts_at.

    No appointment is longer than MAX_APPOINTMENT_HOURS, so the lower bound lets the
    (…, starts_at) indexes read only the rows of the range, whatever the table's size.
    """
    return {
        "starts_at__lt": end,
        "starts_at__gt": start - timedelta(hours=MAX_APPOINTMENT_HOURS),
        "ends_at__gt": start,
    }


def local_day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    zone = timezone.get_default_timezone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


# Time kept by something that is not an appointment yet: each function returns the
# (starts_at, ends_at) rows that keep time for a practitioner or room over some windows,
# as a values_list queryset (sessions.online registers its live holds in ready()). What
# staff are offered leaves that time out; a booking's own check does not read it: the
# database refuses a booking over a hold in the hold's own words.
HELD_TIME: list[Callable[..., QuerySet]] = []


def availability_for(
    *,
    practitioner: User,
    location: Location,
    room: Room | None,
    first_day: date,
    last_day: date,
    exclude_ids: tuple[int, ...] = (),
    not_before: datetime | None = None,
    offering: bool = False,
) -> scheduling.Availability:
    """Everything the engine needs to know about one practitioner (and room) over some days.

    Four queries whatever the range: hours, closures, absences, live appointments.
    `not_before`: nothing earlier is free (`earliest_offer()` for what staff are offered).
    `offering`: times to offer, so time held elsewhere (HELD_TIME) is busy too, read in
    the appointments' query.
    """
    return _availability(
        practitioner=practitioner,
        location=location,
        room=room,
        windows=[local_day_bounds(first_day, last_day)],
        first_day=first_day,
        last_day=last_day,
        exclude_ids=exclude_ids,
        not_before=not_before,
        offering=offering,
    )


def availability_on_days(
    *,
    practitioner: User,
    location: Location,
    room: Room | None,
    days: Sequence[date],
    exclude_ids: tuple[int, ...] = (),
) -> scheduling.Availability:
    """`availability_for` on some scattered days (the sessions of a course), in the same
    four queries: the appointments are read day by day, not over the months between."""
    days = sorted(set(days))
    return _availability(
        practitioner=practitioner,
        location=location,
        room=room,
        windows=[local_day_bounds(day, day) for day in days],
        first_day=days[0],
        last_day=days[-1],
        exclude_ids=exclude_ids,
        not_before=None,
    )


def _availability(
    *,
    practitioner: User,
    location: Location,
    room: Room | None,
    windows: Sequence[tuple[datetime, datetime]],
    first_day: date,
    last_day: date,
    exclude_ids: tuple[int, ...],
    not_before: datetime | None,
    offering: bool = False,
) -> scheduling.Availability:
    """Hours, closures (first_day to last_day), and the absences and live appointments
    overlapping any of the windows."""
    hours: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, block_start, block_end in WorkingHours.objects.filter(
        practitioner=practitioner, location=location
    ).values_list("weekday", "start", "end"):
        hours[weekday].append((block_start, block_end))
    closures = list(
        Closure.objects.filter(Q(location=location) | Q(location__isnull=True))
        .filter(starts_on__lte=last_day, ends_on__gte=first_day)
        .values_list("starts_on", "ends_on")
    )
    away = Q()
    during = Q()
    for start, end in windows:
        away |= Q(starts_at__lt=end, ends_at__gt=start)
        during |= Q(**overlapping(start, end))
    absences = list(
        Absence.objects.filter(away, practitioner=practitioner).values_list("starts_at", "ends_at")
    )
    who = Q(practitioner=practitioner)
    if room is not None:
        who |= Q(room=room)
    busy_rows = (
        Appointment.objects.filter(who, during)
        .exclude(status__in=RELEASED_STATUSES)
        .exclude(pk__in=exclude_ids)
        .values_list("starts_at", "ends_at")
    )
    if offering and HELD_TIME:
        now = timezone.now()
        held = [
            source(practitioner=practitioner, room=room, windows=windows, now=now)
            for source in HELD_TIME
        ]
        busy_rows = busy_rows.union(*held, all=True)
    busy = list(busy_rows)
    return scheduling.Availability(
        zone=timezone.get_default_timezone(),
        hours=dict(hours),
        closures=closures,
        absences=absences,
        busy=busy,
        not_before=not_before,
    )


def earliest_offer(now: datetime | None = None) -> datetime:
    """The first moment a proposed time may start: now plus the clinic's minimum notice."""
    return (now or timezone.now()) + timedelta(minutes=settings.CLINIC_MIN_NOTICE_MINUTES)


# --- Courses


def course_sessions(course: TreatmentPlan) -> list[Appointment]:
    return list(
        course.appointments.select_related("practitioner", "room", "location").order_by(
            "sequence", "starts_at"
        )
    )


def course_live_sessions(course: TreatmentPlan, *, exclude_ids=()) -> list[Appointment]:
    """The sessions that count: not cancelled, not missed, ordered by number."""
    return list(
        course.appointments.exclude(status__in=("cancelled", "no_show"))
        .exclude(pk__in=exclude_ids)
        .order_by("sequence")
    )


def spacing_of(course: TreatmentPlan) -> scheduling.Spacing:
    return scheduling.Spacing(
        course.min_interval_days, course.target_interval_days, course.max_interval_days
    )


@dataclass
class CourseView:
    course: TreatmentPlan
    sessions: list[Appointment]
    progress: scheduling.Progress


def course_progress(
    course: TreatmentPlan, sessions: list[Appointment], *, today: date
) -> scheduling.Progress:
    zone = timezone.get_default_timezone()
    course_sessions = [s for s in sessions if s.kind == Appointment.Kind.COURSE_SESSION]
    completed = [
        s.starts_at.astimezone(zone).date() for s in course_sessions if s.status == Status.COMPLETED
    ]
    upcoming = [s.starts_at for s in course_sessions if s.is_live]
    next_booked = min(upcoming, default=None)
    return scheduling.course_progress(
        planned=course.sessions_planned,
        completed_days=completed,
        next_booked_on=next_booked.astimezone(zone).date() if next_booked else None,
        spacing=spacing_of(course),
        maintenance_months=course.maintenance_interval_months,
        today=today,
    )


def patient_courses(patient, *, today: date | None = None) -> list[CourseView]:
    """Each course of a patient with its sessions and progress (two queries)."""
    courses = list(
        TreatmentPlan.objects.filter(patient=patient)
        .select_related("protocol", "practitioner", "location")
        .order_by("-created_at")
    )
    by_course: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in (
        Appointment.objects.filter(course__in=courses)
        .select_related("practitioner")
        .order_by("sequence", "starts_at")
    ):
        by_course[appointment.course_id].append(appointment)
    return course_views(courses, by_course, today=today)


def course_views(
    courses: list[TreatmentPlan],
    by_course: dict[int, list[Appointment]],
    *,
    today: date | None = None,
) -> list[CourseView]:
    """Courses (newest first) with their sessions (by sequence, then start) and progress."""
    today = today or timezone.localdate()
    return [
        CourseView(
            c, by_course.get(c.pk, []), course_progress(c, by_course.get(c.pk, []), today=today)
        )
        for c in courses
    ]


UPCOMING_LIMIT = 10


def patient_upcoming(patient, *, now: datetime | None = None) -> list[Appointment]:
    now = now or timezone.now()
    return list(
        Appointment.objects.filter(patient=patient, ends_at__gte=now)
        .exclude(status__in=("cancelled", "no_show", "completed"))
        .select_related("protocol", "practitioner", "location")
        .order_by("starts_at")[:UPCOMING_LIMIT]
    )


def upcoming_of(
    appointments: list[Appointment], *, now: datetime | None = None
) -> list[Appointment]:
    """patient_upcoming over appointments already read (the patient page's record)."""
    now = now or timezone.now()
    rows = [
        a
        for a in appointments
        if a.ends_at >= now and a.status not in ("cancelled", "no_show", "completed")
    ]
    return sorted(rows, key=lambda a: (a.starts_at, a.pk))[:UPCOMING_LIMIT]


# --- Calendar


def bookings_during(*, practitioner: User, start: datetime, end: datetime) -> int:
    """How many of the practitioner's appointments that can still be moved overlap
    [start, end) — what a new absence leaves to rebook."""
    return Appointment.objects.filter(
        practitioner=practitioner,
        status__in=Appointment.UPCOMING_STATUSES,
        **overlapping(start, end),
    ).count()


# The columns the calendar's events show; the feed reads nothing else.
CALENDAR_EVENT_FIELDS = (
    "public_id",
    "starts_at",
    "ends_at",
    "status",
    "kind",
    "sequence",
    "practitioner_id",
    "room_id",
    "protocol__name",
    "patient__first_name",
    "patient__last_name",
    "course__public_id",
    "booked_online",
)


def calendar_appointments(*, location: Location, start: datetime, end: datetime) -> list:
    """Appointments holding time at a location within [start, end): one query, whatever
    the count, reading only the columns the calendar shows."""
    return list(
        Appointment.objects.filter(location=location, **overlapping(start, end))
        .exclude(status__in=RELEASED_STATUSES)
        .select_related("patient", "protocol", "course")
        .only(*CALENDAR_EVENT_FIELDS)
        .order_by("starts_at")
    )


def day_list(*, day: date, practitioner: User | None = None) -> list[Appointment]:
    start, end = local_day_bounds(day, day)
    rows = (
        Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .exclude(status=Status.CANCELLED)
        .select_related("patient", "protocol", "practitioner", "location", "room")
        .order_by("practitioner__first_name", "practitioner_id", "starts_at")
    )
    if practitioner is not None:
        rows = rows.filter(practitioner=practitioner)
    return list(rows)


def feed_for_token(token: str) -> CalendarFeed:
    if "\x00" in token:  # PostgreSQL refuses the character; no feed has it
        raise Http404
    return get_object_or_404(CalendarFeed.objects.select_related("practitioner"), token=token)


def feed_appointments(practitioner: User, *, now: datetime) -> list[Appointment]:
    return list(
        Appointment.objects.filter(
            practitioner=practitioner,
            starts_at__gte=now - timedelta(days=30),
            starts_at__lt=now + timedelta(days=365),
        )
        .exclude(status=Status.CANCELLED)
        .select_related("patient", "protocol", "location", "room")
        .order_by("starts_at")
    )


def timing_problems(appointment: Appointment, *, now: datetime) -> dict[str, str]:
    """Why check-in or completion would need an override now ("" where it would not).

    The appointment page offers the override with these words; the services refuse
    without a reason on the same rules.
    """
    zone = timezone.get_default_timezone()
    return {
        "check_in": scheduling.check_in_problem(
            starts_at=appointment.starts_at, now=now, zone=zone
        ),
        "complete": scheduling.completion_problem(
            starts_at=appointment.starts_at, now=now, zone=zone
        ),
    }


@dataclass(frozen=True)
class CancellationFee:
    """What cancelling now would cost the patient, shown before staff confirm."""

    late_if_patient: bool  # the patient cancelling now is a late cancellation
    fee_if_patient: Decimal  # the late-cancellation fee that would be invoiced (0: none)
    checked_in: bool
    window_hours: int


def cancellation_fee(appointment: Appointment, *, now: datetime) -> CancellationFee:
    """The same rule the cancellation applies (scheduling.rules.cancellation_is_late);
    the amount is the clinic's BILLING_LATE_CANCEL_FEE, as billing charges it. A clinic
    cancellation never carries a fee."""
    checked_in = appointment.status == Appointment.Status.CHECKED_IN
    late = scheduling.cancellation_is_late(
        starts_at=appointment.starts_at, now=now, by_patient=True, checked_in=checked_in
    )
    fee = Decimal(settings.BILLING_LATE_CANCEL_FEE) if late else Decimal("0")
    return CancellationFee(late, fee, checked_in, scheduling.LATE_CANCEL_HOURS)
