"""Outbox builders of the records app (registered by importing this module in ready())."""

from django.conf import settings
from django.urls import reverse

from mesoclinic.core import emails, links, outbox
from mesoclinic.records.models import SubjectAccessExport

LINK_ACTION = "subject-access-export"


def download_url(export: SubjectAccessExport) -> str:
    token = links.make_token(LINK_ACTION, export.pk)
    path = reverse("public:subject_access_download", kwargs={"token": token})
    return settings.SITE_URL.rstrip("/") + path


@outbox.builder("subject_access_link")
def subject_access_link(message):
    export = (
        SubjectAccessExport.objects.select_related("patient")
        .filter(pk=message.subject_id, status=SubjectAccessExport.Status.READY)
        .first()
    )
    if export is None or not export.patient.email:
        return None
    return emails.build(
        "subject_access_link",
        to=[export.patient.email],
        context={
            "patient": export.patient,
            "download_url": download_url(export),
            "link_days": settings.SUBJECT_ACCESS_LINK_DAYS,
        },
    )
