"""`load_demo` adds a price list, packages and a quote; running it twice changes nothing."""

import pytest
from django.core.management import call_command

from billing.models import Package, Price, PriceList, Quote


@pytest.mark.django_db
def test_demo_billing_is_idempotent(settings, catalogue):
    settings.DEMO_DATA_ALLOWED = True
    call_command("load_demo", verbosity=0)
    counts = (
        PriceList.objects.count(),
        Price.objects.count(),
        Package.objects.count(),
        Quote.objects.count(),
    )
    assert counts[0] == 1 and counts[1] >= 8 and counts[2] == 4 and counts[3] == 1
    call_command("load_demo", verbosity=0)
    assert counts == (
        PriceList.objects.count(),
        Price.objects.count(),
        Package.objects.count(),
        Quote.objects.count(),
    )
