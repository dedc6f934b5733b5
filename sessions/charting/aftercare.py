"""The aftercare sheet's dates, as pure functions: no ORM, no clock.

Each aftercare instruction with a duration becomes a clinic-local moment, written
the way a patient reads it: "until Thursday 14:00", or with the date when it is a
week or more away. The next session is a date, or a window when none is booked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class CareLine:
    text: str
    until: datetime | None
    until_label: str


def until_label(until: datetime, *, since: datetime) -> str:
    """ "until today 18:30", "until tomorrow 10:00", "until Thursday 14:00", or with a date."""
    days = (until.date() - since.date()).days
    clock = f"{until:%H:%M}"
    if days == 0:
        return f"until today {clock}"
    if days == 1:
        return f"until tomorrow {clock}"
    if days < 7:
        return f"until {until:%A} {clock}"
    return f"until {until:%A} {until.day} {until:%B} {clock}"


def care_lines(items, *, finished_at: datetime) -> list[CareLine]:
    """`items` are (text, duration_hours or None); `finished_at` is clinic-local."""
    lines = []
    for text, hours in items:
        if hours:
            until = finished_at + timedelta(hours=hours)
            lines.append(CareLine(text, until, until_label(until, since=finished_at)))
        else:
            lines.append(CareLine(text, None, ""))
    return lines


def next_session_text(
    *,
    booked: datetime | None,
    session_day: date,
    sessions_left: int,
    min_days: int | None,
    max_days: int | None,
    maintenance_months: int | None,
) -> str:
    if booked is not None:
        return (
            f"Your next session is booked for {booked:%A} {booked.day} {booked:%B %Y} "
            f"at {booked:%H:%M}."
        )
    if sessions_left > 0 and min_days is not None and max_days is not None:
        start = session_day + timedelta(days=min_days)
        end = session_day + timedelta(days=max_days)
        return (
            f"Your next session is due between {start.day} {start:%B} and "
            f"{end.day} {end:%B %Y}. Please call us to book it."
        )
    if maintenance_months:
        return (
            f"Your course is complete. A maintenance session is suggested in about "
            f"{maintenance_months} months; we will remind you."
        )
    return "No further session is planned. Call us if you have any questions."
