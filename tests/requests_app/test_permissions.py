"""Who may do what with requests and assessments: role × endpoint matrices for the API and
the pages (DESIGN.md §1, §5; issue 3 "Who may do what").

Every object is the ``partner``'s organisation's. ``partner2`` (another organisation), the
expert and the evaluator must get 404 on every detail URL of it; lists must not include it.
A refusal must change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from cbportal.core.models import TransitionEvent
from requests_app.models import (
    AssistanceRequest,
    CapacityGap,
    NeedsAssessment,
    RequestAttachment,
)
from tests.requests_app.helpers import (
    ASSESSMENT_URL,
    GAP_DATA,
    REQUEST_URL,
    add_attachment,
    assert_error,
    make_assessment,
    make_request,
    pdf_upload,
)

ROLES = ["partner", "partner2", "staff", "approver", "expert", "evaluator"]
OUTSIDERS = ["partner2", "expert", "evaluator"]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


# --- the API matrix -----------------------------------------------------------------------


@dataclass
class Case:
    """One endpoint: how to build the partner's object, then the call."""

    state: str  # request state, or "assessment:<state>"
    method: str
    path: str  # with {pk}, {aid} (attachment) or {asid} (assessment)
    body: dict[str, Any] | None = None
    multipart: bool = False


CASES: dict[str, Case] = {
    "list": Case("submitted", "get", REQUEST_URL),
    "retrieve": Case("submitted", "get", REQUEST_URL + "{pk}/"),
    "create": Case("draft", "post", REQUEST_URL, {"title": "New idea", "country": "TN"}),
    "update": Case("draft", "patch", REQUEST_URL + "{pk}/", {"title": "Changed"}),
    "submit": Case("draft", "post", REQUEST_URL + "{pk}/submit/"),
    "start-review": Case("submitted", "post", REQUEST_URL + "{pk}/start-review/"),
    "request-info": Case(
        "under_review", "post", REQUEST_URL + "{pk}/request-info/", {"message": "Which posts?"}
    ),
    "respond": Case("info_requested", "post", REQUEST_URL + "{pk}/respond/", {"message": "Tunis."}),
    "accept": Case("under_review", "post", REQUEST_URL + "{pk}/accept/"),
    "decline": Case("under_review", "post", REQUEST_URL + "{pk}/decline/", {"reason": "No."}),
    "withdraw": Case("submitted", "post", REQUEST_URL + "{pk}/withdraw/"),
    "withdraw-draft": Case("draft", "post", REQUEST_URL + "{pk}/withdraw/"),
    "attachments-list": Case("info_requested", "get", REQUEST_URL + "{pk}/attachments/"),
    "attachments-upload": Case(
        "info_requested", "post", REQUEST_URL + "{pk}/attachments/", multipart=True
    ),
    "attachments-upload-draft": Case(
        "draft", "post", REQUEST_URL + "{pk}/attachments/", multipart=True
    ),
    "attachment-download": Case("info_requested", "get", REQUEST_URL + "{pk}/attachments/{aid}/"),
    "assessments-list": Case("assessment:in_progress", "get", ASSESSMENT_URL),
    "assessments-retrieve": Case("assessment:in_progress", "get", ASSESSMENT_URL + "{asid}/"),
    "assessments-update": Case(
        "assessment:in_progress",
        "patch",
        ASSESSMENT_URL + "{asid}/",
        {"summary": "Edited", "gaps": [GAP_DATA[1]]},
    ),
    "share": Case("assessment:in_progress", "post", ASSESSMENT_URL + "{asid}/share/"),
    "return": Case(
        "assessment:shared", "post", ASSESSMENT_URL + "{asid}/return/", {"comment": "More."}
    ),
    "validate": Case("assessment:shared", "post", ASSESSMENT_URL + "{asid}/validate/"),
}

