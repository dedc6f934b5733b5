"""Filters of the billing panel on the patient page (billing.panels renders it)."""

from django import template

register = template.Library()


@register.filter
def quote_status(quote, today):
    """{{ quote|quote_status:today }}: the status a person reads, "Expired" included."""
    return quote.display_status(today)
