"""Sign-in with a second factor, two-factor set-up, the idle-lock keepalive and the
managers' staff pages. Thin: forms parse, services change, selectors read."""

from __future__ import annotations

import time

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticToken

from mesoclinic import roles
from mesoclinic.accounts import forms, selectors, services
from mesoclinic.accounts.receivers import LAST_SEEN, MUST_CHANGE_PASSWORD

PENDING = "mc_pending_sign_in"
PENDING_SECONDS = 300


def _staff_only(view):
    """Declare the roles for the URL walk on a view that does its own access check."""
    view.allowed_roles = roles.STAFF
    return view


# --- Sign-in ----------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """Step 1: username and password (axes counts failures). An account with an
    authenticator, or whose role requires one, goes on to step 2 before it is signed in;
    until then nothing is logged in and axes' failure count is not reset."""

    def form_valid(self, form):
        user = form.get_user()
        needs = selectors.two_factor_required_for(user)
        enrolled = services.has_second_factor(user)
        if not needs and not enrolled:
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        step = "accounts:second_factor" if enrolled else "accounts:two_factor_enrol"
        return redirect(step)


def _pending_user(request) -> tuple[User | None, dict | None]:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None, None
    user = User.objects.filter(pk=pending.get("user"), is_active=True).first()
    return user, pending


def _finish_sign_in(request, user: User, pending: dict, device, how: str):
    request.session.pop(PENDING, None)
    user.backend = pending["backend"]
    user.otp_device = device  # django-otp marks the session verified on login
    request.mc_second_factor = how
    auth_login(request, user, backend=pending["backend"])
    target = pending.get("next") or reverse("home")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("home")
    return target


@_staff_only
@login_not_required
@never_cache
@sensitive_post_parameters("code")
def second_factor(request):
    """Step 2: a code from the authenticator app or a recovery code. Wrong codes count
    towards the same lockout as wrong passwords."""
    if request.user.is_authenticated:
        roles.check_role(request.user, roles.STAFF)
        return redirect("home")
    user, pending = _pending_user(request)
    if user is None:
        messages.info(request, "Sign in again: the sign-in took too long or was not started.")
        return redirect("login")
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        return get_lockout_response(request, None, credentials)
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.second_factor_match(user=user, token=form.cleaned_data["code"])
        if device is not None:
            recovery = device.persistent_id.startswith("otp_static")
            target = _finish_sign_in(
                request,
                user,
                pending,
                device,
                "a recovery code" if recovery else "authenticator app",
            )
            if recovery:
                left = StaticToken.objects.filter(device__user=user).count()
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. Make new ones on your "
                    "two-factor page if you are running out.",
                )
            return HttpResponseRedirect(target)
        request.mc_failure_reason = "wrong second-factor code"
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        form.add_error("code", "That code is not right. Type the code the app shows now.")
    return render(request, "accounts/second_factor.html", {"form": form, "username": user})


def _qr_svg(device) -> str:
    qr = segno.make(device.config_url, error="m")
    return mark_safe(qr.svg_inline(scale=5, border=2, dark="#212529", light="#ffffff"))


def _secret_for_typing(device) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@_staff_only
@login_not_required
@never_cache
@sensitive_post_parameters("code")
def two_factor_enrol(request):
    """Set up an authenticator: at sign-in (a role that requires it, not yet enrolled)
    or later from the two-factor page. Shows the recovery codes once."""
    signing_in = not request.user.is_authenticated
    if signing_in:
        user, pending = _pending_user(request)
        if user is None:
            messages.info(request, "Sign in first.")
            return redirect("login")
        if AxesProxyHandler.is_locked(request, {"username": user.get_username()}):
            return get_lockout_response(request, None, {"username": user.get_username()})
    else:
        user, pending = request.user, None
        roles.check_role(user, roles.STAFF)
    form = forms.EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.totp_enrolment_confirm(
                user=user, token=form.cleaned_data["code"], request=request
            )
        except services.StaffError as exc:
            form.add_error("code", exc.messages[0])
        else:
            if signing_in:
                target = _finish_sign_in(request, user, pending, device, "authenticator app (new)")
            else:
                from django_otp import login as otp_login

                otp_login(request, device)
                target = reverse("accounts:two_factor")
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": target})
    device = services.pending_totp_device(user=user) or services.totp_enrolment_start(user=user)
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "qr": _qr_svg(device),
            "secret": _secret_for_typing(device),
            "signing_in": signing_in,
            "account": user,
        },
    )


@roles.role_required(roles.STAFF)
@never_cache
def two_factor(request):
    """My two-factor sign-in: status, set up or replace the app, new recovery codes."""
    user = request.user
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "recovery_codes":
                codes = services.recovery_codes_replace(user=user, request=request)
                return render(
                    request,
                    "accounts/recovery_codes.html",
                    {"codes": codes, "next": reverse("accounts:two_factor")},
                )
            if action == "switch_off":
                services.two_factor_remove_own(user=user, request=request)
                messages.success(request, "Two-factor sign-in is off for your account.")
                return redirect("accounts:two_factor")
        except services.StaffError as exc:
            messages.error(request, exc.messages[0])
            return redirect("accounts:two_factor")
        messages.error(request, "Choose one of the buttons.")
        return redirect("accounts:two_factor")
    return render(
        request,
        "accounts/two_factor.html",
        {
            "enrolled": services.has_second_factor(user),
            "required": selectors.two_factor_required_for(user),
            "codes_left": StaticToken.objects.filter(device__user=user).count(),
        },
    )


