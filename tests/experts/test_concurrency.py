"""No double-booking under concurrency (DESIGN.md §2): several staff confirming overlapping
missions of one expert at the same moment — exactly one wins — and the PostgreSQL exclusion
constraint ``deployment_no_double_booking`` (migration 0002) refusing an overlap even when
the service is bypassed.

Needs PostgreSQL (row locks and the exclusion constraint); skipped, with the reason, on
SQLite. Run with ``DATABASE_URL=postgres://… pytest tests/experts/test_concurrency.py``.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from actions.models import ExpertiseNeed
from cbportal.core.errors import TransitionNotAllowed
from experts import services
from experts.models import Deployment
from tests.actions.builders import events_for
from tests.experts.builders import deployment_in, make_expert

pytestmark = pytest.mark.postgres

THREADS = 6
OK = "ok"


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (row locks and the deployment_no_double_booking exclusion "
            "constraint): set DATABASE_URL=postgres://…"
        )


def accepted_deployments(need: ExpertiseNeed, expert: Any, staff: Any, count: int) -> list[Any]:
    """``count`` accepted deployments of ``expert``, each on its own need of the same
    activity (so their default mission dates are the same day)."""
    result = []
    for i in range(count):
        target = (
            need
            if i == 0
            else ExpertiseNeed.objects.create(
                activity=need.activity, thematic_area=need.thematic_area, expert_days=1
            )
        )
        result.append(deployment_in("accepted", target, expert, staff=staff))
    return result


def confirm_all_at_once(deployments: list[Any], staff: Any, **dates: Any) -> dict[int, Any]:
    """One thread (one database connection) per deployment, all released together."""
    barrier = threading.Barrier(len(deployments))
    outcomes: dict[int, Any] = {}

    def confirm(deployment: Any, offset: int) -> None:
        try:
            barrier.wait(timeout=20)
            start = dates["start"] + timedelta(days=offset)
            services.deployment_confirm(
                deployment_id=deployment.pk,
                by=staff,
                start_date=start,
                end_date=start + timedelta(days=dates["length"] - 1),
                expert_days=1,
            )
            outcomes[deployment.pk] = OK
        except Exception as exc:
            outcomes[deployment.pk] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(d, i % 2)) for i, d in enumerate(deployments)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a confirmation hung"
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_only_one_of_several_simultaneous_overlapping_confirmations_wins(
    need, staff, expert_profile, mailoutbox
):
    deployments = accepted_deployments(need, expert_profile, staff, THREADS)
    # Missions of three days, half of them starting a day later: every pair overlaps.
    outcomes = confirm_all_at_once(deployments, staff, start=need.activity.start_date, length=3)

    assert sorted(outcomes) == sorted(d.pk for d in deployments)
    winners = [pk for pk, outcome in outcomes.items() if outcome == OK]
    losers = [outcome for outcome in outcomes.values() if outcome != OK]
    assert len(winners) == 1, outcomes
    assert len(losers) == THREADS - 1
    assert all(isinstance(o, TransitionNotAllowed) for o in losers), losers
    assert all("already booked" in o.message for o in losers), [o.message for o in losers]

    confirmed = Deployment.objects.filter(expert=expert_profile, status="confirmed")
    assert list(confirmed.values_list("pk", flat=True)) == winners
    assert Deployment.objects.filter(expert=expert_profile, status="accepted").count() == (
        THREADS - 1
    )
    for deployment in deployments:
        expected = 1 if deployment.pk in winners else 0
        assert events_for(deployment).filter(transition="confirm").count() == expected


@pytest.mark.django_db(transaction=True)
def test_the_constraint_settles_a_race_even_without_the_services_expert_lock(
    need, staff, expert_profile, monkeypatch
):
    """Take away the lock on the expert's row that serialises confirmations: each thread
    then sees no clash, and only the database's exclusion constraint stands between the
    expert and a double booking — the service turns its refusal into a 409. The threads
    checking the constraint against each other's new rows may also deadlock; PostgreSQL
    then fails one of them, which is the same refusal (``_is_deadlock``)."""

    class NoLock:
        def select_for_update(self, *args: Any, **kwargs: Any) -> NoLock:
            return self

        def filter(self, *args: Any, **kwargs: Any) -> NoLock:
            return self

        def first(self) -> None:
            return None

    class ExpertWithoutLock:
        objects = NoLock()

    deployments = accepted_deployments(need, expert_profile, staff, THREADS)
    monkeypatch.setattr(services, "Expert", ExpertWithoutLock)
    outcomes = confirm_all_at_once(deployments, staff, start=need.activity.start_date, length=3)

    winners = [pk for pk, outcome in outcomes.items() if outcome == OK]
    losers = [outcome for outcome in outcomes.values() if outcome != OK]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, TransitionNotAllowed) for o in losers), losers
    assert Deployment.objects.filter(expert=expert_profile, status="confirmed").count() == 1


class _Driver(Exception):
    """Stands for the driver's exception Django chains as ``__cause__``."""

    def __init__(self, pgcode: str) -> None:
        super().__init__(pgcode)
        self.pgcode = pgcode


