"""The audit log's CSV export for a date range."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _event(day: int, **extra) -> AuditEvent:
    return AuditEvent.objects.create(
        at=datetime.datetime(2026, 3, day, 12, 0, tzinfo=datetime.UTC),
        actor_label=extra.pop("actor_label", "practitioner"),
        action=extra.pop("action", "view"),
        **extra,
    )


def _rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_manager_exports_a_date_range_with_patient_names(
    manager_client, django_assert_max_num_queries
):
    ada = PatientFactory(first_name="Ada", last_name="Lovelace")
    _event(1, summary="before the range")
    inside = [_event(day, patient_id=ada.pk, summary=f"day {day}") for day in (2, 3, 4)]
    _event(5, summary="after the range")
    with django_assert_max_num_queries(8):
        response = manager_client.get(
            reverse("audit_export"), {"date_from": "2026-03-02", "date_to": "2026-03-04"}
        )
        rows = _rows(response)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="audit-20260302-20260304.csv"' in response["Content-Disposition"]
    assert [r["summary"] for r in rows] == ["day 2", "day 3", "day 4"]
    assert [int(r["id"]) for r in rows] == [e.pk for e in inside]
    assert {r["patient"] for r in rows} == {"Ada Lovelace"}
    assert {"chain position", "previous hash", "row hash"} <= set(rows[0])
    assert rows[0]["at (UTC)"] == "2026-03-02 12:00:00.000000"
    # The export is itself in the log.
    logged = AuditEvent.objects.filter(action="export").get()
    assert "2026-03-02 to 2026-03-04" in logged.summary
    assert logged.actor_label == "manager"


def test_other_filters_narrow_the_export(manager_client):
    _event(2, actor_label="frontdesk", action="change", summary="edited")
    _event(2, actor_label="practitioner", summary="viewed")
    response = manager_client.get(
        reverse("audit_export"),
        {"date_from": "2026-03-01", "date_to": "2026-03-31", "action": "change"},
    )
    assert [r["summary"] for r in _rows(response)] == ["edited"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2026-03-01"}, "Choose both dates of the range to export."),
        ({"date_from": "2026-03-05", "date_to": "2026-03-01"}, "The start date is after"),
        ({"date_from": "2024-01-01", "date_to": "2026-01-01"}, "at most 366 days"),
        ({"date_from": "yesterday", "date_to": "2026-01-01"}, "Enter a valid date."),
    ],
)
def test_a_bad_range_is_explained_and_nothing_is_exported(manager_client, params, message):
    response = manager_client.get(reverse("audit_export"), params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_opening_the_export_without_a_range_leads_to_the_log_page(manager_client):
    response = manager_client.get(reverse("audit_export"), follow=True)
    assert response.redirect_chain == [(reverse("audit_log"), 302)]
    assert "Choose the dates to export" in response.content.decode()


def test_the_log_page_offers_the_export(manager_client):
    body = manager_client.get(reverse("audit_log")).content.decode()
    assert f'formaction="{reverse("audit_export")}"' in body


def test_only_managers_export(practitioner_client, frontdesk_client):
    params = {"date_from": "2026-03-01", "date_to": "2026-03-02"}
    assert practitioner_client.get(reverse("audit_export"), params).status_code == 403
    assert frontdesk_client.get(reverse("audit_export"), params).status_code == 403
