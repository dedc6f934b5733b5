import pytest
from django.urls import reverse

from protocols.models import ConsentVersion, Protocol

pytestmark = pytest.mark.django_db


def form_data(protocol: Protocol, **changes) -> dict:
    """The edit form as the browser would post it, from the page itself."""
    from protocols.forms import ProtocolEditor
    from protocols.services import parts_of

    editor = ProtocolEditor(protocol=protocol, parts=parts_of(protocol))
    data = {}
    for form in editor.all_forms():
        if hasattr(form, "management_form"):
            for field in form.management_form:
                data[field.html_name] = field.value()
            forms = form.forms
        else:
            forms = [form]
        for f in forms:
            for field in f:
                value = field.value()
                if value is None or value is False:
                    continue
                data[field.html_name] = value
    data.update(changes)
    return data


def test_catalogue_query_count_does_not_grow_with_protocols(
    practitioner_client, catalogue, django_assert_num_queries
):
    from protocols.services import protocol_clone

    with django_assert_num_queries(3):
        response = practitioner_client.get(reverse("protocols:catalogue"))
    assert len(response.context["protocols"]) == len(catalogue)
    for protocol in list(catalogue.values())[:4]:
        protocol_clone(protocol=protocol, by=None)
    with django_assert_num_queries(3):
        practitioner_client.get(reverse("protocols:catalogue"))


def test_staff_see_cards_and_patient_preview(frontdesk_client, catalogue):
    page = frontdesk_client.get(reverse("protocols:catalogue"))
    assert b"every 28 days" in page.content
    protocol = catalogue["PRP scalp (hair loss)"]
    preview = frontdesk_client.get(reverse("protocols:preview", args=[protocol.pk]))
    assert b"[patient&#x27;s name]" in preview.content
    assert b"Do not wet your hair" in preview.content
    assert frontdesk_client.get(reverse("protocols:edit", args=[protocol.pk])).status_code == 403


def test_manager_edits_spacing_through_the_form(manager_client, catalogue):
    protocol = catalogue["PRP face rejuvenation"]
    url = reverse("protocols:edit", args=[protocol.pk])
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(
        url, form_data(protocol, target_interval_days=30, max_interval_days=45)
    )
    assert response.status_code == 302
    protocol.refresh_from_db()
    assert (protocol.target_interval_days, protocol.max_interval_days) == (30, 45)


def test_contradictory_spacing_in_the_form_is_refused_with_a_message(manager_client, catalogue):
    protocol = catalogue["PRP face rejuvenation"]
    response = manager_client.post(
        reverse("protocols:edit", args=[protocol.pk]), form_data(protocol, min_interval_days=40)
    )
    assert response.status_code == 200
    assert "more than the target" in response.content.decode()
    protocol.refresh_from_db()
    assert protocol.min_interval_days == 14


def test_removing_all_aftercare_from_an_active_protocol_is_refused(manager_client, catalogue):
    protocol = catalogue["PRP face rejuvenation"]
    data = form_data(protocol)
    total = int(data["after-TOTAL_FORMS"])
    for i in range(total):
        data[f"after-{i}-DELETE"] = "on"
    response = manager_client.post(reverse("protocols:edit", args=[protocol.pk]), data)
    assert "needs aftercare" in response.content.decode()
    assert protocol.care_instructions.filter(phase="after").exists()


def test_duplicate_name_in_the_form(manager_client, catalogue):
    protocol = catalogue["PRP face rejuvenation"]
    response = manager_client.post(
        reverse("protocols:edit", args=[protocol.pk]), form_data(protocol, name="Hair Mesotherapy")
    )
    assert "already has this name" in response.content.decode()


