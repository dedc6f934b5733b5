"""The scheduling engine: pure functions over plain values (no ORM, no clock).

Spacing between sessions of a course is counted in calendar days in the clinic's
time zone: a minimum of 14 days means session 2 may be on day 14 after session 1,
never on day 13. Times are aware datetimes; working hours are clinic-local times.

Everything here is deterministic: the same inputs give the same proposal.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from mesoclinic.core.dates import add_months

Span = tuple[datetime, datetime]
DaySpan = tuple[date, date]

# How far ahead the first session of a course is searched for.
FIRST_SESSION_HORIZON_DAYS = 60
# Cancelling closer than this to the start counts as late (a common clinic policy).
LATE_CANCEL_HOURS = 24


def cancellation_is_late(
    *, starts_at: datetime, now: datetime, by_patient: bool = True, checked_in: bool = False
) -> bool:
    """A late cancellation — the one that carries the late-cancellation fee — is the
    patient's own, within LATE_CANCEL_HOURS of the start, before they were checked in.
    The clinic cancelling (practitioner ill, machine broken) is never late, nor is
    cancelling a patient who is already here."""
    if not by_patient or checked_in:
        return False
    return starts_at - now < timedelta(hours=LATE_CANCEL_HOURS)


def check_in_problem(*, starts_at: datetime, now: datetime, zone: tzinfo) -> str:
    """Why the patient cannot be checked in now (empty: they can).

    Check-in is for the appointment's own day in the clinic's time zone: not the day
    before (treatment a day early), not a later day (record a missed one instead).
    """
    day, today = starts_at.astimezone(zone).date(), now.astimezone(zone).date()
    if day == today:
        return ""
    when = f"{starts_at.astimezone(zone):%A %d %B %Y}"
    if day > today:
        return f"This appointment is on {when}; patients are checked in on the day."
    return f"This appointment was on {when}; patients are checked in on the day."


def completion_problem(*, starts_at: datetime, now: datetime, zone: tzinfo) -> str:
    """Why the session cannot be marked completed now (empty: it can)."""
    if now >= starts_at:
        return ""
    return (
        f"This appointment starts at {starts_at.astimezone(zone):%H:%M on %d %B %Y}; "
        "it cannot be completed before it starts."
    )


@dataclass(frozen=True)
class Spacing:
    min_days: int
    target_days: int
    max_days: int

    def __post_init__(self) -> None:
        if not 1 <= self.min_days <= self.target_days <= self.max_days:
            raise ValueError("Spacing must be 1 ≤ minimum ≤ target ≤ maximum days.")


@dataclass(frozen=True)
class Availability:
    """Everything that decides whether a practitioner can see someone at a time.

    hours: weekday (0 = Monday) → blocks of clinic-local (start, end) times at the location.
    closures: inclusive ranges of local days when the location is closed.
    absences: the practitioner's leave and training.
    busy: live appointments of the practitioner and of the room (both block a slot).
    not_before: nothing starts earlier (now plus the clinic's minimum notice, for what is
    proposed); None: no limit.
    """

    zone: tzinfo
    hours: Mapping[int, Sequence[tuple[time, time]]]
    closures: Sequence[DaySpan] = ()
    absences: Sequence[Span] = ()
    busy: Sequence[Span] = ()
    step_minutes: int = 15
    not_before: datetime | None = None
    _busy_sorted: tuple[Span, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_busy_sorted", tuple(sorted(self.busy)))

    def with_busy(self, extra: Iterable[Span]) -> Availability:
        return Availability(
            zone=self.zone,
            hours=self.hours,
            closures=self.closures,
            absences=self.absences,
            busy=(*self.busy, *extra),
            step_minutes=self.step_minutes,
            not_before=self.not_before,
        )

    def too_soon(self, start: datetime) -> bool:
        return self.not_before is not None and start < self.not_before

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone)

    def is_closed(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.closures)

    def blocks_on(self, day: date) -> list[Span]:
        return [
            (self.at(day, start), self.at(day, end))
            for start, end in sorted(self.hours.get(day.weekday(), ()))
        ]

    def clash(self, start: datetime, end: datetime) -> Span | None:
        """The first busy span (appointment or absence) overlapping [start, end)."""
        for span_start, span_end in self.absences:
            if span_start < end and span_end > start:
                return (span_start, span_end)
        spans = self._busy_sorted
        # Sorted by start; an overlapping appointment starts before `end`, and no
        # appointment lasts a day, so the walk back stops a day before `start`.
        index = bisect.bisect_left(spans, (end,))
        horizon = start - timedelta(days=1)
        for span_start, span_end in reversed(spans[:index]):
            if span_start < horizon:
                break
            if span_end > start:
                return (span_start, span_end)
        return None

    def within_hours(self, start: datetime, end: datetime) -> bool:
        day = self.local_date(start)
        if self.local_date(end - timedelta(microseconds=1)) != day:
            return False
        return any(b_start <= start and end <= b_end for b_start, b_end in self.blocks_on(day))


@dataclass(frozen=True)
class Preferences:
    weekdays: frozenset[int] = frozenset()
    time_from: time | None = None
    time_to: time | None = None

    def day_ok(self, day: date) -> bool:
        return not self.weekdays or day.weekday() in self.weekdays

    def time_ok(self, start: datetime, end: datetime, zone: tzinfo) -> bool:
        local_start = start.astimezone(zone).time()
        local_end = end.astimezone(zone).time()
        if self.time_from is not None and local_start < self.time_from:
            return False
        return not (self.time_to is not None and local_end > self.time_to)

    @property
    def any(self) -> bool:
        return bool(self.weekdays) or self.time_from is not None or self.time_to is not None


NO_PREFERENCES = Preferences()


def slot_problems(start: datetime, end: datetime, availability: Availability) -> list[str]:
    """Why this time cannot be booked, in plain words (empty: it can)."""
    problems = []
    if end <= start:
        return ["The end must be after the start."]
    day = availability.local_date(start)
    if availability.too_soon(start):
        when = f"{availability.not_before.astimezone(availability.zone):%a %d %b %Y %H:%M}"
        problems.append(f"That time is too soon: the first time that can be offered is {when}.")
    if availability.is_closed(day):
        problems.append(f"The clinic is closed on {day:%a %d %b %Y}.")
    if not availability.within_hours(start, end):
        problems.append("That time is outside the practitioner's working hours.")
    for a_start, a_end in availability.absences:
        if a_start < end and a_end > start:
            problems.append("The practitioner is away then.")
            break
    else:
        for b_start, b_end in availability.busy:
            if b_start < end and b_end > start:
                problems.append("The practitioner or the room is already booked then.")
                break
    return problems


def free_starts_on(
    day: date,
    *,
    duration: timedelta,
    availability: Availability,
    preferences: Preferences = NO_PREFERENCES,
    limit: int | None = None,
) -> list[datetime]:
    """Free start times on a local day (on the step grid of each working block), earliest first.

    With `limit`, stops after that many.
    """
    if availability.is_closed(day) or not preferences.day_ok(day):
        return []
    step = timedelta(minutes=availability.step_minutes)
    starts = []
    for block_start, block_end in availability.blocks_on(day):
        start = block_start
        while start + duration <= block_end:
            end = start + duration
            if availability.too_soon(start):
                pass  # earlier than now plus the clinic's notice
            elif preferences.time_ok(start, end, availability.zone):
                span = availability.clash(start, end)
                if span is None:
                    starts.append(start)
                    if limit is not None and len(starts) >= limit:
                        return starts
                else:
                    # Jump past the clash, staying on the block's step grid.
                    skip = max(step, span[1] - start)
                    steps = -(-skip // step)
                    start += step * steps
                    continue
            start += step
    return starts


def _pick(starts: list[datetime], anchor: time | None, zone: tzinfo) -> datetime:
    """The earliest start, or the one closest to the anchor time of day (ties: earlier)."""
    if anchor is None:
        return starts[0]

    def distance(start: datetime) -> tuple[int, datetime]:
        local = start.astimezone(zone)
        minutes = local.hour * 60 + local.minute
        return (abs(minutes - (anchor.hour * 60 + anchor.minute)), start)

    return min(starts, key=distance)


@dataclass(frozen=True)
class ProposedSession:
    sequence: int
    starts_at: datetime | None
    ends_at: datetime | None
    window_start: date | None
    window_end: date | None
    problem: str = ""
    note: str = ""

    @property
    def fits(self) -> bool:
        return self.starts_at is not None


@dataclass(frozen=True)
class Proposal:
    sessions: tuple[ProposedSession, ...]

    @property
    def complete(self) -> bool:
        return all(s.fits for s in self.sessions)

    @property
    def problems(self) -> list[str]:
        return [s.problem for s in self.sessions if s.problem]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _search_order(window_start: date, target: date, window_end: date) -> list[date]:
    """The target day, then later days up to the maximum, then earlier ones back to the minimum."""
    target = min(max(target, window_start), window_end)
    later = _days(target, window_end)
    earlier = list(reversed(_days(window_start, target - timedelta(days=1))))
    return later + earlier


def _why_nothing_fits(days: list[date], *, duration: timedelta, availability: Availability) -> str:
    closed = [d for d in days if availability.is_closed(d)]
    off = [d for d in days if d not in closed and not availability.blocks_on(d)]
    rest = len(days) - len(closed) - len(off)
    parts = []
    if closed:
        parts.append(f"the clinic is closed on {len(closed)}")
    if off:
        parts.append(f"the practitioner does not work on {len(off)}")
    if rest:
        parts.append(f"the other {rest} have no free {int(duration.total_seconds() // 60)} minutes")
    return "; ".join(parts)


def _place(
    days: list[date],
    *,
    duration: timedelta,
    availability: Availability,
    preferences: Preferences,
    anchor: time | None,
) -> tuple[datetime | None, str]:
    """First day in `days` order with a free slot; preferences first, then without them."""
    passes = [(preferences, "")]
    if preferences.any:
        passes.append((NO_PREFERENCES, "Not on the patient's preferred day or time."))
    for prefs, note in passes:
        for day in days:
            starts = free_starts_on(
                day,
                duration=duration,
                availability=availability,
                preferences=prefs,
                limit=1 if anchor is None else None,
            )
            if starts:
                return _pick(starts, anchor, availability.zone), note
    return None, ""


def propose_course(
    *,
    sessions: int,
    spacing: Spacing,
    duration: timedelta,
    availability: Availability,
    earliest: date,
    first_start: datetime | None = None,
    preferences: Preferences = NO_PREFERENCES,
    previous_start: datetime | None = None,
    start_sequence: int = 1,
) -> Proposal:
    """Propose every session of a course.

    Session 1 goes at `first_start` when given (if free), otherwise at the first free
    slot from `earliest`. Each later session aims at the target interval from the one
    before, then moves later up to the maximum, then earlier down to the minimum, to
    the first day with a free slot. `previous_start` continues a course already
    under way (the next session is then spaced from it). If a session cannot be
    placed, it says why, and the sessions after it are not guessed.
    """
    proposed: list[ProposedSession] = []
    taken: list[Span] = []
    anchor: time | None = None
    previous = previous_start
    for sequence in range(start_sequence, start_sequence + sessions):
        session = _propose_session(
            sequence,
            previous=previous,
            chosen=first_start if previous is None and sequence == start_sequence else None,
            spacing=spacing,
            duration=duration,
            availability=availability.with_busy(taken) if taken else availability,
            earliest=earliest,
            preferences=preferences,
            anchor=anchor,
        )
        proposed.append(session)
        if not session.fits:
            break
        taken.append((session.starts_at, session.ends_at))
        previous = session.starts_at
        if anchor is None:
            anchor = session.starts_at.astimezone(availability.zone).time()
    placed = {p.sequence for p in proposed}
    proposed += [
        ProposedSession(s, None, None, None, None, note=f"Planned once session {s - 1} has a time.")
        for s in range(start_sequence, start_sequence + sessions)
        if s not in placed
    ]
    return Proposal(tuple(proposed))


def session_window(
    *, previous_day: date | None, spacing: Spacing, earliest: date
) -> tuple[date, date]:
    """The days a session may take: the first within the horizon from `earliest`; a later
    one between the minimum and maximum interval after the one before, never before
    `earliest` (the window is empty, start after end, when its last day has passed)."""
    if previous_day is None:
        return earliest, earliest + timedelta(days=FIRST_SESSION_HORIZON_DAYS)
    return (
        max(previous_day + timedelta(days=spacing.min_days), earliest),
        previous_day + timedelta(days=spacing.max_days),
    )


def _propose_session(
    sequence: int,
    *,
    previous: datetime | None,
    chosen: datetime | None,
    spacing: Spacing,
    duration: timedelta,
    availability: Availability,
    earliest: date,
    preferences: Preferences,
    anchor: time | None,
) -> ProposedSession:
    """One session: at the chosen time, or the first free slot in its window (target first)."""
    previous_day = availability.local_date(previous) if previous is not None else None
    window_start, window_end = session_window(
        previous_day=previous_day, spacing=spacing, earliest=earliest
    )
    if chosen is not None:
        problems = slot_problems(chosen, chosen + duration, availability)
        if problems:
            day = chosen.astimezone(availability.zone).date()
            reason = " ".join(problems)
            return ProposedSession(
                sequence,
                None,
                None,
                day,
                day,
                f"Session {sequence} cannot be at the chosen time: {reason}",
            )
        return ProposedSession(sequence, chosen, chosen + duration, window_start, window_end)
    if previous_day is None:
        order = _days(window_start, window_end)
    elif window_start > window_end:
        return ProposedSession(
            sequence,
            None,
            None,
            window_start,
            window_end,
            f"Session {sequence} was due by {window_end:%d %b %Y}, which has passed.",
        )
    else:
        target = previous_day + timedelta(days=spacing.target_days)
        order = _search_order(window_start, target, window_end)
    start, note = _place(
        order,
        duration=duration,
        availability=availability,
        preferences=preferences,
        anchor=anchor if previous_day is not None else None,
    )
    if start is None:
        why = _why_nothing_fits(order, duration=duration, availability=availability)
        return ProposedSession(
            sequence,
            None,
            None,
            window_start,
            window_end,
            f"No free time for session {sequence} between {window_start:%d %b %Y} "
            f"and {window_end:%d %b %Y}: {why}.",
        )
    return ProposedSession(sequence, start, start + duration, window_start, window_end, "", note)


@dataclass(frozen=True)
class SpacingCheck:
    """The verdict on a session's time against its neighbours in the course."""

    too_soon: str = ""
    beyond_max: str = ""

    @property
    def allowed(self) -> bool:
        return not self.too_soon

    @property
    def needs_override(self) -> bool:
        return not self.too_soon and bool(self.beyond_max)