NF = 404  # not found: the object is outside the user's scope
# Expected status per endpoint, in ROLES order: partner, partner2, staff, approver, expert,
# evaluator. The case officer of every request beyond "submitted" is ``staff``, so the
# approver (another staff member) meets the case-officer guard (409) on decisions.
MATRIX: dict[str, tuple[int, ...]] = {
    "list": (200, 200, 200, 200, 200, 200),
    "retrieve": (200, NF, 200, 200, NF, NF),
    "create": (201, 201, 403, 403, 403, 403),
    "update": (200, NF, 403, 403, NF, NF),
    "submit": (200, NF, 403, 403, NF, NF),
    "start-review": (403, NF, 200, 200, NF, NF),
    "request-info": (403, NF, 200, 409, NF, NF),
    "respond": (200, NF, 403, 403, NF, NF),
    "accept": (403, NF, 200, 409, NF, NF),
    "decline": (403, NF, 200, 409, NF, NF),
    "withdraw": (200, NF, 403, 403, NF, NF),
    "withdraw-draft": (200, NF, 403, 403, NF, NF),
    "attachments-list": (200, NF, 200, 200, NF, NF),
    "attachments-upload": (201, NF, 201, 201, NF, NF),
    "attachments-upload-draft": (201, NF, 409, 409, NF, NF),
    "attachment-download": (200, NF, 200, 200, NF, NF),
    "assessments-list": (200, 200, 200, 200, 200, 200),
    "assessments-retrieve": (200, NF, 200, 200, NF, NF),
    "assessments-update": (403, NF, 200, 200, NF, NF),
    "share": (403, NF, 200, 200, NF, NF),
    "return": (200, NF, 403, 403, NF, NF),
    "validate": (200, NF, 403, 403, NF, NF),
}
# Lists: does the role see the partner's object?
SEES = {
    "partner": True,
    "partner2": False,
    "staff": True,
    "approver": True,
    "expert": False,
    "evaluator": False,
}
# (endpoint, role) → reason, for a cell pinned by a strict xfail while a bug is open.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def matrix_params() -> list[Any]:
    params = []
    for endpoint, statuses in MATRIX.items():
        for role, status in zip(ROLES, statuses, strict=True):
            marks = []
            if (endpoint, role) in KNOWN_BUGS:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[endpoint, role]))
            params.append(
                pytest.param(endpoint, role, status, marks=marks, id=f"{endpoint}-{role}")
            )
    return params


@dataclass
class World:
    request: AssistanceRequest
    assessment: NeedsAssessment | None
    attachment: RequestAttachment | None

    def path(self, case: Case) -> str:
        return case.path.format(
            pk=self.request.pk,
            aid=self.attachment.pk if self.attachment else 0,
            asid=self.assessment.pk if self.assessment else 0,
        )

    def snapshot(self) -> tuple[Any, ...]:
        request = AssistanceRequest.objects.get(pk=self.request.pk)
        assessment = NeedsAssessment.objects.get(pk=self.assessment.pk) if self.assessment else None
        return (
            request.status,
            request.title,
            request.case_officer_id,
            AssistanceRequest.objects.count(),
            RequestAttachment.objects.count(),
            TransitionEvent.objects.count(),
            assessment.status if assessment else None,
            assessment.summary if assessment else None,
            sorted(CapacityGap.objects.values_list("description", flat=True)),
        )


def build(case: Case, personas: dict[str, Any]) -> World:
    partner, staff = personas["partner"], personas["staff"]
    if case.state.startswith("assessment:"):
        assessment = make_assessment(partner, staff, gaps=1, state=case.state.split(":")[1])
        return World(assessment.request, assessment, None)
    request = make_request(case.state, partner, staff)
    attachment = add_attachment(request, partner) if case.state == "info_requested" else None
    return World(request, None, attachment)


def call(client: Any, world: World, case: Case) -> Any:
    path = world.path(case)
    if case.multipart:
        return getattr(client, case.method)(
            path, {"file": pdf_upload(), "kind": "background"}, format="multipart"
        )
    return getattr(client, case.method)(path, case.body or {}, format="json")


@pytest.mark.parametrize(("endpoint", "role", "expected"), matrix_params())
def test_it_applies_the_api_permission_matrix(api_as, personas, endpoint, role, expected):
    case = CASES[endpoint]
    world = build(case, personas)
    before = world.snapshot()

    response = call(api_as(personas[role]), world, case)

    assert response.status_code == expected, response.content
    if expected >= 400:
        body = assert_error(response, expected)
        if expected == 403:
            assert body["errors"][0]["code"] in {"transition_forbidden", "permission_denied"}
        if expected == 409:
            assert body["errors"][0]["code"] == "transition_not_allowed"
        if expected == 404:
            # Nothing in the answer reveals the object.
            assert world.request.title not in response.content.decode()
        assert world.snapshot() == before
    if endpoint in ("list", "assessments-list"):
        listed = [row["id"] for row in response.json()["results"]]
        mine = world.request.pk if endpoint == "list" else world.assessment.pk
        assert (mine in listed) is SEES[role]
        if role in ("expert", "evaluator"):
            assert listed == []


