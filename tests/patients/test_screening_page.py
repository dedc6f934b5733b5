"""The screening page answers "can this patient have this protocol today?" for every
bookable protocol, from each protocol's own contraindication list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import ScreeningAcknowledgement
from protocols import services as protocol_services
from tests.factories import PatientFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


def rows(response) -> dict[str, str]:
    return {protocol.name: result.status for protocol, result in response.context["by_protocol"]}


def test_each_protocol_gets_its_own_answer_with_reasons(practitioner_client, catalogue):
    patient = PatientFactory(first_name="Ada")
    ScreeningFactory(patient=patient, ingredient_allergy=True)
    url = reverse("patients:screening", args=[patient.public_id])
    response = practitioner_client.get(url)
    status = rows(response)
    assert status["Face mesotherapy"] == "needs_acknowledgement"
    assert status["Hair mesotherapy"] == "needs_acknowledgement"
    # Not on any PRP protocol's list: PRP is clear.
    assert status["PRP face rejuvenation"] == "clear"
    page = response.content.decode()
    assert "Can Ada have each protocol today?" in page
    assert (
        "Allergy to a mesotherapy ingredient: the practitioner must review and record a decision."
        in page
    )
    # The allergy is not on the default PRP list, yet it can be acknowledged here.
    assert 'name="code" value="ingredient_allergy"' in page

    response = practitioner_client.post(
        url, {"code": "ingredient_allergy", "reason": "Allergy is to lidocaine; cocktail has none."}
    )
    assert response.status_code == 302
    assert ScreeningAcknowledgement.objects.filter(code="ingredient_allergy").count() == 1
    after = practitioner_client.get(url)
    assert rows(after)["Face mesotherapy"] == "clear"
    assert "Decision recorded: Allergy to a mesotherapy ingredient." in after.content.decode()


def test_an_absolute_contraindication_blocks_every_protocol_listing_it(
    practitioner_client, catalogue
):
    patient = PatientFactory()
    ScreeningFactory(patient=patient, site_infection=True, platelet_disorder=True)
    response = practitioner_client.get(reverse("patients:screening", args=[patient.public_id]))
    status = rows(response)
    assert status["PRP scalp (hair loss)"] == "blocked"
    assert status["Face mesotherapy"] == "blocked"  # site infection is absolute there too
    reasons = {p.name: result.reasons for p, result in response.context["by_protocol"]}
    assert reasons["Face mesotherapy"] == (
        "Active infection or skin disease at the treatment site: treatment must not go ahead.",
    )
    assert (
        "Blood or platelet disorder: treatment must not go ahead."
        in reasons["PRP face rejuvenation"]
    )


def test_retired_protocols_are_not_offered(practitioner_client, catalogue):
    protocol_services.protocol_set_active(protocol=catalogue["Hair mesotherapy"], active=False)
    patient = PatientFactory()
    ScreeningFactory(patient=patient)
    response = practitioner_client.get(reverse("patients:screening", args=[patient.public_id]))
    assert "Hair mesotherapy" not in rows(response)
    assert set(rows(response).values()) == {"clear"}


def test_no_table_without_a_screening(practitioner_client, catalogue, patient):
    response = practitioner_client.get(reverse("patients:screening", args=[patient.public_id]))
    assert "each protocol today" not in response.content.decode()


def test_screening_page_queries_do_not_grow_with_protocols(practitioner_client, catalogue, manager):
    patient = PatientFactory()
    ScreeningFactory(patient=patient, smoker=True, ingredient_allergy=True)
    url = reverse("patients:screening", args=[patient.public_id])

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert practitioner_client.get(url).status_code == 200
        return len(queries)

    before = count()
    for protocol in list(catalogue.values())[:5]:
        protocol_services.protocol_clone(protocol=protocol, by=manager)
    assert count() == before
