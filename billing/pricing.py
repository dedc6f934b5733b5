"""The money rules of billing, as pure functions over plain values.

No ORM, no settings, no clock: callers pass the clinic's policy and dates in. Every
amount is a Decimal quantized to the currency's minor unit (`exponent`, e.g.
Decimal("0.01")), rounding half up. Services turn rows into these values and store
what comes out; the quote page, the PDF and the invoice all read the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from mesoclinic.core.dates import add_months

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class PricingError(ValueError):
    """Input that no price can be computed from (negative price, discount over 100%)."""


def q(amount: Decimal | int | str, exponent: Decimal) -> Decimal:
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Policy:
    """The clinic's billing settings, passed in so this module never reads them."""

    exponent: Decimal = Decimal("0.01")
    tax_rate_percent: Decimal = ZERO
    prices_include_tax: bool = True
    deposit_percent: Decimal = ZERO
    discount_approval_limit_percent: Decimal = Decimal(10)


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price: Decimal
    protocol_id: int | None = None

    def amount(self, exponent: Decimal) -> Decimal:
        return q(self.unit_price * self.quantity, exponent)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal  # the lines added up, as priced (tax included if prices include it)
    discount: Decimal
    net: Decimal  # without tax
    tax: Decimal
    total: Decimal  # what the patient pays
    deposit: Decimal
    line_amounts: tuple[Decimal, ...] = field(default=())
    deduction: Decimal = ZERO


def check_price(amount: Decimal, what: str = "A price") -> None:
    if amount < 0:
        raise PricingError(f"{what} cannot be negative.")


def check_discount(percent: Decimal) -> None:
    if percent < 0:
        raise PricingError("A discount cannot be negative.")
    if percent > HUNDRED:
        raise PricingError("A discount cannot be more than 100%.")


# --- Keeping price lists and packages --------------------------------------------

MAX_VALID_MONTHS = 120
MAX_MAINTENANCE_SESSIONS = 24


def _problem(problems: dict[str, list[str]], key: str, message: str) -> None:
    problems.setdefault(key, []).append(message)


def _price_problem(problems, key: str, amount: Decimal | None, what: str) -> None:
    if amount is None:
        return
    try:
        check_price(amount, what)
    except PricingError as exc:
        _problem(problems, key, str(exc))


def price_list_problems(
    *,
    name: str,
    consultation_fee: Decimal | None,
    maintenance_price: Decimal | None,
    session_prices: Mapping[int, Decimal],
    addons: Sequence[tuple[str, Decimal]],
    protocol_names: Mapping[int, str] | None = None,
) -> dict[str, list[str]]:
    """Why a price list cannot be saved as given; empty when it can.

    Every amount follows the same rule as every price quoted from it (`check_price`);
    the list prices at least one protocol's session; add-ons have distinct names. Keys
    are "name", "consultation_fee", "maintenance_price", "price_<protocol id>",
    "addons" or "__all__".
    """
    problems: dict[str, list[str]] = {}
    names = protocol_names or {}
    if not (name or "").strip():
        _problem(problems, "name", "Give the list a name, e.g. Standard 2027.")
    if consultation_fee is None:
        _problem(problems, "consultation_fee", "Give the consultation fee (0 if free).")
    _price_problem(problems, "consultation_fee", consultation_fee, "The consultation fee")
    _price_problem(problems, "maintenance_price", maintenance_price, "The maintenance price")
    for protocol_id, amount in session_prices.items():
        what = f"The price of {names.get(protocol_id, 'a session')}"
        _price_problem(problems, f"price_{protocol_id}", amount, what)
    if not session_prices:
        _problem(problems, "__all__", "Price the session of at least one protocol.")
    seen: set[str] = set()
    for addon_name, amount in addons:
        label = (addon_name or "").strip()
        if not label:
            _problem(problems, "addons", "Give each add-on a name.")
            continue
        if label.casefold() in seen:
            _problem(problems, "addons", f"The add-on {label} is listed twice.")
        seen.add(label.casefold())
        if amount is None:
            _problem(problems, "addons", f"Give the price of {label}.")
        _price_problem(problems, "addons", amount, f"The price of {label}")
    return problems


