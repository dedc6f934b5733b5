"""Consent in the browser: read, sign on a tablet, countersign, withdraw, download the PDF.

Thin views: parse, call a service in patients.services, render. Clinical roles only.
"""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from mesoclinic.core import audit, navigation, roles
from patients import selectors, services
from patients.forms import ConsentSignForm, ConsentWithdrawForm
from protocols.models import Protocol
from protocols.services import current_consent

# The consent page refreshes itself while the PDF is prepared; only a PDF still
# missing after this long is asked for again.


@roles.role_required(roles.CLINICAL)
def consent_list(request, patient_id):
    patient = selectors.patient_for_staff(patient_id)
    signed = selectors.signed_consents(patient)
    audit.record(
        request=request, action=audit.Action.VIEW, patient=patient, obj=patient, summary="Consents"
    )
    live_protocol_ids = {c.protocol_id for c in signed if not c.is_withdrawn}
    return render(
        request,
        "patients/consent_list.html",
        {
            "patient": patient,
            "signed_consents": signed,
            "protocols": Protocol.objects.bookable().order_by("name"),
            "live_protocol_ids": live_protocol_ids,
            "withdraw_form": ConsentWithdrawForm(),
        },
    )


@roles.role_required(roles.CLINICAL)
def consent_sign(request, patient_id, protocol_id):
    patient = selectors.patient_for_staff(patient_id)
    protocol = get_object_or_404(Protocol, pk=protocol_id)
    version = current_consent(protocol)
    if version is None:
        raise Http404("This protocol has no consent text.")
    form = ConsentSignForm(request.POST or None, initial={"version_id": version.pk})
    # The page it was opened from (the session chart), to go back to once signed.
    back = navigation.local_path(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST" and form.is_valid():
        try:
            signed = services.consent_sign(
                patient=patient,
                protocol=protocol,
                version_id=form.cleaned_data["version_id"],
                patient_signature=form.cleaned_data["patient_signature"],
                practitioner_signature=form.cleaned_data["practitioner_signature"],
                by=request.user,
                request=request,
            )
        except services.PatientError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                form.add_error(None, exc.messages[0])
        else:
            messages.success(
                request, f"Consent to {protocol.name} signed. Its PDF is being prepared."
            )
            if back:
                return redirect(back)
            return redirect(
                "patients:consent_detail", patient_id=patient.public_id, consent_id=signed.public_id
            )
    text = services.consent_document_text(version=version, patient=patient)
    audit.record(
        request=request,
        action=audit.Action.VIEW,
        patient=patient,
        obj=version,
        summary=f"Consent to {protocol.name} opened for signing",
    )
    return render(
        request,
        "patients/consent_sign.html",
        {
            "patient": patient,
            "protocol": protocol,
            "version": version,
            "text": text,
            "form": form,
            "current": selectors.current_signed_consent(patient=patient, protocol=protocol),
            "back": back,
        },
    )


@roles.role_required(roles.CLINICAL)
def consent_detail(request, patient_id, consent_id):
    signed = selectors.signed_consent_for_staff(patient_id=patient_id, consent_id=consent_id)
    audit.record(
        request=request,
        action=audit.Action.VIEW,
        patient=signed.patient,
        obj=signed,
        summary=f"Signed consent to {signed.protocol.name}",
    )
    return render(
        request,
        "patients/consent_detail.html",
        {"patient": signed.patient, "signed": signed},
    )


@roles.role_required(roles.CLINICAL)
def consent_pdf(request, patient_id, consent_id):
    """The stored PDF, from private storage, after a role check; never regenerated."""
    signed = selectors.signed_consent_for_staff(patient_id=patient_id, consent_id=consent_id)
    if not signed.pdf:
        return redirect(
            "patients:consent_detail", patient_id=patient_id, consent_id=signed.public_id
        )
    try:
        handle = signed.pdf.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The PDF file is missing.") from exc
    audit.record(
        request=request,
        action=audit.Action.DOWNLOAD,
        patient=signed.patient,
        obj=signed,
        summary="Signed consent PDF",
    )
    response = FileResponse(
        handle,
        content_type="application/pdf",
        filename=f"consent-{signed.protocol.name}-{signed.signed_at:%Y-%m-%d}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@roles.role_required(roles.CLINICAL)
@require_POST
def consent_withdraw(request, patient_id, consent_id):
    signed = selectors.signed_consent_for_staff(patient_id=patient_id, consent_id=consent_id)
    form = ConsentWithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Record what the patient said before withdrawing the consent.")
    else:
        try:
            services.consent_withdraw(
                patient=signed.patient,
                protocol=signed.protocol,
                reason=form.cleaned_data["reason"],
                by=request.user,
                request=request,
            )
        except services.PatientError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(
                request,
                f"Consent to {signed.protocol.name} withdrawn. No further sessions until "
                "the patient signs again.",
            )
    return redirect("patients:consents", patient_id=signed.patient.public_id)
