"""Shared fixtures: users for each role, logged-in clients, fast hashing, static files."""

import uuid

import pytest
from django.contrib.auth.models import Group, User
from hypothesis import settings as hypothesis_settings

from mesoclinic.celery import app
from mesoclinic.core import roles
from tests.factories import PatientFactory

# Properties are checked, not timed: on a busy 2-core machine Hypothesis' default 200 ms
# deadline fails examples that are merely slow.
hypothesis_settings.register_profile("mesoclinic", deadline=None)
hypothesis_settings.load_profile("mesoclinic")


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False


def make_user(username: str, role: str | None, **extra) -> User:
    user = User.objects.create_user(
        username=username, password="pw-for-tests-1", email=f"{username}@example.com", **extra
    )
    if role is not None:
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    return user


@pytest.fixture
def manager(db):
    return make_user("manager", roles.MANAGER, first_name="Morgan")


@pytest.fixture
def practitioner(db):
    return make_user("practitioner", roles.PRACTITIONER, first_name="Priya")


@pytest.fixture
def frontdesk(db):
    return make_user("frontdesk", roles.FRONT_DESK, first_name="Fran")


@pytest.fixture
def no_role_user(db):
    return make_user("norole", None)


@pytest.fixture
def users_by_role(manager, practitioner, frontdesk, no_role_user):
    return {
        roles.MANAGER: manager,
        roles.PRACTITIONER: practitioner,
        roles.FRONT_DESK: frontdesk,
        None: no_role_user,
    }


def _client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def manager_client(client, manager):
    return _client_for(client, manager)


@pytest.fixture
def practitioner_client(client, practitioner):
    return _client_for(client, practitioner)


@pytest.fixture
def frontdesk_client(client, frontdesk):
    return _client_for(client, frontdesk)


@pytest.fixture
def patient(db):
    return PatientFactory()


@pytest.fixture
def catalogue(db):
    """The seeded protocol catalogue (flushed away by transactional tests, so seed again)."""
    from protocols.catalogue import real_models, seed
    from protocols.models import Protocol

    seed(real_models())
    return {p.name: p for p in Protocol.objects.all()}


@pytest.fixture
def queue(request):
    """A Celery queue of the test's own, also for tasks this process enqueues: a real
    worker started on it takes only this test's tasks, whatever else runs beside."""
    name = f"test-{request.module.__name__.rsplit('.', 1)[-1]}-{uuid.uuid4().hex[:10]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = name
    yield name
    app.conf.task_default_queue = previous