def _gap(a: date, b: date) -> int:
    return (b - a).days


def check_spacing(
    *,
    sequence: int,
    start: datetime,
    previous_start: datetime | None,
    next_start: datetime | None,
    spacing: Spacing,
    zone: tzinfo,
) -> SpacingCheck:
    """Closer than the minimum to a neighbour is refused; beyond the maximum needs a reason."""
    day = start.astimezone(zone).date()
    too_soon, beyond = [], []
    if previous_start is not None:
        prev_day = previous_start.astimezone(zone).date()
        gap = _gap(prev_day, day)
        if gap < spacing.min_days:
            earliest = prev_day + timedelta(days=spacing.min_days)
            too_soon.append(
                f"Session {sequence} would be {gap} days after session {sequence - 1}; "
                f"the minimum is {spacing.min_days} days, "
                f"so the earliest is {earliest:%a %d %b %Y}."
            )
        elif gap > spacing.max_days:
            beyond.append(
                f"Session {sequence} would be {gap} days after session {sequence - 1}, "
                f"beyond the maximum of {spacing.max_days} days."
            )
    if next_start is not None:
        next_day = next_start.astimezone(zone).date()
        gap = _gap(day, next_day)
        if gap < spacing.min_days:
            latest = next_day - timedelta(days=spacing.min_days)
            too_soon.append(
                f"Session {sequence} would be only {gap} days before session {sequence + 1}; "
                f"the minimum is {spacing.min_days} days, so the latest is {latest:%a %d %b %Y} "
                f"unless session {sequence + 1} moves too."
            )
        elif gap > spacing.max_days:
            beyond.append(
                f"Session {sequence + 1} would then be {gap} days after session {sequence}, "
                f"beyond the maximum of {spacing.max_days} days."
            )
    return SpacingCheck(" ".join(too_soon), " ".join(beyond))


