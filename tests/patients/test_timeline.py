"""The patient page timeline: the story across apps, newest first, as each role may read it."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import services as billing_services
from billing.models import Invoice
from mesoclinic.core import audit, roles, timeline
from patients import selectors
from patients import services as patient_services
from sessions.charting.models import AdverseEvent, ChartAmendment, SessionChart
from sessions.scheduling.models import Appointment, TreatmentPlan
from tests.billing.helpers import accepted_purchase
from tests.factories import ScreeningFactory
from tests.sessions.charting.helpers import sign_consent

pytestmark = pytest.mark.django_db

FACE = "PRP face rejuvenation"
DAY = datetime.timedelta(days=1)


def _course(patient, protocol, practitioner, location):
    return TreatmentPlan.objects.create(
        patient=patient,
        protocol=protocol,
        practitioner=practitioner,
        location=location,
        sessions_planned=3,
        min_interval_days=14,
        target_interval_days=28,
        max_interval_days=42,
    )


def _appointment(course, sequence, start, **fields):
    return Appointment.objects.create(
        patient=course.patient,
        protocol=course.protocol,
        course=course,
        sequence=sequence,
        kind=Appointment.Kind.COURSE_SESSION,
        practitioner=course.practitioner,
        location=course.location,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        created_at=start - 20 * DAY,
        **fields,
    )


def story(patient, catalogue, practitioner, frontdesk, *, rounds=1, slot=0):
    """A course per round: a completed, charted session with an adverse event and an
    amendment, a late cancellation, a no-show, a moved booking; and a paid package.
    Calls with another `slot` book two hours later in the day, so they never clash."""
    from sessions.scheduling.models import Location

    face = catalogue[FACE]
    location = Location.objects.get_or_create(name="Harley Street")[0]
    now = timezone.now()
    for n in range(rounds):
        base = now - datetime.timedelta(days=300 - n, hours=-2 * slot)
        course = _course(patient, face, practitioner, location)
        done = _appointment(
            course, 1, base, status=Appointment.Status.COMPLETED, completed_at=base + 2 * DAY / 24
        )
        chart = SessionChart.objects.create(appointment=done, created_by=practitioner)
        AdverseEvent.objects.create(
            chart=chart,
            type=AdverseEvent.Type.BRUISING,
            severity=AdverseEvent.Severity.MILD,
            onset=AdverseEvent.Onset.DURING,
            action_taken="Cold pack applied",
        )
        SessionChart.objects.filter(pk=chart.pk).update(
            signed_at=base + DAY / 24, signed_by=practitioner
        )
        ChartAmendment.objects.create(
            chart=chart,
            author=practitioner,
            at=base + DAY,
            what="Yield was 5 mL, not 4 mL",
            why="Transcription error",
        )
        _appointment(
            course,
            2,
            base + 28 * DAY,
            status=Appointment.Status.CANCELLED,
            cancelled_at=base + 27.5 * DAY,
            cancel_reason="Car broke down",
            cancelled_late=True,
            cancelled_by=frontdesk,
        )
        _appointment(course, 2, base + 30 * DAY, status=Appointment.Status.NO_SHOW)
        moved = _appointment(course, 3, base + 60 * DAY)
        audit.record(
            actor=frontdesk,
            action=audit.Action.CHANGE,
            patient=patient,
            obj=moved,
            summary="Moved from 01 Jan 2026 10:00 to 08 Jan 2026 10:00",
        )
    _quote, purchase = accepted_purchase(
        patient, catalogue, frontdesk, today=timezone.localdate(), instalments=0
    )
    invoice = purchase.invoices.get(kind=Invoice.Kind.INVOICE)
    for _ in range(rounds):
        billing_services.payment_record(
            invoice=invoice,
            amount=Decimal("10.00"),
            method="card",
            token=uuid.uuid4(),
            by=frontdesk,
        )
    billing_services.refund_record(
        invoice=invoice, amount=Decimal("5.00"), method="card", token=uuid.uuid4(), by=frontdesk
    )
    sign_consent(patient, face, by=practitioner)
    patient_services.consent_withdraw(
        patient=patient, protocol=face, reason="Worried about needles", by=practitioner
    )
    ScreeningFactory(patient=patient, anticoagulants=True, recorded_by=practitioner)


def _kinds(entries):
    return {e.kind for e in entries}


def _text(entries):
    return " ".join(f"{e.title} {e.detail}" for e in entries)


CLINICAL_KINDS = {"chart_signed", "chart_amended", "adverse_event"}
BILLING_KINDS = {"quote_issued", "quote_accepted", "invoice_issued", "payment", "refund"}
EVERYONE = {
    "registered",
    "screening",
    "consent_signed",
    "consent_withdrawn",
    "course_planned",
    "appointment_booked",
    "appointment_moved",
    "appointment_cancelled",
    "appointment_no_show",
    "appointment_completed",
}


@pytest.mark.parametrize(
    ("role", "sees", "hidden"),
    [
        (roles.MANAGER, EVERYONE | CLINICAL_KINDS | BILLING_KINDS, set()),
        (roles.PRACTITIONER, EVERYONE | CLINICAL_KINDS, BILLING_KINDS),
        (roles.FRONT_DESK, EVERYONE | BILLING_KINDS, CLINICAL_KINDS),
    ],
)
def test_entries_per_role(role, sees, hidden, patient, catalogue, practitioner, frontdesk):
    story(patient, catalogue, practitioner, frontdesk)
    entries = selectors.patient_timeline(patient, roles=frozenset({role}), limit=None).entries
    kinds = _kinds(entries)
    assert sees <= kinds, sees - kinds
    assert not (hidden & kinds)
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    text = _text(entries)
    assert "Late cancellation: PRP face rejuvenation, session 2 of 3" in text
    assert "Reason: Car broke down" in text
    assert "Completed: PRP face rejuvenation, session 1 of 3" in text
    assert "From 01 Jan 2026 10:00 to 08 Jan 2026 10:00" in text


def test_front_desk_sees_no_clinical_detail(patient, catalogue, practitioner, frontdesk):
    story(patient, catalogue, practitioner, frontdesk)
    desk = _text(selectors.patient_timeline(patient, roles=frozenset({roles.FRONT_DESK})))
    clinical = _text(selectors.patient_timeline(patient, roles=frozenset({roles.PRACTITIONER})))
    for secret in ("Bruising", "Cold pack", "Transcription error", "Worried about needles"):
        assert secret not in desk
        assert secret in clinical
    # Screening answers are clinical too: front desk sees that one was recorded.
    assert "blood thinners" not in desk.lower()
    assert "blood thinners" in clinical.lower()
    # Practitioners do not see money.
    assert "Invoice INV-" in desk and "Invoice INV-" not in clinical


def test_patient_page_shows_the_timeline_by_role(
    client, patient, catalogue, practitioner, frontdesk
):
    story(patient, catalogue, practitioner, frontdesk)
    url = reverse("patients:detail", args=[patient.public_id])
    client.force_login(frontdesk)
    desk = client.get(url).content.decode()
    assert "Late cancellation" in desk and "Quote Q-" in desk
    assert "Adverse event" not in desk and "Chart amended" not in desk
    client.force_login(practitioner)
    doctor = client.get(url).content.decode()
    assert "Adverse event: Bruising (mild)" in doctor and "Chart signed" in doctor
    assert "Quote Q-" not in doctor


def test_timeline_keeps_the_newest_and_offers_show_all(
    client, patient, catalogue, practitioner, frontdesk
):
    story(patient, catalogue, practitioner, frontdesk, rounds=4)
    full = selectors.patient_timeline(patient, roles=frozenset(roles.ALL_ROLES), limit=None)
    page = selectors.patient_timeline(patient, roles=frozenset(roles.ALL_ROLES), limit=10)
    assert len(full) > 10 and not full.truncated
    assert page.truncated and page.entries == full.entries[:10]
    client.force_login(frontdesk)
    url = reverse("patients:detail", args=[patient.public_id])
    response = client.get(url)
    assert len(response.context["timeline"]) == timeline.PAGE_LIMIT
    assert b'data-testid="timeline-show-all"' in response.content
    response = client.get(url, {"timeline": "all"})
    assert not response.context["timeline"].truncated
    assert len(response.context["timeline"]) > timeline.PAGE_LIMIT


@pytest.mark.parametrize("role", [roles.MANAGER, roles.PRACTITIONER, roles.FRONT_DESK])
def test_patient_page_queries_do_not_grow_with_history(
    role, client, patient, catalogue, practitioner, frontdesk, manager
):
    """Appointments, charts, invoices and payments grow; the page's query count does not."""
    story(patient, catalogue, practitioner, frontdesk)
    client.force_login(
        {roles.MANAGER: manager, roles.PRACTITIONER: practitioner}.get(role, frontdesk)
    )
    url = reverse("patients:detail", args=[patient.public_id])

    def count(params=None):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, params or {}).status_code == 200
        return len(queries)

    letters(patient, "a")
    small = count(), count({"timeline": "all"})
    story(patient, catalogue, practitioner, frontdesk, rounds=6, slot=1)
    for n in range(12):
        letters(patient, f"b{n}")
    large = count(), count({"timeline": "all"})
    assert small == large
    # Issue 17: at most 12 for every role (session, user with roles, patient,
    # screenings, audit row, consents, appointments, courses, messages, and for front
    # office quotes, invoices and purchases).
    assert max(small) <= 12, small


def letters(patient, key):
    """Messages (a reminder and a reschedule request per appointment) and session
    documents: what the page's message list and panels read grow too."""
    from mesoclinic.core import outbox
    from sessions.charting.models import SessionDocument
    from sessions.comms.selectors import RESCHEDULE_KIND

    due = timezone.now() - DAY
    # A finished course offers its maintenance slot (a link naming the patient).
    TreatmentPlan.objects.filter(patient=patient).update(
        sessions_planned=1, maintenance_interval_months=12
    )
    for appointment in Appointment.objects.filter(patient=patient):
        for kind in ("appointment_reminder", RESCHEDULE_KIND):
            outbox.message_schedule(
                kind=kind,
                subject=appointment,
                due_at=due,
                recipient=patient.email,
                patient=patient,
                offset_key=key,
                respect_quiet_hours=False,
            )
        if appointment.status == Appointment.Status.COMPLETED:
            SessionDocument.objects.get_or_create(
                appointment=appointment,
                kind=SessionDocument.Kind.AFTERCARE,
                defaults={"file": f"aftercare/{appointment.public_id}.pdf", "sha256": "0" * 64},
            )
