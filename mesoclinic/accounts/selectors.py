"""Reads for the staff pages and the sign-in flow."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Exists, Max, OuterRef, Prefetch, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from mesoclinic import roles
from mesoclinic.accounts import rules


def _with_two_factor(users):
    return users.annotate(
        has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )


def staff_list(*, include_inactive: bool = True):
    users = (
        User.objects.select_related("staff_account")
        .prefetch_related(Prefetch("groups"))
        .order_by("-is_active", "first_name", "last_name", "username")
    )
    if not include_inactive:
        users = users.filter(is_active=True)
    return _with_two_factor(users)


def staff_member(public_id) -> User:
    """One colleague for a manager's page, by the account's public id (404 otherwise)."""
    return get_object_or_404(
        _with_two_factor(User.objects.select_related("staff_account").prefetch_related("groups")),
        staff_account__public_id=public_id,
    )


def locked_usernames(*, now=None) -> dict:
    """Usernames whose sign-in is locked now (axes), with when the last failure was."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt

    now = now or timezone.now()
    attempts = AccessAttempt.objects.all()
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=now - cool_off)
    rows = (
        attempts.values("username")
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    )
    return {row["username"]: row["last"] for row in rows}


def two_factor_required_for(user) -> bool:
    return rules.two_factor_required(roles.roles_of(user), settings.TWO_FACTOR_REQUIRED_ROLES)


def idle_timeout_for(user) -> int:
    return rules.idle_timeout_seconds(
        roles.roles_of(user),
        default_minutes=settings.IDLE_TIMEOUT_MINUTES,
        by_role=settings.IDLE_TIMEOUT_MINUTES_BY_ROLE,
    )
