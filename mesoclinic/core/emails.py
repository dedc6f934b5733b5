"""Every email Mesoclinic sends goes through this module.

One small function per message; each renders three templates from
templates/email/<name>/ — subject.txt, body.txt and body.html — inside the
clinic's branding, and sends through Django's configured email backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


def build(
    template: str,
    *,
    to: list[str],
    context: dict,
    attachments: tuple[Attachment, ...] = (),
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    context = {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_email": settings.CLINIC_EMAIL,
        "clinic_address": settings.CLINIC_ADDRESS,
        **context,
    }
    subject = " ".join(render_to_string(f"email/{template}/subject.txt", context).split())
    text = render_to_string(f"email/{template}/body.txt", context)
    html = render_to_string(f"email/{template}/body.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers=headers or {},
    )
    message.attach_alternative(html, "text/html")
    for attachment in attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message


def send_password_reset(*, to: str, user, reset_url: str) -> None:
    build(
        "password_reset",
        to=[to],
        context={
            "user": user,
            "reset_url": reset_url,
            "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        },
    ).send()
