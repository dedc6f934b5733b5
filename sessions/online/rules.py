"""Online booking's rules: pure functions over plain values (no Django, no clock).

The course itself is proposed by the scheduling engine (`sessions.scheduling.rules`),
the same one staff use; this module says what the public site may offer around it:
how far ahead and how soon, which days a session may move to without breaking its
neighbours' spacing, what a screening answer means for booking online, and how to
read an email address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum

from protocols.screening import Status as ScreeningStatus
from sessions.scheduling.rules import Spacing


class Route(StrEnum):
    """What the patient's own screening answers allow them to book online."""

    CLEAR = "clear"  # book the course
    CONSULTATION = "consultation"  # a relative contraindication: see a practitioner first
    REFUSED = "refused"  # an absolute contraindication: not this treatment


def screening_route(status: ScreeningStatus) -> Route:
    if status == ScreeningStatus.BLOCKED:
        return Route.REFUSED
    if status == ScreeningStatus.NEEDS_ACKNOWLEDGEMENT:
        return Route.CONSULTATION
    if status == ScreeningStatus.CLEAR:
        return Route.CLEAR
    raise ValueError(f"A screening answered today cannot be {status}.")


@dataclass(frozen=True)
class Bounds:
    """The earliest start the public site may offer, and the last day of the horizon."""

    not_before: datetime
    first_day: date
    last_day: date


def first_session_bounds(
    *, now: datetime, zone: tzinfo, min_notice_hours: int, horizon_days: int
) -> Bounds:
    not_before = now + timedelta(hours=min_notice_hours)
    first_day = not_before.astimezone(zone).date()
    last_day = now.astimezone(zone).date() + timedelta(days=horizon_days)
    return Bounds(not_before, first_day, max(first_day, last_day))


def movable_window(
    *,
    previous_day: date | None,
    next_day: date | None,
    spacing: Spacing,
    first_bounds: Bounds,
) -> tuple[date, date]:
    """The days one session may move to while every gap to its neighbours stays inside
    [minimum, maximum]: after the previous session by min..max days and before the next
    by min..max days. The first session keeps to the booking horizon. Empty (start
    after end) when the neighbours leave no room."""
    if previous_day is None:
        start, end = first_bounds.first_day, first_bounds.last_day
    else:
        start = previous_day + timedelta(days=spacing.min_days)
        end = previous_day + timedelta(days=spacing.max_days)
    start = max(start, first_bounds.first_day)
    if next_day is not None:
        start = max(start, next_day - timedelta(days=spacing.max_days))
        end = min(end, next_day - timedelta(days=spacing.min_days))
    return start, end


def spacing_problems(starts: Sequence[datetime], *, spacing: Spacing, zone: tzinfo) -> list[str]:
    """Every gap between consecutive sessions that is outside [minimum, maximum]."""
    problems = []
    days = [s.astimezone(zone).date() for s in starts]
    for n in range(1, len(days)):
        gap = (days[n] - days[n - 1]).days
        if not spacing.min_days <= gap <= spacing.max_days:
            problems.append(
                f"Session {n + 1} would be {gap} days after session {n}; it must be between "
                f"{spacing.min_days} and {spacing.max_days} days."
            )
    return problems


def overlaps(spans: Sequence[tuple[datetime, datetime]]) -> bool:
    ordered = sorted(spans)
    return any(ordered[n][0] < ordered[n - 1][1] for n in range(1, len(ordered)))


def deposit_for(*, is_course: bool, course_deposit: Decimal) -> Decimal:
    return course_deposit if is_course and course_deposit > 0 else Decimal("0")


def normal_email(email: str) -> str:
    """The form an address is compared in: trimmed and lower-cased."""
    return email.strip().lower()
