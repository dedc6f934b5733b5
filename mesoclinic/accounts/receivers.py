"""Signal receivers, connected in AccountsConfig.ready(): every user has a StaffAccount,
and sign-ins, failed sign-ins and sign-outs go to the audit log."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save

from mesoclinic import audit
from mesoclinic.accounts.models import StaffAccount

# Session keys the staff-session middleware reads.
LAST_SEEN = "mc_last_seen"
MUST_CHANGE_PASSWORD = "mc_must_change_password"


def create_staff_account(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        StaffAccount.objects.get_or_create(user=instance)


def on_logged_in(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    request.session[LAST_SEEN] = time.time()
    account = StaffAccount.objects.filter(user=user).only("must_change_password").first()
    if account is not None and account.must_change_password:
        request.session[MUST_CHANGE_PASSWORD] = True
    how = getattr(request, "mc_second_factor", None)
    audit.record(
        request=request,
        actor=user,
        action=audit.Action.SIGN_IN,
        obj=user,
        summary=f"Signed in with {how}" if how else "Signed in (password only)",
    )


def on_login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username") or "")[:150]
    reason = getattr(request, "mc_failure_reason", None) or "wrong username or password"
    audit.record(
        request=request,
        actor=None,
        actor_label=username or "(no username)",
        action=audit.Action.SIGN_IN_FAILED,
        summary=f"Sign-in failed: {reason}",
    )


def on_logged_out(sender, request, user, **kwargs):
    if user is None or request is None:
        return
    reason = getattr(request, "mc_sign_out_reason", None) or "Signed out"
    audit.record(
        request=request, actor=user, action=audit.Action.SIGN_OUT, obj=user, summary=reason
    )


def connect() -> None:
    post_save.connect(
        create_staff_account, sender=get_user_model(), dispatch_uid="accounts.staff_account"
    )
    user_logged_in.connect(on_logged_in, dispatch_uid="accounts.logged_in")
    user_login_failed.connect(on_login_failed, dispatch_uid="accounts.login_failed")
    user_logged_out.connect(on_logged_out, dispatch_uid="accounts.logged_out")
