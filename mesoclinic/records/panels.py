"""The "Data rights" panel on the patient page (mesoclinic.core.panels)."""

from mesoclinic.core import panels, roles
from mesoclinic.records import selectors
from sessions.patient_record import patient_record


def patient_data_rights(request, *, patient) -> dict | None:
    manager = roles.has_role(request.user, roles.MANAGERS)
    # The page reads the patient's appointments and courses anyway: whether this
    # practitioner is on them costs no query.
    if not manager and not selectors.practitioner_on_record(
        request.user, patient_record(patient, clinical=True)
    ):
        return None
    # No query for managers (the patient page's budget): exports and the erasure status
    # are on the data-rights page the panel links to.
    return {"patient": patient, "manager": manager}


def register() -> None:
    panels.PATIENT_PAGE.append(
        panels.Panel("records/_patient_panel.html", patient_data_rights, roles.CLINICAL)
    )
