"""Consent texts with a few named placeholders. Pure: no ORM.

Managers write plain text with placeholders such as {patient_name}; only the names
below are replaced, so a consent text can never run template code.
"""

from __future__ import annotations

import hashlib
import re

PLACEHOLDERS = {
    "patient_name": "the patient's full name",
    "protocol_name": "the protocol's name",
    "areas": "the treatment areas",
    "risks": "the protocol's risks",
    "sessions": "the number of sessions in the course",
    "clinic_name": "the clinic's name",
}
_TOKEN = re.compile(r"\{(\w+)\}")


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in _TOKEN.findall(text) if name not in PLACEHOLDERS})


def render(text: str, values: dict[str, str]) -> str:
    return _TOKEN.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
