"""What billing does in an appointment's life (registered in billing.apps.ready).

Charges run inside the scheduling change's transaction: a billing refusal becomes a
SchedulingError and undoes the status change too.
"""

from billing import services
from sessions.scheduling import hooks
from sessions.scheduling.errors import SchedulingError


def _refusal(exc: services.BillingError) -> SchedulingError:
    return SchedulingError(" ".join(exc.messages), code="billing")


def session_charge(*, appointment, by, **_) -> None:
    """A completed session uses a credit, or is invoiced."""
    try:
        services.session_credit_consume(appointment=appointment, by=by)
    except services.BillingError as exc:
        raise _refusal(exc) from exc


def appointment_fee(*, appointment, by, **_) -> None:
    """A late cancellation or a no-show carries its fee."""
    try:
        services.appointment_fee_charge(appointment=appointment, by=by)
    except services.BillingError as exc:
        raise _refusal(exc) from exc


def register() -> None:
    hooks.register("completed", session_charge)
    hooks.register("cancelled", appointment_fee)
    hooks.register("no_show", appointment_fee)
