"""Roles are Django groups. Views declare which roles may open them.

docs/permissions.md is the written matrix; tests/test_permissions.py walks every
URL pattern and checks each view's declared roles against that document and
against real requests, so the code and the document cannot drift apart.
"""

from collections.abc import Callable, Iterable
from functools import wraps

from django.core.exceptions import PermissionDenied

PRACTITIONER = "practitioner"
FRONT_DESK = "front desk"
MANAGER = "manager"
ALL_ROLES = (PRACTITIONER, FRONT_DESK, MANAGER)

# The usual combinations, named for what they protect.
STAFF = frozenset(ALL_ROLES)
CLINICAL = frozenset({PRACTITIONER, MANAGER})
FRONT_OFFICE = frozenset({FRONT_DESK, MANAGER})
MANAGERS = frozenset({MANAGER})

# Model permissions each group gets in the admin. Views check roles, not these;
# they let a manager use the admin for catalogue and user upkeep.
GROUP_MODEL_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    MANAGER: {
        # Staff accounts are managed in the app (mesoclinic.core.accounts), audited; the
        # admin shows them read-only to managers.
        "auth.user": ("view",),
        "patients.patient": ("view", "add", "change"),
        "patients.screening": ("view",),
        "core.auditevent": ("view",),
        "protocols.protocol": ("view", "add", "change"),
        "protocols.consentversion": ("view",),
        "patients.signedconsent": ("view",),
        "clinic_sessions.sessionchart": ("view",),
        "clinic_sessions.chartproduct": ("view",),
        "clinic_sessions.sessiondocument": ("view",),
        # Price lists and packages are kept in the app (validated, audited).
        "billing.pricelist": ("view",),
        "billing.price": ("view",),
        "billing.package": ("view",),
        "billing.packageitem": ("view",),
        "billing.quote": ("view",),
        "billing.purchase": ("view",),
        "billing.credituse": ("view",),
        "billing.invoice": ("view",),
        "billing.payment": ("view",),
        "billing.instalment": ("view",),
    },
    PRACTITIONER: {
        "patients.patient": ("view", "add", "change"),
        "patients.screening": ("view", "add"),
        "protocols.protocol": ("view",),
    },
    FRONT_DESK: {
        "patients.patient": ("view", "add", "change"),
    },
}


def roles_of(user) -> frozenset[str]:
    """The role names of a user, read once per request and cached on the user."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_mesoclinic_roles", None)
    if cached is None:
        cached = remember_roles(user, user.groups.values_list("name", flat=True))
    return cached


def remember_roles(user, group_names: Iterable[str]) -> frozenset[str]:
    """Cache the user's roles from their group names (read with the user, see
    accounts.backends.StaffBackend), so `roles_of` runs no query."""
    names = set(group_names)
    if user.is_superuser:
        names |= set(ALL_ROLES)
    user._mesoclinic_roles = frozenset(names & set(ALL_ROLES))
    return user._mesoclinic_roles


def has_role(user, allowed: Iterable[str]) -> bool:
    return bool(roles_of(user) & frozenset(allowed))


def check_role(user, allowed: Iterable[str]) -> None:
    if not has_role(user, allowed):
        raise PermissionDenied("Your role does not give access to this page.")


def role_required(allowed: Iterable[str]) -> Callable:
    """Decorate a function view; the roles are kept on the view for the URL walk test."""
    allowed = frozenset(allowed)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            check_role(request.user, allowed)
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = allowed
        return wrapped

    return decorator


class RoleRequiredMixin:
    """Class-based views set `allowed_roles`; dispatch refuses everyone else with 403."""

    allowed_roles: frozenset[str] = frozenset()

    def dispatch(self, request, *args, **kwargs):
        check_role(request.user, self.allowed_roles)
        return super().dispatch(request, *args, **kwargs)


def sync_groups(**_signal_kwargs) -> None:
    """Ensure the three groups exist with their model permissions. Idempotent.

    The groups themselves are created by a data migration; this runs after every
    migrate (and after a test flush) to attach permissions, which only exist once
    every app has migrated.
    """
    # roles is imported while apps load (AppConfig modules); auth's models exist only later.
    from django.contrib.auth.models import Group, Permission

    for role in ALL_ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for model_label, actions in GROUP_MODEL_PERMISSIONS.get(role, {}).items():
            app_label, model = model_label.split(".")
            codenames = [f"{action}_{model}" for action in actions]
            wanted += Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        group.permissions.set(wanted)
