from django.conf import settings

from mesoclinic.core import roles


def clinic(request):
    user = getattr(request, "user", None)
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "user_roles": roles.roles_of(user) if user is not None else frozenset(),
    }
