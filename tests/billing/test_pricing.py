"""The pure pricing module: examples and hypothesis properties."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import pricing

CENT = Decimal("0.01")
money = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False, allow_infinity=False)
percent = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
policies = st.builds(
    pricing.Policy,
    exponent=st.just(CENT),
    tax_rate_percent=st.sampled_from([Decimal(0), Decimal(5), Decimal("7.7"), Decimal(20)]),
    prices_include_tax=st.booleans(),
    deposit_percent=percent,
)
lines = st.lists(
    st.builds(pricing.Line, st.just("x"), st.integers(0, 12), money), min_size=0, max_size=6
)


@given(lines=lines, policy=policies, discount=percent, deduction=money)
def test_totals_add_up(lines, policy, discount, deduction):
    t = pricing.totals(lines, policy, discount_percent=discount, deduction=deduction)
    assert t.subtotal == sum(t.line_amounts, Decimal(0))
    assert t.line_amounts == tuple(pricing.q(li.unit_price * li.quantity, CENT) for li in lines)
    assert t.net + t.tax == t.total
    assert t.total == t.subtotal - t.discount - t.deduction + (
        0 if policy.prices_include_tax else t.tax
    )
    assert Decimal(0) <= t.discount <= t.subtotal
    assert Decimal(0) <= t.deduction <= min(deduction, t.subtotal - t.discount)
    assert Decimal(0) <= t.deposit <= t.total
    for amount in (t.subtotal, t.discount, t.net, t.tax, t.total, t.deposit):
        assert amount == amount.quantize(CENT)


@given(amount=money, policy=policies)
def test_tax_is_consistent_with_the_rate(amount, policy):
    net, tax, total = pricing.tax_split(amount, policy)
    assert net + tax == total
    assert tax >= 0
    # Tax is the rate applied to the net, to within half a cent of rounding.
    assert abs(net * policy.tax_rate_percent / 100 - tax) <= Decimal("0.005") * (
        1 + policy.tax_rate_percent / 100
    )


@given(
    sessions=st.integers(1, 10),
    single=money,
    price=st.one_of(st.none(), money),
    pct=percent,
    maintenance=st.integers(0, 3),
    allow=st.booleans(),
)
def test_package_never_dearer_than_pay_per_session_unless_allowed(
    sessions, single, price, pct, maintenance, allow
):
    package = pricing.PackageTerms(
        key="package:1",
        name="P",
        sessions=((1, sessions),),
        maintenance_sessions=maintenance,
        price=price,
        percent_off=None if price is not None else pct,
        allow_above_single_price=allow,
    )
    option = pricing.package_option(
        package,
        single_prices={1: single},
        names={1: "Scalp"},
        maintenance_price=Decimal("300"),
        policy=pricing.Policy(),
    )
    if not allow:
        assert option.price <= option.single_price_total
        assert option.saving >= 0
    assert option.saving == option.single_price_total - option.price
    assert option.sessions == sessions + maintenance


@given(
    total=money,
    paid_share=st.decimals(min_value=0, max_value=1, places=2),
    used=st.lists(money, max_size=10),
)
def test_cancellation_refund_never_exceeds_payments(total, paid_share, used):
    paid = pricing.q(total * paid_share, CENT)
    outcome = pricing.package_cancellation(
        package_total=total, paid=paid, used_single_prices=used, exponent=CENT
    )
    assert Decimal(0) <= outcome.refund <= paid
    assert outcome.retained + outcome.credit == total
    assert outcome.retained <= total
    assert pricing.refundable(paid=paid, refunded=outcome.refund) >= 0


@given(total=money, weights=st.lists(money, min_size=1, max_size=8))
def test_allocation_adds_up_exactly(total, weights):
    parts = pricing.allocate(total, weights, CENT)
    assert sum(parts, Decimal(0)) == total
    assert all(p >= 0 for p in parts)


@settings(max_examples=200)
@given(
    total=money,
    deposit_share=st.decimals(min_value=0, max_value=1, places=2),
    count=st.integers(0, 12),
)
def test_instalments_add_up_to_the_total(total, deposit_share, count):
    deposit = pricing.q(total * deposit_share, CENT)
    plan = pricing.instalments(
        total=total, deposit=deposit, count=count, first_due=date(2026, 1, 31), exponent=CENT
    )
    assert sum(a for _, a in plan) == total
    assert all(a >= 0 for _, a in plan)
    dates = [d for d, _ in plan]
    assert dates == sorted(dates)


def test_policy_refund_example():
    # 3-session package at 1150 (single price 450), paid in full, one session used:
    # 1150 - 450 = 700 back; the clinic keeps 450 for the session used.
    outcome = pricing.package_cancellation(
        package_total=Decimal("1150"),
        paid=Decimal("1150"),
        used_single_prices=[Decimal("450")],
        exponent=CENT,
    )
    assert outcome.refund == Decimal("700")
    assert outcome.credit == Decimal("700")
    # Only the deposit paid and two sessions used: nothing back, 900 still owed.
    outcome = pricing.package_cancellation(
        package_total=Decimal("1150"),
        paid=Decimal("230"),
        used_single_prices=[Decimal("450")] * 2,
        exponent=CENT,
    )
    assert outcome.refund == 0
    assert outcome.retained == Decimal("900")


def test_tax_inclusive_and_exclusive_examples():
    inclusive = pricing.Policy(tax_rate_percent=Decimal(20), prices_include_tax=True)
    t = pricing.totals([pricing.Line("PRP", 3, Decimal("450"))], inclusive)
    assert (t.subtotal, t.net, t.tax, t.total) == (
        Decimal("1350.00"),
        Decimal("1125.00"),
        Decimal("225.00"),
        Decimal("1350.00"),
    )
    exclusive = pricing.Policy(tax_rate_percent=Decimal(20), prices_include_tax=False)
    t = pricing.totals(
        [pricing.Line("PRP", 3, Decimal("450"))], exclusive, discount_percent=Decimal(10)
    )
    assert (t.discount, t.net, t.tax, t.total) == (
        Decimal("135.00"),
        Decimal("1215.00"),
        Decimal("243.00"),
        Decimal("1458.00"),
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pricing.check_price(Decimal("-1")), "negative"),
        (lambda: pricing.check_discount(Decimal("100.01")), "100%"),
        (lambda: pricing.check_discount(Decimal("-5")), "negative"),
        (
            lambda: pricing.totals([pricing.Line("x", 1, Decimal("-3"))], pricing.Policy()),
            "negative",
        ),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(pricing.PricingError, match=message):
        call()


def test_compare_lists_applicable_packages_only():
    scalp = pricing.PackageTerms("package:a", "Scalp 3", ((1, 3),), price=Decimal("1150"))
    scalp6 = pricing.PackageTerms(
        "package:b", "Scalp 6 + 2", ((1, 6),), maintenance_sessions=2, percent_off=Decimal(15)
    )
    face = pricing.PackageTerms("package:c", "Face 3", ((2, 3),), price=Decimal("1300"))
    options = pricing.compare(
        [(1, "Scalp", 3)],
        single_prices={1: Decimal("450"), 2: Decimal("500")},
        maintenance_price=Decimal("350"),
        packages=[scalp, scalp6, face],
        names={1: "Scalp", 2: "Face"},
        policy=pricing.Policy(),
    )
    assert [o.key for o in options][0] == "single"
    assert {o.key for o in options} == {"single", "package:a", "package:b"}
    by_key = {o.key: o for o in options}
    assert by_key["single"].price == Decimal("1350.00")
    assert by_key["package:a"].saving == Decimal("200.00")
    assert by_key["package:a"].saving_percent == Decimal("14.8")
    # 6 x 450 + 2 x 350 = 3400, 15% off = 2890
    assert by_key["package:b"].price == Decimal("2890.00")


def test_fees_and_consultation_deduction():
    fees = {"late_cancel_fee": Decimal(50), "no_show_fee": Decimal(100)}
    assert pricing.late_fee(status="no_show", cancelled_late=False, **fees) == 100
    assert pricing.late_fee(status="cancelled", cancelled_late=True, **fees) == 50
    assert pricing.late_fee(status="cancelled", cancelled_late=False, **fees) == 0
    waived = pricing.late_fee(status="cancelled", cancelled_late=True, fee_waived=True, **fees)
    assert waived == 0
    assert pricing.consultation_deduction(
        fee=Decimal(100),
        consulted_on=date(2026, 1, 1),
        treated_on=date(2026, 1, 20),
        within_days=30,
    ) == Decimal(100)
    assert pricing.consultation_deduction(
        fee=Decimal(100), consulted_on=date(2026, 1, 1), treated_on=date(2026, 3, 1), within_days=30
    ) == Decimal(0)


class TestCreditToUse:
    """Which credit pays for a completed session (oldest fitting first)."""

    FACE, HAIR = 1, 2
    CREDITS = [
        pricing.CreditOption(10, HAIR, False),
        pricing.CreditOption(11, FACE, True),
        pricing.CreditOption(12, FACE, False),
        pricing.CreditOption(13, FACE, False),
    ]

    def use(self, kind, protocol_id, credits=None):
        credits = self.CREDITS if credits is None else credits
        return pricing.credit_to_use(kind=kind, protocol_id=protocol_id, credits=credits)

    def test_a_treatment_uses_the_oldest_credit_for_its_protocol(self):
        assert self.use("course_session", self.FACE) == 12

    def test_maintenance_prefers_a_maintenance_credit_then_a_protocol_credit(self):
        assert self.use("maintenance", self.FACE) == 11
        without = [c for c in self.CREDITS if not c.is_maintenance]
        assert self.use("maintenance", self.FACE, without) == 12

    def test_consultations_and_unmatched_sessions_are_invoiced(self):
        assert self.use("consultation", None) is None
        assert self.use("course_session", 99) is None
        assert self.use("course_session", self.FACE, []) is None
