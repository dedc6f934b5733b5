"""Writes on staff accounts: managers' staff upkeep and two-factor enrolment.

Every change is audited. Rules a manager must not break: nobody changes their own
role or deactivates themselves, the clinic always keeps an active manager, and only a
superuser changes a superuser (superuser and staff status are never set here: staff
status follows the manager role, which gives the admin only the manager group's
model permissions).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mesoclinic import audit, emails, roles
from mesoclinic.accounts import rules
from mesoclinic.accounts.models import StaffAccount

Action = audit.Action
RECOVERY_CODE_COUNT = 10
# Without look-alike characters, so a code read off paper is typed right.
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class StaffError(ValidationError):
    """A staff change that cannot be made, with the reason in words."""


def _audit(*, by, user: User, action: str, summary: str, request=None) -> None:
    audit.record(request=request, actor=by, action=action, obj=user, summary=summary)


def _guard_superuser(*, by, user: User) -> None:
    if user.is_superuser and not (by is not None and by.is_superuser):
        raise StaffError("Only a superuser can change a superuser's account.")


def _active_manager_ids() -> list[int]:
    """Active managers, locked so two managers demoting each other cannot both succeed."""
    return list(
        User.objects.select_for_update()
        .filter(is_active=True, groups__name=roles.MANAGER)
        .values_list("pk", flat=True)
        .order_by("pk")
    )


def role_of(user: User) -> str | None:
    names = [g.name for g in user.groups.all() if g.name in roles.ALL_ROLES]
    for role in (roles.MANAGER, roles.PRACTITIONER, roles.FRONT_DESK):
        if role in names:
            return role
    return None


def _set_role(user: User, role: str) -> None:
    if role not in roles.ALL_ROLES:
        raise StaffError(f"{role!r} is not a role.")
    user.groups.set([Group.objects.get(name=role)])
    if not user.is_superuser:
        user.is_staff = role == roles.MANAGER
        user.save(update_fields=["is_staff"])


def new_temporary_password() -> str:
    """Three groups of four letters and digits: easy to read out, ~60 bits."""
    return "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(4)) for _ in range(3))


def _send_reset_link(user: User) -> None:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    emails.send_password_reset(
        to=user.email, user=user, reset_url=settings.SITE_URL.rstrip("/") + path
    )


def staff_create(
    *,
    by: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    password_mode: str,
    request=None,
) -> tuple[User, str | None]:
    """Create a colleague's account with a role. `password_mode` "email" sends a link to
    choose a password; "temporary" returns a password to hand over, which must be
    changed at the first sign-in."""
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise StaffError(f"There is already an account called {username!r}.")
    if password_mode == "email" and not email:
        raise StaffError("An email address is needed to send a link to choose a password.")
    if password_mode not in {"email", "temporary"}:
        raise StaffError("Choose how the colleague gets their password.")
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, first_name=first_name, last_name=last_name
        )
        _set_role(user, role)
        temporary = None
        account = StaffAccount.objects.get(user=user)
        account.created_by = by
        if password_mode == "temporary":
            temporary = new_temporary_password()
            user.set_password(temporary)
            user.save(update_fields=["password"])
            account.must_change_password = True
        account.save()
        _audit(
            by=by,
            user=user,
            action=Action.CREATE,
            summary=f"Created staff account {username} ({role})",
            request=request,
        )
        if password_mode == "email":
            transaction.on_commit(lambda: _send_reset_link(user))
    return user, temporary


def staff_update(
    *, by: User, user: User, first_name: str, last_name: str, email: str, role: str, request=None
) -> None:
    _guard_superuser(by=by, user=user)
    with transaction.atomic():
        managers = _active_manager_ids()
        current = role_of(user)
        changes = []
        if role != current:
            if user.pk == by.pk:
                raise StaffError("You cannot change your own role; ask another manager.")
            if rules.leaves_no_manager(
                active_manager_ids=managers,
                user_id=user.pk,
                stays_active_manager=user.is_active and role == roles.MANAGER,
            ):
                raise StaffError(
                    f"{user.get_username()} is the clinic's last manager: make someone else "
                    "a manager first."
                )
            _set_role(user, role)
            changes.append(f"role {current or 'none'} → {role}")
        for field, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("email", email),
        ):
            if getattr(user, field) != value:
                setattr(user, field, value)
                changes.append(field.replace("_", " "))
        if not changes:
            return
        user.save(update_fields=["first_name", "last_name", "email"])
        _audit(
            by=by,
            user=user,
            action=Action.CHANGE,
            summary=f"Changed {user.get_username()}: {', '.join(changes)}",
            request=request,
        )


def staff_set_active(*, by: User, user: User, active: bool, request=None) -> None:
    _guard_superuser(by=by, user=user)
    if user.is_active == active:
        return
    with transaction.atomic():
        managers = _active_manager_ids()
        if not active:
            if user.pk == by.pk:
                raise StaffError("You cannot deactivate your own account.")
            if (
                rules.leaves_no_manager(
                    active_manager_ids=managers, user_id=user.pk, stays_active_manager=False
                )
                and user.pk in managers
            ):
                raise StaffError(
                    f"{user.get_username()} is the clinic's last manager: make someone else "
                    "a manager first."
                )
        user.is_active = active
        user.save(update_fields=["is_active"])
        _audit(
            by=by,
            user=user,
            action=Action.REACTIVATE if active else Action.DEACTIVATE,
            summary=f"{'Reactivated' if active else 'Deactivated'} {user.get_username()}",
            request=request,
        )


def staff_send_password_reset(*, by: User, user: User, request=None) -> None:
    _guard_superuser(by=by, user=user)
    if not user.email:
        raise StaffError("This account has no email address: add one, or set a temporary password.")
    if not user.is_active:
        raise StaffError("Reactivate the account first.")
    with transaction.atomic():
        _audit(
            by=by,
            user=user,
            action=Action.PASSWORD,
            summary=f"Sent {user.get_username()} a link to choose a new password",
            request=request,
        )
        transaction.on_commit(lambda: _send_reset_link(user))


def staff_set_temporary_password(*, by: User, user: User, request=None) -> str:
    """A new password for the manager to hand over; the colleague must change it when
    they next sign in. Their other sessions end (the password hash changed)."""
    _guard_superuser(by=by, user=user)
    temporary = new_temporary_password()
    with transaction.atomic():
        user.set_password(temporary)
        user.save(update_fields=["password"])
        StaffAccount.objects.filter(user=user).update(must_change_password=True)
        _audit(
            by=by,
            user=user,
            action=Action.PASSWORD,
            summary=f"Set a temporary password for {user.get_username()} (must be changed)",
            request=request,
        )
    return temporary


def password_changed(*, user: User, request=None) -> None:
    """The user chose their own password: a temporary one no longer applies."""
    with transaction.atomic():
        StaffAccount.objects.filter(user=user).update(must_change_password=False)
        _audit(
            by=user,
            user=user,
            action=Action.PASSWORD,
            summary="Changed own password",
            request=request,
        )


def staff_unlock(*, by: User, user: User, request=None) -> int:
    """Lift a sign-in lockout (axes) on the account. Returns the records cleared."""
    from axes.utils import reset

    with transaction.atomic():
        cleared = reset(username=user.get_username())
        _audit(
            by=by,
            user=user,
            action=Action.UNLOCK,
            summary=f"Unlocked sign-in for {user.get_username()}",
            request=request,
        )
    return cleared


def staff_reset_two_factor(*, by: User, user: User, request=None) -> None:
    """Remove a colleague's authenticator and recovery codes (a lost phone): at their
    next sign-in they enrol again if their role requires it."""
    _guard_superuser(by=by, user=user)
    if user.pk == by.pk:
        raise StaffError("Reset your own authenticator from your two-factor page.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        _audit(
            by=by,
            user=user,
            action=Action.TWO_FACTOR_RESET,
            summary=f"Reset two-factor sign-in for {user.get_username()}",
            request=request,
        )


# --- Two-factor enrolment and verification -----------------------------------------


def normalise_code(raw: str) -> str:
    return "".join(raw.split()).replace("-", "").lower()[:32]


def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator for the user (any earlier unconfirmed one goes)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def pending_totp_device(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def totp_enrolment_confirm(*, user: User, token: str, request=None) -> tuple[TOTPDevice, list[str]]:
    """Confirm the new authenticator with a code from it; it replaces any earlier one.
    Returns the device and a fresh set of recovery codes (to show once)."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("-pk")
            .first()
        )
        if device is None:
            raise StaffError("Start the set-up again: no authenticator is waiting to be confirmed.")
        if not device.verify_token(normalise_code(token)):
            raise StaffError(
                "That code does not match. Check the time on your phone and type the "
                "6-digit code the app shows now."
            )
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _replace_recovery_codes(user)
        audit.record(
            request=request,
            actor=user,
            action=Action.TWO_FACTOR_ENROL,
            obj=user,
            summary=f"{user.get_username()} set up two-factor sign-in (authenticator app)",
        )
    return device, codes


def _replace_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [
        "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def recovery_codes_replace(*, user: User, request=None) -> list[str]:
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise StaffError("Set up an authenticator app first.")
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        audit.record(
            request=request,
            actor=user,
            action=Action.TWO_FACTOR_ENROL,
            obj=user,
            summary=f"{user.get_username()} made new recovery codes (the old ones stop working)",
        )
    return codes


def two_factor_remove_own(*, user: User, request=None) -> None:
    """A user whose role does not require two-factor sign-in may switch it off."""
    if rules.two_factor_required(roles.roles_of(user), settings.TWO_FACTOR_REQUIRED_ROLES):
        raise StaffError("Your role signs in with two factors; it cannot be switched off.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit.record(
            request=request,
            actor=user,
            action=Action.TWO_FACTOR_RESET,
            obj=user,
            summary=f"{user.get_username()} switched two-factor sign-in off",
        )


def second_factor_match(*, user: User, token: str):
    """The confirmed device that accepts this code (a used recovery code is spent), or None."""
    code = normalise_code(token)
    if not code:
        return None
    for device in devices_for_user(user, confirmed=True):
        if device.verify_token(code):
            return device
    return None


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
