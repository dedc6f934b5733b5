"""What the rest of the clinic does when an appointment's life moves on.

Scheduling books, moves and changes appointments and imports neither charting, comms
nor billing. Those parts append plain callables to these lists in their
`AppConfig.ready()` (sessions.apps for charting and comms, billing.apps for billing).
Scheduling runs them in order inside its own transaction, after its own checks, so a
hook that raises — the chart is not signed, billing refuses a charge — undoes the whole
change. A hook that refuses raises a `SchedulingError` (sessions.scheduling.errors).

Every hook is called with keyword arguments only; each list says which.
"""

from __future__ import annotations

from collections.abc import Callable

Hook = Callable[..., None]

# appointment: booked on its own
BOOKED: list[Hook] = []
# appointments: the sessions of one course booked in one step, in order (BOOKED does not
# run for them: this hook does for all of them at once what BOOKED does for one)
COURSE_BOOKED: list[Hook] = []
# appointment (already at its new time), old_starts_at
MOVED: list[Hook] = []
# appointment
CHECKED_IN: list[Hook] = []
# appointment, by, now: gates checked before a session may be completed (raise to refuse)
BEFORE_COMPLETE: list[Hook] = []
# appointment (completed, its course finished if this was the last session), by, now
COMPLETED: list[Hook] = []
# appointment (cancelled, `cancelled_late` set), by
CANCELLED: list[Hook] = []
# appointment (marked a no-show), by
NO_SHOW: list[Hook] = []

LIFECYCLE: dict[str, list[Hook]] = {
    "booked": BOOKED,
    "course_booked": COURSE_BOOKED,
    "moved": MOVED,
    "checked_in": CHECKED_IN,
    "before_complete": BEFORE_COMPLETE,
    "completed": COMPLETED,
    "cancelled": CANCELLED,
    "no_show": NO_SHOW,
}


def run(hooks: list[Hook], **kwargs) -> None:
    """Call each hook in order; an exception stops the rest and undoes the transaction."""
    for hook in hooks:
        hook(**kwargs)


def register(event: str, hook: Hook) -> None:
    """Add a hook once (a second ready() in the same process adds nothing)."""
    hooks = LIFECYCLE[event]
    if hook not in hooks:
        hooks.append(hook)


def registered() -> dict[str, list[str]]:
    """Each event's hooks by dotted name, for tests and for reading."""
    return {
        event: [f"{hook.__module__}.{hook.__qualname__}" for hook in hooks]
        for event, hooks in LIFECYCLE.items()
    }
