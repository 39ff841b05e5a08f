"""Lists and pages of actions run a constant number of queries, however many rows there
are (issue 4 "Done when": constant query counts for list endpoints and pages). Each
endpoint is measured at two data sizes — 3 and 12 actions, activities or needs — and must
stay within the same bound, measured once and written down here without slack: one query
more per row would add at least 9 at the larger size.

Where a count grows with the rows, the test is a strict xfail naming the N+1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from actions import plan, services
from actions.models import Action, Activity, ExpertiseNeed
from tests.actions.api_helpers import (
    ACTIONS,
    ACTIVITIES,
    NEEDS,
    add_activities,
    advance,
    make_action,
)

SMALL, LARGE = 3, 12

# States whose transitions offered to staff have no guard that reads the database.
AGREED_MIX = ["approved", "signed", "proposed", "suspended", "completed"]


def count_queries(fetch: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fetch()
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def measure_twice(
    fetch: Callable[[], Any],
    populate: Callable[[int], None],
    bound: int,
    assert_max: Any,
) -> tuple[int, int]:
    """Populate to SMALL rows, measure; populate to LARGE rows, measure; both within bound."""
    populate(SMALL)
    fetch()  # warm what is cached once per process (content types, templates)
    with assert_max(bound):
        small = count_queries(fetch)
    populate(LARGE - SMALL)
    with assert_max(bound):
        large = count_queries(fetch)
    return small, large


def fetcher(who: Any, kind: str, path: str, api_as: Any, client: Any) -> Callable[[], Any]:
    if kind == "api":
        api = api_as(who)
        return lambda: api.get(path, {"page_size": 50})
    client.force_login(who)
    return lambda: client.get(path)


def tags() -> dict[str, Any]:
    return {"areas": ("data", "governance"), "gcm": (1, 23)}


# --- action lists -------------------------------------------------------------------------

# endpoint -> (who, api|page, path, measured bound)
ACTION_LISTS: dict[str, tuple[str, str, str, int]] = {
    "api-actions-staff": ("staff", "api", ACTIONS, 7),
    "api-actions-partner": ("partner", "api", ACTIONS, 7),
    "api-actions-evaluator": ("evaluator", "api", ACTIONS, 7),
    "page-actions-staff": ("staff", "page", "/actions/", 10),
    "page-actions-partner": ("partner", "page", "/actions/", 7),
}


@pytest.mark.parametrize("endpoint", list(ACTION_LISTS))
def test_it_lists_actions_in_a_constant_number_of_queries(
    endpoint, personas, api_as, client, django_assert_max_num_queries
):
    who, kind, path, bound = ACTION_LISTS[endpoint]
    p = personas
    made: list[Action] = []

    def populate(n: int) -> None:
        for _ in range(n):
            state = AGREED_MIX[len(made) % len(AGREED_MIX)]
            made.append(
                make_action(
                    p["partner"],
                    p["staff"],
                    state,
                    approver=p["approver"],
                    evaluators=(p["evaluator"],),
                    **tags(),
                )
            )

    fetch = fetcher(p[who], kind, path, api_as, client)
    small, large = measure_twice(fetch, populate, bound, django_assert_max_num_queries)

    assert large == small, f"{endpoint}: {small} queries with {SMALL} actions, {large} with {LARGE}"
    if kind == "api":
        visible = [a for a in made if who != "partner" or a.status != "proposed"]
        assert fetch().json()["count"] == len(visible)


def test_it_lists_actions_in_design_in_a_constant_number_of_queries(
    personas, api_as, django_assert_max_num_queries
):
    p = personas

    def populate(n: int) -> None:
        for _ in range(n):
            make_action(p["partner"], p["staff"], "design", **tags())

    api = api_as(p["staff"])
    small, large = measure_twice(
        lambda: api.get(ACTIONS), populate, 7, django_assert_max_num_queries
    )
    assert large == small


def test_it_lists_running_actions_in_a_constant_number_of_queries(
    personas, api_as, django_assert_max_num_queries
):
    p = personas

    def populate(n: int) -> None:
        for _ in range(n):
            make_action(p["partner"], p["staff"], "in_implementation", approver=p["approver"])

    api = api_as(p["staff"])
    small, large = measure_twice(
        lambda: api.get(ACTIONS), populate, 7, django_assert_max_num_queries
    )
    assert large == small


# --- activities and expertise needs -------------------------------------------------------

# endpoint -> (path, measured bound, model counted)
PLAN_LISTS: dict[str, tuple[str, int, Any]] = {
    "api-activities-staff": (ACTIVITIES, 3, Activity),
    "api-expertise-needs-staff": (NEEDS, 4, ExpertiseNeed),
}


@pytest.mark.parametrize("endpoint", list(PLAN_LISTS))
def test_it_lists_activities_and_needs_in_a_constant_number_of_queries(
    endpoint, personas, api_as, django_assert_max_num_queries
):
    path, bound, model = PLAN_LISTS[endpoint]
    p = personas

    def populate(n: int) -> None:
        # a new action (its plan brings one activity with one need) and n - 1 more
        # activities with one need each, so that rows of several actions are listed
        action = make_action(p["partner"], p["staff"])
        add_activities(action, p["staff"], n - 1, needs=1)

    api = api_as(p["staff"])
    small, large = measure_twice(
        lambda: api.get(path, {"page_size": 50}), populate, bound, django_assert_max_num_queries
    )

    assert large == small, f"{endpoint}: {small} queries, then {large}"
    assert model.objects.count() == LARGE


# --- the action page ----------------------------------------------------------------------


def action_with_activities(personas: dict[str, Any], n: int, state: str) -> Action:
    """An action with ``n`` activities — its plan's training (one need) and ``n - 1``
    workshops with two needs each — brought to ``state`` through the services."""
    p = personas
    action = make_action(p["partner"], p["staff"], evaluators=(p["evaluator"],), **tags())
    add_activities(action, p["staff"], n - 1, needs=2)
    return advance(action, state, staff=p["staff"], approver=p["approver"], partner=p["partner"])


def measure_pages(
    personas: dict[str, Any], who: str, state: str, client: Any, bound: int, assert_max: Any
) -> tuple[int, int]:
    small_action = action_with_activities(personas, SMALL, state)
    large_action = action_with_activities(personas, LARGE, state)
    assert ExpertiseNeed.objects.filter(activity__action=large_action).count() == 2 * LARGE - 1
    client.force_login(personas[who])
    client.get(f"/actions/{small_action.pk}/")  # warm
    with assert_max(bound):
        small = count_queries(lambda: client.get(f"/actions/{small_action.pk}/"))
    with assert_max(bound):
        large = count_queries(lambda: client.get(f"/actions/{large_action.pk}/"))
    return small, large


# who -> measured bound, for an action in implementation
DETAIL: dict[str, int] = {"staff": 20, "partner": 19, "evaluator": 19}


@pytest.mark.parametrize("who", list(DETAIL))
def test_it_shows_the_action_page_in_a_constant_number_of_queries(
    who, personas, client, django_assert_max_num_queries
):
    small, large = measure_pages(
        personas, who, "in_implementation", client, DETAIL[who], django_assert_max_num_queries
    )

    assert large == small, f"{who}: {small} queries with {SMALL} activities, {large} with {LARGE}"


def test_it_shows_an_action_in_design_in_a_constant_number_of_queries(
    personas, client, django_assert_max_num_queries
):
    small, large = measure_pages(
        personas, "staff", "design", client, 23, django_assert_max_num_queries
    )

    assert large == small


def bump_first_need(k: int) -> Any:
    """A plan edit that asks for one more expert (and skill ``k``) in the first need."""

    def edit(p: plan.Plan, a: Any) -> plan.Plan:
        activity = p["activities"][0]
        need = dict(activity["needs"][0])
        need.update(experts_needed=need["experts_needed"] + 1, skills=[*need["skills"], f"s{k}"])
        return plan.save_need(p, activity_key=activity["key"], key=need["key"], data=need)

    return edit


def test_it_shows_the_amendment_history_in_a_constant_number_of_queries(
    personas, client, django_assert_max_num_queries
):
    p = personas
    action = make_action(p["partner"], p["staff"], "in_implementation", approver=p["approver"])
    made = [0]

    def populate(n: int) -> None:
        for _ in range(n):
            made[0] += 1
            amendment = services.amendment_create(
                action_id=action.pk,
                by=p["staff"],
                reason_category="partner_request",
                reason="One more expert.",
                requested_by="The director",
            )
            services.amendment_plan_edit(
                amendment_id=amendment.pk, by=p["staff"], edit=bump_first_need(made[0])
            )
            for name, who in (("propose", "staff"), ("approve", "approver"), ("sign", "partner")):
                services.amendment_transition(amendment_id=amendment.pk, name=name, by=p[who])

    client.force_login(p["staff"])
    small, large = measure_twice(
        lambda: client.get(f"/actions/{action.pk}/"), populate, 26, django_assert_max_num_queries
    )

    assert large == small