@dataclass(frozen=True)
class Shift:
    sequence: int
    current_start: datetime
    proposed_start: datetime | None
    required: bool
    problem: str = ""


def propose_shift(
    *,
    moved_sequence: int,
    old_start: datetime,
    new_start: datetime,
    later: Sequence[tuple[int, datetime]],
    spacing: Spacing,
    duration: timedelta,
    availability: Availability,
) -> list[Shift]:
    """After moving a session, offer new times for the later ones of the course.

    Each later session is offered the same shift in days, at its current time of day
    if free (else the nearest free slot that day, else the first day in its window);
    `required` says whether it breaks the spacing rules if left where it is.
    `availability` must not count the later sessions themselves as busy.
    """
    zone = availability.zone
    delta = (new_start.astimezone(zone).date() - old_start.astimezone(zone).date()).days
    shifts: list[Shift] = []
    previous_new = new_start
    previous_old = new_start
    taken: list[Span] = [(new_start, new_start + duration)]
    for sequence, current in sorted(later):
        avail = availability.with_busy(taken)
        check = check_spacing(
            sequence=sequence,
            start=current,
            previous_start=previous_old,
            next_start=None,
            spacing=spacing,
            zone=zone,
        )
        required = not check.allowed or check.needs_override
        prev_day = previous_new.astimezone(zone).date()
        wanted = current.astimezone(zone).date() + timedelta(days=delta)
        window_start = prev_day + timedelta(days=spacing.min_days)
        window_end = prev_day + timedelta(days=spacing.max_days)
        order = _search_order(window_start, wanted, window_end)
        start, _ = _place(
            order,
            duration=duration,
            availability=avail,
            preferences=NO_PREFERENCES,
            anchor=current.astimezone(zone).time(),
        )
        if start is None:
            shifts.append(
                Shift(
                    sequence,
                    current,
                    None,
                    required,
                    f"No free time for session {sequence} between {window_start:%d %b} "
                    f"and {window_end:%d %b}.",
                )
            )
            break
        shifts.append(Shift(sequence, current, start, required))
        taken.append((start, start + duration))
        previous_new = start
        previous_old = current if not required else start
    return shifts


