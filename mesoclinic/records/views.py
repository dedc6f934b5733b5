"""Staff pages for a patient's data rights: FHIR export, subject-access exports, erasure."""

import json

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404

from mesoclinic.core import audit, roles
from mesoclinic.records import selectors
from patients.models import Patient


def _patient_for(request, patient_id, *, allowed=roles.MANAGERS) -> Patient:
    """The patient, if this user may act on their record: managers any patient; a
    practitioner (where `allowed` includes them) only their own. Anything else is a 404."""
    patient = get_object_or_404(Patient, public_id=patient_id)
    if roles.has_role(request.user, roles.MANAGERS):
        return patient
    if (
        roles.PRACTITIONER in allowed
        and roles.has_role(request.user, {roles.PRACTITIONER})
        and selectors.practitioner_may_export(request.user, patient)
    ):
        return patient
    raise Http404("No such patient among yours.")


@roles.role_required(roles.CLINICAL)
def fhir_export(request, patient_id):
    """The patient's whole record as one FHIR R4 Bundle (JSON download), audited."""
    patient = _patient_for(request, patient_id, allowed=roles.CLINICAL)
    bundle = selectors.patient_bundle(patient)
    audit.record(
        request=request,
        action=audit.Action.EXPORT,
        patient=patient,
        obj=patient,
        summary=f"FHIR R4 export: {len(bundle['entry'])} resources",
    )
    response = HttpResponse(
        json.dumps(bundle, ensure_ascii=False, indent=1),
        content_type="application/fhir+json; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="patient-{patient.public_id}-fhir.json"'
    )
    return response
