"""Signed patient links about appointments and documents, and the URLs to put in emails.

Each action has its own salt (mesoclinic.core.links), so a "confirm" token cannot cancel.
"""

from mesoclinic.core import links

CONFIRM = "appointment-confirm"
CANCEL = "appointment-cancel"
RESCHEDULE = "appointment-reschedule"
AFTERCARE_PDF = "aftercare-pdf"
CONSENT_PDF = "consent-pdf"


def confirm_url(appointment) -> str:
    return links.absolute_url(
        "public:appointment_confirm", action=CONFIRM, object_id=appointment.pk
    )


def cancel_url(appointment) -> str:
    return links.absolute_url("public:appointment_cancel", action=CANCEL, object_id=appointment.pk)


def reschedule_url(appointment) -> str:
    return links.absolute_url(
        "public:appointment_reschedule", action=RESCHEDULE, object_id=appointment.pk
    )


def aftercare_pdf_url(appointment) -> str:
    return links.absolute_url(
        "public:aftercare_pdf", action=AFTERCARE_PDF, object_id=appointment.pk
    )


def consent_pdf_url(signed_consent) -> str:
    return links.absolute_url("public:consent_pdf", action=CONSENT_PDF, object_id=signed_consent.pk)


def appointment_links(appointment) -> dict[str, str]:
    """The links an email about an upcoming appointment carries."""
    return {
        "confirm_url": confirm_url(appointment) if appointment.status == "booked" else "",
        "cancel_url": cancel_url(appointment),
        "reschedule_url": reschedule_url(appointment),
    }
