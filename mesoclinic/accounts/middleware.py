"""Per-request rules for signed-in staff, and the response headers CSP does not set.

StaffSessionMiddleware, in order:
1. Idle lock: a session without a request for longer than the role's idle time ends;
   the next page is the login, which leads back to where the user was.
2. Second factor: a role that requires it gets no page from a session that was not
   verified with one (for instance a session that began before the rule applied, or
   whose authenticator a manager just reset): sign in again.
3. A temporary password must be changed before anything else.

It reads the session only, plus the user's roles (cached for the request), so pages
keep their query counts; the last-seen time is written at most every 30 seconds.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from mesoclinic.accounts import selectors
from mesoclinic.accounts.receivers import LAST_SEEN, MUST_CHANGE_PASSWORD

SEEN_GRANULARITY_SECONDS = 30


def security_headers(get_response):
    """Permissions-Policy (Django sets the others: nosniff, Referrer-Policy, COOP)."""

    def middleware(request):
        response = get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

    return middleware


def _return_path(request) -> str:
    """Where the user was: this page for a GET, the page they were on otherwise."""
    if request.headers.get("HX-Request"):
        current = request.headers.get("HX-Current-URL", "")
        parts = urlsplit(current)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path and url_has_allowed_host_and_scheme(path, allowed_hosts=None):
            return path
        return reverse("home")
    if request.method == "GET":
        return request.get_full_path()
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc == request.get_host() and referer.path:
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return reverse("home")


def _to_login(request, reason: str, message: str) -> HttpResponse:
    back = _return_path(request)
    request.mc_sign_out_reason = reason
    logout(request)
    messages.info(request, message)
    response = redirect_to_login(back, reverse("login"))
    if request.headers.get("HX-Request"):
        # htmx would swap the login page into a fragment: send the whole page there.
        hx = HttpResponse(status=204)
        hx["HX-Redirect"] = response["Location"]
        return hx
    return response


class StaffSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response = self.check(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def check(self, request, user):
        session = request.session
        now = time.time()
        timeout = selectors.idle_timeout_for(user)
        last_seen = session.get(LAST_SEEN)
        if isinstance(last_seen, int | float) and now - last_seen > timeout:
            minutes = round(timeout / 60)
            return _to_login(
                request,
                f"Signed out after {minutes} minutes without activity",
                f"You were signed out after {minutes} minutes without activity. Sign in to "
                "carry on where you were.",
            )
        if not isinstance(last_seen, int | float) or now - last_seen >= SEEN_GRANULARITY_SECONDS:
            session[LAST_SEEN] = now
        request.mc_idle_seconds_left = timeout - (now - session[LAST_SEEN])
        request.mc_idle_timeout = timeout

        if selectors.two_factor_required_for(user) and not _verified(user):
            return _to_login(
                request,
                "Signed out: the session had no second factor",
                "Your role signs in with a second factor. Sign in again.",
            )

        if session.get(MUST_CHANGE_PASSWORD):
            allowed = {reverse("password_change"), reverse("logout")}
            if request.path not in allowed:
                messages.warning(
                    request, "You signed in with a temporary password: choose your own first."
                )
                if request.headers.get("HX-Request"):
                    hx = HttpResponse(status=204)
                    hx["HX-Redirect"] = reverse("password_change")
                    return hx
                return redirect("password_change")
        return None


def _verified(user) -> bool:
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())
