"""The patient's messages follow the appointment (registered in sessions.apps.ready).

Each runs in the scheduling change's transaction, so the outbox rows exist exactly
when the change does.
"""

from sessions.comms import services
from sessions.scheduling import hooks


def booked(*, appointment, **_) -> None:
    services.appointment_messages_sync(appointment=appointment, booking=True)


def course_booked(*, appointments, **_) -> None:
    services.course_booked_messages(appointments=appointments)


def moved(*, appointment, old_starts_at, **_) -> None:
    services.appointment_messages_sync(appointment=appointment)
    services.appointment_moved_messages(appointment=appointment, old_starts_at=old_starts_at)


def completed(*, appointment, now, **_) -> None:
    services.appointment_completed_messages(appointment=appointment, now=now)


def no_longer_coming(*, appointment, **_) -> None:
    """Checked in, cancelled or missed: the reminders still waiting are not needed."""
    services.appointment_messages_cancel(appointment=appointment)


def register() -> None:
    hooks.register("booked", booked)
    hooks.register("course_booked", course_booked)
    hooks.register("moved", moved)
    hooks.register("checked_in", no_longer_coming)
    hooks.register("completed", completed)
    hooks.register("cancelled", no_longer_coming)
    hooks.register("no_show", no_longer_coming)
