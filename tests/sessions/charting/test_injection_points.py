"""Optional injection points on the chart's diagram: where, which of the chart's
products, how much; stored with the zone, checked, locked with the chart."""

import datetime
from decimal import Decimal

import pytest
from django.db import InternalError, transaction
from django.urls import reverse

from sessions.charting import services as charting
from sessions.charting.models import ChartArea, SessionChart
from sessions.charting.rules import Area, ChartInput, Point, Product, chart_errors
from tests.sessions.charting.conftest import good_post

DAY = datetime.date(2026, 3, 2)
KIT = Product("kit", "RegenLab", "LOT-123", datetime.date(2027, 1, 31), "A-PRP")


def errors_of(*points, volume=None):
    data = ChartInput(products=[KIT], areas=[Area("face_cheek_left", volume, tuple(points))])
    return chart_errors(data, session_date=DAY).get("points", [])


def test_a_point_needs_a_product_of_the_chart_a_volume_and_a_place_on_the_diagram():
    assert errors_of(Point(Decimal("20"), Decimal("40"), "lot-123", Decimal("0.1"))) == []
    assert (
        "choose the product from this chart's products (lot 'OTHER'"
        in errors_of(Point(Decimal("20"), Decimal("40"), "OTHER", Decimal("0.1")))[0]
    )
    assert "choose the product" in errors_of(Point(Decimal("20"), Decimal("40"), "", None))[0]
    for volume in (None, Decimal("0"), Decimal("-0.1")):
        assert "the volume must be above 0" in " ".join(
            errors_of(Point(Decimal("20"), Decimal("40"), "LOT-123", volume))
        )
    assert (
        "outside the diagram"
        in errors_of(Point(Decimal("101"), Decimal("40"), "LOT-123", Decimal("0.1")))[0]
    )
    # No more than the area's own volume, when one is recorded.
    two = [Point(Decimal(x), Decimal("40"), "LOT-123", Decimal("0.6")) for x in ("10", "20")]
    assert errors_of(*two, volume=Decimal("1.5")) == []
    assert (
        "add up to 1.2 mL, more than the area's 1.0 mL" in errors_of(*two, volume=Decimal("1.0"))[0]
    )


pytestmark_db = pytest.mark.django_db


def chart_url(appointment):
    return reverse("charting:chart", args=[appointment.public_id])


POINTS = {
    "point_zone": ["face_cheek_left", "face_cheek_left", "face_chin"],
    "point_x": ["31.26", "35", "50"],
    "point_y": ["52.5", "55", "88.4"],
    "point_product": ["LOT-123", "lot-123", "L999"],
    "point_volume": ["0.1", "0.2", "0.05"],
}


@pytestmark_db
def test_points_are_stored_with_their_zone_and_shown_on_the_signed_chart(
    practitioner_client, session
):
    practitioner_client.get(chart_url(session))
    response = practitioner_client.post(chart_url(session), good_post(sign="1", **POINTS))
    assert response.status_code == 302, response.content.decode()[:3000]
    chart = SessionChart.objects.get(appointment=session)
    assert chart.is_signed
    stored = {a.zone: a.points for a in chart.areas.all()}
    assert stored["face_cheek_left"] == [
        {"x": "31.3", "y": "52.5", "product": "LOT-123", "volume_ml": "0.10"},
        {"x": "35.0", "y": "55.0", "product": "LOT-123", "volume_ml": "0.20"},
    ]
    # A point's zone is a treated area even if it was not chosen on its own.
    assert stored["face_chin"] == [
        {"x": "50.0", "y": "88.4", "product": "L999", "volume_ml": "0.05"}
    ]
    assert stored["face_cheek_right"] == []
    # The signature covers the points.
    assert charting.chart_snapshot(chart)["areas"][0][2][0]["product"] == "LOT-123"
    page = practitioner_client.get(chart_url(session)).content.decode()
    assert page.count('data-testid="injection-point"') == 3
    # Locked with the chart: the database refuses changing them.
    with pytest.raises(InternalError), transaction.atomic():
        ChartArea.objects.filter(chart=chart, zone="face_chin").update(points=[])


@pytestmark_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"point_product": ["LOT-123", "NOPE", "L999"]}, "lot &#x27;NOPE&#x27; is not one"),
        ({"point_volume": ["0.1", "0", "0.05"]}, "the volume must be above 0"),
        ({"point_volume": ["0.1", "-1", "0.05"]}, "not a sensible amount"),
        ({"point_x": ["31", "abc", "50"]}, "position is not on the diagram"),
        ({"point_x": ["31", "1e300", "50"]}, "position is not on the diagram"),
        ({"point_y": ["52", "140", "50"]}, "outside the diagram"),
        ({"point_zone": ["face_cheek_left", "nowhere", "face_chin"]}, "unknown area"),
    ],
)
def test_bad_points_are_refused_and_nothing_changes(
    practitioner_client, session, overrides, message
):
    charting.chart_open(appointment=session, by=session.practitioner)
    before = SessionChart.objects.get(appointment=session).updated_at
    response = practitioner_client.post(chart_url(session), good_post(**{**POINTS, **overrides}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert SessionChart.objects.get(appointment=session).updated_at == before
    assert not any(a.points for a in ChartArea.objects.all())


@pytestmark_db
def test_the_chart_pdf_lists_the_points(practitioner_client, session):
    import io

    from pypdf import PdfReader

    from sessions.charting.documents import session_document_render
    from sessions.charting.models import SessionDocument

    practitioner_client.get(chart_url(session))
    practitioner_client.post(chart_url(session), good_post(sign="1", **POINTS))
    session.refresh_from_db()
    pdf = session_document_render(appointment=session, kind=SessionDocument.Kind.CHART)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Injection points" in text
    assert "LOT-123" in text and "0.20" in text and "88.4 % down" in text
