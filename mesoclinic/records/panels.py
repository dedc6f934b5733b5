"""The "Data rights" panel on the patient page (mesoclinic.core.panels)."""

from mesoclinic.core import panels, roles
from mesoclinic.records import selectors


def patient_data_rights(request, *, patient) -> dict | None:
    manager = roles.has_role(request.user, roles.MANAGERS)
    if not manager and not selectors.practitioner_may_export(request.user, patient):
        return None
    # No query for managers (the patient page's budget): exports and the erasure status
    # are on the data-rights page the panel links to.
    return {"patient": patient, "manager": manager}


def register() -> None:
    panels.PATIENT_PAGE.append(
        panels.Panel("records/_patient_panel.html", patient_data_rights, roles.CLINICAL)
    )
