"""``manage.py seed_scale`` (issue 10, "Scale data"), run at a tiny scale: the rows come in
the issue's proportions, every state is one its workflow knows and every object's
timeline ends in it, foreign keys hold, references are unique and the services number
the next request after them, the demo accounts sign in; it refuses SQLite and a database
that already holds requests unless ``--reset``.

Needs PostgreSQL (it writes with ``COPY``); the seeding tests are skipped, with the
reason, on SQLite. Run with ``DATABASE_URL=postgres://… pytest tests/core/test_seed_scale.py``.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F
from django.urls import reverse

from actions.models import Action, ActionStatus, Activity, ExpertiseNeed
from cbportal.core.models import AuditEntry, Notification, ReferenceCounter, TransitionEvent
from cbportal.core.workflow import REGISTRY
from evaluations.models import FinalEvaluation
from experts.models import Deployment, Expert, MissionReport
from requests_app.models import AssistanceRequest, NeedsAssessment

SCALE = 0.002
DEMO_ACCOUNTS = ("partner", "partner2", "staff", "approver", "expert", "evaluator", "admin")


def seed_scale(*args: str) -> str:
    out = StringIO()
    call_command("seed_scale", "--scale", str(SCALE), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def postgresql(db: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "seed_scale writes with PostgreSQL's COPY: set DATABASE_URL=postgres://… to run it"
        )


def test_it_refuses_sqlite_with_a_clear_message(db: Any) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("checks the refusal on SQLite (the default database)")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        seed_scale()
    assert not AssistanceRequest.objects.exists()


@pytest.mark.postgres
def test_it_seeds_a_consistent_data_set_in_the_issues_proportions(
    postgresql: None, client: Any
) -> None:
    from tests.requests_app.helpers import make_request

    output = seed_scale()
    assert "transition events" in output and "Seeded at scale" in output

    # Proportions (the demo's few dozen cases come on top of the bulk).
    requests = AssistanceRequest.objects.count()
    experts = Expert.objects.count()
    assert 100 <= requests <= 160  # 100 generated + the demo's cases
    assert 200 <= experts <= 500  # 200 generated + the demo roster
    assert 20 <= Action.objects.count() <= 60
    activities, needs = Activity.objects.count(), ExpertiseNeed.objects.count()
    assert 3.5 <= activities / Action.objects.count() <= 7
    assert needs >= activities * 0.9
    deployments = Deployment.objects.count()
    assert 300 <= deployments <= 550
    events = TransitionEvent.objects.count()
    assert 1200 <= events <= 3200
    assert AuditEntry.objects.filter(kind__in=["transition", "vetting"]).count() == events
    assert 700 <= Notification.objects.count() <= 1500
    assert MissionReport.objects.count() >= Deployment.objects.filter(status="completed").count()
    assert not Deployment.objects.filter(status="completed", report__isnull=True).exists()

    # Realistic shares: most requests decided, some open; most actions past approval.
    decided = AssistanceRequest.objects.filter(status__in=["accepted", "declined"]).count()
    assert decided / requests > 0.6
    assert AssistanceRequest.objects.filter(
        status__in=["submitted", "under_review", "info_requested"]
    ).exists()
    late = Action.objects.filter(status__in=["completed", "closed", "in_implementation"])
    assert late.count() / Action.objects.count() > 0.5
    assert Deployment.objects.filter(status="completed").count() / deployments > 0.3
    assert (
        Notification.objects.filter(read_at__isnull=False).count() / (Notification.objects.count())
        > 0.7
    )

    # Every status is one of its workflow's, and every object's last transition ends in it.
    from django.contrib.contenttypes.models import ContentType

    for model in (AssistanceRequest, NeedsAssessment, Action, Deployment, FinalEvaluation, Expert):
        workflow = REGISTRY[f"{model._meta.app_label}.{model.__name__}"]
        states = set(workflow.states.values)
        field = workflow.state_field
        current = dict(model.objects.values_list("pk", field))
        assert set(current.values()) <= states, model
        ct = ContentType.objects.get_for_model(model)
        last: dict[int, str] = {}
        previous: dict[int, str] = {}
        for object_id, from_state, to_state in (
            TransitionEvent.objects.filter(content_type=ct)
            .order_by("object_id", "created_at", "id")
            .values_list("object_id", "from_state", "to_state")
        ):
            # A chain: each event starts where the one before ended.
            if object_id in previous:
                assert from_state == previous[object_id], (model, object_id)
            previous[object_id] = last[object_id] = to_state
            assert {from_state, to_state} <= states
        assert last, model
        for object_id, state in last.items():
            assert current[object_id] == state, (model, object_id)
        # Objects without events are in their first state (the demo's roster is written
        # without its vetting history: only the generated one is checked).
        first = {"Expert": "pending", "Action": "design", "NeedsAssessment": "in_progress"}
        demo_roster = set(
            Expert.objects.exclude(email__endswith="@scale.cbportal.localhost").values_list(
                "pk", flat=True
            )
        )
        for object_id, state in current.items():
            if object_id not in last and not (model is Expert and object_id in demo_roster):
                assert state in {first.get(model.__name__, ""), "draft", "shortlisted"}, (
                    model,
                    state,
                )
    # An approval's approver never drafted the action (four eyes).
    assert not Action.objects.filter(approved_by=F("drafted_by")).exists()
    assert set(Action.objects.values_list("status", flat=True)) >= {
        ActionStatus.CLOSED,
        ActionStatus.IN_IMPLEMENTATION,
    }

    # The track record matching reads is the sum of the missions' ratings.
    from django.db.models import Count, Q, Sum

    rated = Q(deployments__rating__isnull=False)
    assert not (
        Expert.objects.annotate(
            n=Count("deployments", filter=rated), total=Sum("deployments__rating", filter=rated)
        )
        .filter(n__gt=0)
        .exclude(rating_count=F("n"), rating_sum=F("total"))
        .exists()
    )

    # Foreign keys hold (COPY defers their checks to the commit; check them now).
    connection.check_constraints()

    # References are unique and the counters are past them: the next submission gets the
    # next number of its year.
    references = list(
        AssistanceRequest.objects.exclude(reference=None).values_list("reference", flat=True)
    )
    assert len(references) == len(set(references))
    for prefix, model in (("REQ", AssistanceRequest), ("ACT", Action)):
        for counter in ReferenceCounter.objects.filter(prefix=prefix):
            numbers = [
                int(r.rsplit("-", 1)[1])
                for r in model.objects.filter(
                    reference__startswith=f"{prefix}-{counter.year}-"
                ).values_list("reference", flat=True)
            ]
            assert counter.last == max(numbers) == len(numbers), (prefix, counter.year)
    from django.utils import timezone

    from cbportal.accounts.models import User

    year = timezone.localdate().year
    last_number = ReferenceCounter.objects.get(prefix="REQ", year=year).last
    submitted = make_request("submitted", User.objects.get(username="partner"))
    assert submitted.reference == f"REQ-{year}-{last_number + 1:04d}"

    # The demo accounts sign in and own part of the bulk.
    for username in DEMO_ACCOUNTS:
        response = client.post(
            reverse("accounts:login"), {"username": username, "password": "cbportal-demo"}
        )
        assert response.status_code == 302, username
        assert response["Location"] == reverse("core:home"), username
        assert client.get(reverse("core:home")).status_code == 200, username
        client.post(reverse("accounts:logout"))
    staff = User.objects.get(username="staff")
    assert AssistanceRequest.objects.filter(case_officer=staff).count() > 2
    evaluator = User.objects.get(username="evaluator")
    assert Action.objects.filter(evaluators=evaluator).exists()
    partner = User.objects.get(username="partner")
    assert Notification.objects.filter(recipient=partner).exists()
    # Sequences are past the rows written with explicit ids.
    event = TransitionEvent.objects.create(
        content_type=ContentType.objects.get_for_model(Action),
        object_id=1,
        transition="x",
        from_state="a",
        to_state="b",
        actor_name="test",
    )
    assert event.pk > events


@pytest.mark.postgres
def test_it_refuses_a_database_with_requests_unless_reset(postgresql: None) -> None:
    first = seed_scale()
    counts = _counts()
    with pytest.raises(CommandError, match="--reset"):
        seed_scale()
    assert _counts() == counts
    # --reset empties the tables and seeds the same data again (same seed).
    seed_scale("--reset")
    assert _counts() == counts
    assert first.count("\n") > 20


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (AssistanceRequest, Action, Expert, Deployment, TransitionEvent, Notification)
    }