def test_manager_clones_edits_consent_and_retires(manager_client, catalogue):
    protocol = catalogue["PRP face rejuvenation"]
    response = manager_client.post(reverse("protocols:clone", args=[protocol.pk]))
    copy = Protocol.objects.get(name="PRP face rejuvenation (copy)")
    assert response["Location"] == reverse("protocols:edit", args=[copy.pk])
    consent_url = reverse("protocols:consent_edit", args=[copy.pk])
    old = ConsentVersion.objects.get(protocol=copy)
    response = manager_client.post(consent_url, {"text": old.text + "\nI agree to photos."})
    assert response.status_code == 302
    assert copy.consent_versions.count() == 2
    bad = manager_client.post(consent_url, {"text": "too short"})
    assert "50 characters" in bad.content.decode()
    manager_client.post(reverse("protocols:set_active", args=[protocol.pk]), {"active": "0"})
    protocol.refresh_from_db()
    assert not protocol.is_active


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"sessions_in_course": "0"}, "sessions_in_course", "at least one session"),
        ({"min_interval_days": "-3"}, "min_interval_days", "greater than or equal to 0"),
        ({"min_interval_days": "0"}, "min_interval_days", "at least 1"),
        ({"max_interval_days": "20"}, "max_interval_days", "less than the target"),
        ({"target_interval_days": "soon"}, "target_interval_days", "whole number"),
        ({"name": "x" * 121}, "name", "at most 120"),
        ({"name": ""}, "name", "required"),
        ({"description": "x" * 4001}, "description", "at most 4000"),
        ({"indication": "toenails"}, "indication", "valid choice"),
        ({"treatment_areas": ["face_forehead", "moon"]}, "treatment_areas", "valid choice"),
        ({"ci-smoker": "fatal"}, None, "valid choice"),
        ({"spin-0-g_force": "9000"}, None, "less than or equal to 5000"),
        ({"after-0-duration_unit": ""}, None, "Hours or days?"),
        ({"spin-TOTAL_FORMS": "abc"}, None, "ManagementForm data is missing or has been tampered"),
        ({"pre-TOTAL_FORMS": "100000"}, None, "Please submit at most 1000 forms."),
    ],
)
def test_bad_protocol_input_is_refused_next_to_the_field_and_nothing_changes(
    manager_client, catalogue, changes, field, message
):
    protocol = catalogue["PRP face rejuvenation"]
    before = (
        Protocol.objects.filter(pk=protocol.pk).values().get(),
        list(protocol.care_instructions.values_list("text", "duration_value")),
        list(protocol.spins.values_list("g_force", "minutes")),
    )
    response = manager_client.post(
        reverse("protocols:edit", args=[protocol.pk]), form_data(protocol, **changes)
    )
    assert response.status_code == 200
    editor = response.context["editor"]
    if field is not None:
        assert message in " ".join(editor.form.errors[field])
    else:
        assert not editor.is_valid()
    assert message in response.content.decode().replace("&#x27;", "'")
    after = (
        Protocol.objects.filter(pk=protocol.pk).values().get(),
        list(protocol.care_instructions.values_list("text", "duration_value")),
        list(protocol.spins.values_list("g_force", "minutes")),
    )
    assert after == before


def test_new_protocol_through_the_form_and_its_refusals(manager_client, catalogue):
    url = reverse("protocols:create")
    page = manager_client.get(url)
    assert page.status_code == 200
    data = form_data(catalogue["Face mesotherapy"], name="Face mesotherapy")
    refused = manager_client.post(url, data)
    assert "already has this name" in refused.content.decode()
    data["name"] = "Décolleté mesotherapy"
    data["indication"] = "decollete"
    response = manager_client.post(url, data)
    created = Protocol.objects.get(name="Décolleté mesotherapy")
    assert response["Location"] == reverse("protocols:detail", args=[created.pk])
    assert created.ingredients.count() == catalogue["Face mesotherapy"].ingredients.count()
    assert created.consent_versions.count() == 1


def test_a_signed_version_is_never_edited_a_new_one_is_made(manager_client, catalogue):
    from protocols import services

    protocol = catalogue["PRP scalp (hair loss)"]
    signed = services.consent_version_lock(version=services.current_consent(protocol))
    url = reverse("protocols:consent_edit", args=[protocol.pk])
    assert "Saving makes version 2" in manager_client.get(url).content.decode()
    response = manager_client.post(url, {"text": signed.text + "\nAnd photographs."})
    assert response.status_code == 302
    signed.refresh_from_db()
    assert signed.is_locked and not signed.text.endswith("photographs.")
    assert services.current_consent(protocol).number == 2
    detail = manager_client.get(reverse("protocols:detail", args=[protocol.pk])).content.decode()
    assert "Signed by a patient: cannot change" in detail


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("too short", "50 characters"),
        ("I agree to {protocol_name} and {password} " + "x" * 60, "Unknown placeholder {password}"),
        ("x" * 20001, "at most 20000"),
        ("", "required"),
    ],
)
def test_bad_consent_text_is_refused_and_no_version_is_made(
    manager_client, catalogue, text, message
):
    protocol = catalogue["Hair mesotherapy"]
    response = manager_client.post(
        reverse("protocols:consent_edit", args=[protocol.pk]), {"text": text}
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["text"])
    assert protocol.consent_versions.count() == 1


