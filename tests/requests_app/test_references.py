"""Gap-free yearly reference numbers (cbportal/core/references.py) as requests use them."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cbportal.core.models import ReferenceCounter
from cbportal.core.references import next_reference
from requests_app import services
from requests_app.models import AssistanceRequest


def take(prefix="REQ", year=2026):
    with transaction.atomic():
        return next_reference(prefix, year)


def test_it_numbers_sequentially_per_year(db):
    assert [take() for _ in range(3)] == ["REQ-2026-0001", "REQ-2026-0002", "REQ-2026-0003"]
    assert ReferenceCounter.objects.get(prefix="REQ", year=2026).last == 3


def test_it_restarts_at_one_in_a_new_year(db):
    take(year=2026)
    take(year=2026)
    assert take(year=2027) == "REQ-2027-0001"
    assert take(year=2026) == "REQ-2026-0003"


def test_it_numbers_each_prefix_on_its_own(db):
    take("REQ")
    assert take("ACT") == "ACT-2026-0001"
    assert take("REQ") == "REQ-2026-0002"


def test_it_gives_back_the_number_of_a_rolled_back_transaction(db):
    assert take() == "REQ-2026-0001"
    with pytest.raises(RuntimeError), transaction.atomic():
        assert next_reference("REQ", 2026) == "REQ-2026-0002"
        raise RuntimeError("the submission failed")
    assert take() == "REQ-2026-0002"


def test_it_gives_back_the_first_number_of_the_year_on_rollback(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        next_reference("REQ", 2030)
        raise RuntimeError("the submission failed")
    assert take(year=2030) == "REQ-2030-0001"


def test_it_pads_to_four_digits_and_grows_beyond(db):
    ReferenceCounter.objects.create(prefix="REQ", year=2026, last=9998)
    assert take() == "REQ-2026-9999"
    assert take() == "REQ-2026-10000"


@pytest.mark.django_db(transaction=True)
def test_it_must_run_inside_a_transaction():
    with pytest.raises(RuntimeError, match="inside a transaction"):
        next_reference("REQ", 2026)
    assert not ReferenceCounter.objects.exists()


def test_it_numbers_submitted_requests_in_submission_order(request_factory, partner, partner2):
    year = timezone.localtime().year
    first = request_factory()
    second = request_factory(by=partner2)
    third = request_factory()
    for request, by in ((second, partner2), (first, partner), (third, partner)):
        services.request_submit(request_id=request.pk, by=by)
    references = {
        r.pk: r.reference for r in AssistanceRequest.objects.filter(reference__isnull=False)
    }
    assert references == {
        second.pk: f"REQ-{year}-0001",
        first.pk: f"REQ-{year}-0002",
        third.pk: f"REQ-{year}-0003",
    }


@pytest.mark.django_db(transaction=True)
def test_it_numbers_concurrent_submissions_without_gaps(request_factory, partner):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every write, nothing runs at once")
    drafts = [request_factory() for _ in range(8)]
    barrier = threading.Barrier(len(drafts))
    errors: list[BaseException] = []

    def submit(pk):
        try:
            barrier.wait(timeout=10)
            services.request_submit(request_id=pk, by=partner)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(d.pk,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    year = timezone.localtime().year
    references = sorted(
        AssistanceRequest.objects.filter(pk__in=[d.pk for d in drafts]).values_list(
            "reference", flat=True
        )
    )
    assert references == [f"REQ-{year}-{n:04d}" for n in range(1, 9)]
    assert ReferenceCounter.objects.get(prefix="REQ", year=year).last == 8
