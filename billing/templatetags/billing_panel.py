"""The billing panel on the patient page (front desk and managers only)."""

from django import template
from django.utils import timezone

from billing import selectors
from mesoclinic.core import roles

register = template.Library()


@register.inclusion_tag("billing/_patient_panel.html", takes_context=True)
def patient_billing_panel(context, patient):
    request = context.get("request")
    user = getattr(request, "user", None)
    if not roles.has_role(user, roles.FRONT_OFFICE):
        return {"show": False}
    return {
        "show": True,
        "patient": patient,
        "today": timezone.localdate(),
        **selectors.patient_billing(patient),
    }


@register.filter
def quote_status(quote, today):
    """{{ quote|quote_status:today }}: the status a person reads, "Expired" included."""
    return quote.display_status(today)
