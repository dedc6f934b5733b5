"""Staff pages for a patient's data rights: FHIR export, subject-access exports, erasure."""

import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from mesoclinic.core import audit, roles
from mesoclinic.records import selectors, services
from mesoclinic.records.forms import ApiTokenForm
from mesoclinic.records.models import ApiToken
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


@roles.role_required(roles.MANAGERS)
def api_tokens(request):
    """FHIR API tokens: the list, and a form to create one (its value is shown once)."""
    created = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.api_token_create(
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                practitioner=form.cleaned_data["practitioner"],
                by=request.user,
                request=request,
            )
        except services.RecordsError as exc:
            form.add_error(None, exc.messages[0])
        else:
            created = {"token": token, "raw": raw}
            form = ApiTokenForm()
    tokens = ApiToken.objects.select_related("practitioner", "created_by", "revoked_by")
    return render(
        request,
        "records/api_tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "created": created,
            "base_url": request.build_absolute_uri("/fhir/"),
            "rate": settings.FHIR_API_RATE_PER_MINUTE,
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


@roles.role_required(roles.MANAGERS)
@require_POST
def api_token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, public_id=token_id)
    if services.api_token_revoke(token=token, by=request.user, request=request):
        messages.success(request, f"Token “{token.name}” revoked: it no longer opens the API.")
    else:
        messages.info(request, f"Token “{token.name}” was already revoked.")
    return redirect("records:api_tokens")
