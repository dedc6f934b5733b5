"""factory_boy factories for the whole suite. Later apps add theirs here."""

import datetime

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from patients.models import Patient, Screening


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-1")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=18, maximum_age=80)
    sex = Patient.Sex.FEMALE
    phone = factory.Sequence(lambda n: f"+447911{n % 1000000:06d}")
    email = factory.LazyAttributeSequence(lambda p, n: f"patient{n}@example.com")


class ScreeningFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Screening

    patient = factory.SubFactory(PatientFactory)
    taken_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=1))
    recorded_by = factory.SubFactory(UserFactory)
