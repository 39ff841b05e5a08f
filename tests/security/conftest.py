"""The ``world`` of the access matrices: built once per module, rolled back after it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import TestCase, override_settings

from tests.security.world import World, build_world


@pytest.fixture(scope="module")
def world(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Both sides of ``tests/security/world.py``. Built inside an outer transaction that
    each test's own (``db``) transaction nests in, and rolled back when the module ends,
    so the matrices leave nothing behind; uploaded files go to a temporary directory."""
    media = tmp_path_factory.mktemp("media")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=str(media)),
        transaction.atomic(),
    ):
        from django.apps import apps

        from cbportal.accounts.models import Country
        from cbportal.core.reference_data import load_core, load_countries

        if not Country.objects.exists():  # a transactional test flushed them
            load_countries(apps)
            load_core(apps)
        with TestCase.captureOnCommitCallbacks(execute=True):
            built = build_world()
        yield built
        transaction.set_rollback(True)
