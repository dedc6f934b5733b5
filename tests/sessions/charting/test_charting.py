"""Session charts: defaults, bad input, sign and lock, amendments, the completion gate."""

import datetime

import pytest
from django.db import InternalError, transaction
from django.test import Client
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from sessions.charting import rules as charting_rules
from sessions.charting import services as charting
from sessions.charting.models import ChartAmendment, ChartArea, ChartProduct, SessionChart
from tests.sessions.charting.conftest import LONDON, good_post
from tests.sessions.charting.helpers import sign_consent

pytestmark = pytest.mark.django_db


def chart_url(appointment):
    return reverse("charting:chart", args=[appointment.public_id])


def test_opening_the_chart_takes_the_protocols_defaults(
    practitioner_client, practitioner, session, face
):
    response = practitioner_client.get(chart_url(session))
    assert response.status_code == 200
    assert not SessionChart.objects.exists()  # a GET shows the defaults and saves nothing
    for zone in set(face.treatment_areas):
        assert f'data-zone-row="{zone}"' in response.content.decode()
    chart = charting.chart_open(appointment=session, by=practitioner)  # the first save
    assert chart.blood_volume_ml == face.blood_volume_ml
    assert chart.activation == face.activation
    assert [(s.g_force, s.minutes) for s in chart.spins.all()] == [
        (s.g_force, s.minutes) for s in face.spins.all()
    ]
    assert sorted(a.zone for a in chart.areas.all()) == sorted(set(face.treatment_areas))
    body = response.content.decode()
    assert 'data-zone="face_forehead"' in body  # the clickable diagram
    assert AuditEvent.objects.filter(action="view", summary="Session chart").exists()


