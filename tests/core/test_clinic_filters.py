"""Template filters in mesoclinic/core/templatetags/clinic.py."""

import pytest
from django.template import Context, Template

from mesoclinic.core.templatetags.clinic import offset_words


@pytest.mark.parametrize(
    ("key", "kind", "words"),
    [
        ("-192", "precare", "8 days before"),
        ("-48", "appointment_reminder", "48 hours before"),
        ("-3", "appointment_reminder", "3 hours before"),
        ("-1", "appointment_reminder", "1 hour before"),
        ("-24", "appointment_reminder", "24 hours before"),
        ("0", "precare", "at booking"),
        ("0", "booking_confirmation", "at booking"),
        ("0", "", "at booking"),
        ("72", "aftercare_followup", "3 days after"),
        ("0", "aftercare", "right after the session"),
        ("-48h", "quote_expiring", "48 hours before"),
        ("-72h", "instalment_due", "3 days before"),
        ("2:0", "next_session_due", "when the window opens"),
        ("2:-24", "next_session_due", "24 hours before"),
        ("2026-09-01:0", "maintenance_due", "on the due day"),
        ("lot:ABC123", "recall_notice", "lot ABC123"),
        ("2026-03-02", "reschedule_request", ""),
        ("", "precare", ""),
        (None, "precare", ""),
        ("bench-1", "appointment_reminder", ""),
    ],
)
def test_offset_words(key, kind, words):
    assert offset_words(key, kind) == words


def test_offset_words_in_a_template():
    template = Template("{% load clinic %}({{ key|offset_words:kind }})")
    assert template.render(Context({"key": "-192", "kind": "precare"})) == "(8 days before)"


@pytest.mark.django_db
def test_patient_messages_show_offsets_in_words(frontdesk_client, patient):
    from django.contrib.contenttypes.models import ContentType
    from django.urls import reverse
    from django.utils import timezone

    from mesoclinic.core.models import OutboundMessage

    for key in ("-192", "-48", "0"):
        OutboundMessage.objects.create(
            kind="precare" if key != "-48" else "appointment_reminder",
            subject_type=ContentType.objects.get_for_model(patient),
            subject_id=patient.pk,
            offset_key=key,
            patient_id=patient.pk,
            recipient=patient.email,
            due_at=timezone.now(),
        )
    page = frontdesk_client.get(reverse("patients:detail", args=[patient.public_id]))
    text = page.content.decode()
    for words in ("(8 days before)", "(48 hours before)", "(at booking)"):
        assert words in text
    assert "(-192)" not in text and "(-48)" not in text
