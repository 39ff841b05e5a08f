"""Human-readable, gap-free yearly reference numbers such as ``REQ-2026-0001``."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from cbportal.core.models import ReferenceCounter


def next_reference(prefix: str, year: int) -> str:
    """Take the next number; must run inside the caller's transaction so that a rollback
    gives the number back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_reference must run inside a transaction")
    try:
        with transaction.atomic():
            ReferenceCounter.objects.get_or_create(prefix=prefix, year=year)
    except IntegrityError:
        pass  # created by a concurrent first-of-the-year submission
    # The UPDATE takes the row lock until our transaction ends: a concurrent submission
    # waits here and then reads the number after ours.
    counter = ReferenceCounter.objects.filter(prefix=prefix, year=year)
    counter.update(last=F("last") + 1)
    number = counter.values_list("last", flat=True).get()
    return f"{prefix}-{year}-{number:04d}"
