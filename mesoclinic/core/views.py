"""The core's own staff page: the audit log (the outbox pages are in messages_views)."""

from django.core.paginator import Paginator
from django.shortcuts import render

from mesoclinic.core import patient_refs, roles
from mesoclinic.core.forms import AuditFilterForm
from mesoclinic.core.models import AuditEvent


@roles.role_required(roles.MANAGERS)
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.order_by("-at", "-id")
    if form.is_valid():
        events = form.apply(events)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    patient_refs.attach(page)
    return render(request, "audit/log.html", {"form": form, "page": page})
