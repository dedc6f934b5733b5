"""Staff account rules as pure functions: no ORM, no clock.

Settings parse their values with these too, so a bad value stops start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ROLE_NAMES = ("practitioner", "front desk", "manager")


def parse_roles(raw: str) -> frozenset[str]:
    """'manager,practitioner' -> the role names; '' -> none. Unknown names are an error."""
    names = {part.strip().lower() for part in raw.split(",") if part.strip()}
    unknown = sorted(names - set(ROLE_NAMES))
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLE_NAMES)}")
    return frozenset(names)


def parse_role_minutes(raw: str) -> dict[str, int]:
    """'front desk=30, manager=10' -> {'front desk': 30, 'manager': 10}."""
    result: dict[str, int] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        role, sep, minutes = part.partition("=")
        role = role.strip().lower()
        if not sep or role not in ROLE_NAMES:
            raise ValueError(f"{part.strip()!r} is not ROLE=MINUTES with a role of {ROLE_NAMES}")
        try:
            value = int(minutes.strip())
        except ValueError:
            raise ValueError(f"{part.strip()!r}: minutes must be a whole number") from None
        if not 1 <= value <= 24 * 60:
            raise ValueError(f"{part.strip()!r}: minutes must be between 1 and 1440")
        result[role] = value
    return result


def idle_timeout_seconds(
    roles: Iterable[str], *, default_minutes: int, by_role: Mapping[str, int]
) -> int:
    """The shortest idle time of the user's roles (a manager who also treats gets the
    stricter of the two); the default for roles without their own value."""
    minutes = [by_role.get(role, default_minutes) for role in roles]
    return 60 * (min(minutes) if minutes else default_minutes)


def two_factor_required(roles: Iterable[str], required_roles: Iterable[str]) -> bool:
    return bool(set(roles) & set(required_roles))


def leaves_no_manager(
    *, active_manager_ids: Iterable[int], user_id: int, stays_active_manager: bool
) -> bool:
    """Would this change (a role change or a deactivation of `user_id`) leave the
    clinic without an active manager?"""
    remaining = set(active_manager_ids) - {user_id}
    return not remaining and not stays_active_manager


def idle_seconds_left(*, now: float, last_seen: float, timeout_seconds: int) -> float:
    return timeout_seconds - (now - last_seen)
