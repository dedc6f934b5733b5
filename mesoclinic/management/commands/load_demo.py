"""Demo users and patients for `make run`. Idempotent; refuses to run in production."""

import os
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from billing.demo import load_demo_billing
from mesoclinic.core import roles
from patients.models import Patient, Screening
from sessions.charting.demo import load_demo_charting
from sessions.online.demo import load_demo_online
from sessions.scheduling.demo import load_demo_schedule

DEMO_USERS = (
    ("manager", "Morgan", "Reyes", roles.MANAGER),
    ("practitioner", "Dr Priya", "Shah", roles.PRACTITIONER),
    ("frontdesk", "Fran", "Dawson", roles.FRONT_DESK),
)

DEMO_PATIENTS = (
    (
        "Amelia",
        "Hughes",
        date(1986, 4, 12),
        "female",
        "+447911123001",
        "amelia.hughes@example.com",
        {},
    ),
    (
        "Oliver",
        "Bennett",
        date(1979, 9, 3),
        "male",
        "+447911123002",
        "oliver.bennett@example.com",
        {"nsaids_recent": True},
    ),
    (
        "Sofia",
        "Marković",
        date(1992, 1, 28),
        "female",
        "+447911123003",
        "sofia.markovic@example.com",
        {},
    ),
    (
        "James",
        "O'Connor",
        date(1971, 6, 19),
        "male",
        "+447911123004",
        "james.oconnor@example.com",
        {"platelet_disorder": True},
    ),
    (
        "Chloe",
        "Nguyen",
        date(1995, 11, 2),
        "female",
        "+447911123005",
        "chloe.nguyen@example.com",
        {"smoker": True},
    ),
)


class Command(BaseCommand):
    help = (
        "Load demo users (manager, practitioner, frontdesk) and a few patients. Development only."
    )

    def handle(self, *args, **options):
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError(
                "Demo data is only loaded by `make run` (MESOCLINIC_DEMO=1), never in production."
            )
        password = os.environ.get("DEMO_PASSWORD", "demo")
        with transaction.atomic():
            roles.sync_groups()
            users = {}
            for username, first, last, role in DEMO_USERS:
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "email": f"{username}@example.com",
                    },
                )
                if created or not user.check_password(password):
                    user.set_password(password)
                    user.save()
                user.is_staff = role == roles.MANAGER
                user.save(update_fields=["is_staff"])
                user.groups.set([Group.objects.get(name=role)])
                users[role] = user
            for first, last, dob, sex, phone, email, positives in DEMO_PATIENTS:
                patient, created = Patient.objects.get_or_create(
                    first_name=first,
                    last_name=last,
                    date_of_birth=dob,
                    defaults={
                        "sex": sex,
                        "phone": phone,
                        "email": email,
                        "created_by": users[roles.FRONT_DESK],
                    },
                )
                if created:
                    Screening.objects.create(
                        patient=patient,
                        taken_on=timezone.localdate() - timedelta(days=7),
                        recorded_by=users[roles.PRACTITIONER],
                        answered_by="patient",
                        none_apply=not positives,
                        **positives,
                    )
            load_demo_schedule(users=users, password=password)
            load_demo_billing(users=users)
            load_demo_charting(users=users)
            load_demo_online(users=users)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
