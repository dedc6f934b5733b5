"""Issue 11.2 and 11.3: managers manage staff in the app, audited; only a superuser
grants superuser or staff status; lockout by account, and managers unlock."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.urls import reverse

from mesoclinic import roles
from mesoclinic.accounts import services
from mesoclinic.models import AuditEvent
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(manager):
    manager.is_staff = True
    manager.save()
    return manager


def admin_change_payload(user, **overrides):
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "09:00:00",
    }
    data.update(overrides)
    return data


def test_manager_cannot_make_anyone_a_superuser_in_the_admin(client, boss, frontdesk):
    client.force_login(boss)
    url = reverse("admin:auth_user_change", args=[frontdesk.pk])
    assert client.get(url).status_code == 200  # read-only view
    response = client.post(url, admin_change_payload(frontdesk, is_superuser="on", is_staff="on"))
    assert response.status_code == 403
    # Even holding the change permission directly, the privilege fields are read-only.
    boss.user_permissions.add(Permission.objects.get(codename="change_user"))
    boss = User.objects.get(pk=boss.pk)
    client.force_login(boss)
    client.post(url, admin_change_payload(frontdesk, is_superuser="on", is_staff="on"))
    client.post(
        reverse("admin:auth_user_change", args=[boss.pk]),
        admin_change_payload(boss, is_superuser="on"),
    )
    frontdesk.refresh_from_db()
    boss.refresh_from_db()
    assert not frontdesk.is_superuser and not frontdesk.is_staff
    assert not boss.is_superuser
    assert client.get(reverse("admin:auth_user_add")).status_code == 403


def test_manager_cannot_change_a_superuser_anywhere(client, boss):
    root = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(boss)
    response = client.post(
        reverse("admin:auth_user_change", args=[root.pk]),
        admin_change_payload(root, is_superuser=""),
    )
    assert response.status_code == 403
    account = root.staff_account.public_id
    client.post(reverse("staff:set_active", args=[account]), {"active": "0"})
    client.post(reverse("staff:temporary_password", args=[account]))
    root.refresh_from_db()
    assert root.is_superuser and root.is_active and root.check_password("pw-for-tests-1")


def test_superuser_can_grant_staff_status_in_the_admin(client, frontdesk):
    root = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(root)
    response = client.post(
        reverse("admin:auth_user_change", args=[frontdesk.pk]),
        admin_change_payload(frontdesk, is_staff="on"),
    )
    assert response.status_code == 302
    frontdesk.refresh_from_db()
    assert frontdesk.is_staff


def test_manager_adds_a_colleague_with_a_temporary_password(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("staff:create"),
        {
            "username": "nina",
            "first_name": "Nina",
            "last_name": "Patel",
            "email": "",
            "role": roles.PRACTITIONER,
            "password_mode": "temporary",
        },
    )
    assert response.status_code == 200
    password = (
        re.search(rb'data-testid="temporary-password">([^<]+)<', response.content).group(1).decode()
    )
    nina = User.objects.get(username="nina")
    assert roles.roles_of(nina) == {roles.PRACTITIONER} and not nina.is_staff
    assert nina.staff_account.must_change_password and nina.staff_account.created_by == manager
    event = AuditEvent.objects.get(action="create", object_id=str(nina.pk))
    assert event.actor == manager and "nina" in event.summary

    # Nina signs in with it and must choose her own password before anything else.
    client.post(reverse("logout"))
    response = client.post(reverse("login"), {"username": "nina", "password": password})
    assert response.status_code == 302
    assert client.get(reverse("patients:list"))["Location"] == reverse("password_change")
    response = client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "Nina-chooses-her-own-7",
            "new_password2": "Nina-chooses-her-own-7",
        },
    )
    assert response.status_code == 302
    assert client.get(reverse("patients:list")).status_code == 200
    nina.staff_account.refresh_from_db()
    assert not nina.staff_account.must_change_password
    assert AuditEvent.objects.filter(action="password", actor=nina).exists()


def test_manager_adds_a_colleague_who_gets_a_link_by_email(
    client, manager, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("staff:create"),
            {
                "username": "omar",
                "first_name": "Omar",
                "email": "omar@example.com",
                "role": roles.FRONT_DESK,
                "password_mode": "email",
            },
        )
    assert response.status_code == 302
    omar = User.objects.get(username="omar")
    assert not omar.has_usable_password()
    assert [m.to for m in mail.outbox] == [["omar@example.com"]]
    link = re.search(r"(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    assert link.startswith("/accounts/reset/")


def test_create_form_explains_what_is_missing(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("staff:create"),
        {"username": "manager", "first_name": "X", "role": "boss", "password_mode": "email"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "There is already an account with this username." in content
    assert "Add an email address to send the link to" in content
    assert "Select a valid choice" in content
    assert User.objects.count() == 1


def test_role_change_is_audited_and_sets_staff_status_from_the_role(client, manager, frontdesk):
    client.force_login(manager)
    url = reverse("staff:detail", args=[frontdesk.staff_account.public_id])
    response = client.post(
        url, {"first_name": "Fran", "last_name": "", "email": frontdesk.email, "role": "manager"}
    )
    assert response.status_code == 302
    frontdesk = User.objects.get(pk=frontdesk.pk)
    assert roles.roles_of(frontdesk) == {roles.MANAGER} and frontdesk.is_staff
    assert not frontdesk.is_superuser
    event = AuditEvent.objects.get(action="change", object_id=str(frontdesk.pk))
    assert "role front desk → manager" in event.summary and event.actor == manager


def test_a_manager_cannot_demote_or_deactivate_themselves_or_the_last_manager(
    client, manager, frontdesk
):
    client.force_login(manager)
    account = manager.staff_account.public_id
    response = client.post(
        reverse("staff:detail", args=[account]),
        {"first_name": "Morgan", "email": manager.email, "role": roles.FRONT_DESK},
    )
    assert "You cannot change your own role" in response.content.decode()
    response = client.post(
        reverse("staff:set_active", args=[account]), {"active": "0"}, follow=True
    )
    assert "You cannot deactivate your own account." in response.content.decode()
    manager.refresh_from_db()
    assert manager.is_active and roles.roles_of(User.objects.get(pk=manager.pk)) == {roles.MANAGER}
    # Another manager cannot remove the clinic's last active manager either.
    other = make_user("deputy", roles.FRONT_DESK)
    with pytest.raises(services.StaffError, match="last manager"):
        services.staff_set_active(by=other, user=manager, active=False)
    with pytest.raises(services.StaffError, match="last manager"):
        services.staff_update(
            by=other,
            user=manager,
            first_name="Morgan",
            last_name="",
            email=manager.email,
            role=roles.PRACTITIONER,
        )
    # With a second manager, the first can be deactivated by them.
    deputy = make_user("deputy2", roles.MANAGER)
    services.staff_set_active(by=deputy, user=manager, active=False)
    manager.refresh_from_db()
    assert not manager.is_active


def test_deactivated_colleague_is_signed_out_and_cannot_sign_in(client, manager, frontdesk):
    from django.test import Client

    theirs = Client()
    theirs.force_login(frontdesk)
    assert theirs.get(reverse("patients:list")).status_code == 200
    client.force_login(manager)
    account = frontdesk.staff_account.public_id
    client.post(reverse("staff:set_active", args=[account]), {"active": "0"})
    assert theirs.get(reverse("patients:list")).status_code == 302
    response = Client().post(
        reverse("login"), {"username": "frontdesk", "password": "pw-for-tests-1"}
    )
    assert response.status_code == 200  # the form says no
    assert AuditEvent.objects.filter(action="deactivate", object_id=str(frontdesk.pk)).exists()
    client.post(reverse("staff:set_active", args=[account]), {"active": "1"})
    response = Client().post(
        reverse("login"), {"username": "frontdesk", "password": "pw-for-tests-1"}
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="reactivate", object_id=str(frontdesk.pk)).exists()


def test_password_link_from_the_staff_page(
    client, manager, frontdesk, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff:password_link", args=[frontdesk.staff_account.public_id]))
    assert [m.to for m in mail.outbox] == [["frontdesk@example.com"]]
    assert AuditEvent.objects.filter(action="password", object_id=str(frontdesk.pk)).exists()


def attempt(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_manager_unlocks_a_locked_out_colleague(client, manager, frontdesk):
    from django.test import Client

    theirs = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(theirs, "frontdesk", "wrong")
    assert attempt(theirs, "frontdesk", "pw-for-tests-1").status_code == 429
    client.force_login(manager)
    page = client.get(reverse("staff:locked")).content.decode()
    assert "Unlock frontdesk" in page
    assert "locked" in client.get(reverse("staff:list")).content.decode()
    response = client.post(
        reverse("staff:unlock", args=[frontdesk.staff_account.public_id]), {"from": "locked"}
    )
    assert response["Location"] == reverse("staff:locked")
    assert "No account is locked." in client.get(reverse("staff:locked")).content.decode()
    assert attempt(theirs, "frontdesk", "pw-for-tests-1").status_code == 302
    event = AuditEvent.objects.get(action="unlock")
    assert event.actor == manager and event.object_id == str(frontdesk.pk)


def test_sign_ins_and_failures_are_audited(client, frontdesk):
    attempt(client, "frontdesk", "wrong", ip="10.1.2.3")
    attempt(client, "frontdesk", "pw-for-tests-1", ip="10.1.2.3")
    client.post(reverse("logout"))
    failed = AuditEvent.objects.get(action="sign_in_failed")
    assert failed.actor is None and failed.actor_label == "frontdesk"
    assert failed.ip_address == "10.1.2.3"
    signed_in = AuditEvent.objects.get(action="sign_in")
    assert signed_in.actor == frontdesk and signed_in.summary == "Signed in (password only)"
    assert AuditEvent.objects.filter(action="sign_out", actor=frontdesk).exists()


def test_staff_pages_are_for_managers_only(client, frontdesk, practitioner):
    for user in (frontdesk, practitioner):
        client.force_login(user)
        assert client.get(reverse("staff:list")).status_code == 403
        response = client.post(
            reverse("staff:set_active", args=[user.staff_account.public_id]), {"active": "0"}
        )
        assert response.status_code == 403
    assert User.objects.filter(is_active=False).count() == 0


def test_staff_list_query_count_does_not_grow(client, manager, django_assert_max_num_queries):
    client.force_login(manager)
    client.get(reverse("staff:list"))
    for i in range(8):
        make_user(f"extra{i}", roles.PRACTITIONER)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("staff:list"))
    assert response.status_code == 200 and "extra7" in response.content.decode()
