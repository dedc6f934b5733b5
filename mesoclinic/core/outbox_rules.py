"""Pure timing rules for the outbox: quiet hours and retry backoff. No ORM, no clock."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_ATTEMPTS = 5
# Seconds to wait after the 1st, 2nd, 3rd ... failed attempt.
BACKOFF_SECONDS = (60, 300, 1800, 7200)


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """ "21:00-08:00" -> (21:00, 08:00); "" -> None (no quiet hours)."""
    text = text.strip()
    if not text:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError as exc:
        raise ValueError(f"Quiet hours must look like 21:00-08:00, not {text!r}.") from exc
    if start == end:
        raise ValueError("Quiet hours must start and end at different times.")
    return start, end


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start < end:
        return start <= local < end
    return local >= start or local < end  # spans midnight


def defer_past_quiet_hours(
    due: datetime, *, zone: ZoneInfo, quiet: tuple[time, time] | None
) -> datetime:
    """The first moment at or after `due` that is outside the clinic's quiet hours."""
    if quiet is None:
        return due
    start, end = quiet
    local = due.astimezone(zone)
    if not in_quiet_hours(local.time(), start, end):
        return due
    day = local.date()
    if start > end and local.time() >= start:
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(due.tzinfo)


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait before trying again after `attempts` failures; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def message_id(*, row_id: int, kind: str, generation: int, domain: str) -> str:
    """The Message-ID header of an outbox row's email: the same every time the row is sent.

    The one re-send the outbox allows (a worker killed after the mail server accepted
    the email, before the row was marked sent) then reaches the patient's mailbox as the
    same message, which mail systems show once. A re-send staff ask for on purpose
    bumps `generation`, so it is a new message that is not dropped as a duplicate.
    """
    kind_part = "".join(c if c.isalnum() or c in "-_." else "-" for c in kind) or "message"
    suffix = f".{generation}" if generation else ""
    return f"<outbox-{row_id}-{kind_part}{suffix}@{domain or 'localhost'}>"


def sender_domain(from_address: str) -> str:
    """'Clinic <hello@clinic.example>' -> 'clinic.example' (the domain in Message-IDs)."""
    address = from_address.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2].strip().lower() or "localhost"
