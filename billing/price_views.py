"""Price lists and packages, kept by managers in the app. Thin: parse with the forms in
billing.price_forms, call billing.services.price_list_save / package_save (the pricing
rules, an audit row), render."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils import timezone

from billing import selectors, services
from billing.models import Package, PriceList
from billing.price_forms import AddonFormSet, PackageForm, PriceListForm, addons_of
from mesoclinic.core import roles
from protocols.models import Protocol
from sessions.scheduling.models import Location


def _locations():
    return list(Location.objects.filter(is_active=True).order_by("name"))


def _protocols(*, also: set[int] = frozenset()):
    """Bookable protocols, and retired ones a list or package still names."""
    return list(Protocol.objects.filter(Q(is_active=True) | Q(pk__in=also)).order_by("name"))


def _errors_into(form, exc: services.BillingError) -> None:
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for field, errors in exc.message_dict.items():
        for message in errors:
            form.add_error(field if field in form.fields else None, message)


@roles.role_required(roles.MANAGERS)
def price_list_create(request):
    """A new list; `?from=<list>` starts from that list's prices (a new year's list)."""
    initial = {}
    source = None
    try:
        source_id = uuid.UUID(request.GET.get("from", ""))
    except ValueError:
        source_id = None
    if source_id is not None:
        source = PriceList.objects.filter(public_id=source_id).first()
    if source is not None:
        initial = PriceListForm.initial_from(source, copy=True)
    return _price_list_page(request, None, initial=initial, source=source)


@roles.role_required(roles.MANAGERS)
def price_list_edit(request, price_list_id):
    price_list = selectors.price_list_for_staff(price_list_id)
    return _price_list_page(request, price_list, initial=PriceListForm.initial_from(price_list))


def _price_list_page(request, price_list, *, initial, source=None):
    listed = source or price_list
    priced = {p.protocol_id for p in listed.prices.all() if p.protocol_id} if listed else set()
    protocols = _protocols(also=priced)
    data = request.POST if request.method == "POST" else None
    form = PriceListForm(data, initial=initial, protocols=protocols, locations=_locations())
    addon_initial = [
        {"name": p.name, "amount": p.amount}
        for p in (listed.prices.all() if listed else ())
        if not p.protocol_id
    ]
    addons = AddonFormSet(data, initial=addon_initial, prefix="addon")
    if data is not None and form.is_valid() and addons.is_valid():
        try:
            saved = services.price_list_save(
                price_list=price_list,
                name=form.cleaned_data["name"],
                effective_from=form.cleaned_data["effective_from"],
                location=form.chosen_location(),
                consultation_fee=form.cleaned_data["consultation_fee"],
                maintenance_price=form.cleaned_data["maintenance_price"],
                session_prices=form.session_prices(),
                addons=addons_of(addons),
                by=request.user,
                request=request,
            )
        except services.BillingError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"Price list “{saved}” saved.")
            return redirect("billing:price_lists")
    return render(
        request,
        "billing/price_list_form.html",
        {"form": form, "addons": addons, "price_list": price_list, "source": source},
        status=400 if data is not None else 200,
    )


@roles.role_required(roles.MANAGERS)
def package_create(request):
    return _package_page(request, None)


@roles.role_required(roles.MANAGERS)
def package_edit(request, package_id):
    return _package_page(request, selectors.package_for_staff(package_id))


def _package_page(request, package: Package | None):
    included = {i.protocol_id for i in package.items.all()} if package else set()
    data = request.POST if request.method == "POST" else None
    form = PackageForm(
        data,
        initial=PackageForm.initial_from(package) if package else {},
        protocols=_protocols(also=included),
    )
    if data is not None and form.is_valid():
        try:
            saved = services.package_save(
                package=package,
                name=form.cleaned_data["name"],
                sessions=form.sessions(),
                price=form.cleaned_data["price"],
                percent_off=form.cleaned_data["percent_off"],
                maintenance_sessions=form.cleaned_data["maintenance_sessions"],
                valid_months=form.cleaned_data["valid_months"],
                allow_above_single_price=form.cleaned_data["allow_above_single_price"],
                is_active=form.cleaned_data["is_active"],
                by=request.user,
                request=request,
            )
        except services.BillingError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"Package “{saved.name}” saved.")
            # How it prices on the lists in force, by the rules every quote uses.
            saved = selectors.package_for_staff(saved.public_id)
            for check in selectors.package_checks([saved], on=timezone.localdate())[saved.pk]:
                if check.problem:
                    messages.warning(request, f"On “{check.price_list}”: {check.problem}")
                elif check.capped:
                    messages.warning(
                        request,
                        f"On “{check.price_list}” it costs more than paying per session; "
                        "quotes charge the per-session price instead.",
                    )
            return redirect("billing:price_lists")
    return render(
        request,
        "billing/package_form.html",
        {"form": form, "package": package},
        status=400 if data is not None else 200,
    )