def test_saving_stores_lines_and_zone_codes(practitioner_client, session):
    practitioner_client.get(chart_url(session))
    response = practitioner_client.post(chart_url(session), good_post())
    assert response.status_code == 302
    chart = SessionChart.objects.get(appointment=session)
    assert chart.prp_yield_ml == 5
    assert {a.zone: a.volume_ml for a in chart.areas.all()} == {
        "face_cheek_left": 2,
        "face_cheek_right": 2.5,
    }
    assert list(chart.products.values_list("lot_number", flat=True)) == ["LOT-123", "L999"]
    assert list(chart.spins.values_list("g_force", "minutes")) == [(300, 5), (700, 15)]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"product_expiry": ["2026-03-01", "2026-12-31"]}, "expired on 01 Mar 2026"),
        ({"prp_yield_ml": "25"}, "cannot be more than the blood drawn"),
        ({"volume_face_cheek_left": "4"}, "more than the PRP yield"),
        ({"blood_volume_ml": "-3"}, "Cannot be negative"),
        ({"volume_face_cheek_left": "-1"}, "not a sensible amount"),
        ({"spin_g": ["300", "abc"]}, "not a whole number"),
        ({"zone": ["face_forehead", "nowhere"]}, "Unknown treatment area"),
        ({"product_expiry": ["31/01/2027", "2026-12-31"]}, "is not a date"),
        ({"spin_g": ["20", "700"]}, "between 50 and 5000 g"),
        ({"needle_gauge": "60"}, "between 18 and 34"),
        ({"volume_face_cheek_left": "150"}, "not a sensible amount"),
        ({"product_lot": ["L" * 61, "L999"]}, "lot 60"),
        ({"technique": "voodoo"}, "Select a valid choice"),
        (
            {"event_type": ["bruising"], "event_severity": ["mild"], "event_onset": ["after"]},
            "action taken",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_saved(
    practitioner_client, session, overrides, message
):
    charting.chart_open(appointment=session, by=session.practitioner)
    before = SessionChart.objects.get(appointment=session).updated_at
    response = practitioner_client.post(chart_url(session), good_post(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    chart = SessionChart.objects.get(appointment=session)
    assert chart.updated_at == before
    assert not ChartProduct.objects.exists()


def test_a_lot_expiring_on_the_session_day_is_still_usable(practitioner_client, session):
    practitioner_client.get(chart_url(session))
    response = practitioner_client.post(
        chart_url(session), good_post(product_expiry=["2026-03-02", "2026-12-31"])
    )
    assert response.status_code == 302


def test_signing_needs_a_complete_chart(practitioner_client, session):
    practitioner_client.get(chart_url(session))
    response = practitioner_client.post(
        chart_url(session),
        good_post(
            product_kind=["activator"],
            product_brand=["Generic"],
            product_name=["CaCl"],
            product_lot=["L999"],
            product_expiry=["2026-12-31"],
            sign="1",
        ),
    )
    assert "Record the PRP kit with its lot number" in response.content.decode()
    assert not SessionChart.objects.get(appointment=session).is_signed


def sign_chart(client, session):
    client.get(chart_url(session))
    response = client.post(chart_url(session), good_post(sign="1"))
    assert response.status_code == 302, response.content.decode()[:2000]
    return SessionChart.objects.get(appointment=session)


def test_signed_chart_is_locked_in_views_services_and_database(
    practitioner_client, session, practitioner
):
    chart = sign_chart(practitioner_client, session)
    assert chart.is_signed and chart.signed_by == practitioner and len(chart.signed_sha256) == 64
    # The view refuses edits.
    response = practitioner_client.post(chart_url(session), good_post(prp_yield_ml="3"))
    assert response.status_code == 409
    assert "signed and locked" in response.content.decode()
    # The service refuses edits.
    with pytest.raises(charting.ChartingError, match="signed and locked"):
        charting.chart_save(chart=chart, data=charting.chart_input_of(chart), by=practitioner)
    with pytest.raises(charting.ChartingError, match="already signed"):
        charting.chart_sign(chart=chart, by=practitioner)
    # The database refuses edits to the chart and its lines, whatever the code does.
    with pytest.raises(InternalError), transaction.atomic():
        SessionChart.objects.filter(pk=chart.pk).update(prp_yield_ml=3)
    with pytest.raises(InternalError), transaction.atomic():
        ChartArea.objects.filter(chart=chart).update(volume_ml=1)
    with pytest.raises(InternalError), transaction.atomic():
        ChartProduct.objects.filter(chart=chart).delete()
    with pytest.raises(InternalError), transaction.atomic():
        ChartArea.objects.create(chart=chart, zone="face_chin")
    chart.refresh_from_db()
    assert chart.prp_yield_ml == 5


def test_amendments_append_and_the_original_stays(practitioner_client, manager, session):
    chart = sign_chart(practitioner_client, session)
    url = reverse("charting:chart_amend", args=[session.public_id])
    response = practitioner_client.post(url, {"what": "Left cheek was 1.5 mL", "why": ""})
    assert response.status_code == 400
    assert not ChartAmendment.objects.exists()
    practitioner_client.post(url, {"what": "Left cheek was 1.5 mL", "why": "Typo"})
    charting.chart_amend(chart=chart, what="Bruise reported next day", why="Call", by=manager)
    amendments = list(chart.amendments.all())
    assert [a.what for a in amendments] == ["Left cheek was 1.5 mL", "Bruise reported next day"]
    assert amendments[0].author.username == "practitioner"
    chart.refresh_from_db()
    assert chart.areas.get(zone="face_cheek_left").volume_ml == 2  # original unchanged
    page = practitioner_client.get(chart_url(session)).content.decode()
    assert "Left cheek was 1.5 mL" in page and "Typo" in page
    with pytest.raises(InternalError), transaction.atomic():
        ChartAmendment.objects.filter(pk=amendments[0].pk).update(why="changed")
    assert AuditEvent.objects.filter(action="amend", patient_id=session.patient_id).count() == 2


def test_amending_an_unsigned_chart_is_refused(session, practitioner):
    chart = charting.chart_open(appointment=session, by=practitioner)
    with pytest.raises(charting.ChartingError, match="not signed"):
        charting.chart_amend(chart=chart, what="x", why="y", by=practitioner)


def test_completion_blockers(practitioner_client, session, face):
    assert charting.completion_blockers(appointment=session) == [
        "The session has no chart yet.",
        "There is no signed consent for this protocol's current consent version "
        "(or it was withdrawn).",
    ]
    charting.chart_open(appointment=session, by=session.practitioner)
    assert "The chart is not signed yet." in charting.completion_blockers(appointment=session)
    sign_chart(practitioner_client, session)
    assert len(charting.completion_blockers(appointment=session)) == 1
    sign_consent(session.patient, face)
    assert charting.completion_blockers(appointment=session) == []
    with pytest.raises(charting.ChartingError):
        charting.completion_gate(appointment=_other_session(session))


def _other_session(session):
    from tests.sessions.charting.conftest import make_session

    return make_session(
        session.patient,
        session.protocol,
        session.practitioner,
        start=datetime.datetime(2026, 3, 30, 9, 0, tzinfo=LONDON),
        sequence=2,
        course=session.course,
    )


def test_pure_completion_rule_ignores_consultations():
    assert (
        charting_rules.completion_blockers_for(
            is_treatment=False, has_chart=False, chart_signed=False, consent_live=False
        )
        == []
    )


def test_front_desk_cannot_open_a_chart(frontdesk, session):
    desk = Client()
    desk.force_login(frontdesk)
    assert desk.get(chart_url(session)).status_code == 403
    assert not SessionChart.objects.exists()


def test_a_booked_session_cannot_be_charted_yet(practitioner_client, session):
    session.status = "booked"
    session.save()
    response = practitioner_client.get(chart_url(session))
    assert "Check the patient in" in response.content.decode()
    assert practitioner_client.post(chart_url(session), good_post()).status_code == 409
    assert not SessionChart.objects.exists()


def test_the_patient_page_links_to_the_chart_of_a_checked_in_session(practitioner_client, session):
    page = practitioner_client.get(reverse("patients:detail", args=[session.patient.public_id]))
    body = page.content.decode()
    assert chart_url(session) in body
    assert "Open the chart for" in body
