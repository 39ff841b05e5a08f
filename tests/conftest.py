"""Fixtures shared by the whole suite.

Personas, as healthchecks' tests have them: two partner organisations, staff, an approver,
an expert, an evaluator and an administrator. Celery runs eagerly unless a test is marked
``celery_worker`` (then a real worker process consumes a real Redis queue).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

from tests.factories import PASSWORD, OrganisationFactory, UserFactory


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test gets the test database. A test that reached the database only at run
    time (``request.getfixturevalue("partner")``) without a ``django_db`` mark was seen to
    talk to the development database; marking them all closes that door for good."""
    for item in items:
        if item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db)


@pytest.fixture(autouse=True)
def _isolated_cache(settings: Any) -> Iterator[None]:
    # Throttle counters live in the cache; each test starts with an empty local one so that
    # tests never share (or flush) the Redis instance the Celery broker uses.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    # A request with Accept-Language activates that language in the test's thread and
    # leaves it active; each test starts (and ends) in the default language.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _celery_mode(request: pytest.FixtureRequest) -> Iterator[None]:
    from cbportal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = request.node.get_closest_marker("celery_worker") is None
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def organisation(db: Any) -> Any:
    return OrganisationFactory(name="Directorate of Migration", acronym="DM")


@pytest.fixture
def other_organisation(db: Any) -> Any:
    return OrganisationFactory(name="National Migration Agency", acronym="NMA")


@pytest.fixture
def partner(organisation: Any) -> Any:
    return UserFactory(username="partner", partner=True, organisation=organisation)


@pytest.fixture
def partner2(other_organisation: Any) -> Any:
    return UserFactory(username="partner2", partner=True, organisation=other_organisation)


@pytest.fixture
def staff(db: Any) -> Any:
    return UserFactory(username="staff")


@pytest.fixture
def approver(db: Any) -> Any:
    return UserFactory(username="approver", approver=True)


@pytest.fixture
def expert(db: Any) -> Any:
    return UserFactory(username="expert", expert=True)


@pytest.fixture
def evaluator(db: Any) -> Any:
    return UserFactory(username="evaluator", evaluator=True)


@pytest.fixture
def admin_user(db: Any) -> Any:
    return UserFactory(username="admin", is_superuser=True, is_staff=True)


@pytest.fixture
def personas(
    partner: Any, partner2: Any, staff: Any, approver: Any, expert: Any, evaluator: Any
) -> dict[str, Any]:
    return {
        "partner": partner,
        "partner2": partner2,
        "staff": staff,
        "approver": approver,
        "expert": expert,
        "evaluator": evaluator,
    }


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as(db: Any) -> Any:
    """``api_as(user)`` returns an API client authenticated as ``user`` (force_authenticate)."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """Transactional tests end by flushing every table, migration-loaded reference data
    included. Whatever ran before, each database test starts with the reference data
    (one cheap query when it is there)."""
    if request.node.get_closest_marker("django_db") is None and not {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames):
        return
    marker = request.node.get_closest_marker("django_db")
    transactional = "live_server" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from django.apps import apps

    from cbportal.accounts.models import Country

    if Country.objects.exists():
        return
    from cbportal.core.reference_data import load_core, load_countries

    load_countries(apps)
    load_core(apps)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The accessibility summary of the browser tests: pages checked, violations by impact."""
    from tests.e2e.accessibility import REPORT, ROOT

    if not REPORT.checks:
        return
    terminalreporter.section("accessibility (axe-core, WCAG 2.1 AA)")
    for line in REPORT.summary():
        terminalreporter.write_line(line)
    REPORT.write(ROOT / "test-results" / "accessibility.json")
