"""Who may do what with actions, activities, expertise needs and amendments: role × endpoint
matrices for the API and the pages (DESIGN.md §1, §5; issue 4 "Done when").

Every object belongs to ``partner``'s organisation, and ``evaluator`` is assigned to every
action; ``evaluator2`` is an evaluator assigned to none. Objects outside a user's scope
answer 404; a visible object the role may not change answers 403; anonymous API calls 401
and anonymous page visits go to the sign-in page. A refusal changes nothing.

One row per endpoint: the objects are built once, then each role's call runs inside a
savepoint that is rolled back, so every role meets the same state. A row's failure shows
the whole row, expected against actual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from actions.models import Action, Activity, Amendment, ExpertiseNeed
from cbportal.core.models import TransitionEvent
from tests.actions.api_helpers import (
    ACTIONS,
    ACTIVITIES,
    NEEDS,
    REASON,
    SIGNATORY,
    errors,
    make_action,
    make_amendment,
    make_assessment,
)
from tests.factories import UserFactory

ROLES = [
    "anonymous",
    "partner",
    "partner2",
    "staff",
    "approver",
    "expert",
    "evaluator",
    "evaluator2",
]


@pytest.fixture
def people(personas: dict[str, Any]) -> dict[str, Any]:
    return {
        **personas,
        "anonymous": None,
        "evaluator2": UserFactory(username="evaluator2", evaluator=True),
    }


@dataclass
class Case:
    """One endpoint: the state of the partner's action (and of its amendment, if any), the
    call, and the expected answers in ``ROLES`` order (``200+``/``200-``: a list that
    does / does not include the object; ``302`` for pages: a redirect; ``-``: not checked
    here, see the test named in the comment)."""

    state: str
    method: str
    path: str
    expected: str
    body: dict[str, Any] = field(default_factory=dict)
    amendment: str | None = None


@dataclass
class World:
    action: Action
    activity: Activity
    need: ExpertiseNeed
    amendment: Amendment | None
    assessment_id: int

    def path(self, template: str) -> str:
        return template.format(
            action=self.action.pk,
            activity=self.activity.pk,
            need=self.need.pk,
            amendment=self.amendment.pk if self.amendment else 0,
            assessment=self.assessment_id,
        )

    def body(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = {
            "{action}": self.action.pk,
            "{activity}": self.activity.pk,
            "{assessment}": self.assessment_id,
            "{inside}": self.action.start_date.isoformat(),  # a day inside the period
        }
        return {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}


def build(case: Case, people: dict[str, Any]) -> World:
    partner, staff, approver = people["partner"], people["staff"], people["approver"]
    action = make_action(
        partner, staff, case.state, approver=approver, evaluators=(people["evaluator"],)
    )
    amendment = None
    if case.amendment:
        amendment = make_amendment(
            action, case.amendment, staff=staff, approver=approver, partner=partner
        )
    assessment_id = make_assessment(partner, staff).pk if "{assessment}" in str(case) else 0
    activity = Activity.objects.filter(action=action).first()
    need = ExpertiseNeed.objects.filter(activity=activity).first()
    assert activity is not None and need is not None
    return World(action, activity, need, amendment, assessment_id)


def fingerprint() -> tuple[Any, ...]:
    return (
        list(
            Action.objects.order_by("pk").values_list(
                "pk", "status", "title", "publish", "start_date", "end_date", "signed_at"
            )
        ),
        list(Activity.objects.order_by("pk").values_list("pk", "title", "start_date")),
        list(ExpertiseNeed.objects.order_by("pk").values_list("pk", "experts_needed")),
        list(Amendment.objects.order_by("pk").values_list("pk", "status", "reason", "proposal")),
        TransitionEvent.objects.count(),
    )


def describe(response: Any, world: World, case: Case, page: bool) -> str:
    code = response.status_code
    if code != 200 or case.method != "get" or "+" not in case.expected + "-":
        return str(code)
    if page:
        if not case.path.rstrip("/").endswith(("actions", "approvals")):
            return "200"
        return "200+" if world.action.reference in response.content.decode() else "200-"
    data = response.json()
    if isinstance(data, dict) and "results" in data:
        ids = [item["id"] for item in data["results"]]
    elif isinstance(data, list):
        ids = [item["id"] for item in data]
    else:
        return "200"
    if case.path.startswith(ACTIVITIES):
        target = world.activity.pk
    elif case.path.startswith(NEEDS):
        target = world.need.pk
    elif case.path.endswith("amendments/"):
        target = world.amendment.pk if world.amendment else 0
    else:
        target = world.action.pk
    return "200+" if target in ids else "200-"


def run_row(case: Case, people: dict[str, Any], page: bool) -> None:
    world = build(case, people)
    expected = dict(zip(ROLES, case.expected.split(), strict=True))
    actual, changed = {}, []
    for role in ROLES:
        user = people[role]
        with transaction.atomic():
            before = fingerprint()
            if page:
                client: Any = Client()
                if user is not None:
                    client.force_login(user)
                response = getattr(client, case.method)(
                    world.path(case.path), world.body(case.body)
                )
            else:
                client = APIClient()
                if user is not None:
                    client.force_authenticate(user)
                response = getattr(client, case.method)(
                    world.path(case.path), world.body(case.body), format="json"
                )
            actual[role] = describe(response, world, case, page)
            if response.status_code >= 400 and fingerprint() != before:
                changed.append(role)
            if page and user is None and response.status_code == 302:
                assert response["Location"].startswith("/accounts/login/?next=")
                actual[role] = "login"
            if not page and response.status_code >= 400:
                errors(response)  # the one error shape
            transaction.set_rollback(True)
    checked = {role: v for role, v in expected.items() if v != "-"}
    assert {role: actual[role] for role in checked} == checked
    assert changed == [], f"a refusal changed something for {changed}"


# --- the API matrix -----------------------------------------------------------------------

A = ACTIONS + "{action}/"
M = A + "amendments/{amendment}/"
NEW_ACTIVITY = {
    "action": "{action}",
    "type": "consultation",
    "title": "Consultation of the regions",
    "start_date": "{inside}",
    "end_date": "{inside}",
    "modality": "remote",
}
NEW_NEED = {
    "activity": "{activity}",
    "thematic_area": "data",
    "experts_needed": 1,
    "expert_days": 2,
}
AMEND = {"reason_category": "other", "reason": "The unit moved.", "requested_by": "The director"}

# fmt: off
API: dict[str, Case] = {
    #                                                             anon partner partner2 staff approver expert evaluator evaluator2
    "actions-list": Case("approved", "get", ACTIONS,             "401  200+    200-     200+  200+     200-   200+      200-"),
    "actions-list-design": Case("design", "get", ACTIONS,        "401  200-    200-     200+  200+     200-   200+      200-"),
    "actions-retrieve": Case("approved", "get", A,               "401  200     404      200   200      404    200       404"),
    "actions-retrieve-design": Case("design", "get", A,          "401  404     404      200   200      404    200       404"),
    "actions-retrieve-proposed": Case("proposed", "get", A,      "401  404     404      200   200      404    200       404"),
    "actions-create": Case("design", "post", ACTIONS,            "401  403     403      201   201      403    403       403",
                           {"assessment": "{assessment}", "title": "New"}),
    "actions-update": Case("approved", "patch", A,               "401  403     404      200   200      404    403       404",
                           {"title": "Renamed"}),
    # publish: the partner's consent (staff: see test_it_keeps_publication_consent_with_the_partner)
    "actions-update-publish": Case("approved", "patch", A,       "401  200     404      -     -        404    403       404",
                                   {"publish": True}),
    "propose": Case("design", "post", A + "propose/",            "401  404     404      200   200      404    403       404"),
    "return": Case("proposed", "post", A + "return/",            "401  404     404      403   200      404    403       404",
                   {"reason": REASON}),
    "approve": Case("proposed", "post", A + "approve/",          "401  404     404      403   200      404    403       404"),
    "sign": Case("approved", "post", A + "sign/",                "401  200     404      403   403      404    403       404",
                 {"comment": SIGNATORY}),
    "start": Case("signed", "post", A + "start/",                "401  403     404      200   200      404    403       404"),
    "complete": Case("in_implementation", "post", A + "complete/",
                                                                 "401  403     404      200   200      404    403       404"),
    "close": Case("completed", "post", A + "close/",             "401  403     404      409   409      404    403       404"),
    "suspend": Case("in_implementation", "post", A + "suspend/", "401  403     404      200   200      404    403       404",
                    {"reason": REASON}),
    "resume": Case("suspended", "post", A + "resume/",           "401  403     404      200   200      404    403       404",
                   {"reason": "Back."}),
    "cancel": Case("approved", "post", A + "cancel/",            "401  403     404      200   200      404    403       404",
                   {"reason": REASON}),
    "amendments-list": Case("in_implementation", "get", A + "amendments/",
                                                                 "401  200+    404      200+  200+     404    200+      404",
                            amendment="approved"),
    "amendments-list-draft": Case("in_implementation", "get", A + "amendments/",
                                                                 "401  200-    404      200+  200+     404    200-      404",
                                  amendment="draft"),
    "amendments-create": Case("in_implementation", "post", A + "amendments/",
                                                                 "401  403     404      201   201      404    403       404",
                              AMEND),
    "amendment-retrieve": Case("in_implementation", "get", M,    "401  200     404      200   200      404    200       404",
                               amendment="approved"),
    "amendment-retrieve-draft": Case("in_implementation", "get", M,
                                                                 "401  404     404      200   200      404    404       404",
                                     amendment="draft"),
    "amendment-update": Case("in_implementation", "patch", M,    "401  404     404      200   200      404    404       404",
                             {"reason": "Better explained."}, amendment="draft"),
    "amendment-propose": Case("in_implementation", "post", M + "propose/",
                                                                 "401  404     404      200   200      404    404       404",
                              amendment="draft"),
    "amendment-approve": Case("in_implementation", "post", M + "approve/",
                                                                 "401  404     404      403   200      404    404       404",
                              amendment="proposed"),
    "amendment-reject": Case("in_implementation", "post", M + "reject/",
                                                                 "401  404     404      403   200      404    404       404",
                             {"reason": "No."}, amendment="proposed"),
    "amendment-sign": Case("in_implementation", "post", M + "sign/",
                                                                 "401  200     404      403   403      404    403       404",
                           {"comment": SIGNATORY}, amendment="approved"),
    "amendment-decline": Case("in_implementation", "post", M + "decline/",
                                                                 "401  200     404      403   403      404    403       404",
                              {"reason": "No."}, amendment="approved"),
    "amendment-discard": Case("in_implementation", "post", M + "discard/",
                                                                 "401  404     404      200   200      404    404       404",
                              {"reason": "Not needed."}, amendment="draft"),
    "activities-list": Case("approved", "get", ACTIVITIES,       "401  200+    200-     200+  200+     200-   200+      200-"),
    "activities-retrieve": Case("approved", "get", ACTIVITIES + "{activity}/",
                                                                 "401  200     404      200   200      404    200       404"),
    "activities-create": Case("design", "post", ACTIVITIES,      "401  404     404      201   201      404    403       404",
                              NEW_ACTIVITY),
    "activities-update": Case("design", "patch", ACTIVITIES + "{activity}/",
                                                                 "401  404     404      200   200      404    403       404",
                              {"title": "Renamed"}),
    "activities-delete": Case("design", "delete", ACTIVITIES + "{activity}/",
                                                                 "401  404     404      204   204      404    403       404"),
    "activities-create-agreed": Case("approved", "post", ACTIVITIES,
                                                                 "401  403     404      409   409      404    403       404",
                                     NEW_ACTIVITY),
    "activities-update-agreed": Case("approved", "patch", ACTIVITIES + "{activity}/",
                                                                 "401  403     404      409   409      404    403       404",
                                     {"title": "Renamed"}),
    "activities-delete-agreed": Case("approved", "delete", ACTIVITIES + "{activity}/",
                                                                 "401  403     404      409   409      404    403       404"),
    "needs-list": Case("approved", "get", NEEDS,                 "401  200+    200-     200+  200+     200-   200+      200-"),
    "needs-retrieve": Case("approved", "get", NEEDS + "{need}/", "401  200     404      200   200      404    200       404"),
    # out-of-scope activity on create: see test_it_answers_404_for_a_need_of_an_activity_out_of_scope
    "needs-create": Case("design", "post", NEEDS,                "401  -       -        201   201      -      403       -",
                         NEW_NEED),
    "needs-update": Case("design", "patch", NEEDS + "{need}/",   "401  404     404      200   200      404    403       404",
                         {"experts_needed": 4}),
    "needs-delete": Case("design", "delete", NEEDS + "{need}/",  "401  404     404      204   204      404    403       404"),
    "needs-create-agreed": Case("approved", "post", NEEDS,       "401  403     -        409   409      -      403       -",
                                NEW_NEED),
    "needs-update-agreed": Case("approved", "patch", NEEDS + "{need}/",
                                                                 "401  403     404      409   409      404    403       404",
                                {"experts_needed": 4}),
    "needs-delete-agreed": Case("approved", "delete", NEEDS + "{need}/",
                                                                 "401  403     404      409   409      404    403       404"),
}
# fmt: on


@pytest.mark.parametrize("endpoint", list(API))
def test_it_applies_the_api_permission_matrix(people, endpoint):
    run_row(API[endpoint], people, page=False)


# --- the pages matrix ---------------------------------------------------------------------

P = "/actions/{action}/"

# fmt: off
PAGES: dict[str, Case] = {
    #                                                             anon   partner partner2 staff approver expert evaluator evaluator2
    "list": Case("approved", "get", "/actions/",                 "login  200+    200-     200+  200+     403    200+      200-"),
    "list-design": Case("design", "get", "/actions/",            "login  200-    200-     200+  200+     403    200+      200-"),
    "detail": Case("approved", "get", P,                         "login  200     404      200   200      404    200       404"),
    "detail-design": Case("design", "get", P,                    "login  404     404      200   200      404    200       404"),
    # partner / evaluator: see test_it_answers_403_when_the_role_may_not_edit_the_plan
    "plan": Case("design", "get", P + "plan/",                   "login  404     404      200   200      404    -         404"),
    "plan-agreed": Case("approved", "get", P + "plan/",          "login  -       404      302   302      404    -         404"),
    # the partner's publish consent form posts to edit/; a GET goes back to the detail
    "edit": Case("approved", "get", P + "edit/",                 "login  302     404      200   200      404    403       404"),
    "approvals": Case("proposed", "get", "/actions/approvals/",  "login  403     403      403   200+     403    403       403"),
    "amendment-create": Case("in_implementation", "get", P + "amendments/new/",
                                                                 "login  403     404      200   200      404    403       404"),
    "amendment-create-design": Case("design", "get", P + "amendments/new/",
                                                                 "login  404     404      403   403      404    403       404"),
    "amendment": Case("in_implementation", "get", P + "amendments/{amendment}/",
                                                                 "login  200     404      200   200      404    200       404",
                      amendment="approved"),
    "amendment-draft": Case("in_implementation", "get", P + "amendments/{amendment}/",
                                                                 "login  404     404      200   200      404    404       404",
                            amendment="draft"),
    # staff may design an action from a new validated assessment
    "create": Case("design", "get", "/actions/new/{assessment}/",
                                                                 "login  403     403      200   200      403    403       403"),
}
# fmt: on


@pytest.mark.parametrize("endpoint", list(PAGES))
def test_it_applies_the_page_permission_matrix(people, endpoint):
    run_row(PAGES[endpoint], people, page=True)


def test_it_answers_404_on_the_create_page_for_an_unknown_assessment(client, staff):
    client.force_login(staff)
    assert client.get("/actions/new/999999/").status_code == 404


# --- cells pinned apart -------------------------------------------------------------------


@pytest.mark.parametrize(("role", "state"), [("partner", "approved"), ("evaluator", "design")])
def test_it_answers_403_when_the_role_may_not_edit_the_plan(
    client, people, role, state, partner, staff, approver, evaluator
):
    action = make_action(partner, staff, state, approver=approver, evaluators=(evaluator,))
    client.force_login(people[role])

    assert client.get(f"/actions/{action.pk}/plan/").status_code == 403


def test_it_keeps_publication_consent_with_the_partner(api_as, staff, partner, approver):
    action = make_action(partner, staff, "approved", approver=approver)

    response = api_as(staff).patch(f"{ACTIONS}{action.pk}/", {"publish": True})

    assert response.status_code == 403
    assert Action.objects.get().publish is False


@pytest.mark.parametrize(
    "body",
    [
        {"title": "Ours now"},
        {"summary": "Public text"},
        {"start_date": "2031-01-01"},
        {"objectives": []},
        {"thematic_areas": ["data"]},
        {"publish": True, "title": "Both"},
    ],
)
def test_it_lets_the_partner_change_nothing_but_publication(api_as, partner, staff, approver, body):
    action = make_action(partner, staff, "approved", approver=approver)
    before = fingerprint()

    response = api_as(partner).patch(f"{ACTIONS}{action.pk}/", body)

    assert response.status_code == 403
    assert fingerprint() == before


def test_it_lets_the_partner_give_and_withdraw_consent_to_publish(api_as, partner, staff, approver):
    action = make_action(partner, staff, "in_implementation", approver=approver)
    api = api_as(partner)

    assert api.patch(f"{ACTIONS}{action.pk}/", {"publish": True}).json()["publish"] is True
    assert Action.objects.get().publish is True
    assert api.patch(f"{ACTIONS}{action.pk}/", {"publish": False}).json()["publish"] is False
    assert Action.objects.get().publish is False


@pytest.mark.parametrize("role", ["partner2", "expert", "evaluator2"])
def test_it_does_not_say_whether_an_activity_out_of_scope_exists(api_as, people, role):
    """Creating a need for someone else's activity answers exactly as for no activity."""
    action = make_action(people["partner"], people["staff"])
    api = api_as(people[role])
    hidden = api.post(NEEDS, {**NEW_NEED, "activity": action.activities.get().pk})
    missing = api.post(NEEDS, {**NEW_NEED, "activity": 999999})

    assert hidden.status_code == missing.status_code
    assert hidden.json() == missing.json()
    assert ExpertiseNeed.objects.count() == 1