def package_problems(
    *,
    name: str,
    sessions: Mapping[int, int],
    price: Decimal | None,
    percent_off: Decimal | None,
    maintenance_sessions: int,
    valid_months: int,
) -> dict[str, list[str]]:
    """Why a package cannot be saved as given; empty when it can.

    A package sells at least one session of a protocol, at either a price (`check_price`)
    or a percentage off (`check_discount`, the rule every quote discount follows), for
    a positive number of months. Keys are field names, "sessions_<protocol id>" or
    "__all__".
    """
    problems: dict[str, list[str]] = {}
    if not (name or "").strip():
        _problem(problems, "name", "Give the package a name, e.g. Scalp course of 3.")
    for protocol_id, count in sessions.items():
        if count < 1:
            _problem(problems, f"sessions_{protocol_id}", "At least 1 session, or leave empty.")
    if not any(count >= 1 for count in sessions.values()):
        _problem(problems, "__all__", "A package needs at least one session of a protocol.")
    if (price is None) == (percent_off is None):
        _problem(problems, "__all__", "Give either a package price or a percentage off, not both.")
    _price_problem(problems, "price", price, "A package price")
    if percent_off is not None:
        try:
            check_discount(percent_off)
        except PricingError as exc:
            _problem(problems, "percent_off", str(exc))
    if not 0 <= maintenance_sessions <= MAX_MAINTENANCE_SESSIONS:
        _problem(
            problems,
            "maintenance_sessions",
            f"Between 0 and {MAX_MAINTENANCE_SESSIONS} maintenance sessions.",
        )
    if not 1 <= valid_months <= MAX_VALID_MONTHS:
        _problem(problems, "valid_months", f"Between 1 and {MAX_VALID_MONTHS} months.")
    return problems


def needs_approval(discount_percent: Decimal, policy: Policy) -> bool:
    """Discounts above the manager's limit need a manager to approve them."""
    return discount_percent > policy.discount_approval_limit_percent


def tax_split(amount: Decimal, policy: Policy) -> tuple[Decimal, Decimal, Decimal]:
    """(net, tax, total) for an amount as the price list states it."""
    rate = policy.tax_rate_percent / HUNDRED
    if policy.prices_include_tax:
        total = amount
        net = q(total / (1 + rate), policy.exponent)
        return net, total - net, total
    net = amount
    tax = q(net * rate, policy.exponent)
    return net, tax, net + tax


def totals(
    lines: Sequence[Line],
    policy: Policy,
    *,
    discount_percent: Decimal = ZERO,
    deposit_percent: Decimal | None = None,
    deduction: Decimal = ZERO,
) -> Totals:
    """Subtotal, discount, tax, total and deposit of some lines.

    The subtotal is exactly the sum of the line amounts; net + tax = total, always.
    `deduction` (a consultation fee taken off the first treatment) comes off after the
    percentage discount, as far as there is something left to take it from.
    """
    check_discount(discount_percent)
    check_price(deduction, "A deduction")
    for line in lines:
        check_price(line.unit_price)
        if line.quantity < 0:
            raise PricingError("A quantity cannot be negative.")
    amounts = tuple(line.amount(policy.exponent) for line in lines)
    subtotal = sum(amounts, ZERO)
    discount = min(subtotal, q(subtotal * discount_percent / HUNDRED, policy.exponent))
    deducted = min(subtotal - discount, q(deduction, policy.exponent))
    net, tax, total = tax_split(subtotal - discount - deducted, policy)
    pct = policy.deposit_percent if deposit_percent is None else deposit_percent
    deposit = min(total, q(total * pct / HUNDRED, policy.exponent))
    return Totals(
        subtotal=subtotal,
        discount=discount,
        net=net,
        tax=tax,
        total=total,
        deposit=deposit,
        line_amounts=amounts,
        deduction=deducted,
    )


# --- Packages -----------------------------------------------------------------


@dataclass(frozen=True)
class PackageTerms:
    """What a package sells: sessions per protocol (+ maintenance) at a price or % off."""

    key: str
    name: str
    sessions: tuple[tuple[int, int], ...]  # (protocol_id, sessions)
    maintenance_sessions: int = 0
    price: Decimal | None = None
    percent_off: Decimal | None = None
    valid_months: int = 12
    # A package dearer than paying per session is capped at the per-session price
    # unless the clinic explicitly allows it (e.g. it bundles something not priced here).
    allow_above_single_price: bool = False

    @property
    def protocol_ids(self) -> frozenset[int]:
        return frozenset(pid for pid, _ in self.sessions)

    @property
    def session_count(self) -> int:
        return sum(n for _, n in self.sessions) + self.maintenance_sessions


@dataclass(frozen=True)
class Option:
    key: str  # "single" or "package:<id>"
    name: str
    lines: tuple[Line, ...]
    single_price_total: Decimal  # the same sessions paid one by one
    price: Decimal  # before any quote discount
    saving: Decimal
    saving_percent: Decimal
    sessions: int
    valid_months: int | None = None


def is_applicable(package: PackageTerms, protocol_ids: Iterable[int]) -> bool:
    """A package applies when everything it sells was asked for."""
    wanted = frozenset(protocol_ids)
    return bool(package.protocol_ids) and package.protocol_ids <= wanted


def percent_of(part: Decimal, whole: Decimal) -> Decimal:
    if whole <= 0:
        return ZERO
    return q(part * HUNDRED / whole, Decimal("0.1"))


