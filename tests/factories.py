"""factory-boy factories shared by every test module."""

from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password

from cbportal.accounts.models import Country, Organisation, OrganisationKind, Role, User

PASSWORD = "correct-horse-battery"
# Hashing once keeps user creation fast; every factory user has this password.
_HASHED = make_password(PASSWORD)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Migration Authority {n}")
    acronym = factory.Sequence(lambda n: f"MA{n}")
    kind = OrganisationKind.NATIONAL_AUTHORITY
    country = factory.LazyFunction(lambda: Country.objects.get(code="TN"))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User {n}")
    role = Role.STAFF
    password = _HASHED
    language = "en"

    class Params:
        partner = factory.Trait(
            role=Role.PARTNER, organisation=factory.SubFactory(OrganisationFactory)
        )
        approver = factory.Trait(role=Role.STAFF, is_approver=True)
        expert = factory.Trait(role=Role.EXPERT)
        evaluator = factory.Trait(role=Role.EVALUATOR)