def next_free_slots(
    *,
    first_day: date,
    last_day: date,
    duration: timedelta,
    availability: Availability,
    not_before: datetime | None = None,
    limit: int = 5,
) -> list[datetime]:
    """The first free start times between two local days (inclusive)."""
    found: list[datetime] = []
    for day in _days(first_day, last_day):
        for start in free_starts_on(day, duration=duration, availability=availability):
            if not_before is not None and start < not_before:
                continue
            found.append(start)
            if len(found) >= limit:
                return found
    return found


@dataclass(frozen=True)
class Progress:
    done: int
    planned: int
    next_sequence: int | None
    next_window: DaySpan | None
    next_booked_on: date | None
    interrupted: bool
    finished: bool
    maintenance_due_on: date | None

    @property
    def summary(self) -> str:
        return f"{self.done} of {self.planned} done"


def course_progress(
    *,
    planned: int,
    completed_days: Sequence[date],
    next_booked_on: date | None,
    spacing: Spacing,
    maintenance_months: int | None,
    today: date,
) -> Progress:
    """Where a course stands on `today`.

    A course whose next session was not done or booked before its window closed has
    run past its window: it is interrupted, and the clinic decides whether to restart.
    """
    done = len(completed_days)
    last = max(completed_days) if completed_days else None
    if done >= planned:
        maintenance = add_months(last, maintenance_months) if maintenance_months and last else None
        return Progress(done, planned, None, None, None, False, True, maintenance)
    window = None
    interrupted = False
    if last is not None:
        window = (last + timedelta(days=spacing.min_days), last + timedelta(days=spacing.max_days))
        interrupted = next_booked_on is None and today > window[1]
    return Progress(done, planned, done + 1, window, next_booked_on, interrupted, False, None)


