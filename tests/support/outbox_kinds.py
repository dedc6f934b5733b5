"""A message kind used only by the outbox tests; real workers load it with --include."""

from types import SimpleNamespace

from mesoclinic.core import emails, outbox
from patients.models import Patient

KIND = "test_note"


@outbox.builder(KIND)
def build_test_note(message):
    patient = Patient.objects.filter(pk=message.subject_id).first()
    if patient is None or patient.is_archived:
        return None
    return emails.build(
        "password_reset",
        to=[message.recipient],
        context={
            "user": SimpleNamespace(get_full_name=patient.full_name, get_username=patient.email),
            "reset_url": f"https://example.com/{message.pk}",
            "valid_hours": 1,
        },
    )