def test_unchanged_consent_text_makes_no_version(manager_client, catalogue):
    from protocols import services

    protocol = catalogue["Hair mesotherapy"]
    current = services.current_consent(protocol)
    response = manager_client.post(
        reverse("protocols:consent_edit", args=[protocol.pk]), {"text": current.text + "\r\n"}
    )
    assert "unchanged" in response.content.decode()
    assert protocol.consent_versions.count() == 1


def test_preview_fills_every_placeholder_as_a_patient_reads_it(manager_client, catalogue, manager):
    from protocols import services

    protocol = catalogue["PRP scalp (hair loss)"]
    services.consent_version_create(
        protocol=protocol,
        by=manager,
        text=(
            "I, {patient_name}, agree to {protocol_name} on {areas} at {clinic_name}, "
            "a course of {sessions} sessions. Risks: {risks}"
        ),
    )
    response = manager_client.get(reverse("protocols:preview", args=[protocol.pk]))
    preview = response.content.decode()
    assert "version 2" in preview
    assert "I, [patient&#x27;s name], agree to PRP scalp (hair loss) on" in preview
    assert "Mesoclinic Demo Clinic, a course of 3 sessions" in preview
    assert "{" not in response.context["consent"]
    # Pre-care with its time frame, aftercare with how long it applies.
    assert "Stop aspirin unless a doctor prescribed it" in preview
    assert "(10 days before)" in preview
    assert "Do not wet your hair — for 24 hours" in preview


def test_retired_protocol_detail_stays_readable_and_can_come_back(
    frontdesk_client, manager_client, catalogue
):
    protocol = catalogue["Hair mesotherapy"]
    manager_client.post(reverse("protocols:set_active", args=[protocol.pk]), {"active": "0"})
    page = frontdesk_client.get(reverse("protocols:detail", args=[protocol.pk]))
    assert page.status_code == 200
    assert "retired — cannot be booked" in page.content.decode()
    assert not Protocol.objects.bookable().filter(pk=protocol.pk).exists()
    manager_client.post(reverse("protocols:set_active", args=[protocol.pk]), {"active": "1"})
    assert Protocol.objects.bookable().filter(pk=protocol.pk).exists()


def test_a_protocol_without_aftercare_cannot_come_back(manager_client, catalogue):
    protocol = catalogue["Hair mesotherapy"]
    manager_client.post(reverse("protocols:set_active", args=[protocol.pk]), {"active": "0"})
    protocol.care_instructions.filter(phase="after").delete()
    response = manager_client.post(
        reverse("protocols:set_active", args=[protocol.pk]), {"active": "1"}, follow=True
    )
    assert "Add aftercare instructions before bringing this protocol back" in (
        response.content.decode()
    )
    protocol.refresh_from_db()
    assert not protocol.is_active


def test_seed_command_twice_changes_nothing_and_keeps_clinic_edits(catalogue):
    from django.core.management import call_command

    from protocols.models import CareInstruction

    face = catalogue["PRP face rejuvenation"]
    Protocol.objects.filter(pk=face.pk).update(session_minutes=75)
    counts = (
        Protocol.objects.count(),
        ConsentVersion.objects.count(),
        CareInstruction.objects.count(),
    )
    call_command("seed_protocols")
    call_command("seed_protocols")
    assert (
        Protocol.objects.count(),
        ConsentVersion.objects.count(),
        CareInstruction.objects.count(),
    ) == counts
    face.refresh_from_db()
    assert face.session_minutes == 75


def test_admin_shows_protocols_but_changes_go_through_the_editor(client, catalogue):
    from tests.conftest import make_user

    manager = make_user("boss", "manager", is_staff=True)
    client.force_login(manager)
    protocol = catalogue["PRP face rejuvenation"]
    change_url = reverse("admin:protocols_protocol_change", args=[protocol.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    assert reverse("protocols:detail", args=[protocol.pk]) in page.content.decode()
    response = client.post(change_url, {"name": "Renamed", "min_interval_days": "99"})
    assert response.status_code == 403
    assert client.get(reverse("admin:protocols_protocol_add")).status_code == 403
    protocol.refresh_from_db()
    assert protocol.name == "PRP face rejuvenation"
