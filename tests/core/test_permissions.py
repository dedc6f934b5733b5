"""Walk every URL pattern: docs/permissions.md, each view's declared roles and real
requests as each role must all agree."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mesoclinic.core import roles

DOC = Path(settings.BASE_DIR) / "docs" / "permissions.md"
ROLE_COLUMNS = {
    "Practitioner": roles.PRACTITIONER,
    "Front desk": roles.FRONT_DESK,
    "Manager": roles.MANAGER,
}
# Django's account views and the admin follow their own documented rules.
SKIPPED_NAMESPACES = {"admin"}
SKIPPED_NAMES = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def parse_matrix() -> dict[str, dict[str, str]]:
    rows = {}
    header = None
    for line in DOC.read_text().splitlines():
        if not line.startswith("|") or set(line) <= {"|", "-", " "}:
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
            continue
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def walk(resolver: URLResolver, namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            child_ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, child_ns)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}{entry.name}"
            if name not in SKIPPED_NAMES:
                yield name, entry


def all_patterns():
    return sorted(walk(get_resolver()), key=lambda item: item[0])


@pytest.fixture
def sample_kwargs(patient, catalogue, practitioner):
    """A real object for every URL keyword, so each URL resolves to an existing page."""
    from django.core.files.base import ContentFile

    from mesoclinic.core import outbox
    from patients import links as patient_links
    from patients.models import ClinicalPhoto
    from tests.factories import ScreeningFactory, UserFactory

    ScreeningFactory(patient=patient)
    photo = ClinicalPhoto(
        patient=patient,
        kind="before",
        area="crown",
        taken_on=patient.created_at.date(),
        width=1,
        height=1,
        size_bytes=1,
        sha256="0" * 64,
        uploaded_by=UserFactory(),
    )
    photo.image.save("p.jpg", ContentFile(b"\xff\xd8\xff\xd9"))
    message = outbox.message_schedule(
        kind="booking_confirmation",
        subject=patient,
        due_at=patient.created_at,
        recipient=patient.email,
    )
    return {
        "patient_id": patient.public_id,
        "message_id": message.pk,
        "photo_id": photo.public_id,
        "protocol_id": catalogue["PRP face rejuvenation"].pk,
        "token": patient_links.make_token(patient.pk),
        "consent_id": _signed_consent(patient, catalogue).public_id,
        "document_id": _session_document(patient, catalogue).public_id,
        "account_id": _colleague().staff_account.public_id,
        **sessions_sample_kwargs(patient, catalogue),
        **billing_sample_kwargs(patient, catalogue),
        **records_sample_kwargs(patient, catalogue, practitioner),
    }


def billing_sample_kwargs(patient, catalogue):
    from tests.billing.samples import sample_kwargs

    return sample_kwargs(patient, catalogue)


def records_sample_kwargs(patient, catalogue, practitioner):
    from tests.records.samples import sample_kwargs

    return sample_kwargs(patient, catalogue, practitioner)


def sessions_sample_kwargs(patient, catalogue):
    from tests.sessions.samples import sample_kwargs

    return sample_kwargs(patient, catalogue)


def _colleague():
    from tests.conftest import make_user

    return make_user("colleague", roles.PRACTITIONER, first_name="Cole")


def _session_document(patient, catalogue):
    from tests.sessions.charting.helpers import sample_session_document

    return sample_session_document(patient, catalogue["PRP face rejuvenation"])


def _signed_consent(patient, catalogue):
    from tests.sessions.charting.helpers import sign_consent

    return sign_consent(patient, catalogue["PRP face rejuvenation"])


def drain(response) -> None:
    """Read a streamed body so its file is closed (the test client then tidies up)."""
    if response.streaming:
        b"".join(response.streaming_content)


def url_for(name: str, pattern: URLPattern, sample_kwargs) -> str:
    keywords = re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))
    missing = [k for k in keywords if k not in sample_kwargs]
    assert not missing, f"add a sample value for URL keyword(s) {missing} used by {name}"
    return reverse(name, kwargs={k: sample_kwargs[k] for k in keywords})


def test_every_url_is_in_the_matrix_and_declares_its_roles():
    matrix = parse_matrix()
    names = [name for name, _ in all_patterns()]
    undocumented = sorted(set(names) - set(matrix))
    assert not undocumented, f"URLs missing from docs/permissions.md: {undocumented}"
    stale = sorted(set(matrix) - set(names))
    assert not stale, f"docs/permissions.md lists URLs that no longer exist: {stale}"
    for name, pattern in all_patterns():
        row = matrix[name]
        if row["Anonymous"] == "public":
            assert getattr(pattern.callback, "login_required", True) is False, (
                f"{name} should be public"
            )
            continue
        declared = getattr(pattern.callback, "allowed_roles", None)
        if declared is None and hasattr(pattern.callback, "view_class"):
            declared = getattr(pattern.callback.view_class, "allowed_roles", None)
        assert declared is not None, f"{name} does not declare allowed_roles"
        documented = {role for column, role in ROLE_COLUMNS.items() if row[column] == "yes"}
        assert set(declared) == documented, (
            f"{name}: code allows {sorted(declared)}, doc says {sorted(documented)}"
        )


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login(client, sample_kwargs):
    matrix = parse_matrix()
    for name, pattern in all_patterns():
        url = url_for(name, pattern, sample_kwargs)
        response = client.get(url)
        drain(response)
        if matrix[name]["Anonymous"] == "public":
            assert response.status_code != 302 or "/accounts/login/" not in response["Location"], (
                name
            )
        else:
            assert response.status_code == 302, (
                f"{name} answered {response.status_code} to anonymous"
            )
            assert response["Location"].startswith(reverse("login")), name


@pytest.mark.django_db
@pytest.mark.parametrize("column", list(ROLE_COLUMNS))
def test_each_role_gets_what_the_matrix_says(client, users_by_role, sample_kwargs, column):
    matrix = parse_matrix()
    client.force_login(users_by_role[ROLE_COLUMNS[column]])
    for name, pattern in all_patterns():
        if matrix[name]["Anonymous"] == "public":
            continue  # the same for everyone; covered by the anonymous test and its own tests
        url = url_for(name, pattern, sample_kwargs)
        response = client.get(url)
        drain(response)
        if matrix[name][column] == "no":
            assert response.status_code == 403, (
                f"{column} should be refused {name}, got {response.status_code}"
            )
        else:
            assert response.status_code in (200, 302, 405), (
                f"{column} on {name}: {response.status_code}"
            )


@pytest.mark.django_db
def test_a_user_without_a_role_is_refused_everywhere(client, no_role_user, sample_kwargs):
    client.force_login(no_role_user)
    matrix = parse_matrix()
    for name, pattern in all_patterns():
        if matrix[name]["Anonymous"] == "public":
            continue
        response = client.get(url_for(name, pattern, sample_kwargs))
        drain(response)
        assert response.status_code == 403, name
