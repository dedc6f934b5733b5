"""Phone numbers: validated and stored in E.164 (+447700900123) with the phonenumbers library."""

import phonenumbers


class InvalidPhoneNumber(ValueError):
    pass


def normalize_phone(raw: str, *, default_region: str) -> str:
    """Return the E.164 form of a phone number, or raise InvalidPhoneNumber.

    Numbers written without a country code are read as numbers of the clinic's country.
    """
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber("This does not look like a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(
            "This phone number is not valid. Check the digits, or add the country code (+44…)."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def looks_like_phone(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 6 and all(ch.isdigit() or ch in " +-().\u00a0" for ch in text.strip())
