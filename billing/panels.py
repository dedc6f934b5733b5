"""Billing's panel on the patient page (front desk and managers), registered in ready()."""

from django.urls import reverse
from django.utils import timezone

from billing import selectors
from mesoclinic.core import panels, roles
from mesoclinic.core.money import format_money


def patient_billing(request, *, patient) -> dict:
    return {
        "show": True,
        "patient": patient,
        "today": timezone.localdate(),
        **selectors.patient_billing(patient),
    }


def patient_summary(request, *, patient) -> list[panels.Fact]:
    """What the patient owes, for the page's header (the billing panel's own read)."""
    billing = selectors.patient_billing(patient)
    outstanding = billing["outstanding"]
    credits = billing["credits_left"]
    in_credit = f"{credits} session{'' if credits == 1 else 's'} in credit" if credits else ""
    if outstanding <= 0:
        return [panels.Fact(panels.OWED, "Nothing owed", detail=in_credit, url="#billing")]
    unpaid = [
        inv for inv in billing["invoices"] if (b := billing["balances"].get(inv.pk)) and b.due > 0
    ]
    # The oldest unpaid invoice is the one to settle first; several: the billing panel.
    url = (
        reverse("billing:invoice_detail", args=[unpaid[-1].public_id])
        if len(unpaid) == 1
        else "#billing"
    )
    amount = format_money(outstanding)
    count = f"{len(unpaid)} unpaid invoice{'' if len(unpaid) == 1 else 's'}"
    return [
        panels.Fact(
            panels.OWED,
            f"{amount} owed",
            detail=" · ".join(x for x in (count, in_credit) if x),
            url=url,
            tone="danger",
        ),
        panels.Fact(
            panels.BLOCKER,
            f"Outstanding balance of {amount}",
            detail="Settle or agree a payment before the next session.",
            url=url,
            tone="warning",
        ),
    ]


def register() -> None:
    panels.PATIENT_PAGE.append(
        panels.Panel("billing/_patient_panel.html", patient_billing, roles=roles.FRONT_OFFICE)
    )
    panels.PATIENT_SUMMARY.append(panels.SummarySource(patient_summary, roles=roles.FRONT_OFFICE))
