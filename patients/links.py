"""Patient link actions owned by the patients app, and the URLs to put in emails."""

from mesoclinic.core import links

UNSUBSCRIBE = "unsubscribe"


def unsubscribe_url(patient) -> str:
    return links.absolute_url("public:unsubscribe", action=UNSUBSCRIBE, object_id=patient.pk)


def make_token(patient_pk: int) -> str:
    return links.make_token(UNSUBSCRIBE, patient_pk)
