"""Managers keep price lists and packages in the app: the pricing rules decide what is
refused, one list applies per day and place, every change is audited, and changes never
alter quotes already made."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import pricing, selectors, services
from billing.models import Package, PriceList, Quote
from mesoclinic.core.models import AuditEvent
from tests.billing.helpers import FACE, SCALP, price_list, scalp_package

pytestmark = pytest.mark.django_db

D = Decimal


# --- The pure rules -----------------------------------------------------------------


def test_price_list_rules():
    ok = {
        "name": "Standard",
        "consultation_fee": D("100"),
        "maintenance_price": None,
        "session_prices": {1: D("450")},
        "addons": [("Serum", D("150"))],
    }
    assert pricing.price_list_problems(**ok) == {}
    assert (
        "negative"
        in pricing.price_list_problems(
            **{**ok, "session_prices": {1: D("-1")}}, protocol_names={1: "PRP scalp"}
        )["price_1"][0]
    )
    assert pricing.price_list_problems(**{**ok, "session_prices": {}})["__all__"]
    assert pricing.price_list_problems(**{**ok, "name": " "})["name"]
    assert (
        "listed twice"
        in pricing.price_list_problems(**{**ok, "addons": [("Serum", D("1")), ("serum", D("2"))]})[
            "addons"
        ][0]
    )
    assert (
        "negative"
        in pricing.price_list_problems(**{**ok, "consultation_fee": D("-5")})["consultation_fee"][0]
    )


def test_package_rules():
    ok = {
        "name": "Course of 3",
        "sessions": {1: 3},
        "price": D("1150"),
        "percent_off": None,
        "maintenance_sessions": 0,
        "valid_months": 12,
    }
    assert pricing.package_problems(**ok) == {}
    assert pricing.package_problems(**{**ok, "percent_off": D("10")})["__all__"]
    assert pricing.package_problems(**{**ok, "price": None})["__all__"]
    assert (
        "more than 100%"
        in pricing.package_problems(**{**ok, "price": None, "percent_off": D("101")})[
            "percent_off"
        ][0]
    )
    assert "negative" in pricing.package_problems(**{**ok, "price": D("-1")})["price"][0]
    assert pricing.package_problems(**{**ok, "sessions": {1: 0}})["sessions_1"]
    assert pricing.package_problems(**{**ok, "valid_months": 0})["valid_months"]
    assert pricing.package_problems(**{**ok, "maintenance_sessions": -1})["maintenance_sessions"]


# --- The services --------------------------------------------------------------------


def test_one_list_per_day_and_place(catalogue, manager):
    from sessions.models import Location

    first = price_list(catalogue)
    with pytest.raises(services.BillingError, match="already applies from 01 Jan 2026"):
        services.price_list_save(
            name="Duplicate",
            effective_from=first.effective_from,
            consultation_fee=D("90"),
            maintenance_price=None,
            session_prices={catalogue[SCALP]: D("400")},
            by=manager,
        )
    # Another place the same day is fine: a location's own list wins there.
    kensington = Location.objects.create(name="Kensington")
    own = services.price_list_save(
        name="Kensington",
        effective_from=first.effective_from,
        location=kensington,
        consultation_fee=D("120"),
        maintenance_price=None,
        session_prices={catalogue[SCALP]: D("520")},
        by=manager,
    )
    day = datetime.date(2026, 6, 1)
    assert selectors.price_list_current(on=day, location=kensington) == own
    assert selectors.price_list_current(on=day) == first


def test_a_change_is_audited_and_leaves_quotes_alone(catalogue, manager, frontdesk, patient):
    pl = price_list(catalogue)
    quote = services.quote_create(
        patient=patient,
        price_list=pl,
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key="single",
        by=frontdesk,
        today=datetime.date(2026, 3, 2),
    )
    services.price_list_save(
        price_list=pl,
        name=pl.name,
        effective_from=pl.effective_from,
        consultation_fee=D("120"),
        maintenance_price=D("350"),
        session_prices={catalogue[SCALP]: D("480"), catalogue[FACE]: D("500")},
        addons={},
        by=manager,
    )
    assert selectors.session_prices(pl)[catalogue[SCALP].pk] == D("480.00")
    event = AuditEvent.objects.get(action="change", object_type="billing.PriceList")
    assert event.actor == manager
    assert "consultation 100.00 → 120" in event.summary
    assert f"{SCALP} 450.00 → 480" in event.summary
    assert "Exosome serum (add-on) removed" in event.summary
    assert Quote.objects.get(pk=quote.pk).total == D("1350.00")  # the quote kept its prices


def test_a_refused_package_changes_nothing(catalogue, manager):
    package = scalp_package(catalogue)
    with pytest.raises(services.BillingError, match="either a package price or a percentage"):
        services.package_save(
            package=package,
            name="Scalp course of 3",
            sessions={catalogue[SCALP]: 3},
            price=D("1000"),
            percent_off=D("10"),
            by=manager,
        )
    package.refresh_from_db()
    assert package.price == D("1150.00") and package.percent_off is None
    assert not AuditEvent.objects.filter(object_type="billing.Package").exists()


def test_package_checks_use_the_quote_rules(catalogue, manager):
    price_list(catalogue)
    dear = services.package_save(
        name="Dear", sessions={catalogue[SCALP]: 2}, price=D("2000"), by=manager
    )
    unpriced = services.package_save(
        name="Hair", sessions={catalogue["Hair mesotherapy"]: 4}, percent_off=D("10"), by=manager
    )
    good = scalp_package(catalogue)
    checks = selectors.package_checks(
        Package.objects.prefetch_related("items__protocol"), on=datetime.date(2026, 3, 2)
    )
    (on_dear,) = checks[dear.pk]
    assert on_dear.capped and on_dear.option.price == D("900.00")
    (on_unpriced,) = checks[unpriced.pk]
    assert on_unpriced.option is None and "No price for protocol Hair mesotherapy" in (
        on_unpriced.problem
    )
    (on_good,) = checks[good.pk]
    assert on_good.option.saving == D("200.00") and not on_good.capped


# --- The pages -------------------------------------------------------------------------


def test_bad_input_is_refused_on_the_form_and_saves_nothing(manager_client, catalogue):
    scalp = catalogue[SCALP]
    response = manager_client.post(
        reverse("billing:price_list_create"),
        {
            "name": "Next year",
            "effective_from": "2027-01-01",
            "consultation_fee": "100",
            f"price_{scalp.pk}": "-450",
            "addon-TOTAL_FORMS": "0",
            "addon-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 400
    assert (
        "The price of PRP scalp (hair loss) cannot be negative."
        in (response.context["form"].errors[f"price_{scalp.pk}"])
    )
    assert not PriceList.objects.exists()


def test_copy_into_a_new_list_starts_from_its_prices(manager_client, catalogue):
    pl = price_list(catalogue)
    response = manager_client.get(reverse("billing:price_list_create"), {"from": pl.public_id})
    form = response.context["form"]
    assert form.initial[f"price_{catalogue[SCALP].pk}"] == D("450.00")
    assert form.initial["name"] == "" and form.initial["effective_from"] is None
    assert [f.initial["name"] for f in response.context["addons"].initial_forms] == [
        "Exosome serum"
    ]


def test_retired_package_is_no_longer_offered_on_quotes(manager_client, catalogue):
    price_list(catalogue)
    package = scalp_package(catalogue)
    response = manager_client.post(
        reverse("billing:package_edit", args=[package.public_id]),
        {
            "name": package.name,
            "price": "1150",
            "maintenance_sessions": "0",
            "valid_months": "12",
            f"sessions_{catalogue[SCALP].pk}": "3",
        },
    )
    assert response.status_code == 302
    package.refresh_from_db()
    assert not package.is_active
    assert selectors.package_terms() == []
