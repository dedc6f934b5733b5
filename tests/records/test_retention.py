"""The pure retention rules."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.records import retention as r


def facts(**kw):
    base = {
        "today": date(2027, 6, 1),
        "clinical_years": 8,
        "billing_years": 10,
        "last_clinical": None,
        "last_invoice": None,
    }
    return r.Facts(**{**base, **kw})


def by_key(items):
    return {i.key: i for i in items}


def test_a_patient_never_treated_nor_invoiced_is_erased_entirely():
    items = by_key(r.plan(facts()))
    assert all(items[k].action == r.ERASE for k in items if k != r.AUDIT)
    assert r.due(list(items.values()), date(2027, 6, 1)) >= {r.IDENTITY, r.CLINICAL, r.CONTACT}


def test_clinical_record_and_invoices_are_kept_until_their_dates():
    items = by_key(r.plan(facts(last_clinical=date(2026, 3, 10), last_invoice=date(2026, 3, 10))))
    assert items[r.CLINICAL].action == r.RETAIN and items[r.CLINICAL].until == date(2034, 3, 10)
    assert items[r.BILLING].until == date(2036, 12, 31)
    assert items[r.IDENTITY].until == date(2036, 12, 31)
    assert items[r.CONTACT].action == r.ERASE and items[r.MESSAGES].action == r.ERASE
    assert r.due(list(items.values()), date(2034, 3, 10)) & {r.CLINICAL} == set()
    assert r.CLINICAL in r.due(list(items.values()), date(2034, 3, 11))
    assert r.IDENTITY not in r.due(list(items.values()), date(2036, 12, 31))
    assert r.IDENTITY in r.due(list(items.values()), date(2037, 1, 1))


def test_photos_near_a_treatment_are_clinical_others_are_not():
    treated = (date(2026, 1, 10),)
    assert r.photo_is_clinical(date(2025, 12, 1), treated)
    assert r.photo_is_clinical(date(2026, 4, 10), treated)
    assert not r.photo_is_clinical(date(2026, 6, 1), treated)
    items = by_key(
        r.plan(
            facts(
                last_clinical=treated[0],
                treatment_days=treated,
                photo_days=(date(2026, 1, 10), date(2024, 1, 1)),
            )
        )
    )
    assert "1" in items[r.OTHER_PHOTOS].label


def test_leap_day():
    assert r.add_years(date(2024, 2, 29), 8) == date(2032, 2, 29)
    assert r.add_years(date(2024, 2, 29), 7) == date(2031, 2, 28)


@given(
    last=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2050, 1, 1)),
    years=st.integers(min_value=1, max_value=30),
)
def test_nothing_clinical_goes_early_nor_stays_late(last, today, years):
    items = r.plan(facts(today=today, last_clinical=last, clinical_years=years))
    due = r.due(items, today)
    ends = r.add_years(last, years)
    assert (r.CLINICAL in due) == (today > ends)
