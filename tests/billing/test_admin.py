"""Every billing model has a working admin; issued documents are read-only there."""

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import selectors
from tests.billing.helpers import accepted_purchase

pytestmark = pytest.mark.django_db

MODELS = (
    "pricelist",
    "package",
    "quote",
    "purchase",
    "credituse",
    "invoice",
    "payment",
    "instalment",
    "documentcounter",
)


def test_admin_pages_open(admin_client, admin_user, patient, catalogue):
    quote, purchase = accepted_purchase(patient, catalogue, admin_user, today=timezone.localdate())
    invoice = selectors.purchase_invoice(purchase)
    for model in MODELS:
        response = admin_client.get(reverse(f"admin:billing_{model}_changelist"))
        assert response.status_code == 200, model
    # Price lists and packages are kept in the app (validated, audited): shown, not added.
    for model in ("pricelist", "package"):
        assert admin_client.get(reverse(f"admin:billing_{model}_add")).status_code == 403
    for url in (
        reverse("admin:billing_pricelist_change", args=[quote.price_list.pk]),
        reverse("admin:billing_package_change", args=[quote.package.pk]),
        reverse("admin:billing_quote_change", args=[purchase.quote.pk]),
        reverse("admin:billing_purchase_change", args=[purchase.pk]),
        reverse("admin:billing_invoice_change", args=[invoice.pk]),
    ):
        assert admin_client.get(url).status_code == 200, url
    # An issued invoice shows, but cannot be saved or deleted from the admin.
    response = admin_client.post(reverse("admin:billing_invoice_change", args=[invoice.pk]), {})
    assert response.status_code == 403
    assert admin_client.get(reverse("admin:billing_invoice_add")).status_code == 403
