"""Model-level rules of accounts: constraints and the superuser's role."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from cbportal.accounts.models import Role, User


def test_createsuperuser_makes_a_staff_administrator(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-enough-password-42")
    call_command(
        "createsuperuser", "--noinput", "--username", "root", "--email", "root@example.org"
    )
    user = User.objects.get(username="root")
    assert (user.is_superuser, user.role, user.organisation) == (True, Role.STAFF, None)


def test_a_partner_without_an_organisation_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="lost", role=Role.PARTNER)


def test_only_staff_can_hold_the_approver_flag():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="wrong", role=Role.EXPERT, is_approver=True)


def test_two_accounts_cannot_share_an_email_whatever_its_case(staff):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="twin", role=Role.STAFF, email=staff.email.upper())
