"""Quote notes are printed on the PDF; marking a quote declined needs the confirmation
and records who did it."""

import io

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from billing import documents, services
from billing.models import Quote
from tests.billing.helpers import SCALP, price_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def quote(patient, catalogue, frontdesk):
    return services.quote_create(
        patient=patient,
        price_list=price_list(catalogue),
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key="single",
        by=frontdesk,
        today=timezone.localdate(),
        notes="Numbing cream included.\nBring your GP's letter.",
    )


def test_the_pdf_prints_the_notes(quote):
    pdf = PdfReader(io.BytesIO(documents.quote_pdf(quote)))
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert "Numbing cream included." in text and "Bring your GP's letter." in text


def test_declining_without_the_confirmation_changes_nothing(frontdesk_client, quote):
    url = reverse("billing:quote_decline", args=[quote.public_id])
    response = frontdesk_client.post(url, follow=True)
    assert "Nothing changed: confirm that the patient declined" in response.content.decode()
    assert Quote.objects.get().status == Quote.Status.ISSUED


def test_declining_records_who_and_when(frontdesk_client, frontdesk, quote):
    url = reverse("billing:quote_decline", args=[quote.public_id])
    response = frontdesk_client.post(url, {"confirm": "declined"}, follow=True)
    assert "marked as declined" in response.content.decode()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.DECLINED
    assert quote.declined_by == frontdesk and quote.declined_at is not None
    with pytest.raises(services.BillingError, match="Only an open quote"):
        services.quote_decline(quote=quote, by=frontdesk)
