"""Staff pages for patient messages: the outbox, resending, and the manager's settings."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from mesoclinic.core import message_kinds, outbox, patient_refs, roles
from mesoclinic.core.models import MessageSetting, OutboundMessage


class OutboxFilterForm(forms.Form):
    state = forms.ChoiceField(
        required=False, choices=[("", "Any state"), *OutboundMessage.State.choices]
    )
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Any kind")] + [(k.code, k.label) for k in message_kinds.KINDS],
    )
    recipient = forms.CharField(required=False, max_length=254, label="Recipient")


@roles.role_required(roles.STAFF)
def outbox_list(request):
    form = OutboxFilterForm(request.GET or None)
    rows = OutboundMessage.objects.order_by("-due_at", "-id")
    if form.is_valid():
        data = form.cleaned_data
        if data["state"]:
            rows = rows.filter(state=data["state"])
        if data["kind"]:
            rows = rows.filter(kind=data["kind"])
        if data["recipient"]:
            rows = rows.filter(recipient__icontains=data["recipient"])
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    patient_refs.attach(page)
    counts = dict(
        OutboundMessage.objects.filter(state__in=["pending", "failed"])
        .values_list("state")
        .annotate(n=Count("id"))
    )
    return render(
        request,
        "messages/outbox.html",
        {
            "form": form,
            "page": page,
            "counts": counts,
            "labels": {k.code: k.label for k in message_kinds.KINDS},
        },
    )


@roles.role_required(roles.STAFF)
@require_POST
def outbox_resend(request, message_id):
    message = get_object_or_404(OutboundMessage, pk=message_id)
    if message.state in (OutboundMessage.State.PENDING, OutboundMessage.State.SENDING):
        messages.info(request, "This message is already waiting to be sent.")
    else:
        outbox.message_resend(message=message)
        messages.success(
            request, f"The message to {message.recipient} will be sent again within a minute."
        )
    return _back(request)


def _back(request):
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return HttpResponseRedirect(target)
    return redirect("outbox:list")


class MessageSettingForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    offsets = forms.CharField(required=False, max_length=100)
    respects_quiet_hours = forms.BooleanField(required=False)

    def clean_offsets(self):
        raw = self.cleaned_data["offsets"].replace(" ", "")
        if not raw:
            return []
        try:
            values = [int(part) for part in raw.split(",")]
        except ValueError as exc:
            raise forms.ValidationError(
                "Write whole hours separated by commas, e.g. -48, -3."
            ) from exc
        if any(abs(v) > 24 * 365 for v in values):
            raise forms.ValidationError("Offsets must be within a year.")
        return sorted(set(values))


@roles.role_required(roles.MANAGERS)
def message_settings(request):
    settings_list = message_kinds.all_settings()
    forms_by_kind = {}
    for setting in settings_list:
        initial = {
            "enabled": setting.enabled,
            "offsets": ", ".join(str(h) for h in setting.offsets_hours),
            "respects_quiet_hours": setting.respects_quiet_hours,
        }
        data = request.POST if request.method == "POST" else None
        forms_by_kind[setting.kind.code] = MessageSettingForm(
            data, initial=initial, prefix=setting.kind.code
        )
    if request.method == "POST":
        if all(form.is_valid() for form in forms_by_kind.values()):
            for code, form in forms_by_kind.items():
                MessageSetting.objects.update_or_create(
                    kind=code,
                    defaults={
                        "enabled": form.cleaned_data["enabled"],
                        "offsets_hours": form.cleaned_data["offsets"],
                        "respects_quiet_hours": form.cleaned_data["respects_quiet_hours"],
                    },
                )
            messages.success(request, "Message settings saved.")
            return redirect("outbox:settings")
        messages.error(request, "Some settings could not be saved; see the marked rows.")
    rows = [(s, forms_by_kind[s.kind.code]) for s in settings_list]
    return render(request, "messages/settings.html", {"rows": rows})
