"""The core's own staff pages: the audit log and its CSV export (the outbox pages are in
messages_views)."""

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render

from mesoclinic.core import audit, patient_refs, roles
from mesoclinic.core.forms import AuditExportForm, AuditFilterForm
from mesoclinic.core.models import AuditEvent

CSV_COLUMNS = [
    "id",
    "at (UTC)",
    "user",
    "action",
    "patient id",
    "patient",
    "object type",
    "object id",
    "summary",
    "ip address",
    "chain position",
    "previous hash",
    "row hash",
]


@roles.role_required(roles.MANAGERS)
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.order_by("-at", "-id")
    if form.is_valid():
        events = form.apply(events)
    return _log_page(request, form, events)


def _log_page(request, form, events, *, status=200, export_form=None):
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    patient_refs.attach(page)
    return render(
        request,
        "audit/log.html",
        {"form": form, "page": page, "export_form": export_form},
        status=status,
    )


class _Echo:
    def write(self, value):
        return value


@roles.role_required(roles.MANAGERS)
def audit_export(request):
    """The rows of a date range (and the page's other filters) as CSV, hashes included,
    so an auditor can check the chain outside the application too."""
    if not request.GET:
        # Opened without a range (a bookmark, a typed address): the page that asks for one.
        messages.info(request, "Choose the dates to export, then Download CSV.")
        return redirect("audit_log")
    form = AuditExportForm(request.GET)
    if not form.is_valid():
        return _log_page(
            request,
            AuditFilterForm(request.GET or None),
            AuditEvent.objects.none(),
            status=400,
            export_form=form,
        )
    events = form.apply(AuditEvent.objects.order_by("at", "id"))
    start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    audit.record(
        request=request,
        action=audit.Action.EXPORT,
        summary=f"Audit log exported as CSV, {start:%Y-%m-%d} to {end:%Y-%m-%d}",
    )
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        batch = []
        for event in events.iterator(chunk_size=2000):
            batch.append(event)
            if len(batch) == 2000:
                yield from _csv_rows(writer, batch)
                batch = []
        yield from _csv_rows(writer, batch)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    )
    return response


def _csv_rows(writer, events):
    names = patient_refs.refs(e.patient_id for e in events)
    for e in events:
        ref = names.get(e.patient_id)
        yield writer.writerow(
            [
                e.pk,
                e.at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                e.actor_label,
                e.action,
                e.patient_id or "",
                ref.name if ref else "",
                e.object_type,
                e.object_id,
                e.summary,
                e.ip_address or "",
                e.chain_seq or "",
                e.prev_hash,
                e.row_hash,
            ]
        )