# What the patient's newest signed consent to a protocol is now (consent_gaps).
CONSENT_IN_FORCE = "in_force"
CONSENT_WITHDRAWN = "withdrawn"
CONSENT_OUTDATED = "outdated"  # signed to a version the protocol has since replaced
CONSENT_MISSING = "missing"  # never signed (a gap's `why` only)


@dataclass(frozen=True)
class ConsentGap:
    """A booked treatment whose protocol has no consent in force: `index` is its place
    among the bookings given; `why` is CONSENT_MISSING, CONSENT_WITHDRAWN or
    CONSENT_OUTDATED."""

    index: int
    protocol_id: int
    why: str


def consent_gaps(
    *, booked: Sequence[tuple[int | None, bool]], newest: Mapping[int, str]
) -> list[ConsentGap]:
    """The consents that stand in the way of booked treatments: one per protocol, at its
    soonest booked treatment (the same test as the treatment gates: a consent to the
    protocol's current version, not withdrawn).

    `booked` is the upcoming appointments, soonest first, each as (protocol id or None,
    is a treatment); `newest` maps every protocol the patient signed a consent to to the
    state of the newest of those consents (CONSENT_IN_FORCE, CONSENT_WITHDRAWN or
    CONSENT_OUTDATED). A consultation, or an appointment without a protocol, needs none.
    """
    gaps = []
    seen = set()
    for index, (protocol_id, is_treatment) in enumerate(booked):
        if not is_treatment or protocol_id is None or protocol_id in seen:
            continue
        seen.add(protocol_id)
        state = newest.get(protocol_id, CONSENT_MISSING)
        if state != CONSENT_IN_FORCE:
            gaps.append(ConsentGap(index, protocol_id, why=state))
    return gaps
