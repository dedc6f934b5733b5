"""What charting does in an appointment's life (registered in sessions.apps.ready)."""

from sessions.charting import services
from sessions.scheduling import hooks
from sessions.scheduling.errors import SchedulingError


def chart_gate(*, appointment, **_) -> None:
    """A treatment is completed only with a signed chart and a live consent."""
    services.completion_gate(appointment=appointment, error=SchedulingError)


def aftercare_sheet(*, appointment, **_) -> None:
    services.aftercare_sheet_schedule(appointment=appointment)


def register() -> None:
    hooks.register("before_complete", chart_gate)
    hooks.register("completed", aftercare_sheet)