@roles.role_required(roles.STAFF)
@require_POST
def keepalive(request):
    """The idle lock's 'I am still here': the browser calls it on activity."""
    request.session[LAST_SEEN] = time.time()
    return JsonResponse({"seconds_left": selectors.idle_timeout_for(request.user)})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; a temporary password stops applying, and it is audited."""

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(user=form.user, request=self.request)
        self.request.session.pop(MUST_CHANGE_PASSWORD, None)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(user=form.user, request=self.request)
        return response


@login_not_required
def admin_login(request):
    """The admin's own login would skip the second factor: send it to ours."""
    query = request.GET.urlencode()
    return HttpResponseRedirect(reverse("login") + (f"?{query}" if query else ""))


# --- Managers' staff pages ---------------------------------------------------------


def _staff_context(user: User) -> dict:
    return {"member": user, "role": services.role_of(user)}


@roles.role_required(roles.MANAGERS)
def staff_list(request):
    locked = selectors.locked_usernames()
    members = list(selectors.staff_list())
    for member in members:
        member.role_name = services.role_of(member)
        member.locked_since = locked.get(member.username)
    return render(
        request,
        "staff/list.html",
        {"members": members, "locked": [m for m in members if m.locked_since]},
    )


@roles.role_required(roles.MANAGERS)
def staff_locked(request):
    """The unlock page the locked-out message points to."""
    locked = selectors.locked_usernames()
    members = [m for m in selectors.staff_list() if m.username in locked]
    for member in members:
        member.locked_since = locked[member.username]
    return render(
        request,
        "staff/locked.html",
        {"members": members, "failure_limit": settings.AXES_FAILURE_LIMIT},
    )


@roles.role_required(roles.MANAGERS)
def staff_create(request):
    form = forms.StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, temporary = services.staff_create(by=request.user, request=request, **data)
        except services.StaffError as exc:
            form.add_error(None, exc.messages[0])
        else:
            if temporary:
                return render(
                    request,
                    "staff/temporary_password.html",
                    {"member": user, "password": temporary, "created": True},
                )
            messages.success(
                request,
                f"{user.get_username()} can sign in once they choose a password: "
                f"a link went to {user.email}.",
            )
            return redirect("staff:detail", account_id=user.staff_account.public_id)
    return render(request, "staff/create.html", {"form": form})


@roles.role_required(roles.MANAGERS)
def staff_detail(request, account_id):
    member = selectors.staff_member(account_id)
    initial = {
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "role": services.role_of(member),
    }
    form = forms.StaffEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_update(
                by=request.user, user=member, request=request, **form.cleaned_data
            )
        except services.StaffError as exc:
            form.add_error(None, exc.messages[0])
        else:
            messages.success(request, "Saved.")
            return redirect("staff:detail", account_id=account_id)
    context = _staff_context(member)
    context.update(
        form=form,
        locked_since=selectors.locked_usernames().get(member.username),
        is_self=member.pk == request.user.pk,
        editable=not member.is_superuser or request.user.is_superuser,
    )
    return render(request, "staff/detail.html", context)


def _staff_action(request, account_id, action):
    member = selectors.staff_member(account_id)
    try:
        result = action(member)
    except services.StaffError as exc:
        messages.error(request, exc.messages[0])
        return redirect("staff:detail", account_id=account_id)
    if result is not None:
        return result
    return redirect("staff:detail", account_id=account_id)


@roles.role_required(roles.MANAGERS)
@require_POST
def staff_set_active(request, account_id):
    active = request.POST.get("active") == "1"

    def act(member):
        services.staff_set_active(by=request.user, user=member, active=active, request=request)
        messages.success(
            request,
            f"{member.get_username()} "
            f"{'can sign in again' if active else 'can no longer sign in'}.",
        )

    return _staff_action(request, account_id, act)


@roles.role_required(roles.MANAGERS)
@require_POST
def staff_password_link(request, account_id):
    def act(member):
        services.staff_send_password_reset(by=request.user, user=member, request=request)
        messages.success(request, f"A link to choose a new password went to {member.email}.")

    return _staff_action(request, account_id, act)


@roles.role_required(roles.MANAGERS)
@require_POST
@never_cache
def staff_temporary_password(request, account_id):
    def act(member):
        password = services.staff_set_temporary_password(
            by=request.user, user=member, request=request
        )
        return render(
            request, "staff/temporary_password.html", {"member": member, "password": password}
        )

    return _staff_action(request, account_id, act)


@roles.role_required(roles.MANAGERS)
@require_POST
def staff_unlock(request, account_id):
    def act(member):
        services.staff_unlock(by=request.user, user=member, request=request)
        messages.success(request, f"{member.get_username()} can sign in again.")
        if request.POST.get("from") == "locked":
            return redirect("staff:locked")
        return None

    return _staff_action(request, account_id, act)


@roles.role_required(roles.MANAGERS)
@require_POST
def staff_two_factor_reset(request, account_id):
    def act(member):
        services.staff_reset_two_factor(by=request.user, user=member, request=request)
        messages.success(
            request,
            f"{member.get_username()}'s authenticator and recovery codes are removed; they set "
            "up a new one at their next sign-in.",
        )

    return _staff_action(request, account_id, act)