def single_option(
    wanted: Sequence[tuple[int, str, int]], single_prices: dict[int, Decimal], policy: Policy
) -> Option:
    """Pay per session: (protocol_id, description, sessions) at each protocol's single price."""
    lines = tuple(
        Line(desc, n, single_prices[pid], protocol_id=pid) for pid, desc, n in wanted if n > 0
    )
    total = sum((line.amount(policy.exponent) for line in lines), ZERO)
    return Option("single", "Pay per session", lines, total, total, ZERO, ZERO, _count(lines))


def _count(lines: Iterable[Line]) -> int:
    return sum(line.quantity for line in lines)


def package_option(
    package: PackageTerms,
    *,
    single_prices: dict[int, Decimal],
    names: dict[int, str],
    maintenance_price: Decimal | None,
    policy: Policy,
) -> Option:
    """The package next to what the same sessions cost one by one."""
    for pid, _ in package.sessions:
        if pid not in single_prices:
            raise PricingError(f"No price for protocol {names.get(pid, pid)} on this price list.")
    lines = [
        Line(names.get(pid, str(pid)), n, single_prices[pid], protocol_id=pid)
        for pid, n in package.sessions
    ]
    if package.maintenance_sessions:
        if maintenance_price is None:
            raise PricingError("No maintenance price on this price list.")
        lines.append(Line("Maintenance session", package.maintenance_sessions, maintenance_price))
    single_total = sum((line.amount(policy.exponent) for line in lines), ZERO)
    if package.price is not None:
        check_price(package.price, "A package price")
        price = q(package.price, policy.exponent)
    else:
        pct = package.percent_off or ZERO
        check_discount(pct)
        price = single_total - q(single_total * pct / HUNDRED, policy.exponent)
    if price > single_total and not package.allow_above_single_price:
        price = single_total
    saving = single_total - price
    return Option(
        key=package.key,
        name=package.name,
        lines=tuple(lines),
        single_price_total=single_total,
        price=price,
        saving=saving,
        saving_percent=percent_of(saving, single_total),
        sessions=package.session_count,
        valid_months=package.valid_months,
    )


def compare(
    wanted: Sequence[tuple[int, str, int]],
    *,
    single_prices: dict[int, Decimal],
    maintenance_price: Decimal | None,
    packages: Iterable[PackageTerms],
    names: dict[int, str],
    policy: Policy,
) -> list[Option]:
    """Pay per session first, then every applicable package, cheapest per session first."""
    options = [single_option(wanted, single_prices, policy)]
    wanted_ids = [pid for pid, _, n in wanted if n > 0]
    package_options = []
    for package in packages:
        if not is_applicable(package, wanted_ids):
            continue
        try:
            package_options.append(
                package_option(
                    package,
                    single_prices=single_prices,
                    names=names,
                    maintenance_price=maintenance_price,
                    policy=policy,
                )
            )
        except PricingError:
            continue  # a package this price list cannot price is not offered
    package_options.sort(key=lambda o: (o.price / max(o.sessions, 1), o.key))
    return options + package_options


def allocate(total: Decimal, weights: Sequence[Decimal], exponent: Decimal) -> list[Decimal]:
    """Split `total` in proportion to `weights`; the parts add up to `total` exactly.

    Used to give each session credit of a package its share of the package price
    (largest remainder, so rounding never loses or invents a penny).
    """
    if not weights:
        return []
    weight_sum = sum(weights, ZERO)
    if weight_sum <= 0:
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    raw = [total * w / weight_sum for w in weights]
    parts = [r.quantize(exponent, rounding="ROUND_DOWN") for r in raw]
    left = total - sum(parts, ZERO)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - parts[i]), i))
    i = 0
    while left >= exponent:
        parts[order[i % len(order)]] += exponent
        left -= exponent
        i += 1
    return parts


# --- Refunds, fees, deposits, instalments ---------------------------------------


@dataclass(frozen=True)
class Refund:
    retained: Decimal  # what the clinic keeps for the sessions used
    refund: Decimal  # money back to the patient
    credit: Decimal  # how much of the package invoice is credited (credit note)


def package_cancellation(
    *, package_total: Decimal, paid: Decimal, used_single_prices: Sequence[Decimal], exponent
) -> Refund:
    """The written policy: unused sessions at the package rate, minus what was used
    re-priced at the single price.

    For a paid-up package that is the package price minus the used sessions at the
    single price; the clinic never keeps more than the package price, and never
    refunds more than was paid or less than nothing.
    """
    check_price(package_total, "A package price")
    check_price(paid, "A payment")
    used_value = q(sum(used_single_prices, ZERO), exponent)
    retained = min(package_total, used_value)
    refund = max(ZERO, paid - retained)
    return Refund(retained=retained, refund=refund, credit=package_total - retained)


