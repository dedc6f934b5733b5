"""Staff pages of online booking: the manager's settings and policy, the front desk's
review list (new online patients, merges, deposits due), the practitioner's
countersignature of a consent signed on the patient's phone."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mesoclinic.core import roles
from patients.services import PatientError, consent_document_text
from sessions.online import forms, selectors, services
from sessions.online.models import OnlineSettings


@roles.role_required(roles.MANAGERS)
def settings_edit(request):
    current = selectors.current_settings()
    instance = current if current.pk else OnlineSettings()
    initial = {}
    if current.pk:
        initial = {"protocols": current.protocols.all(), "locations": current.locations.all()}
    form = forms.SettingsForm(request.POST or None, instance=instance, initial=initial)
    policy = selectors.current_policy()
    policy_form = forms.PolicyForm(
        request.POST if "text" in request.POST else None,
        initial={"text": policy.text if policy else ""},
    )
    if request.method == "POST":
        if "text" in request.POST:
            if policy_form.is_valid():
                try:
                    new = services.policy_publish(
                        text=policy_form.cleaned_data["text"], by=request.user
                    )
                except services.OnlineError as exc:
                    policy_form.add_error("text", exc.messages)
                else:
                    messages.success(request, f"Policy version {new.number} is now in force.")
                    return redirect("online:settings")
        elif form.is_valid():
            data = {f: form.cleaned_data[f] for f in forms.SettingsForm.Meta.fields}
            try:
                services.settings_update(
                    data=data,
                    protocols=form.cleaned_data["protocols"],
                    locations=form.cleaned_data["locations"],
                    by=request.user,
                )
            except services.OnlineError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, "Online booking settings saved.")
                return redirect("online:settings")
    return render(
        request,
        "online/staff/settings.html",
        {"form": form, "policy_form": policy_form, "policy": policy},
    )


@roles.role_required(roles.FRONT_OFFICE)
def review_list(request):
    reviews = selectors.reviews_open()
    rows = [(r, services.suggested_duplicates(r)) for r in reviews]
    return render(
        request,
        "online/staff/review.html",
        {
            "rows": rows,
            "deposits": selectors.bookings_with_deposit_due(),
            "recent": selectors.recent_bookings(),
        },
    )


@roles.role_required(roles.FRONT_OFFICE)
@require_POST
def review_done(request, patient_id):
    review = selectors.review_for_staff(patient_id)
    services.review_done(review=review, by=request.user, request=request)
    messages.success(request, f"{review.patient.full_name} is kept as a new patient.")
    return redirect("online:review")


@roles.role_required(roles.FRONT_OFFICE)
@require_POST
def review_merge(request, patient_id):
    review = selectors.review_for_staff(patient_id)
    wanted = request.POST.get("into", "")
    into = next(
        (m for m in services.suggested_duplicates(review) if str(m.public_id) == wanted), None
    )
    if into is None:
        messages.error(request, "Choose one of the suggested patients to merge with.")
        return redirect("online:review")
    try:
        services.patient_merge(review=review, into=into, by=request.user, request=request)
    except (services.OnlineError, PatientError) as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Merged into {into.full_name}.")
    return redirect("online:review")


@roles.role_required(roles.FRONT_OFFICE)
@require_POST
def deposit_received(request, online_booking_id):
    booking = selectors.booking_for_staff(online_booking_id)
    try:
        services.deposit_received(booking=booking, by=request.user, request=request)
    except services.OnlineError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Deposit marked as received.")
    return redirect("online:review")


@roles.role_required(roles.CLINICAL)
def countersign(request, remote_consent_id):
    remote = selectors.remote_consent_for_staff(remote_consent_id)
    form = forms.CountersignForm(request.POST or None)
    if request.method == "POST" and not remote.countersigned and form.is_valid():
        try:
            services.remote_consent_countersign(
                remote=remote,
                practitioner_signature=form.cleaned_data["practitioner_signature"],
                identity_confirmed=form.cleaned_data["identity_confirmed"],
                by=request.user,
                request=request,
            )
        except (services.OnlineError, PatientError) as exc:
            for field, errors in getattr(exc, "error_dict", {"__all__": exc.messages}).items():
                target = field if field in form.fields else None
                form.add_error(target, errors)
        else:
            messages.success(request, "Consent countersigned and recorded.")
            return redirect("patients:detail", patient_id=remote.patient.public_id)
    text = consent_document_text(version=remote.consent_version, patient=remote.patient)
    return render(
        request,
        "online/staff/countersign.html",
        {"remote": remote, "patient": remote.patient, "text": text, "form": form},
    )
