import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from patients.selectors import screening_for_protocol
from protocols import catalogue as seed_data
from protocols import services
from protocols.catalogue import real_models, seed
from protocols.models import ConsentVersion, Protocol
from protocols.screening import Status
from protocols.selectors import rendered_consent
from tests.factories import PatientFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


def test_seeded_catalogue_loads_twice_without_duplicates(catalogue):
    assert len(catalogue) == len(seed_data.PROTOCOLS) >= 8
    assert seed(real_models()) == 0
    assert Protocol.objects.count() == len(seed_data.PROTOCOLS)
    assert ConsentVersion.objects.count() == len(seed_data.PROTOCOLS)


def test_every_seeded_protocol_passes_its_own_validation(catalogue):
    for protocol in catalogue.values():
        protocol.full_clean()
        services.validate_rules(protocol, services.parts_of(protocol))


@pytest.mark.parametrize(
    ("name", "course"),
    [
        ("PRP scalp (hair loss)", (3, 21, 28, 42)),
        ("PRP face rejuvenation", (3, 14, 28, 42)),
        ("PRP with microneedling for acne scars", (3, 28, 28, 42)),
        ("Plasma lift: PRP with fractional laser", (3, 28, 35, 56)),
        ("Hair mesotherapy", (8, 7, 14, 21)),
        ("Face mesotherapy", (4, 7, 14, 21)),
    ],
)
def test_seeded_numbers_match_the_clinical_reference(catalogue, name, course):
    p = catalogue[name]
    assert (
        p.sessions_in_course,
        p.min_interval_days,
        p.target_interval_days,
        p.max_interval_days,
    ) == course


def valid_data(**changes):
    data = {
        "name": "Test protocol",
        "indication": "face_rejuvenation",
        "technique": "prp_injection",
        "treatment_areas": ["face_forehead"],
        "session_minutes": 60,
        "sessions_in_course": 3,
        "min_interval_days": 14,
        "target_interval_days": 28,
        "max_interval_days": 42,
        "maintenance_interval_months": 6,
        "blood_volume_ml": 10,
        "tubes": 1,
        "activation": "none",
        "description": "What it is.",
        "evidence_note": "What the evidence says.",
        "risks": "bruising",
        "what_is_normal": "",
        "warning_signs": "",
    }
    data.update(changes)
    return data


