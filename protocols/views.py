from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mesoclinic.core import roles
from protocols import areas, consent_text, selectors, services
from protocols.forms import ConsentForm, ProtocolEditor
from protocols.models import Protocol


@roles.role_required(roles.STAFF)
def catalogue(request):
    indication = request.GET.get("indication", "")
    if indication not in Protocol.Indication.values:
        indication = ""
    protocols = selectors.catalogue(indication=indication)
    return render(
        request,
        "protocols/catalogue.html",
        {
            "protocols": protocols,
            "indications": Protocol.Indication.choices,
            "indication": indication,
        },
    )


@roles.role_required(roles.STAFF)
def detail(request, protocol_id):
    protocol = selectors.protocol_detail(protocol_id)
    versions = list(protocol.consent_versions.all())
    return render(
        request,
        "protocols/detail.html",
        {
            "protocol": protocol,
            "area_labels": areas.labels(protocol.treatment_areas),
            "pre_care": selectors.care_items(protocol, "pre"),
            "aftercare": selectors.care_items(protocol, "after"),
            "versions": versions,
            "current_version": versions[0] if versions else None,
        },
    )


def _editor_page(request, *, protocol=None):
    parts = services.parts_of(protocol) if protocol else None
    editor = ProtocolEditor(request.POST or None, protocol=protocol, parts=parts)
    if request.method == "POST" and editor.is_valid():
        try:
            saved = services.protocol_save(
                protocol=protocol, data=editor.form.cleaned_data, parts=editor.parts()
            )
        except services.ProtocolError as exc:
            editor.add_errors(exc)
        else:
            messages.success(request, f"{saved.name} saved.")
            return redirect("protocols:detail", protocol_id=saved.pk)
    if protocol is not None:
        protocol.refresh_from_db()  # show the saved name, not a refused edit, in the title
    return render(request, "protocols/edit.html", {"editor": editor, "protocol": protocol})


@roles.role_required(roles.MANAGERS)
def create(request):
    return _editor_page(request)


@roles.role_required(roles.MANAGERS)
def edit(request, protocol_id):
    return _editor_page(request, protocol=selectors.protocol_detail(protocol_id))


@roles.role_required(roles.MANAGERS)
@require_POST
def clone(request, protocol_id):
    original = selectors.protocol_detail(protocol_id)
    try:
        copy = services.protocol_clone(protocol=original, by=request.user)
    except services.ProtocolError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("protocols:detail", protocol_id=original.pk)
    messages.success(request, f"Copied {original.name}. Adjust the copy and save it.")
    return redirect("protocols:edit", protocol_id=copy.pk)


@roles.role_required(roles.MANAGERS)
@require_POST
def set_active(request, protocol_id):
    protocol = selectors.protocol_detail(protocol_id)
    active = request.POST.get("active") == "1"
    try:
        services.protocol_set_active(protocol=protocol, active=active)
    except services.ProtocolError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if active:
            messages.success(request, f"{protocol.name} can be booked again.")
        else:
            messages.success(
                request,
                f"{protocol.name} is retired: it stays in the records but cannot be booked.",
            )
    return redirect("protocols:detail", protocol_id=protocol.pk)


@roles.role_required(roles.MANAGERS)
def consent_edit(request, protocol_id):
    protocol = selectors.protocol_detail(protocol_id)
    current = services.current_consent(protocol)
    form = ConsentForm(request.POST or None, initial={"text": current.text if current else ""})
    if request.method == "POST" and form.is_valid():
        try:
            version = services.consent_version_create(
                protocol=protocol, text=form.cleaned_data["text"], by=request.user
            )
        except services.ProtocolError as exc:
            for message in exc.messages:
                form.add_error("text", message)
        else:
            messages.success(
                request,
                f"Consent version {version.number} saved. Earlier versions stay as they were.",
            )
            return redirect("protocols:detail", protocol_id=protocol.pk)
    return render(
        request,
        "protocols/consent_edit.html",
        {
            "protocol": protocol,
            "form": form,
            "current": current,
            "placeholders": consent_text.PLACEHOLDERS,
        },
    )


@roles.role_required(roles.STAFF)
def preview(request, protocol_id):
    """The consent, pre-care and aftercare exactly as a patient will read them."""
    protocol = selectors.protocol_detail(protocol_id)
    current = services.current_consent(protocol)
    return render(
        request,
        "protocols/preview.html",
        {
            "protocol": protocol,
            "consent": selectors.rendered_consent(version=current, patient_name=None)
            if current
            else "",
            "version": current,
            "pre_care": selectors.care_items(protocol, "pre"),
            "aftercare": selectors.care_items(protocol, "after"),
        },
    )
