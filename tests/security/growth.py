"""More of everything the lists show, for the query budgets (tests/security/test_query_budgets.py).

``grow(world, copies)`` gives each side of ``tests/security/world.py`` ``copies`` more of each
kind of object its people see in a list, through the same services and builders the world
is built with and owned by the same people: requests (with attachments), assessments,
actions in every state the lists show (in design, proposed, approved with an invitation,
running with indicators, measurements, outcomes, a draft evaluation, feedback links and
feedback, closed with a submitted evaluation), missions and invitations of the side's
expert, roster entries (vetted and pending), account invitations and organisations. Each
side's own objects get more children too: attachments on its draft request, unavailability
periods of its expert, amendments of its running action, deployments on its need (so its
board, its experts and its shortlist grow). Reference data (countries, languages, thematic
areas, GCM objectives) get a few rows each.

Call it inside the world's transaction, with on-commit callbacks executed (notifications
and matching runs happen then).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.requests_app.helpers import PDF_BYTES
from tests.security.world import Side, World


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def grow(world: World, copies: int = 3) -> None:
    """``copies`` more of each kind per side (see the module docstring)."""
    for side in world.sides.values():
        for number in range(copies):
            _another_case(world, side, f"{side.name}{number + 2}", number)
        _more_children(world, side, copies)
    _more_reference_data(copies * len(world.sides))


def _another_case(world: World, side: Side, tag: str, number: int) -> None:
    """One more of each top-level object of ``side``, as ``_build_side`` makes them but for
    the side's existing expert profile (an account holds one profile)."""
    from actions import services as action_services
    from cbportal.accounts import services as account_services
    from evaluations import services as evaluation_services
    from tests.actions.builders import advance, make_action
    from tests.evaluations.builders import (
        complete_evaluation,
        make_indicator,
        running_action,
        submitted_evaluation,
    )
    from tests.experts.builders import deployment_in, first_need, make_expert
    from tests.factories import OrganisationFactory
    from tests.requests_app.helpers import add_attachment, make_draft, make_request
    from tests.requests_app.helpers import make_assessment as make_open_assessment

    staff, approver = world.users["staff"], world.users["approver"]
    partner, evaluator = side.partner, side.evaluator
    today = timezone.localdate()

    draft = make_draft(partner, title=f"Draft request {tag}")
    add_attachment(draft, partner, name=f"letter-{tag}.pdf")
    make_request("submitted", partner, title=f"Submitted {tag}")
    make_open_assessment(partner, staff, gaps=1, title=f"Assessed {tag}")

    make_expert(False, by=staff, name=f"Roster {tag}")
    make_expert(False, by=staff, name=f"Pending {tag}", vetted=False)

    make_action(partner, staff, title=f"Designed {tag}")
    advance(
        make_action(partner, staff, title=f"Proposed {tag}"),
        "proposed",
        staff=staff,
        approver=approver,
        partner=partner,
    )
    invite_action = advance(
        make_action(partner, staff, title=f"Inviting {tag}"),
        "approved",
        staff=staff,
        approver=approver,
        partner=partner,
    )
    deployment_in("invited", first_need(invite_action), side.expert, staff=staff)

    action = running_action(partner, staff, approver, evaluator=evaluator)
    _mission(first_need(action), side.expert, staff, days_ago=12 + number)
    indicator = make_indicator(action, staff)
    evaluation_services.measurement_record(
        indicator_id=indicator.pk,
        by=evaluator,
        data={"date": today - timedelta(days=1), "value": "30", "note": "Inspection"},
    )
    evaluation_services.outcome_record(
        action_id=action.pk,
        by=evaluator,
        data={
            "level": "organisational",
            "description": "The SOP is in use.",
            "evidence": "Inspection report",
            "date": today - timedelta(days=1),
        },
    )
    complete_evaluation(action, evaluator)
    activity = action.activities.order_by("pk").first()
    assert activity is not None
    evaluation_services.feedback_links_create(activity_id=activity.pk, by=staff, count=2)
    evaluation_services.feedback_submit(
        activity_id=activity.pk, by=partner, data={"satisfaction": 4, "comments": "Useful."}
    )

    closed = running_action(partner, staff, approver, evaluator=evaluator)
    submitted_evaluation(closed, evaluator, staff=staff, approver=approver, partner=partner)
    action_services.action_transition(action_id=closed.pk, name="close", by=staff, text="")
    if side.name == "A":  # as in the world: A's partner publishes, B's does not
        action_services.action_update(action_id=closed.pk, by=partner, data={"publish": True})

    account_services.invitation_create(
        by=staff,
        email=f"new-focal-point-{tag.lower()}@example.org",
        role="partner",
        organisation=side.organisation,
    )
    OrganisationFactory(name=f"Border Agency {tag}", acronym=f"BA{tag}")


