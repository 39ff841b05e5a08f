"""Reads for accounts: who may see which organisations and countries."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cbportal.accounts.models import Country, Organisation, Role
from cbportal.accounts.permissions import is_staff


def organisations_for(user: Any) -> QuerySet[Organisation]:
    """Staff see every organisation; a partner sees their own; others see none yet."""
    qs = Organisation.objects.select_related("country")
    if is_staff(user):
        return qs
    if user.role == Role.PARTNER and user.organisation_id:
        return qs.filter(pk=user.organisation_id)
    return qs.none()


def countries() -> QuerySet[Country]:
    return Country.objects.all()