@pytest.mark.parametrize(("pgcode", "refused"), [("40P01", True), ("57014", False)])
@pytest.mark.django_db
def test_a_deadlock_while_confirming_is_a_refusal_and_other_database_errors_are_not(
    need, staff, expert_profile, monkeypatch, pgcode, refused
):
    """Deterministic counterpart of the race above: the deadlock victim gets the 409's
    refusal; any other operational error (here a cancelled statement) still propagates."""
    from django.db import OperationalError

    (deployment,) = accepted_deployments(need, expert_profile, staff, 1)

    def fail(*args: Any, **kwargs: Any) -> None:
        error = OperationalError("driver error")
        error.__cause__ = _Driver(pgcode)
        raise error

    monkeypatch.setattr(services, "fire_transition", fail)
    expected = TransitionNotAllowed if refused else OperationalError
    with pytest.raises(expected):
        services.deployment_confirm(deployment_id=deployment.pk, by=staff)
    assert Deployment.objects.get(pk=deployment.pk).status == "accepted"


@pytest.mark.django_db(transaction=True)
def test_different_experts_are_confirmed_side_by_side(need, staff):
    people = [make_expert(name=f"Expert {i}", by=staff) for i in range(4)]
    deployments = [deployment_in("accepted", need, p, staff=staff) for p in people]
    outcomes = confirm_all_at_once(deployments, staff, start=need.activity.start_date, length=1)
    assert set(outcomes.values()) == {OK}, outcomes
    assert Deployment.objects.filter(status="confirmed").count() == 4


@pytest.mark.django_db(transaction=True)
def test_rows_that_point_at_an_expert_do_not_wait_for_a_change_of_the_expert(
    need, staff, expert_profile
):
    """A matching run stores results pointing at experts while staff may be changing one
    of them (anonymising it deletes its results): with a full row lock on the expert the
    two deadlocked. The services' lock must leave the expert's key free to be referenced."""
    from experts.models import MatchJob, MatchResult

    locked, release = threading.Event(), threading.Event()

    def change_the_expert() -> None:
        try:
            with transaction.atomic():
                services._lock_expert(expert_profile.pk, staff)
                locked.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    holder = threading.Thread(target=change_the_expert)
    holder.start()
    try:
        assert locked.wait(timeout=20)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            job = MatchJob.objects.create(need=need, requested_by=staff)
            MatchResult.objects.create(need=need, job=job, expert=expert_profile, rank=1, score=0.5)
    finally:
        release.set()
        holder.join(timeout=30)
    assert MatchResult.objects.filter(expert=expert_profile).count() == 1


# --- the exclusion constraint itself ---------------------------------------------------------


@pytest.fixture
def two_missions(need, partner2, staff, approver, expert_profile):
    """Two confirmed missions of the ``expert`` persona: day D (the activity's) and D+10…D+12."""
    from tests.experts.builders import approved_action, first_need

    day = need.activity.start_date
    first = deployment_in("confirmed", need, expert_profile, staff=staff)
    second = deployment_in(
        "confirmed",
        first_need(approved_action(partner2, staff, approver)),
        expert_profile,
        staff=staff,
        start=day + timedelta(days=10),
        end=day + timedelta(days=12),
    )
    return first, second


def test_the_constraint_exists_on_the_deployments_table():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contype FROM pg_constraint WHERE conname = 'deployment_no_double_booking'"
        )
        assert cursor.fetchall() == [("x",)]


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 0), (-3, 0), (0, 5), (-5, 20)],
    ids=["same-day", "ends-on-it", "starts-on-it", "around-it"],
)
def test_the_database_refuses_an_update_that_double_books(two_missions, start, end):
    first, second = two_missions
    day = first.start_date
    with pytest.raises(IntegrityError, match="deployment_no_double_booking"), transaction.atomic():
        Deployment.objects.filter(pk=second.pk).update(
            start_date=day + timedelta(days=start), end_date=day + timedelta(days=end)
        )
    assert Deployment.objects.get(pk=second.pk).start_date == day + timedelta(days=10)


def test_the_database_refuses_a_second_booking_by_status_change(
    need, staff, expert_profile, two_missions
):
    first, _second = two_missions
    third_need = ExpertiseNeed.objects.create(
        activity=need.activity, thematic_area=need.thematic_area, expert_days=1
    )
    accepted = deployment_in("accepted", third_need, expert_profile, staff=staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        Deployment.objects.filter(pk=accepted.pk).update(
            status="confirmed", start_date=first.start_date, end_date=first.end_date
        )
    assert Deployment.objects.get(pk=accepted.pk).status == "accepted"


def test_the_database_allows_what_is_not_a_double_booking(
    need, staff, expert_profile, expert2_profile, two_missions
):
    first, second = two_missions
    day = first.start_date
    # Back to back: the day after the first mission.
    Deployment.objects.filter(pk=second.pk).update(
        start_date=day + timedelta(days=1), end_date=day + timedelta(days=3)
    )
    # Another expert on the same day.
    other = deployment_in("confirmed", need, expert2_profile, staff=staff)
    assert (other.start_date, other.end_date) == (first.start_date, first.end_date)
    # A cancelled mission no longer holds the calendar.
    Deployment.objects.filter(pk=first.pk).update(status="cancelled")
    Deployment.objects.filter(pk=second.pk).update(start_date=day, end_date=day)
    # A completed mission still does.
    Deployment.objects.filter(pk=first.pk).update(
        status="completed", start_date=day - timedelta(days=30), end_date=day - timedelta(days=30)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Deployment.objects.filter(pk=first.pk).update(start_date=day, end_date=day)
