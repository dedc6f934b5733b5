"""Helpers for consent and chart tests: real signature images and signed consents."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw

from tests.factories import UserFactory


def signature_data_uri(seed: int = 0) -> str:
    """A PNG like signature_pad makes: transparent, with a drawn stroke."""
    image = Image.new("RGBA", (400, 150), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [(20 + i * 30, 75 + ((i + seed) % 3 - 1) * 40) for i in range(12)]
    draw.line(points, fill=(26, 26, 46, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def empty_signature_data_uri() -> str:
    out = io.BytesIO()
    Image.new("RGBA", (400, 150), (0, 0, 0, 0)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def sign_consent(patient, protocol, *, by=None):
    from patients import services
    from protocols.services import current_consent

    by = by or UserFactory(username="countersigner", first_name="Casey", last_name="Sign")
    return services.consent_sign(
        patient=patient,
        protocol=protocol,
        version_id=current_consent(protocol).pk,
        patient_signature=signature_data_uri(1),
        practitioner_signature=signature_data_uri(2),
        by=by,
    )