def parts(**changes):
    base = services.ProtocolParts(
        spins=[(300, 10)],
        contraindications={"platelet_disorder": "absolute"},
        aftercare=[services.CareItem("No make-up", 24, "hours")],
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


@pytest.mark.parametrize(
    ("changes", "part_changes", "field", "message"),
    [
        ({"min_interval_days": 30}, {}, "min_interval_days", "more than the target"),
        ({"max_interval_days": 20}, {}, "max_interval_days", "less than the target"),
        ({"sessions_in_course": 0}, {}, "sessions_in_course", "at least one session"),
        ({"min_interval_days": 0}, {}, "min_interval_days", "at least 1"),
        ({}, {"aftercare": []}, "__all__", "aftercare"),
        ({}, {"spins": []}, "__all__", "centrifuge spin"),
        ({"technique": "meso_cocktail"}, {"ingredients": []}, "__all__", "ingredients"),
    ],
)
def test_impossible_rules_are_refused_and_nothing_is_saved(changes, part_changes, field, message):
    with pytest.raises(services.ProtocolError) as error:
        services.protocol_save(
            protocol=None, data=valid_data(**changes), parts=parts(**part_changes)
        )
    assert message in " ".join(error.value.message_dict[field])
    assert not Protocol.objects.filter(name="Test protocol").exists()


def test_negative_days_are_refused_by_field_validation():
    with pytest.raises(services.ProtocolError):
        services.protocol_save(protocol=None, data=valid_data(min_interval_days=-3), parts=parts())


def test_duplicate_names_are_refused_case_insensitively(catalogue):
    with pytest.raises(services.ProtocolError) as error:
        services.protocol_save(
            protocol=None, data=valid_data(name="prp FACE rejuvenation"), parts=parts()
        )
    assert "already has this name" in str(error.value)


def test_database_refuses_contradictory_spacing_even_without_the_service(catalogue):
    protocol = catalogue["PRP face rejuvenation"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Protocol.objects.filter(pk=protocol.pk).update(min_interval_days=50)


def test_save_creates_a_first_consent_version():
    protocol = services.protocol_save(protocol=None, data=valid_data(), parts=parts())
    assert protocol.consent_versions.count() == 1


def test_editing_consent_creates_a_new_version_and_keeps_the_old(catalogue, manager):
    protocol = catalogue["PRP face rejuvenation"]
    v1 = services.current_consent(protocol)
    v2 = services.consent_version_create(
        protocol=protocol, text=v1.text + "\n\nNew paragraph about photos.", by=manager
    )
    assert (v2.number, v2.created_by) == (2, manager)
    assert v2.text_sha256 != v1.text_sha256
    v1.refresh_from_db()
    assert "New paragraph" not in v1.text
    with pytest.raises(services.ProtocolError, match="unchanged"):
        services.consent_version_create(protocol=protocol, text=v2.text, by=manager)
    with pytest.raises(services.ProtocolError, match="Unknown placeholder"):
        services.consent_version_create(
            protocol=protocol, text=v2.text + " {{evil}} {secret_key}", by=manager
        )


def test_a_signed_consent_version_is_immutable_in_the_database(catalogue):
    version = services.current_consent(catalogue["PRP face rejuvenation"])
    services.consent_version_lock(version=version)
    assert version.is_locked
    for statement in (
        "UPDATE protocols_consentversion SET text = 'changed' WHERE id = %s",
        "UPDATE protocols_consentversion SET locked_at = NULL WHERE id = %s",
        "DELETE FROM protocols_consentversion WHERE id = %s",
    ):
        with (
            pytest.raises(InternalError, match="signed"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [version.pk])
    version.text = "changed through the ORM"
    with pytest.raises(InternalError), transaction.atomic():
        version.save()


def test_an_unsigned_version_may_still_be_corrected_in_the_database(catalogue):
    version = services.current_consent(catalogue["PRP face rejuvenation"])
    ConsentVersion.objects.filter(pk=version.pk).update(text=version.text + " ")


def test_consent_text_fills_in_the_patient_and_protocol(catalogue):
    protocol = catalogue["PRP scalp (hair loss)"]
    patient = PatientFactory(first_name="Ada", last_name="Lovelace")
    text = rendered_consent(
        version=services.current_consent(protocol), patient_name=patient.full_name
    )
    assert "I, Ada Lovelace, agree to have PRP scalp (hair loss)" in text
    assert "a course of 3 sessions" in text
    assert "crown (vertex)" in text
    assert "bruising" in text
    assert "{" not in text


def test_clone_copies_rules_parts_and_consent(catalogue, manager):
    original = catalogue["PRP face rejuvenation"]
    copy = services.protocol_clone(protocol=original, by=manager)
    assert copy.name == "PRP face rejuvenation (copy)"
    assert services.parts_of(copy) == services.parts_of(original)
    assert services.current_consent(copy).text == services.current_consent(original).text
    assert (
        services.protocol_clone(protocol=original, by=manager).name
        == "PRP face rejuvenation (copy 2)"
    )


def test_retired_protocols_stay_readable_but_not_bookable(catalogue):
    protocol = catalogue["Face mesotherapy"]
    services.protocol_set_active(protocol=protocol, active=False)
    assert protocol.retired_at is not None
    assert Protocol.objects.filter(pk=protocol.pk).exists()
    assert not Protocol.objects.bookable().filter(pk=protocol.pk).exists()


BLOCKS = "treatment must not go ahead."
REVIEW = "the practitioner must review and record a decision."
CASES = [
    ("PRP face rejuvenation", {}, (), Status.CLEAR, ()),
    (
        "PRP face rejuvenation",
        {"platelet_disorder": True},
        (),
        Status.BLOCKED,
        (f"Blood or platelet disorder: {BLOCKS}",),
    ),
    (
        "PRP face rejuvenation",
        {"site_infection": True},
        (),
        Status.BLOCKED,
        (f"Active infection or skin disease at the treatment site: {BLOCKS}",),
    ),
    (
        "PRP face rejuvenation",
        {"anticoagulants": True},
        (),
        Status.NEEDS_ACKNOWLEDGEMENT,
        (f"Takes blood thinners: {REVIEW}",),
    ),
    ("PRP face rejuvenation", {"anticoagulants": True}, ("anticoagulants",), Status.CLEAR, ()),
    ("PRP face rejuvenation", {"ingredient_allergy": True}, (), Status.CLEAR, ()),
    (
        "Face mesotherapy",
        {"ingredient_allergy": True},
        (),
        Status.NEEDS_ACKNOWLEDGEMENT,
        (f"Allergy to a mesotherapy ingredient: {REVIEW}",),
    ),
    ("Face mesotherapy", {"platelet_disorder": True}, (), Status.CLEAR, ()),
    ("Face mesotherapy", {"nsaids_recent": True}, (), Status.CLEAR, ()),
    (
        "PRP scalp (hair loss)",
        {"nsaids_recent": True, "sepsis": True},
        (),
        Status.BLOCKED,
        (
            f"Current serious infection (sepsis): {BLOCKS}",
            f"Anti-inflammatories in the last 7 days: {REVIEW}",
        ),
    ),
    (
        "PRP scalp (hair loss)",
        {"nsaids_recent": True, "smoker": True},
        ("smoker",),
        Status.NEEDS_ACKNOWLEDGEMENT,
        (f"Anti-inflammatories in the last 7 days: {REVIEW}",),
    ),
    (
        "Hair mesotherapy",
        {"pregnant_or_breastfeeding": True},
        (),
        Status.NEEDS_ACKNOWLEDGEMENT,
        (f"Pregnant or breastfeeding: {REVIEW}",),
    ),
]


@pytest.mark.parametrize(("protocol_name", "answers", "acknowledged", "expected", "reasons"), CASES)
def test_screening_per_protocol(
    catalogue, practitioner, protocol_name, answers, acknowledged, expected, reasons
):
    from patients.models import ScreeningAcknowledgement

    screening = ScreeningFactory(recorded_by=practitioner, **answers)
    for code in acknowledged:
        ScreeningAcknowledgement.objects.create(
            screening=screening, code=code, reason="Discussed with GP", acknowledged_by=practitioner
        )
    result = screening_for_protocol(latest=screening, protocol=catalogue[protocol_name])
    assert result.status == expected
    assert result.reasons == reasons
    assert {r.code for r in result.acknowledged} == set(acknowledged)


def test_screening_per_protocol_follows_an_edited_contraindication_list(catalogue, practitioner):
    """The list is data on the protocol: change it and the answer changes."""
    protocol = catalogue["Face mesotherapy"]
    screening = ScreeningFactory(recorded_by=practitioner, smoker=True)
    assert screening_for_protocol(latest=screening, protocol=protocol).status == Status.CLEAR
    parts = services.parts_of(protocol)
    parts.contraindications["smoker"] = "absolute"
    data = {name: getattr(protocol, name) for name in services.PROTOCOL_FIELDS}
    services.protocol_save(protocol=protocol, data=data, parts=parts)
    protocol = Protocol.objects.get(pk=protocol.pk)
    assert screening_for_protocol(latest=screening, protocol=protocol).status == Status.BLOCKED


def test_an_out_of_date_screening_answers_for_every_protocol(catalogue, practitioner, settings):
    import datetime

    from django.utils import timezone

    old = timezone.localdate() - datetime.timedelta(days=settings.SCREENING_VALID_DAYS + 1)
    screening = ScreeningFactory(recorded_by=practitioner, taken_on=old)
    for protocol in catalogue.values():
        result = screening_for_protocol(latest=screening, protocol=protocol)
        assert result.status == Status.OUT_OF_DATE
        assert "the clinic asks for one every" in result.reasons[0]


def test_screening_without_any_record_is_missing(catalogue):
    assert (
        screening_for_protocol(latest=None, protocol=catalogue["Hair mesotherapy"]).status
        == Status.MISSING
    )


def test_clone_retries_when_a_concurrent_clone_takes_the_name(catalogue, manager, monkeypatch):
    """Two managers cloning at once: the loser gets the next free name, not an error."""
    original = catalogue["PRP face rejuvenation"]
    real_free_name = services._free_copy_name
    calls = []

    def stale_first(name):
        calls.append(name)
        if len(calls) == 1:
            # What a concurrent request saw: the name was free a moment ago.
            Protocol.objects.create(
                **{f: getattr(original, f) for f in services.PROTOCOL_FIELDS if f != "name"},
                name="PRP face rejuvenation (copy)",
            )
            return "PRP face rejuvenation (copy)"
        return real_free_name(name)

    monkeypatch.setattr(services, "_free_copy_name", stale_first)
    copy = services.protocol_clone(protocol=original, by=manager)
    assert copy.name == "PRP face rejuvenation (copy 2)"
    assert len(calls) == 2
