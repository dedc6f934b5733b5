"""The signed consent's PDF: rendered from the stored record, stored once."""

from __future__ import annotations

import base64
import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mesoclinic.core.pdf import render_pdf
from patients.models import SignedConsent


def signed_consent_pdf_render(*, signed) -> bytes:
    """The signed consent as PDF bytes: header, patient, protocol, version and hashes,
    the full text and both signature images (embedded as data URIs, no file access)."""

    def data_uri(png) -> str:
        return "data:image/png;base64," + base64.b64encode(bytes(png)).decode("ascii")

    return render_pdf(
        "pdf/consent.html",
        {
            "signed": signed,
            "patient": signed.patient,
            "protocol": signed.protocol,
            "version": signed.consent_version,
            "patient_signature": data_uri(signed.patient_signature_png),
            "practitioner_signature": data_uri(signed.practitioner_signature_png),
        },
    )


def signed_consent_pdf_generate(*, signed_consent_id: int) -> bool:
    """Render and store the signed consent's PDF, once. Returns True if this call stored it."""
    signed = SignedConsent.objects.select_related(
        "patient", "protocol", "consent_version", "practitioner"
    ).get(pk=signed_consent_id)
    if signed.pdf:
        return False
    content = signed_consent_pdf_render(signed=signed)
    name = default_storage.save(
        SignedConsent.pdf.field.generate_filename(signed, "consent.pdf"), ContentFile(content)
    )
    stored = SignedConsent.objects.filter(pk=signed.pk, pdf="").update(
        pdf=name, pdf_sha256=hashlib.sha256(content).hexdigest()
    )
    if not stored:  # another worker stored it first
        default_storage.delete(name)
    return bool(stored)
