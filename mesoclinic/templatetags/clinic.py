from django import template

from mesoclinic.money import format_money
from patients.phones import display_phone

register = template.Library()


@register.filter
def money(amount, currency=None):
    """{{ amount|money }} in the clinic's currency and locale."""
    return format_money(amount, currency)


@register.filter
def phone(value):
    return display_phone(value)


@register.filter
def get_item(mapping, key):
    return mapping.get(key)
