from django import template

from mesoclinic.core.money import format_money
from mesoclinic.core.phones import display_phone

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
    """{{ mapping|get_item:key }}: the value, or None (add |default:... for a fallback)."""
    return mapping.get(key) if mapping else None


# What offset 0 means for each kind of message: most count from the booking (or the
# quote, the instalment...), these from something else.
_AT_ZERO = {
    "aftercare": "right after the session",
    "aftercare_followup": "right after the session",
    "next_session_due": "when the window opens",
    "maintenance_due": "on the due day",
    "quote_expiring": "when the quote expires",
    "instalment_due": "on the due day",
    "recall_notice": "",
    "reschedule_request": "",
    "appointment_moved": "",
}


def _hours_in_words(hours: int) -> str:
    size = abs(hours)
    if size >= 72 and size % 24 == 0:
        amount = f"{size // 24} days"
    else:
        amount = f"{size} hour{'' if size == 1 else 's'}"
    return f"{amount} {'before' if hours < 0 else 'after'}"


@register.filter
def offset_words(offset_key, kind: str = "") -> str:
    """{{ m.offset_key|offset_words:m.kind }}: "8 days before", "48 hours before",
    "at booking", "3 days after"; "" for keys that are not an offset in hours.

    Keys are hours relative to the message's reference time ("-192", "-48h"); course
    nudges prefix the session number or date ("2:-24"); recall keys name the lot
    ("lot:ABC1"), reschedule requests the day (those say nothing a list needs).
    """
    key = str(offset_key or "").strip()
    if key.startswith("lot:"):
        return f"lot {key[4:]}"
    number = key.rsplit(":", 1)[-1].removesuffix("h")
    try:
        hours = int(number)
    except ValueError:
        return ""
    if hours == 0:
        return _AT_ZERO.get(kind, "at booking")
    return _hours_in_words(hours)