@pytest.mark.parametrize("role", ["staff", "approver"])
@pytest.mark.parametrize("endpoint", ["withdraw"])
def test_it_refuses_staff_withdrawing_and_changes_nothing(api_as, personas, endpoint, role):
    """Whatever the exact status (pinned by the xfails above), it is a refusal."""
    case = CASES[endpoint]
    world = build(case, personas)
    before = world.snapshot()
    response = call(api_as(personas[role]), world, case)
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)
    assert world.snapshot() == before


@pytest.mark.parametrize("role", ["staff", "approver", "expert", "evaluator"])
def test_it_refuses_creation_by_anyone_but_a_partner_with_a_readable_error(api_as, personas, role):
    response = api_as(personas[role]).post(
        REQUEST_URL, {"title": "Not mine to ask", "country": "TN"}, format="json"
    )
    body = assert_error(response, 403, "transition_forbidden")
    assert body["errors"][0]["attr"] is None
    assert body["errors"][0]["detail"] == "Only partner focal points can create requests."
    assert not AssistanceRequest.objects.exists()


def test_it_creates_partner2s_request_for_partner2s_organisation(api_as, partner2):
    response = api_as(partner2).post(REQUEST_URL, {"title": "Ours"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["organisation"] == partner2.organisation_id


@pytest.mark.parametrize("endpoint", list(CASES))
def test_it_answers_401_to_anonymous_callers_and_changes_nothing(api, personas, endpoint):
    case = CASES[endpoint]
    world = build(case, personas)
    before = world.snapshot()
    response = call(api, world, case)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")
    assert world.snapshot() == before


@pytest.mark.parametrize("role", OUTSIDERS)
def test_it_hides_every_detail_url_of_the_partners_objects(api_as, personas, role):
    """One world with everything in it: request, attachment, assessment and gaps."""
    partner, staff = personas["partner"], personas["staff"]
    assessment = make_assessment(partner, staff, gaps=2, state="shared")
    request = assessment.request
    attachment = RequestAttachment.objects.create(
        request=request,
        original_name="x.pdf",
        content_type="application/pdf",
        size=1,
        file="requests/none.pdf",
    )
    client = api_as(personas[role])
    base = f"{REQUEST_URL}{request.pk}/"
    for path in [
        base,
        f"{base}attachments/",
        f"{base}attachments/{attachment.pk}/",
        f"{ASSESSMENT_URL}{assessment.pk}/",
    ]:
        assert_error(client.get(path), 404)
    for name in ["submit", "start-review", "request-info", "respond", "accept", "decline"]:
        assert_error(client.post(f"{base}{name}/", {"message": "x"}, format="json"), 404)
    assert_error(client.post(f"{base}withdraw/"), 404)
    for name in ["share", "return", "validate"]:
        path = f"{ASSESSMENT_URL}{assessment.pk}/{name}/"
        assert_error(client.post(path, {"comment": "x"}, format="json"), 404)
    assert_error(client.patch(f"{ASSESSMENT_URL}{assessment.pk}/", {"summary": "x"}), 404)
    assert_error(client.patch(base, {"title": "x"}), 404)
    assert client.get(REQUEST_URL).json()["count"] == 0
    assert client.get(ASSESSMENT_URL).json()["count"] == 0
    assert client.get(f"{REQUEST_URL}?search={request.reference}").json()["count"] == 0


# --- the pages matrix ---------------------------------------------------------------------

LOGIN = "/accounts/login/"


@pytest.fixture
def objects(personas):
    partner, staff = personas["partner"], personas["staff"]
    draft = make_request("draft", partner)
    add_attachment(draft, partner)
    assessment = make_assessment(partner, staff, gaps=1, state="shared")
    return {
        "draft": draft,
        "attachment": draft.attachments.get(),
        "request": assessment.request,
        "assessment": assessment,
    }


PAGES: dict[str, str] = {
    "list": "/requests/",
    "detail": "/requests/{request}/",
    "draft-detail": "/requests/{draft}/",
    "edit": "/requests/{draft}/edit/",
    "attachment": "/requests/{draft}/attachments/{attachment}/",
    "assessment": "/requests/assessments/{assessment}/",
    "triage": "/requests/triage/",
    "new": "/requests/new/",
}
# partner, partner2, staff, approver, expert, evaluator; 302 = sent elsewhere (to the detail)
PAGE_MATRIX: dict[str, tuple[int, ...]] = {
    "list": (200, 200, 200, 200, 403, 403),
    "detail": (200, NF, 200, 200, NF, NF),
    "draft-detail": (200, NF, 200, 200, NF, NF),
    "edit": (200, NF, 302, 302, NF, NF),
    "attachment": (200, NF, 200, 200, NF, NF),
    "assessment": (200, NF, 200, 200, NF, NF),
    "triage": (403, 403, 200, 200, 403, 403),
    "new": (200, 200, 403, 403, 403, 403),
}


def page_url(name: str, objects: dict[str, Any]) -> str:
    return PAGES[name].format(**{k: v.pk for k, v in objects.items()})


@pytest.mark.parametrize(
    ("page", "role", "expected"),
    [
        pytest.param(page, role, status, id=f"{page}-{role}")
        for page, statuses in PAGE_MATRIX.items()
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_it_applies_the_page_permission_matrix(client, personas, objects, page, role, expected):
    client.force_login(personas[role])
    response = client.get(page_url(page, objects))
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"] == f"/requests/{objects['draft'].pk}/"
    if expected == 404:
        assert objects["request"].title.encode() not in response.content
        assert objects["draft"].title.encode() not in response.content


@pytest.mark.parametrize("page", list(PAGES))
def test_it_sends_anonymous_visitors_to_the_login_page(client, objects, page):
    path = page_url(page, objects)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")
    assert path in response["Location"].replace("%2F", "/")


@pytest.mark.parametrize("role", ["partner", "partner2", "staff"])
def test_it_lists_on_the_page_only_what_the_role_may_see(client, personas, objects, role):
    client.force_login(personas[role])
    html = client.get("/requests/").content.decode()
    for key in ("draft", "request"):
        assert (objects[key].title in html) is SEES[role]


@pytest.mark.parametrize("role", OUTSIDERS)
def test_it_answers_404_to_page_posts_on_the_partners_objects(client, personas, objects, role):
    client.force_login(personas[role])
    draft, assessment = objects["draft"], objects["assessment"]
    gap = assessment.gaps.get()
    before = (
        AssistanceRequest.objects.get(pk=draft.pk).status,
        NeedsAssessment.objects.get(pk=assessment.pk).status,
        TransitionEvent.objects.count(),
        CapacityGap.objects.count(),
        RequestAttachment.objects.count(),
    )
    posts = [
        f"/requests/{draft.pk}/do/withdraw/",
        f"/requests/{draft.pk}/do/submit/",
        f"/requests/{draft.pk}/edit/",
        f"/requests/{draft.pk}/attachments/",
        f"/requests/{draft.pk}/attachments/{objects['attachment'].pk}/delete/",
        f"/requests/assessments/{assessment.pk}/",
        f"/requests/assessments/{assessment.pk}/do/validate/",
        f"/requests/assessments/{assessment.pk}/do/return/",
        f"/requests/assessments/{assessment.pk}/gaps/",
        f"/requests/assessments/{assessment.pk}/gaps/{gap.pk}/",
        f"/requests/assessments/{assessment.pk}/gaps/{gap.pk}/delete/",
    ]
    for path in posts:
        assert client.post(path, {"text": "x"}).status_code == 404, path
    after = (
        AssistanceRequest.objects.get(pk=draft.pk).status,
        NeedsAssessment.objects.get(pk=assessment.pk).status,
        TransitionEvent.objects.count(),
        CapacityGap.objects.count(),
        RequestAttachment.objects.count(),
    )
    assert after == before


def test_it_does_not_let_the_partner_edit_the_assessment_on_the_page(client, partner, staff):
    assessment = make_assessment(partner, staff, gaps=1, state="in_progress")
    client.force_login(partner)
    response = client.post(f"/requests/assessments/{assessment.pk}/", {"summary": "Mine now"})
    assert response.status_code == 403
    assessment.refresh_from_db()
    assert assessment.summary == ""
