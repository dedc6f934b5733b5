"""Where a page sends the user back to: only a path on this site, never elsewhere."""

from __future__ import annotations

from django.utils.http import url_has_allowed_host_and_scheme


def local_path(request, value: str | None) -> str:
    """`value` when it is a path on this site (e.g. the chart a page was opened from),
    else "" so the caller uses its own default; an open redirect is never possible."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\x00" in value:
        return ""
    if not url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    return value
