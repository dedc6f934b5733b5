"""Staff pages for a patient's data rights: FHIR export, subject-access exports, erasure."""

import json
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from mesoclinic.core import links, roles
from mesoclinic.records import messages as record_messages
from mesoclinic.records import retention, selectors, services
from mesoclinic.records.forms import ApiTokenForm, ErasureForm
from mesoclinic.records.models import ApiToken, ErasureRequest, SubjectAccessExport
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
    services.fhir_exported(
        patient=patient, resources=len(bundle["entry"]), by=request.user, request=request
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


# --- subject-access exports ------------------------------------------------------------


@roles.role_required(roles.MANAGERS)
@require_POST
def sar_request(request, patient_id):
    patient = _patient_for(request, patient_id)
    services.sar_request(patient=patient, by=request.user, request=request)
    messages.success(
        request,
        "The subject-access export is being prepared; it appears under Data rights when "
        "ready (usually within a minute).",
    )
    return redirect("records:data_rights", patient_id=patient.public_id)


@roles.role_required(roles.MANAGERS)
def data_rights(request, patient_id):
    """A patient's subject-access exports (download, send a link) and erasure status."""
    patient = _patient_for(request, patient_id)
    return render(
        request,
        "records/data_rights.html",
        {
            "patient": patient,
            "link_days": settings.SUBJECT_ACCESS_LINK_DAYS,
            **selectors.data_rights_overview(patient),
        },
    )


def _export_for(request, export_id) -> SubjectAccessExport:
    return get_object_or_404(
        SubjectAccessExport.objects.select_related("patient"), public_id=export_id
    )


def _zip_response(export: SubjectAccessExport):
    try:
        handle = export.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The export file is no longer stored.") from exc
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"data-export-{export.patient.last_name.lower() or 'patient'}-"
        f"{export.completed_at:%Y%m%d}.zip",
        content_type="application/zip",
    )


@roles.role_required(roles.MANAGERS)
def sar_download(request, export_id):
    export = _export_for(request, export_id)
    if export.status != SubjectAccessExport.Status.READY or not export.file:
        messages.error(request, f"This export is not available ({export.get_status_display()}).")
        return redirect("records:data_rights", patient_id=export.patient.public_id)
    response = _zip_response(export)
    services.sar_downloaded(export=export, by=request.user, request=request)
    return response


@roles.role_required(roles.MANAGERS)
@require_POST
def sar_send_link(request, export_id):
    export = _export_for(request, export_id)
    try:
        sent_to = services.sar_send_link(export=export, by=request.user, request=request)
    except services.RecordsError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            f"A download link valid for {settings.SUBJECT_ACCESS_LINK_DAYS} days is being "
            f"emailed to {sent_to}.",
        )
    return redirect("records:data_rights", patient_id=export.patient.public_id)


@login_not_required
def sar_patient_download(request, token):
    """The patient's signed, expiring link (no login)."""
    try:
        export_pk = links.read_token(
            token,
            record_messages.LINK_ACTION,
            max_age=timedelta(days=settings.SUBJECT_ACCESS_LINK_DAYS),
        )
    except links.LinkError as error:
        return links.link_error_page(request, error)
    export = (
        SubjectAccessExport.objects.select_related("patient")
        .filter(pk=export_pk, status=SubjectAccessExport.Status.READY)
        .exclude(file="")
        .first()
    )
    if export is None:
        return links.link_error_page(request, links.LinkError(expired=True))
    response = _zip_response(export)
    services.sar_downloaded(export=export, request=request)
    return response


# --- erasure ----------------------------------------------------------------------------


@roles.role_required(roles.MANAGERS)
def erasure(request, patient_id):
    """Before: what would be erased now and what retained until when, and the form.
    After: the recorded request, item by item."""
    patient = _patient_for(request, patient_id)
    existing = ErasureRequest.objects.filter(patient=patient).first()
    form = None
    status = 200
    if existing is None:
        form = ErasureForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.erasure_request(
                    patient=patient,
                    by=request.user,
                    note=form.cleaned_data["note"],
                    request=request,
                )
            except services.RecordsError as exc:
                messages.error(request, exc.messages[0])
            else:
                messages.success(request, "Erasure request recorded and carried out.")
            return redirect("records:erasure", patient_id=patient.public_id)
        if request.method == "POST":
            status = 400
        items = [i.as_dict() for i in retention.plan(selectors.retention_facts(patient))]
    else:
        items = existing.plan
    erased = set(existing.erased) if existing else set()
    items = [{**i, "until": date.fromisoformat(i["until"]) if i["until"] else None} for i in items]
    return render(
        request,
        "records/erasure.html",
        {
            "patient": patient,
            "erasure": existing,
            "form": form,
            "erase_now": [i for i in items if i["action"] == "erase"],
            "retained": [i for i in items if i["action"] == "retain"],
            "erased": erased,
        },
        status=status,
    )