def test_it_answers_404_for_a_need_of_an_activity_out_of_scope(api_as, partner2, partner, staff):
    action = make_action(partner, staff)

    response = api_as(partner2).post(NEEDS, {**NEW_NEED, "activity": action.activities.get().pk})

    assert response.status_code == 404


def test_it_shows_the_partner_only_actions_approved_for_them(api_as, partner, staff, approver):
    shown = {
        state: make_action(partner, staff, state, approver=approver)
        for state in ("design", "proposed", "approved", "in_implementation")
    }
    api = api_as(partner)

    listed = {a["id"] for a in api.get(ACTIONS).json()["results"]}

    assert listed == {shown[s].pk for s in ("approved", "in_implementation")}
    for state in ("design", "proposed"):
        assert api.get(f"{ACTIONS}{shown[state].pk}/").status_code == 404
        assert api.get(f"{ACTIVITIES}{shown[state].activities.get().pk}/").status_code == 404


def test_it_keeps_hidden_from_the_partner_an_action_cancelled_before_approval(
    api_as, partner, staff, approver
):
    action = make_action(partner, staff, "proposed", approver=approver)
    from actions import services

    services.action_return(action_id=action.pk, by=approver, reason="Internal: weak budget.")
    services.action_cancel(action_id=action.pk, by=staff, reason="Dropped.")
    api = api_as(partner)

    assert api.get(ACTIONS).json()["results"] == []
    assert api.get(f"{ACTIONS}{action.pk}/").status_code == 404


def test_it_shows_an_evaluator_only_the_actions_assigned_to_them(
    api_as, partner, staff, approver, evaluator
):
    mine = make_action(partner, staff, "in_implementation", approver=approver)
    other = make_action(partner, staff, "in_implementation", approver=approver)
    from actions import services

    services.action_update(action_id=mine.pk, by=staff, data={"evaluators": [evaluator]})
    api = api_as(evaluator)

    assert [a["id"] for a in api.get(ACTIONS).json()["results"]] == [mine.pk]
    assert api.get(f"{ACTIONS}{other.pk}/").status_code == 404
    assert [a["action"] for a in api.get(ACTIVITIES).json()["results"]] == [mine.pk]
    assert api.get(f"{ACTIONS}{mine.pk}/").json()["allowed_transitions"] == []
