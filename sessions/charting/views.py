"""Session chart pages: chart on a tablet, sign and lock, amend; documents; lot lookup;
before/after photos across a course. Thin: parse, call sessions.charting.services, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from mesoclinic.core import audit, roles
from protocols.areas import ZONE_BY_CODE
from sessions.charting import rules
from sessions.charting import selectors as charting_selectors
from sessions.charting import services as charting
from sessions.charting.forms import ZONE_GROUPS, AmendmentForm, ChartForm, LotSearchForm
from sessions.charting.models import AdverseEvent, ChartProduct, SessionDocument
from sessions.scheduling import selectors as scheduling_selectors


def _errors_into(form, exc: charting.ChartingError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


def _chart_page(request, appointment, chart, form=None, *, status=200, amend_form=None, data=None):
    checks = charting.pre_treatment_checks(appointment)
    if form is None:  # shown afresh: checks that hold now are ticked (consent signed since)
        form = ChartForm(instance=chart, initial=charting.checks_to_tick(chart, checks))
    if data is None and form.is_bound and hasattr(form, "cleaned_data"):
        data = form.chart_input()
    if data is None:
        data = charting.chart_input_of(chart)
    return render(
        request,
        "sessions/chart.html",
        {
            "appointment": appointment,
            "patient": appointment.patient,
            "chart": chart,
            "form": form,
            "data": data,
            "selected": {a.zone: a.volume_ml for a in data.areas},
            "open_region": rules.opening_region(
                [a.zone for a in data.areas], appointment.protocol.treatment_areas
            ),
            "regions": rules.DIAGRAM_REGIONS,
            "zone_groups": ZONE_GROUPS,
            "zone_labels": {code: zone.label for code, zone in ZONE_BY_CODE.items()},
            "product_kinds": ChartProduct.Kind.choices,
            "event_types": AdverseEvent.Type.choices,
            "event_severities": AdverseEvent.Severity.choices,
            "event_onsets": AdverseEvent.Onset.choices,
            "amend_form": amend_form or AmendmentForm(),
            "documents": {d.kind: d for d in appointment.documents.all()},
            "blockers": charting.completion_blockers(appointment=appointment),
            "complete_problem": scheduling_selectors.timing_problems(
                appointment, now=timezone.now()
            )["complete"],
            "session_date": charting.session_day(appointment),
            "consent_signed": checks["check_consent_signed"],
        },
        status=status,
    )


def _draft_page(request, appointment):
    draft, data = charting.chart_draft(appointment=appointment)
    audit.record(
        request=request,
        action=audit.Action.VIEW,
        patient=appointment.patient,
        obj=appointment,
        summary="Session chart",
    )
    return _chart_page(request, appointment, draft, ChartForm(instance=draft), data=data)


@roles.role_required(roles.CLINICAL)
def chart(request, appointment_id):
    appointment = scheduling_selectors.appointment_for_staff(appointment_id)
    current = charting_selectors.chart_detail(appointment)
    if current is None:
        # GET shows the chart it would start with and saves nothing; the first POST opens it.
        try:
            if request.method != "POST":
                return _draft_page(request, appointment)
            charting.chart_open(appointment=appointment, by=request.user, request=request)
        except charting.ChartingError as exc:
            return render(
                request,
                "sessions/chart_unavailable.html",
                {
                    "appointment": appointment,
                    "patient": appointment.patient,
                    "reason": exc.messages,
                },
                status=409 if request.method == "POST" else 200,
            )
        current = charting_selectors.chart_detail(appointment)
    if request.method == "POST":
        form = ChartForm(request.POST, instance=current)
        if current.is_signed:
            form.add_error(None, charting._locked_error().messages[0])
            return _chart_page(request, appointment, current, form, status=409)
        if form.is_valid():
            try:
                charting.chart_save(
                    chart=current, data=form.chart_input(), by=request.user, request=request
                )
                if "sign" in request.POST:
                    charting.chart_sign(chart=current, by=request.user, request=request)
            except charting.ChartingError as exc:
                _errors_into(form, exc)
                # A failed sign after a good save keeps the save; show the page again.
                current = charting_selectors.chart_detail(appointment)
            else:
                messages.success(
                    request, "Chart signed and locked." if "sign" in request.POST else "Saved."
                )
                return redirect("charting:chart", appointment_id=appointment.public_id)
        return _chart_page(request, appointment, current, form, status=400)
    audit.record(
        request=request,
        action=audit.Action.VIEW,
        patient=appointment.patient,
        obj=current,
        summary="Session chart",
    )
    return _chart_page(request, appointment, current)


@roles.role_required(roles.CLINICAL)
@require_POST
def chart_amend(request, appointment_id):
    appointment = scheduling_selectors.appointment_for_staff(appointment_id)
    current = charting_selectors.chart_detail(appointment)
    if current is None:
        raise Http404("This session has no chart.")
    amend_form = AmendmentForm(request.POST)
    if amend_form.is_valid():
        try:
            charting.chart_amend(
                chart=current,
                what=amend_form.cleaned_data["what"],
                why=amend_form.cleaned_data["why"],
                by=request.user,
                request=request,
            )
        except charting.ChartingError as exc:
            _errors_into(amend_form, exc)
        else:
            messages.success(request, "Amendment added to the chart.")
            return redirect("charting:chart", appointment_id=appointment.public_id)
    return _chart_page(
        request,
        appointment,
        current,
        ChartForm(instance=current),
        status=400,
        amend_form=amend_form,
    )


@roles.role_required(roles.CLINICAL)
def document_file(request, document_id):
    """A generated session document, from private storage, after a role check."""
    document = get_object_or_404(
        SessionDocument.objects.select_related("appointment__patient"), public_id=document_id
    )
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The document file is missing.") from exc
    audit.record(
        request=request,
        action=audit.Action.DOWNLOAD,
        patient=document.appointment.patient,
        obj=document,
        summary=document.get_kind_display(),
    )
    day = document.appointment.starts_at
    response = FileResponse(
        handle,
        content_type="application/pdf",
        filename=f"{document.kind}-{day:%Y-%m-%d}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@roles.role_required(roles.CLINICAL)
def lot_lookup(request):
    form = LotSearchForm(request.GET or request.POST or None)
    uses = []
    lot = ""
    if form.is_bound and form.is_valid():
        lot = form.cleaned_data["lot"].upper()
        uses = list(charting_selectors.lot_usage(lot))
        if request.method == "POST" and "email" in request.POST:
            try:
                count = charting.recall_notices_schedule(lot=lot, by=request.user, request=request)
            except charting.ChartingError as exc:
                messages.error(request, exc.messages[0])
            else:
                messages.success(request, f"Recall notice scheduled for {count} patient(s).")
            return redirect(f"{request.path}?lot={lot}")
        audit.record(request=request, action=audit.Action.VIEW, summary=f"Lot lookup {lot}")
    patients = {u.chart.appointment.patient for u in uses}
    return render(
        request,
        "sessions/chart_lot_lookup.html",
        {
            "form": form,
            "lot": lot,
            "uses": uses,
            "patient_count": len(patients),
            "without_email": sorted(p.full_name for p in patients if not p.email),
        },
    )


@roles.role_required(roles.CLINICAL)
def course_photos(request, course_id):
    course = scheduling_selectors.course_for_staff(course_id)
    audit.record(
        request=request,
        action=audit.Action.VIEW,
        patient=course.patient,
        obj=course,
        summary="Course photos",
    )
    return render(
        request,
        "sessions/chart_course_photos.html",
        {
            "course": course,
            "patient": course.patient,
            "sessions": charting_selectors.course_photo_sessions(course),
        },
    )
