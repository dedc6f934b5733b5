from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mesoclinic.core import audit, links, message_kinds, outbox, panels, roles, timeline
from patients import links as links_actions
from patients import selectors, services
from patients.forms import (
    AcknowledgementForm,
    PatientForm,
    PatientSearchForm,
    PhotoForm,
    ScreeningForm,
)
from patients.models import ClinicalPhoto, Patient


@roles.role_required(roles.STAFF)
def patient_list(request):
    form = PatientSearchForm(request.GET or None)
    query, include_archived = "", False
    if form.is_valid():
        query = form.cleaned_data["q"]
        include_archived = form.cleaned_data["archived"]
    patients = list(selectors.patient_search(query=query, include_archived=include_archived))
    template = "patients/_results.html" if request.htmx else "patients/list.html"
    return render(request, template, {"form": form, "patients": patients, "query": query})


@roles.role_required(roles.STAFF)
def patient_create(request):
    form = PatientForm(request.POST or None, check_duplicates=True)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_register(
                data=form.cleaned_data,
                by=request.user,
                request=request,
                confirmed_not_duplicate=form.cleaned_data["confirm_not_duplicate"],
            )
        except services.PossibleDuplicate as exc:
            # A colleague registered someone alike a moment ago: show them too.
            form.duplicates = exc.matches
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{patient.full_name} is registered.")
            return redirect("patients:detail", patient_id=patient.public_id)
    return render(request, "patients/form.html", {"form": form, "creating": True})


# What lifts each screening blocker, in the header (the reasons are in the screening card).
SCREENING_NEXT_STEP = {
    "missing": "Take a screening before any treatment.",
    "out_of_date": "Take a new screening before the next treatment.",
    "blocked": "Review the screening with the patient before any treatment.",
    "needs_acknowledgement": "A practitioner records a decision before treatment.",
}


def _screening_facts(patient, evaluation, request) -> list[panels.Fact]:
    """The screening as a blocker in the page's header, as this reader may read it
    (front desk: the status alone, from `screening_as_seen_by`)."""
    if evaluation.may_treat:
        return []
    url = ""
    if roles.has_role(request.user, roles.CLINICAL):
        # No screening or a stale one: take a new one; otherwise review the latest.
        retake = evaluation.status in ("missing", "out_of_date")
        name = "patients:screening_create" if retake else "patients:screening"
        url = reverse(name, args=[patient.public_id])
    return [
        panels.Fact(
            panels.BLOCKER,
            f"Screening: {evaluation.label}",
            detail=SCREENING_NEXT_STEP.get(evaluation.status, ""),
            url=url,
            tone="danger" if evaluation.status == "blocked" else "warning",
        )
    ]


@roles.role_required(roles.STAFF)
def patient_detail(request, patient_id):
    patient = selectors.patient_for_staff(patient_id)
    screenings = selectors.patient_screenings(patient)
    latest = screenings[0] if screenings else None
    evaluation = selectors.screening_as_seen_by(
        selectors.screening_evaluation(latest=latest), roles=roles.roles_of(request.user)
    )
    audit.record(
        request=request,
        action=audit.Action.VIEW,
        patient=patient,
        obj=patient,
        summary="Patient page",
    )
    messages_read = outbox.patient_messages(patient)
    page_panels = panels.render(panels.PATIENT_PAGE, request, patient=patient)
    return render(
        request,
        "patients/detail.html",
        {
            "patient": patient,
            "latest_screening": latest,
            "evaluation": evaluation,
            "timeline": selectors.patient_timeline(
                patient,
                roles=roles.roles_of(request.user),
                screenings=screenings,
                limit=None if request.GET.get("timeline") == "all" else timeline.PAGE_LIMIT,
            ),
            "can_see_clinical": roles.has_role(request.user, roles.CLINICAL),
            "patient_messages": messages_read.recent,
            "message_counts": messages_read.counts,
            "message_labels": {k.code: k.label for k in message_kinds.KINDS},
            "panels": page_panels,
            "summary": panels.summary(
                panels.PATIENT_SUMMARY,
                request,
                patient=patient,
                extra=_screening_facts(patient, evaluation, request),
            ),
        },
    )


@roles.role_required(roles.STAFF)
def patient_edit(request, patient_id):
    patient = selectors.patient_for_staff(patient_id)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        services.patient_update(
            patient=patient, data=form.cleaned_data, by=request.user, request=request
        )
        messages.success(request, "Changes saved.")
        return redirect("patients:detail", patient_id=patient.public_id)
    return render(request, "patients/form.html", {"form": form, "patient": patient})


