from django.conf import settings

from mesoclinic.core import roles


def clinic(request):
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)  # None on error pages
    return {
        # Where the page sits in the menu: its URL namespace (or name) and its name.
        "nav_here": (match.namespace or match.url_name) if match else "",
        "nav_page": match.url_name if match else "",
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "user_roles": roles.roles_of(user) if user is not None else frozenset(),
        # What the menu may offer, from the same role sets the views check.
        "can": {
            "manage": roles.has_role(user, roles.MANAGERS),
            "front_office": roles.has_role(user, roles.FRONT_OFFICE),
            "clinical": roles.has_role(user, roles.CLINICAL),
        },
    }
