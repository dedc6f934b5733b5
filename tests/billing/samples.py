"""Objects for tests/core/test_permissions.py: one of everything a billing URL names."""

from django.utils import timezone

from billing import selectors
from tests.billing.helpers import accepted_purchase
from tests.factories import UserFactory


def sample_kwargs(patient, catalogue):
    quote, purchase = accepted_purchase(
        patient, catalogue, UserFactory(), today=timezone.localdate()
    )
    return {
        "price_list_id": quote.price_list.public_id,
        "package_id": quote.package.public_id,
        "quote_id": quote.public_id,
        "purchase_id": purchase.public_id,
        "invoice_id": selectors.purchase_invoice(purchase).public_id,
    }