def refundable(*, paid: Decimal, refunded: Decimal) -> Decimal:
    return max(ZERO, paid - refunded)


def late_fee(
    *,
    status: str,
    cancelled_late: bool,
    late_cancel_fee: Decimal,
    no_show_fee: Decimal,
    fee_waived: bool = False,
):
    """The fee a missed appointment carries under the clinic's policy (zero if none).

    `cancelled_late` is scheduling's rule (the patient's own cancellation, close to the
    start, before check-in); staff may waive that fee, with a reason kept on record."""
    if status == "no_show":
        return no_show_fee
    if status == "cancelled" and cancelled_late and not fee_waived:
        return late_cancel_fee
    return ZERO


def consultation_deduction(
    *, fee: Decimal, consulted_on: date | None, treated_on: date, within_days: int
) -> Decimal:
    """A consultation fee is taken off the first treatment booked within N days."""
    if consulted_on is None or within_days <= 0:
        return ZERO
    if 0 <= (treated_on - consulted_on).days <= within_days:
        return fee
    return ZERO


def instalments(
    *, total: Decimal, deposit: Decimal, count: int, first_due: date, exponent: Decimal
) -> list[tuple[date, Decimal]]:
    """The deposit due on `first_due`, then the rest in `count` monthly instalments.

    Amounts add up to `total`; the last instalment takes the rounding remainder
    (each earlier one is rounded down, so the last is never the smallest).
    """
    if count < 0:
        raise PricingError("The number of instalments cannot be negative.")
    if deposit < 0 or deposit > total:
        raise PricingError("The deposit must be between zero and the total.")
    plan: list[tuple[date, Decimal]] = []
    if deposit > 0 or count == 0:
        plan.append((first_due, deposit if count else total))
    if count:
        rest = total - deposit
        each = (rest / count).quantize(exponent, rounding="ROUND_DOWN")
        for n in range(1, count + 1):
            amount = each if n < count else rest - each * (count - 1)
            plan.append((add_months(first_due, n), amount))
    return plan


def allocate_payments(due: Sequence[Decimal], paid: Decimal) -> list[Decimal]:
    """How much of each instalment (in due order) a running total of payments covers."""
    covered = []
    left = paid
    for amount in due:
        take = min(amount, max(ZERO, left))
        covered.append(take)
        left -= take
    return covered


# --- Which credit pays for a completed session


@dataclass(frozen=True)
class CreditOption:
    """A credit the patient could use: the id, what it is for."""

    id: int
    protocol_id: int | None
    is_maintenance: bool


def credit_to_use(*, kind: str, protocol_id: int | None, credits: list[CreditOption]) -> int | None:
    """The credit that pays for a session, or None (the session is then invoiced).

    `credits` come oldest purchase first, and the oldest that fits is used: a
    maintenance session takes a maintenance credit, else (like any treatment) a credit
    for its protocol; a consultation is never paid by a credit.
    """
    if kind == "maintenance":
        for credit in credits:
            if credit.is_maintenance:
                return credit.id
    if kind == "consultation" or protocol_id is None:
        return None
    for credit in credits:
        if credit.protocol_id == protocol_id and not credit.is_maintenance:
            return credit.id
    return None


# --- The invoice for an accepted quote


@dataclass(frozen=True)
class QuoteLine:
    description: str
    quantity: int
    unit_price: Decimal
    protocol_id: int | None = None
    is_addon: bool = False


def quote_invoice_lines(
    lines: Sequence[QuoteLine], *, package_name: str | None, subtotal: Decimal, exponent: Decimal
) -> list[Line]:
    """What the invoice of an accepted quote lists.

    A package is one line at the package price (the quote's subtotal less its add-ons);
    pay-per-session lists each session line. Add-ons follow as their own lines.
    """
    addons = [Line(x.description, x.quantity, x.unit_price) for x in lines if x.is_addon]
    if package_name is not None:
        addon_total = sum((a.amount(exponent) for a in addons), ZERO)
        main = [Line(f"Package: {package_name}", 1, subtotal - addon_total)]
    else:
        main = [
            Line(x.description, x.quantity, x.unit_price, x.protocol_id)
            for x in lines
            if not x.is_addon
        ]
    return main + addons


def line_shares(
    *,
    lines: Sequence[Line],
    extras: Sequence[Line],
    package_price: Decimal | None,
    total: Decimal,
    exponent: Decimal,
) -> list[Decimal]:
    """Each quote line's share of the total (sessions, then add-ons), adding up exactly.

    A package's sessions share the package's price in proportion to their single
    prices, so the credits they become are worth what the patient pays for them.
    """
    weights = [line.amount(exponent) for line in lines]
    if package_price is not None and sum(weights, ZERO) > 0:
        weights = allocate(package_price, weights, exponent)
    weights += [line.amount(exponent) for line in extras]
    return allocate(total, weights, exponent)
