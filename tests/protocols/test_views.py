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

    with django_assert_num_queries(4):
        response = practitioner_client.get(reverse("protocols:catalogue"))
    assert len(response.context["protocols"]) == len(catalogue)
    for protocol in list(catalogue.values())[:4]:
        protocol_clone(protocol=protocol, by=None)
    with django_assert_num_queries(4):
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
