"""Billing's panel on the patient page (front desk and managers), registered in ready()."""

from django.utils import timezone

from billing import selectors
from mesoclinic.core import panels, roles


def patient_billing(request, *, patient) -> dict:
    return {
        "show": True,
        "patient": patient,
        "today": timezone.localdate(),
        **selectors.patient_billing(patient),
    }


def register() -> None:
    panels.PATIENT_PAGE.append(
        panels.Panel("billing/_patient_panel.html", patient_billing, roles=roles.FRONT_OFFICE)
    )
