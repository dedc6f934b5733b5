"""Demo places, hours and courses for `make run` (called by load_demo). Idempotent."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone

from mesoclinic.core import roles
from patients.models import Patient
from protocols.models import Protocol
from sessions.scheduling import rules as scheduling
from sessions.scheduling import selectors, services
from sessions.scheduling.models import Absence, Appointment, Closure, Location, Room, WorkingHours

LOCATIONS = (
    ("Harley Street", "1 Harley Street, London W1G 9QD", ("Treatment room 1", "Treatment room 2")),
    ("Canary Wharf", "25 Cabot Square, London E14 4QA", ("Room A",)),
)


def _second_practitioner(password: str) -> User:
    user, created = User.objects.get_or_create(
        username="practitioner2",
        defaults={"first_name": "Dr Dana", "last_name": "Okafor", "email": "dana@example.com"},
    )
    if created:
        user.set_password(password)
        user.save()
    user.groups.add(Group.objects.get(name=roles.PRACTITIONER))
    return user


def _hours(user: User, location: Location, weekdays, start: int, end: int) -> None:
    for weekday in weekdays:
        WorkingHours.objects.get_or_create(
            practitioner=user,
            location=location,
            weekday=weekday,
            defaults={"start": time(start), "end": time(end)},
        )


def load_demo_schedule(*, users: dict, password: str) -> None:
    places = {}
    for name, address, rooms in LOCATIONS:
        location, _ = Location.objects.get_or_create(name=name, defaults={"address": address})
        for room in rooms:
            Room.objects.get_or_create(location=location, name=room)
        places[name] = location
    priya = users[roles.PRACTITIONER]
    dana = _second_practitioner(password)
    _hours(priya, places["Harley Street"], range(0, 6), 9, 18)
    _hours(priya, places["Canary Wharf"], [6], 10, 14)
    _hours(dana, places["Harley Street"], range(1, 6), 10, 19)
    _hours(dana, places["Canary Wharf"], [0], 9, 17)
    today = timezone.localdate()
    Closure.objects.get_or_create(
        name="Staff training day",
        defaults={"starts_on": today + timedelta(days=24), "ends_on": today + timedelta(days=24)},
    )
    zone = timezone.get_default_timezone()
    if not Absence.objects.filter(practitioner=dana).exists():
        leave = datetime.combine(today + timedelta(days=40), time.min, tzinfo=zone)
        Absence.objects.create(
            practitioner=dana, kind="leave", starts_at=leave, ends_at=leave + timedelta(days=5)
        )
    if Appointment.objects.exists():
        return
    _demo_courses(priya, dana, places["Harley Street"], users[roles.FRONT_DESK])


def _demo_courses(priya: User, dana: User, location: Location, desk: User) -> None:
    room = location.rooms.order_by("name").first()
    face = Protocol.objects.filter(name="PRP face rejuvenation").first()
    scalp = Protocol.objects.bookable().filter(indication="hair_loss").first()
    patients = list(Patient.objects.filter(archived_at__isnull=True).order_by("id")[:5])
    if face is None or scalp is None or len(patients) < 3:
        return
    now = timezone.now()
    # A course under way: session 1 done two weeks ago, the rest booked.
    course = services.course_create(
        patient=patients[0],
        protocol=face,
        practitioner=priya,
        location=location,
        room=room,
        by=desk,
    )
    first = (now - timedelta(days=14)).replace(minute=0, second=0, microsecond=0)
    first = timezone.localtime(first).replace(hour=10)
    Appointment.objects.create(
        patient=patients[0],
        protocol=face,
        course=course,
        sequence=1,
        kind=Appointment.Kind.COURSE_SESSION,
        practitioner=priya,
        location=location,
        room=room,
        starts_at=first,
        ends_at=first + timedelta(minutes=face.session_minutes),
        status=Appointment.Status.COMPLETED,
        completed_at=first + timedelta(minutes=face.session_minutes),
        created_by=desk,
    )
    proposal = services.course_plan(
        protocol=face,
        practitioner=priya,
        location=location,
        room=room,
        earliest=timezone.localdate() + timedelta(days=1),
        course=course,
    )
    if proposal.complete:
        services.course_sessions_book(
            course=course,
            starts=[(p.sequence, p.starts_at) for p in proposal.sessions],
            by=desk,
        )
    # A new course planned and booked in one step.
    proposal = services.course_plan(
        protocol=scalp,
        practitioner=dana,
        location=location,
        earliest=timezone.localdate() + timedelta(days=2),
        preferences=scheduling.Preferences(weekdays=frozenset({3})),
    )
    if proposal.complete:
        services.course_book(
            patient=patients[1],
            protocol=scalp,
            practitioner=dana,
            location=location,
            room=None,
            starts=[p.starts_at for p in proposal.sessions],
            by=desk,
        )
    # A few consultations in the next free slots, so today's calendar is not empty.
    for patient, person in zip(patients[2:], (priya, dana, priya), strict=False):
        availability = selectors.availability_for(
            practitioner=person,
            location=location,
            room=None,
            first_day=timezone.localdate(),
            last_day=timezone.localdate() + timedelta(days=7),
        )
        slots = scheduling.next_free_slots(
            first_day=timezone.localdate(),
            last_day=timezone.localdate() + timedelta(days=7),
            duration=timedelta(minutes=services.CONSULTATION_MINUTES),
            availability=availability,
            not_before=now + timedelta(hours=1),
            limit=1,
        )
        if slots:
            services.appointment_book(
                patient=patient, practitioner=person, location=location, starts_at=slots[0], by=desk
            )
