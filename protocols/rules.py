"""Pure rules of a course definition. No ORM."""

from __future__ import annotations

# A centrifuge spin is stored as relative centrifugal force and time (rpm means nothing
# without the rotor radius); outside these bounds it is a typing error, not a protocol.
SPIN_G_MIN, SPIN_G_MAX = 50, 5000
SPIN_MINUTES_MIN, SPIN_MINUTES_MAX = 1, 60


def course_rule_errors(
    *, sessions: int | None, min_days: int | None, target_days: int | None, max_days: int | None
) -> dict[str, list[str]]:
    """Field name -> messages for an impossible course; empty when the course makes sense."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if sessions is not None and sessions < 1:
        add("sessions_in_course", "A course needs at least one session.")
    for name, value in (
        ("min_interval_days", min_days),
        ("target_interval_days", target_days),
        ("max_interval_days", max_days),
    ):
        if value is not None and value < 1:
            add(name, "Days between sessions must be at least 1.")
    if None not in (min_days, target_days, max_days):
        if min_days > target_days:
            add(
                "min_interval_days",
                f"The minimum ({min_days} days) is more than the target ({target_days} days).",
            )
        if target_days > max_days:
            add(
                "max_interval_days",
                f"The maximum ({max_days} days) is less than the target ({target_days} days).",
            )
    return errors