def _mission(need: Any, expert: Any, staff: Any, *, days_ago: int) -> None:
    """A mission of ``expert`` on ``need``, reported, as ``deployment_in("reported", …)``
    makes it but moved to its own day in the past: one expert's missions may not overlap
    (PostgreSQL's exclusion constraint checks it even where the service is bypassed)."""
    from experts import services as expert_services
    from experts.models import Deployment
    from tests.experts.builders import deployment_in

    mission = deployment_in("confirmed", need, expert, staff=staff)
    day = timezone.localdate() - timedelta(days=days_ago)
    Deployment.objects.filter(pk=mission.pk).update(start_date=day, end_date=day)
    expert_services.deployment_report_submit(
        deployment_id=mission.pk,
        by=expert.user,
        summary="Trained 15 analysts.",
        outputs="Training materials.",
        recommendations="Repeat in a year.",
        days_worked=1,
    )


def _more_children(world: World, side: Side, copies: int) -> None:
    """More children of the side's own objects, whose nested lists the budgets walk."""
    from actions.models import Amendment
    from experts import services as expert_services
    from tests.actions.builders import make_amendment
    from tests.evaluations.builders import make_indicator, measure
    from tests.experts.builders import deployment_in, make_expert
    from tests.requests_app.helpers import add_attachment

    staff, approver = world.users["staff"], world.users["approver"]
    partner, evaluator = side.partner, side.evaluator
    today = timezone.localdate()

    for number in range(copies):
        add_attachment(side.draft_request, partner, name=f"annex-{side.name}{number}.pdf")
        start = today + timedelta(days=320 + 10 * number)
        expert_services.unavailability_add(
            expert_id=side.expert.pk,
            by=side.expert_user,
            start_date=start,
            end_date=start + timedelta(days=2),
            note="Conference",
        )
        # Booked on the side's need: its board, its experts and its shortlist grow.
        colleague = make_expert(by=staff, name=f"Colleague {side.name}{number}")
        deployment_in("confirmed", side.need, colleague, staff=staff)
        indicator = make_indicator(side.action, staff, name=f"Indicator {number}")
        measure(indicator, evaluator, "40", days_ago=1)

    # One amendment at a time is in progress: the world's draft is rejected, more are
    # drafted and rejected, and the last one is left in draft as the world's was.
    from actions import services as action_services

    action_services.amendment_transition(amendment_id=side.amendment.pk, name="propose", by=staff)
    action_services.amendment_transition(
        amendment_id=side.amendment.pk, name="reject", by=approver, text="Not now."
    )
    for _number in range(copies - 1):
        make_amendment(side.action, "rejected", staff=staff, approver=approver, partner=partner)
    make_amendment(side.action, "draft", staff=staff, approver=approver, partner=partner)
    assert Amendment.objects.filter(action=side.action).count() == copies + 1

    # A new matching run ranks the grown roster.
    expert_services.match_queue(need_id=side.need.pk, by=staff)


def _more_reference_data(count: int) -> None:
    from cbportal.accounts.models import Country
    from cbportal.core.models import GcmObjective, Language, ThematicArea

    top = max(GcmObjective.objects.values_list("number", flat=True))
    for number in range(count):
        letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[number]
        Country.objects.create(
            code=f"X{letter}",
            iso3=f"XX{letter}",
            numeric=f"{900 + number}",
            name=f"Testland {letter}",
            region="Africa",
            subregion="Northern Africa",
        )
        Language.objects.create(code=f"q{letter.lower()}", name=f"Testish {letter}")
        ThematicArea.objects.create(slug=f"test-area-{number}", name=f"Test area {number}")
        GcmObjective.objects.create(number=top + 1 + number, title=f"Test objective {number}")
