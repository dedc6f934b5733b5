"""Reads for online booking: the settings in force, what may be booked, free times
(holds counted as busy), the course proposal and each session's alternatives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from patients.models import Patient
from protocols import screening as questionnaire
from protocols.models import Protocol
from protocols.selectors import rules_for
from sessions.online import rules
from sessions.online.models import (
    BookingPolicy,
    Hold,
    OnlineBooking,
    OnlinePatientReview,
    OnlineSettings,
    RemoteConsent,
)
from sessions.scheduling import rules as scheduling
from sessions.scheduling import selectors as scheduling_selectors
from sessions.scheduling.models import Appointment, Location


def current_settings() -> OnlineSettings:
    """The saved settings, or the defaults (unsaved: nothing is bookable yet)."""
    return OnlineSettings.objects.order_by("pk").first() or OnlineSettings()


def current_policy() -> BookingPolicy | None:
    return BookingPolicy.objects.order_by("-number").first()


def bookable_locations(settings: OnlineSettings) -> list[Location]:
    if settings.pk is None or not settings.enabled:
        return []
    return list(settings.locations.filter(is_active=True).order_by("name"))


def bookable_protocols(settings: OnlineSettings) -> list[Protocol]:
    if settings.pk is None or not settings.enabled:
        return []
    return list(
        settings.protocols.bookable()
        .prefetch_related("contraindications", "consent_versions")
        .order_by("name")
    )


def screening_evaluation(
    *, protocol: Protocol, answers, none_apply: bool, today: date
) -> questionnaire.Evaluation:
    """What the answers given just now mean for this protocol (today's screening)."""
    return questionnaire.evaluate(
        answers=questionnaire.recorded_answers(answers, none_apply=none_apply),
        rules=rules_for(protocol),
        taken_on=today,
        today=today,
        valid_days=1,
    )


def zone():
    return timezone.get_default_timezone()


def bounds(settings: OnlineSettings, *, now: datetime | None = None) -> rules.Bounds:
    return rules.first_session_bounds(
        now=now or timezone.now(),
        zone=zone(),
        min_notice_hours=settings.min_notice_hours,
        horizon_days=settings.horizon_days,
    )


def live_holds(*, practitioner: User, start: datetime, end: datetime, now: datetime):
    """(start, end) of holds that still keep time for this practitioner in [start, end)."""
    return list(
        Hold.objects.filter(
            practitioner=practitioner,
            released_at__isnull=True,
            expires_at__gt=now,
            starts_at__lt=end,
            ends_at__gt=start,
        ).values_list("starts_at", "ends_at")
    )


def held_time(*, practitioner: User, room, windows, now: datetime):
    """Live holds keeping time for this practitioner (or room) in any of the windows, as
    (starts_at, ends_at) rows: what staff are offered leaves them out
    (scheduling.selectors.HELD_TIME)."""
    when = Q()
    for start, end in windows:
        when |= Q(starts_at__lt=end, ends_at__gt=start)
    who = Q(practitioner=practitioner)
    if room is not None:
        who |= Q(room=room)
    return Hold.objects.filter(who, when, released_at__isnull=True, expires_at__gt=now).values_list(
        "starts_at", "ends_at"
    )


def availability(
    *,
    practitioner: User,
    location: Location,
    first_day: date,
    last_day: date,
    now: datetime,
) -> scheduling.Availability:
    """The engine's availability (hours, closures, absences, bookings) plus live holds."""
    base = scheduling_selectors.availability_for(
        practitioner=practitioner,
        location=location,
        room=None,
        first_day=first_day,
        last_day=last_day,
    )
    start, end = scheduling_selectors.local_day_bounds(first_day, last_day)
    held = live_holds(practitioner=practitioner, start=start, end=end, now=now)
    return base.with_busy(held) if held else base


def practitioners_for(location: Location, practitioner: User | None) -> list[User]:
    if practitioner is not None:
        return [practitioner]
    return scheduling_selectors.practitioners_at(location)


@dataclass(frozen=True)
class FreeStart:
    starts_at: datetime
    practitioner: User

    @property
    def local(self) -> datetime:
        return timezone.localtime(self.starts_at)


def free_first_starts(
    *,
    location: Location,
    practitioner: User | None,
    first_day: date,
    last_day: date,
    minutes: int,
    bounds: rules.Bounds,
    now: datetime,
) -> list[FreeStart]:
    """Free start times for a first session over some days, every practitioner at the
    location (or one): earliest first, one entry per time (the first practitioner free)."""
    first_day = max(first_day, bounds.first_day)
    last_day = min(last_day, bounds.last_day)
    if last_day < first_day:
        return []
    duration = timedelta(minutes=minutes)
    found: dict[datetime, FreeStart] = {}
    for person in practitioners_for(location, practitioner):
        avail = availability(
            practitioner=person, location=location, first_day=first_day, last_day=last_day, now=now
        )
        day = first_day
        while day <= last_day:
            for start in scheduling.free_starts_on(day, duration=duration, availability=avail):
                if start >= bounds.not_before and start not in found:
                    found[start] = FreeStart(start, person)
            day += timedelta(days=1)
    return [found[s] for s in sorted(found)]


def spacing_of(protocol: Protocol) -> scheduling.Spacing:
    return scheduling.Spacing(
        protocol.min_interval_days, protocol.target_interval_days, protocol.max_interval_days
    )


def course_availability(
    *, protocol: Protocol, practitioner: User, location: Location, bounds: rules.Bounds, now
):
    last_day = bounds.last_day + timedelta(
        days=protocol.max_interval_days * protocol.sessions_in_course
    )
    return availability(
        practitioner=practitioner,
        location=location,
        first_day=bounds.first_day,
        last_day=last_day,
        now=now,
    )


def propose_course(
    *,
    protocol: Protocol,
    practitioner: User,
    location: Location,
    first_start: datetime,
    bounds: rules.Bounds,
    now: datetime,
) -> scheduling.Proposal:
    """Every session of the course from the chosen first time, by the staff's engine."""
    avail = course_availability(
        protocol=protocol, practitioner=practitioner, location=location, bounds=bounds, now=now
    )
    return scheduling.propose_course(
        sessions=protocol.sessions_in_course,
        spacing=spacing_of(protocol),
        duration=timedelta(minutes=protocol.session_minutes),
        availability=avail,
        earliest=bounds.first_day,
        first_start=first_start,
    )


def session_alternatives(
    *,
    protocol: Protocol,
    practitioner: User,
    location: Location,
    starts: list[datetime],
    sequence: int,
    bounds: rules.Bounds,
    now: datetime,
    limit: int = 60,
) -> tuple[tuple[date, date], list[datetime]]:
    """The window session `sequence` may move to, and the free times inside it (the
    other sessions of the proposal stay where they are, and count as busy)."""
    index = sequence - 1
    z = zone()
    spacing = spacing_of(protocol)
    previous_day = starts[index - 1].astimezone(z).date() if index > 0 else None
    next_day = starts[index + 1].astimezone(z).date() if index + 1 < len(starts) else None
    window = rules.movable_window(
        previous_day=previous_day, next_day=next_day, spacing=spacing, first_bounds=bounds
    )
    if window[0] > window[1]:
        return window, []
    duration = timedelta(minutes=protocol.session_minutes)
    avail = availability(
        practitioner=practitioner,
        location=location,
        first_day=window[0],
        last_day=window[1],
        now=now,
    ).with_busy([(s, s + duration) for n, s in enumerate(starts) if n != index])
    found = scheduling.next_free_slots(
        first_day=window[0],
        last_day=window[1],
        duration=duration,
        availability=avail,
        not_before=bounds.not_before,
        limit=limit,
    )
    return window, found


# --- Bookings


def booking_by_id(booking_id: int) -> OnlineBooking | None:
    return (
        OnlineBooking.objects.select_related("protocol", "location", "practitioner", "patient")
        .filter(pk=booking_id)
        .first()
    )


def booking_holds(booking: OnlineBooking) -> list[Hold]:
    return list(booking.holds.order_by("sequence"))


def active_bookings_for_email(email: str, *, now: datetime) -> int:
    """Online bookings of this address still held, or booked with a session to come."""
    email = rules.normal_email(email)
    held = OnlineBooking.objects.filter(
        email=email, status=OnlineBooking.Status.HELD, expires_at__gt=now
    )
    upcoming = Appointment.UPCOMING_STATUSES
    booked = OnlineBooking.objects.filter(email=email, status=OnlineBooking.Status.BOOKED).filter(
        Q(course__appointments__starts_at__gt=now, course__appointments__status__in=upcoming)
        | Q(appointment__starts_at__gt=now, appointment__status__in=upcoming)
    )
    return held.count() + booked.distinct().count()


def matching_patients(*, email: str, date_of_birth: date) -> list[Patient]:
    return list(
        Patient.objects.filter(
            email__iexact=rules.normal_email(email),
            date_of_birth=date_of_birth,
            archived_at__isnull=True,
        )[:2]
    )


def remote_consent_pending(*, patient: Patient, protocol: Protocol) -> RemoteConsent | None:
    return (
        RemoteConsent.objects.filter(
            patient=patient, protocol=protocol, signed_consent__isnull=True
        )
        .select_related("consent_version")
        .order_by("-signed_at")
        .first()
    )


def remote_consents_of(patient: Patient) -> list[RemoteConsent]:
    return list(
        RemoteConsent.objects.filter(patient=patient)
        .select_related("protocol", "consent_version", "signed_consent")
        .order_by("-signed_at")
    )


def remote_consent_for_staff(public_id) -> RemoteConsent:
    return get_object_or_404(
        RemoteConsent.objects.select_related("patient", "protocol", "consent_version"),
        public_id=public_id,
    )


# --- Staff lists


def reviews_open() -> list[OnlinePatientReview]:
    return list(
        OnlinePatientReview.objects.filter(reviewed_at__isnull=True)
        .select_related("patient", "booking", "booking__protocol")
        .order_by("created_at")
    )


def review_for_staff(patient_public_id) -> OnlinePatientReview:
    return get_object_or_404(
        OnlinePatientReview.objects.select_related("patient", "booking"),
        patient__public_id=patient_public_id,
    )


def bookings_with_deposit_due() -> list[OnlineBooking]:
    return list(
        OnlineBooking.objects.filter(
            status=OnlineBooking.Status.BOOKED, deposit_due__gt=0, deposit_received_at__isnull=True
        )
        .select_related("patient", "protocol", "location")
        .order_by("verified_at")
    )


def recent_bookings(limit: int = 50) -> list[OnlineBooking]:
    return list(
        OnlineBooking.objects.select_related(
            "patient", "protocol", "location", "practitioner"
        ).order_by("-created_at")[:limit]
    )


def booking_for_staff(public_id) -> OnlineBooking:
    return get_object_or_404(
        OnlineBooking.objects.select_related("patient", "protocol"), public_id=public_id
    )


def online_traces(patient: Patient) -> tuple[bool, bool, bool]:
    """Whether the patient has an online registration, an online booking and a consent
    signed on their phone: one query, so most patients' pages pay one query for it."""
    row = (
        Patient.objects.filter(pk=patient.pk)
        .annotate(
            review=Exists(OnlinePatientReview.objects.filter(patient=OuterRef("pk"))),
            booked=Exists(
                OnlineBooking.objects.filter(
                    patient=OuterRef("pk"), status=OnlineBooking.Status.BOOKED
                )
            ),
            remote=Exists(RemoteConsent.objects.filter(patient=OuterRef("pk"))),
        )
        .values_list("review", "booked", "remote")
        .first()
    )
    return row or (False, False, False)


def patient_bookings(patient: Patient) -> list[OnlineBooking]:
    return list(
        OnlineBooking.objects.filter(patient=patient, status=OnlineBooking.Status.BOOKED)
        .select_related("policy", "protocol")
        .order_by("-verified_at")
    )


def patient_review(patient: Patient) -> OnlinePatientReview | None:
    return OnlinePatientReview.objects.filter(patient=patient).first()
