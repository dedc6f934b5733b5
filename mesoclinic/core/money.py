"""Money helpers: Decimal amounts quantized to the clinic's currency."""

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision
from django.conf import settings


def currency_exponent(currency: str | None = None) -> Decimal:
    digits = get_currency_precision(currency or settings.CLINIC_CURRENCY)
    return Decimal(1).scaleb(-digits)


def quantize(amount: Decimal | int | str, currency: str | None = None) -> Decimal:
    return Decimal(amount).quantize(currency_exponent(currency), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | int | str | None, currency: str | None = None) -> str:
    if amount is None or amount == "":
        return ""
    return format_currency(
        quantize(amount, currency),
        currency or settings.CLINIC_CURRENCY,
        locale=settings.CLINIC_LOCALE,
    )
