"""Pages patients reach from signed links in their emails: no login, one action each.

A tampered, unknown or expired token gets the same plain page (mesoclinic.core.links),
naming no patient. Actions change nothing on GET (mail scanners follow links): the
page explains, and a button POSTs.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from mesoclinic.core import audit
from mesoclinic.core import links as signed_links
from sessions.comms import links
from sessions.comms import selectors as comms_selectors
from sessions.comms import services as reminders
from sessions.scheduling import services

INVALID = signed_links.LinkError(expired=False)


class CancelForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=250,
        label="Reason (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _appointment(request, token: str, action: str):
    """(appointment, None) for a good token, or (None, the error page)."""
    try:
        appointment_id = signed_links.read_token(token, action)
    except signed_links.LinkError as error:
        return None, signed_links.link_error_page(request, error)
    appointment = comms_selectors.appointment_for_message(appointment_id)
    if appointment is None:
        return None, signed_links.link_error_page(request, INVALID)
    return appointment, None


def _page(request, template: str, appointment, **context):
    return render(
        request,
        template,
        {
            "appointment": appointment,
            "patient": appointment.patient,
            "what": str(appointment.protocol) if appointment.protocol else "Consultation",
            "starts_local": timezone.localtime(appointment.starts_at),
            "ends_local": timezone.localtime(appointment.ends_at),
            **context,
        },
    )


def _upcoming(appointment, now) -> bool:
    return appointment.is_upcoming and appointment.starts_at > now


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def appointment_confirm(request, token):
    appointment, error = _appointment(request, token, links.CONFIRM)
    if error:
        return error
    now = timezone.now()
    problem = ""
    booked = appointment.status == appointment.Status.BOOKED
    if request.method == "POST" and booked and _upcoming(appointment, now):
        try:
            reminders.appointment_confirmed_by_patient(
                appointment=appointment, request=request, now=now
            )
        except services.SchedulingError as exc:
            problem = " ".join(exc.messages)
    return _page(
        request,
        "links/appointment_confirm.html",
        appointment,
        upcoming=_upcoming(appointment, now),
        problem=problem,
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def appointment_cancel(request, token):
    appointment, error = _appointment(request, token, links.CANCEL)
    if error:
        return error
    now = timezone.now()
    terms = comms_selectors.cancellation_terms(appointment, now=now)
    form = CancelForm(request.POST if request.method == "POST" else None)
    problem = ""
    if request.method == "POST" and terms.may_cancel and form.is_valid():
        note = form.cleaned_data["reason"].strip()
        reason = "Cancelled by the patient (email link)" + (f": {note}" if note else "")
        try:
            services.appointment_cancel(
                appointment=appointment,
                reason=reason,
                by=None,
                party=services.Party.PATIENT,
                now=now,
            )
        except services.SchedulingError as exc:
            problem = " ".join(exc.messages)
        terms = comms_selectors.cancellation_terms(appointment, now=now)
    return _page(
        request,
        "links/appointment_cancel.html",
        appointment,
        terms=terms,
        form=form,
        problem=problem,
        reschedule_url=links.reschedule_url(appointment),
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def appointment_reschedule(request, token):
    appointment, error = _appointment(request, token, links.RESCHEDULE)
    if error:
        return error
    now = timezone.now()
    upcoming = _upcoming(appointment, now)
    done = False
    if request.method == "POST" and upcoming:
        reminders.appointment_reschedule_request(appointment=appointment, request=request, now=now)
        done = True
    return _page(
        request, "links/appointment_reschedule.html", appointment, upcoming=upcoming, done=done
    )


def _pdf(request, *, file, filename: str, patient, obj, what: str):
    try:
        handle = file.open("rb")
    except OSError:
        return render(request, "links/document_missing.html", status=404)
    audit.record(
        request=request,
        action=audit.Action.DOWNLOAD,
        patient=patient,
        obj=obj,
        summary=f"{what} downloaded by the patient (email link)",
    )
    response = FileResponse(
        handle, as_attachment=True, content_type="application/pdf", filename=filename
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_not_required
@require_http_methods(["GET"])
def aftercare_pdf(request, token):
    appointment, error = _appointment(request, token, links.AFTERCARE_PDF)
    if error:
        return error
    document = comms_selectors.aftercare_document(appointment)
    if document is None:
        return render(request, "links/document_missing.html", status=404)
    day = timezone.localtime(appointment.starts_at)
    return _pdf(
        request,
        file=document.file,
        filename=f"aftercare-{day:%Y-%m-%d}.pdf",
        patient=appointment.patient,
        obj=document,
        what="Aftercare sheet",
    )


@login_not_required
@require_http_methods(["GET"])
def consent_pdf(request, token):
    try:
        consent_id = signed_links.read_token(token, links.CONSENT_PDF)
    except signed_links.LinkError as error:
        return signed_links.link_error_page(request, error)
    consent = comms_selectors.signed_consent_for_link(consent_id)
    if consent is None:
        return signed_links.link_error_page(request, INVALID)
    return _pdf(
        request,
        file=consent.pdf,
        filename=f"consent-{consent.signed_at:%Y-%m-%d}.pdf",
        patient=consent.patient,
        obj=consent,
        what="Signed consent",
    )