@roles.role_required(roles.STAFF)
@require_POST
def patient_archive(request, patient_id):
    patient = selectors.patient_for_staff(patient_id)
    try:
        if "restore" in request.POST:
            services.patient_restore(patient=patient, by=request.user, request=request)
            messages.success(request, f"{patient.full_name} is active again.")
        else:
            services.patient_archive(patient=patient, by=request.user, request=request)
            messages.success(request, f"{patient.full_name} is archived.")
    except services.PatientError as exc:
        messages.error(request, exc.message)
    return redirect("patients:detail", patient_id=patient.public_id)


@roles.role_required(roles.CLINICAL)
def screening_create(request, patient_id):
    patient = selectors.patient_for_staff(patient_id)
    form = ScreeningForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.screening_record(
                patient=patient,
                taken_on=form.cleaned_data["taken_on"],
                answers=form.answers(),
                none_apply=form.cleaned_data["none_apply"],
                answered_by=form.cleaned_data["answered_by"],
                answered_by_name=form.cleaned_data["answered_by_name"],
                by=request.user,
                request=request,
                current_medications=form.cleaned_data["current_medications"],
                other_information=form.cleaned_data["other_information"],
            )
        except services.PatientError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, "Screening recorded.")
            return redirect("patients:screening", patient_id=patient.public_id)
    return render(request, "patients/screening_form.html", {"form": form, "patient": patient})


@roles.role_required(roles.CLINICAL)
def screening_latest(request, patient_id):
    patient = selectors.patient_for_staff(patient_id)
    latest = selectors.latest_screening(patient)
    evaluation = selectors.screening_evaluation(latest=latest)
    ack_form = AcknowledgementForm()
    if request.method == "POST" and latest is not None:
        ack_form = AcknowledgementForm(request.POST)
        if ack_form.is_valid():
            try:
                services.screening_acknowledge(
                    screening=latest,
                    code=ack_form.cleaned_data["code"],
                    reason=ack_form.cleaned_data["reason"],
                    by=request.user,
                    request=request,
                )
            except services.PatientError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Decision recorded.")
                return redirect("patients:screening", patient_id=patient.public_id)
    audit.record(
        request=request,
        action=audit.Action.VIEW,
        patient=patient,
        obj=latest or patient,
        summary="Screening",
    )
    by_protocol = selectors.screening_by_protocol(latest=latest) if latest else []
    # A relative contraindication of any bookable protocol can be acknowledged here,
    # not only those of the default PRP list.
    to_acknowledge = {r.code: r for r in evaluation.needs_acknowledgement}
    for _protocol, result in by_protocol:
        for rule in result.needs_acknowledgement:
            to_acknowledge.setdefault(rule.code, rule)
    return render(
        request,
        "patients/screening.html",
        {
            "patient": patient,
            "screening": latest,
            "evaluation": evaluation,
            "ack_form": ack_form,
            "by_protocol": by_protocol,
            "to_acknowledge": list(to_acknowledge.values()),
        },
    )


@login_not_required
def unsubscribe(request, token):
    """Public: a patient turns marketing emails off from the link in an email."""
    try:
        patient_pk = links.read_token(token, links_actions.UNSUBSCRIBE)
    except links.LinkError as error:
        return links.link_error_page(request, error)
    patient = Patient.objects.filter(pk=patient_pk).first()
    if patient is None:
        return links.link_error_page(request, links.LinkError(expired=False))
    if request.method == "POST":
        services.patient_unsubscribe(patient=patient, request=request)
        return render(request, "links/unsubscribe.html", {"done": True})
    return render(request, "links/unsubscribe.html", {"done": not patient.consents_to_marketing})


@roles.role_required(roles.CLINICAL)
def photos(request, patient_id):
    patient = selectors.patient_for_staff(patient_id)
    form = PhotoForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.photo_add(
                patient=patient,
                data=form.cleaned_data["image"].read(),
                kind=form.cleaned_data["kind"],
                area=form.cleaned_data["area"],
                taken_on=form.cleaned_data["taken_on"],
                note=form.cleaned_data["note"],
                by=request.user,
                request=request,
            )
        except services.PatientError as exc:
            form.add_error("image", exc.message)
        else:
            messages.success(request, "Photo saved.")
            return redirect("patients:photos", patient_id=patient.public_id)
    audit.record(
        request=request, action=audit.Action.VIEW, patient=patient, obj=patient, summary="Photos"
    )
    return render(
        request,
        "patients/photos.html",
        {"patient": patient, "form": form, "comparisons": selectors.photo_comparisons(patient)},
    )


@roles.role_required(roles.CLINICAL)
def photo_file(request, patient_id, photo_id):
    """Photos are never public files: each one is served after a role check."""
    photo = get_object_or_404(ClinicalPhoto, public_id=photo_id, patient__public_id=patient_id)
    try:
        response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
    except FileNotFoundError as exc:
        raise Http404("The photo file is missing.") from exc
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
