from django.conf import settings


def staff_session(request):
    """The idle lock's numbers for the page (set by StaffSessionMiddleware)."""
    timeout = getattr(request, "mc_idle_timeout", None)
    if timeout is None:
        return {}
    return {
        "idle_timeout": timeout,
        "idle_seconds_left": max(0, int(request.mc_idle_seconds_left)),
        "idle_warning": settings.IDLE_WARNING_SECONDS,
    }
