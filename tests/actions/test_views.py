"""The pages of actions: creating an action from the validated assessment, the plan editor
(with and without JavaScript), the action page (objectives, calendar, timeline, buttons,
co-signature, publication consent), the approval queue, amendments with their diff, and
the filtered list (DESIGN.md §9; issue 4 "Pages")."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from actions import services
from actions.models import Action, Activity, Amendment, ExpertiseNeed, Objective
from tests.actions.api_helpers import (
    SIGNATORY,
    add_activities,
    advance,
    find_testids,
    make_action,
    make_amendment,
    make_assessment,
    partner_in,
    transition_buttons,
)
from tests.factories import UserFactory

FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def flashed(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def tag(response: Any, element_id: str) -> str:
    """The opening tag of the element with ``id``."""
    match = re.search(
        rf'<[a-z]+[^>]*\bid="{re.escape(element_id)}"[^>]*>', response.content.decode()
    )
    assert match, f"no element #{element_id}"
    return match.group(0)


def activity_post(prefix: str, **fields: Any) -> dict[str, Any]:
    values = {
        "type": "study_visit",
        "title": "Study visit to a peer register",
        "description": "",
        "start_date": "",
        "end_date": "",
        "modality": "onsite",
        "country": "TN",
        "city": "Tunis",
        "expected_participants": 8,
        "participants_women": 4,
        "participants_men": 4,
        "participants_other": 0,
        "status": "planned",
        **fields,
    }
    return {f"{prefix}-{k}": v for k, v in values.items()}


# --- creating an action from the validated assessment -------------------------------------


def test_it_creates_an_action_from_the_validated_assessment_page(
    client, staff, validated_assessment
):
    client.force_login(staff)
    page = client.get(f"/requests/assessments/{validated_assessment.pk}/")
    link = re.search(r'<a [^>]*data-testid="design-action"[^>]*>', page.content.decode())
    assert link and f'href="/actions/new/{validated_assessment.pk}/"' in link.group(0)

    form = client.get(f"/actions/new/{validated_assessment.pk}/")
    assert form.status_code == 200
    assert 'value="Labour migration information system"' in text(form)  # from the request

    start = timezone.localdate() + timedelta(days=45)
    response = client.post(
        f"/actions/new/{validated_assessment.pk}/",
        {
            "title": "Labour register",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=90)).isoformat(),
        },
    )

    action = Action.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/actions/{action.pk}/plan/"
    assert (action.title, action.start_date, action.status) == ("Labour register", start, "design")
    assert any(action.reference in m for m in flashed(response))
    page = client.get(f"/requests/assessments/{validated_assessment.pk}/")
    assert "design-action" not in find_testids(page)
    assert action.reference in text(page)


def test_it_does_not_offer_the_partner_to_design_the_action(client, partner, validated_assessment):
    client.force_login(partner)
    page = client.get(f"/requests/assessments/{validated_assessment.pk}/")
    assert page.status_code == 200
    assert "design-action" not in find_testids(page)


def test_it_refuses_on_the_form_an_assessment_not_yet_validated(client, staff, partner):
    assessment = make_assessment(partner, staff, state="shared")
    client.force_login(staff)

    response = client.post(
        f"/actions/new/{assessment.pk}/",
        {"title": "Too early", "start_date": "2031-01-01", "end_date": "2031-03-01"},
    )

    assert response.status_code == 200
    assert "validated" in text(response)
    assert not Action.objects.exists()


def test_it_shows_period_errors_on_the_create_form(client, staff, validated_assessment):
    client.force_login(staff)

    response = client.post(
        f"/actions/new/{validated_assessment.pk}/",
        {"title": "Backwards", "start_date": "2031-05-01", "end_date": "2031-01-01"},
    )

    assert response.status_code == 200
    assert 'aria-invalid="true"' in tag(response, "id_end_date")
    assert not Action.objects.exists()


# --- the plan editor ----------------------------------------------------------------------


@pytest.fixture
def action(validated_assessment, staff) -> Action:
    """An action in design with an empty plan."""
    return services.action_create(assessment_id=validated_assessment.pk, by=staff)


@pytest.fixture
def editor(client, staff) -> Any:
    client.force_login(staff)
    return client


def plan_url(action: Any) -> str:
    return f"/actions/{action.pk}/plan/"


def test_it_shows_the_plan_editor(editor, action):
    page = editor.get(plan_url(action))

    assert page.status_code == 200
    ids = find_testids(page)
    for form in ("plan-editor", "period-form", "objective-add-form", "activity-add-form"):
        assert form in ids
    assert "js/inline_editor.js" in text(page)
    # each capacity gap is offered with its CB level
    assert "Individual: Analysts untrained" in text(page)
    assert "Enabling environment: Law silent" in text(page)


@pytest.mark.parametrize("fetch", [False, True], ids=["form-post", "fetch"])
def test_it_adds_an_objective_linked_to_gaps(editor, action, fetch):
    gaps = list(action.assessment.gaps.order_by("pk"))
    data = {
        "op": "objective",
        "objective-text": "The unit runs a data protocol",
        "objective-gaps": [str(gaps[0].pk), str(gaps[1].pk)],
    }

    response = editor.post(plan_url(action), data, **(FETCH if fetch else {}))

    objective = Objective.objects.get()
    assert sorted(g.pk for g in objective.gaps.all()) == [gaps[0].pk, gaps[1].pk]
    if fetch:
        assert response.status_code == 200
        assert "<html" not in text(response)
        assert "The unit runs a data protocol" in text(response)
        assert "objective" in find_testids(response)
    else:
        assert response.status_code == 302
        assert response["Location"] == plan_url(action)


@pytest.mark.parametrize("fetch", [False, True], ids=["form-post", "fetch"])
def test_it_refuses_an_objective_without_a_gap_on_the_gaps_field(editor, action, fetch):
    data = {"op": "objective", "objective-text": "Something vague"}

    response = editor.post(plan_url(action), data, **(FETCH if fetch else {}))

    assert response.status_code == 400
    assert ("<html" in text(response)) is not fetch
    assert "Link the objective to at least one capacity gap" in text(response)
    assert 'id="id_objective-gaps_error"' in response.content.decode()
    assert not Objective.objects.exists()


def with_objective(action: Any, staff: Any) -> str:
    gap = action.assessment.gaps.first()
    from actions import plan

    services.action_plan_edit(
        action_id=action.pk,
        by=staff,
        edit=lambda p, a: plan.save_objective(p, a, key=None, text="Analysts", gaps=[gap.pk]),
    )
    return f"o{Objective.objects.get().pk}"


@pytest.mark.parametrize("fetch", [False, True], ids=["form-post", "fetch"])
def test_it_adds_an_activity(editor, action, staff, fetch):
    objective = with_objective(action, staff)
    day = (action.start_date + timedelta(days=5)).isoformat()
    data = {
        "op": "activity",
        **activity_post("activity", start_date=day, end_date=day),
        "activity-objectives": [objective],
    }

    response = editor.post(plan_url(action), data, **(FETCH if fetch else {}))

    activity = Activity.objects.get()
    assert (activity.title, activity.start_date.isoformat()) == (
        "Study visit to a peer register",
        day,
    )
    assert activity.country_id == "TN"
    assert [f"o{o.pk}" for o in activity.objectives.all()] == [objective]
    if fetch:
        assert response.status_code == 200
        assert "Study visit to a peer register" in text(response)
        assert "activity" in find_testids(response)
    else:
        assert response.status_code == 302


@pytest.mark.parametrize("fetch", [False, True], ids=["form-post", "fetch"])
def test_it_shows_an_activity_outside_the_period_on_its_start_date(editor, action, fetch):
    before = (action.start_date - timedelta(days=1)).isoformat()
    data = {"op": "activity", **activity_post("activity", start_date=before, end_date=before)}

    response = editor.post(plan_url(action), data, **(FETCH if fetch else {}))

    assert response.status_code == 400
    assert ("<html" in text(response)) is not fetch
    start = tag(response, "id_activity-start_date")
    assert 'aria-invalid="true"' in start
    assert "id_activity-start_date_error" in start
    error = re.search(
        r'id="id_activity-start_date_error"[^>]*>(.*?)</div>', response.content.decode(), re.S
    )
    assert error and "starts before the action" in error.group(1)
    # the typed values are kept
    assert 'value="Study visit to a peer register"' in tag(response, "id_activity-title")
    assert not Activity.objects.exists()


def test_it_shows_too_many_participants_on_the_women_field(editor, action):
    day = action.start_date.isoformat()
    data = {
        "op": "activity",
        **activity_post(
            "activity",
            start_date=day,
            end_date=day,
            expected_participants=5,
            participants_women=4,
            participants_men=4,
        ),
    }

    response = editor.post(plan_url(action), data, **FETCH)

    assert response.status_code == 400
    assert 'aria-invalid="true"' in tag(response, "id_activity-participants_women")


@pytest.mark.parametrize("fetch", [False, True], ids=["form-post", "fetch"])
def test_it_adds_an_expertise_need_to_an_activity(editor, designed_action, fetch):
    activity = designed_action.activities.get()
    key = f"a{activity.pk}"
    data = {
        "op": "need",
        "activity_key": key,
        f"need-{key}-thematic_area": "governance",
        f"need-{key}-skills": "policy drafting, facilitation",
        f"need-{key}-languages": ["fr", "ar"],
        f"need-{key}-experts_needed": 2,
        f"need-{key}-expert_days": 10,
        f"need-{key}-origin_preference": "partner_region_peer",
        f"need-{key}-notes": "",
    }

    response = editor.post(plan_url(designed_action), data, **(FETCH if fetch else {}))

    need = ExpertiseNeed.objects.get(thematic_area__slug="governance")
    assert sorted(s.name for s in need.skills.all()) == ["facilitation", "policy drafting"]
    assert sorted(lang.code for lang in need.languages.all()) == ["ar", "fr"]
    assert (need.experts_needed, need.expert_days) == (2, 10)
    assert need.activity == activity
    if fetch:
        assert response.status_code == 200
        assert "facilitation, policy drafting" in text(response)
        assert find_testids(response).count("need") == 2
    else:
        assert response.status_code == 302


def test_it_refuses_a_need_without_experts_on_its_field(editor, designed_action):
    key = f"a{designed_action.activities.get().pk}"
    data = {
        "op": "need",
        "activity_key": key,
        f"need-{key}-thematic_area": "data",
        f"need-{key}-experts_needed": 0,
        f"need-{key}-expert_days": 3,
        f"need-{key}-origin_preference": "any",
    }

    response = editor.post(plan_url(designed_action), data, **FETCH)

    assert response.status_code == 400
    assert 'aria-invalid="true"' in tag(response, f"id_need-{key}-experts_needed")
    assert ExpertiseNeed.objects.count() == 1


@pytest.mark.parametrize("fetch", [False, True], ids=["form-post", "fetch"])
def test_it_deletes_plan_items(editor, designed_action, fetch):
    activity = designed_action.activities.get()
    need = ExpertiseNeed.objects.get()
    objective = Objective.objects.get()
    url = plan_url(designed_action)
    extra = FETCH if fetch else {}

    response = editor.post(
        url, {"op": "need-delete", "activity_key": f"a{activity.pk}", "key": f"n{need.pk}"}, **extra
    )
    assert response.status_code == (200 if fetch else 302)
    assert not ExpertiseNeed.objects.exists()

    editor.post(url, {"op": "objective-delete", "key": f"o{objective.pk}"}, **extra)
    assert not Objective.objects.exists()
    assert not Activity.objects.get().objectives.exists()

    response = editor.post(url, {"op": "activity-delete", "key": f"a{activity.pk}"}, **extra)
    assert not Activity.objects.exists()
    if fetch:
        assert "No activity yet." in text(response)


def test_it_explains_a_deletion_of_something_no_longer_there(editor, designed_action):
    response = editor.post(
        plan_url(designed_action), {"op": "activity-delete", "key": "a999999"}, **FETCH
    )

    assert response.status_code == 400
    assert "no longer part of the plan" in text(response)
    assert Activity.objects.count() == 1


def test_it_changes_the_period(editor, designed_action):
    end = designed_action.end_date + timedelta(days=30)

    response = editor.post(
        plan_url(designed_action),
        {
            "op": "period",
            "period-start_date": designed_action.start_date.isoformat(),
            "period-end_date": end.isoformat(),
        },
    )

    assert response.status_code == 302
    assert Action.objects.get().end_date == end


@pytest.mark.parametrize("fetch", [False, True], ids=["form-post", "fetch"])
def test_it_refuses_a_period_that_leaves_an_activity_outside(editor, designed_action, fetch):
    later = designed_action.start_date + timedelta(days=10)

    response = editor.post(
        plan_url(designed_action),
        {
            "op": "period",
            "period-start_date": later.isoformat(),
            "period-end_date": designed_action.end_date.isoformat(),
        },
        **(FETCH if fetch else {}),
    )

    assert response.status_code == 400
    assert (
        "These activities would fall outside the new period: Training of analysts. Move them first."
        in text(response)
    )
    assert 'aria-invalid="true"' in tag(response, "id_period-start_date")
    assert Action.objects.get().start_date == designed_action.start_date


def test_it_sends_staff_to_the_action_page_once_the_plan_is_agreed(
    client, staff, partner, approver
):
    action = make_action(partner, staff, "approved", approver=approver)
    client.force_login(staff)

    response = client.get(plan_url(action))

    assert response.status_code == 302
    assert response["Location"] == f"/actions/{action.pk}/"
    key = f"a{action.activities.get().pk}"
    response = client.post(plan_url(action), {"op": "activity-delete", "key": key})
    assert response.status_code == 302
    assert Activity.objects.filter(action=action).count() == 1


# --- the action page ----------------------------------------------------------------------


def test_it_shows_objectives_with_the_gaps_they_close_and_their_level(
    client, staff, designed_action
):
    client.force_login(staff)

    page = client.get(f"/actions/{designed_action.pk}/")

    assert page.status_code == 200
    objectives = re.search(
        r'data-testid="objectives">(.*?)</ol>', page.content.decode(), re.S
    ).group(1)
    objectives = html.unescape(objectives)
    gap = Objective.objects.get().gaps.get()
    assert "Analysts run the register" in objectives
    assert f"Closes the {gap.get_level_display()} gap: {gap.description}" in objectives


def test_it_shows_the_activity_calendar_in_date_order_with_the_needs(
    client, staff, partner, approver, validated_assessment
):
    action = make_action(partner, staff, assessment=validated_assessment)
    add_activities(action, staff, 3, needs=2)
    advance(action, "approved", staff=staff, approver=approver, partner=partner)
    client.force_login(partner)

    page = client.get(f"/actions/{action.pk}/")

    calendar = re.search(
        r'data-testid="activity-calendar">(.*?)</table>', page.content.decode(), re.S
    ).group(1)
    titles = re.findall(r"<strong>([^<]+)</strong>", calendar)
    expected = [a.title for a in Activity.objects.order_by("start_date", "position", "id")]
    assert titles == expected
    assert titles == ["Training of analysts", "Workshop 03", "Workshop 02", "Workshop 01"]
    assert calendar.count('data-testid="need"') == 1 + 3 * 2
    assert "2 experts, 3 expert-days" in calendar
    assert "facilitation, skill 1" in html.unescape(calendar)


def test_it_shows_the_timeline_with_reasons(client, staff, approver, designed_action):
    services.action_propose(action_id=designed_action.pk, by=staff)
    services.action_return(action_id=designed_action.pk, by=approver, reason="Add a study visit.")
    client.force_login(staff)

    page = client.get(f"/actions/{designed_action.pk}/")

    timeline = re.search(r'class="timeline">(.*?)</section>', page.content.decode(), re.S)
    assert timeline
    assert timeline.group(1).count('class="timeline-item"') == 2
    assert "Add a study visit." in timeline.group(1)
    assert approver.display_name in html.unescape(timeline.group(1))


@pytest.mark.parametrize(
    ("state", "role", "buttons"),
    [
        ("design", "staff", {"propose", "cancel"}),
        ("proposed", "staff", {"cancel"}),
        ("proposed", "approver", {"return", "approve", "cancel"}),
        ("approved", "partner", {"sign"}),
        ("approved", "staff", {"suspend", "cancel"}),
        ("signed", "staff", {"start", "suspend", "cancel"}),
        ("signed", "partner", set()),
        ("in_implementation", "staff", {"complete", "suspend", "cancel"}),
        ("in_implementation", "evaluator", set()),
        ("suspended", "staff", {"resume", "cancel"}),
        ("completed", "staff", set()),
    ],
)
def test_it_shows_only_the_transitions_the_user_may_fire(
    client, personas, partner, staff, approver, evaluator, state, role, buttons
):
    action = make_action(partner, staff, state, approver=approver, evaluators=(evaluator,))
    client.force_login(personas[role])

    page = client.get(f"/actions/{action.pk}/")

    assert page.status_code == 200
    assert transition_buttons(page) == buttons


def test_it_hides_approve_from_the_approver_who_proposed(client, approver, designed_action):
    services.action_propose(action_id=designed_action.pk, by=approver)
    client.force_login(approver)

    page = client.get(f"/actions/{designed_action.pk}/")

    assert transition_buttons(page) == {"return", "cancel"}


def test_it_takes_the_signatorys_name_and_shows_the_co_signature(client, partner, staff, approver):
    action = make_action(partner, staff, "approved", approver=approver)
    client.force_login(partner)
    page = client.get(f"/actions/{action.pk}/")
    field = tag(page, "text-sign")
    assert 'name="text"' in field and "required" in field
    assert 'for="text-sign"' in page.content.decode()

    response = client.post(f"/actions/{action.pk}/do/sign/", {"text": SIGNATORY})

    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.signed_name, action.signed_by) == (SIGNATORY, partner)
    page = client.get(f"/actions/{action.pk}/")
    signature = re.search(r'data-testid="signature">(.*?)</p>', page.content.decode(), re.S)
    assert signature
    assert html.unescape(signature.group(1)).startswith(f"Co-signed by {SIGNATORY} on ")
    assert "transition-sign" not in find_testids(page)


def test_it_explains_a_refused_transition(client, staff, partner, approver):
    action = make_action(partner, staff, "approved", approver=approver)
    client.force_login(staff)

    response = client.post(f"/actions/{action.pk}/do/start/", {"text": ""})

    assert response.status_code == 302
    assert any("co-sign" in m for m in flashed(response))
    assert Action.objects.get().status == "approved"


def test_it_saves_the_partners_consent_to_publish(client, partner, staff, approver):
    action = make_action(partner, staff, "in_implementation", approver=approver)
    client.force_login(partner)
    page = client.get(f"/actions/{action.pk}/")
    assert f'action="/actions/{action.pk}/edit/"' in page.content.decode()
    assert 'name="publish"' in page.content.decode()

    response = client.post(f"/actions/{action.pk}/edit/", {"publish": "on"})

    assert response.status_code == 302
    assert Action.objects.get().publish is True
    assert "Yes, with the partner's consent" in text(client.get(f"/actions/{action.pk}/"))
    # unticking the box: a browser posts only the CSRF token
    client.post(f"/actions/{action.pk}/edit/", {"csrfmiddlewaretoken": "unchecked-here"})
    assert Action.objects.get().publish is False


def test_it_does_not_offer_staff_the_partners_consent_form(client, staff, partner, approver):
    action = make_action(partner, staff, "in_implementation", approver=approver)
    client.force_login(staff)

    page = client.get(f"/actions/{action.pk}/")

    assert 'name="publish"' not in page.content.decode()


# --- the approval queue -------------------------------------------------------------------


def test_it_lists_a_proposed_action_for_another_approver_but_not_its_proposer(
    client, partner, staff, approver
):
    other_approver = UserFactory(username="approver2", approver=True)
    mine = make_action(partner, staff, title="Proposed by the approver")
    services.action_propose(action_id=mine.pk, by=approver)
    theirs = make_action(partner, staff, "proposed", title="Proposed by staff")
    make_action(partner, staff, "design", title="Still in design")

    client.force_login(approver)
    page = text(client.get("/actions/approvals/"))
    assert theirs.reference in page and mine.reference not in page
    assert "Still in design" not in page

    client.force_login(other_approver)
    page = text(client.get("/actions/approvals/"))
    assert theirs.reference in page and mine.reference in page


def test_it_lists_a_proposed_amendment_in_the_queue(client, partner, staff, approver):
    action = make_action(partner, staff, "in_implementation", approver=approver)
    make_amendment(action, "proposed", staff=staff, approver=approver, partner=partner)
    client.force_login(approver)

    page = client.get("/actions/approvals/")

    assert "approval-amendments" in find_testids(page)
    assert f"{action.reference} — amendment 1" in text(page)


# --- amendments ---------------------------------------------------------------------------


def test_it_opens_an_amendment_and_shows_the_diff_after_editing_the_plan(
    client, partner, staff, approver
):
    action = make_action(partner, staff, "in_implementation", approver=approver)
    activity = action.activities.get()
    client.force_login(staff)
    assert "Propose an amendment" in text(client.get(f"/actions/{action.pk}/"))

    response = client.post(
        f"/actions/{action.pk}/amendments/new/",
        {
            "reason_category": "implementation_delay",
            "reason": "The ministry moved the training.",
            "requested_by": "Director of the unit",
        },
    )
    amendment = Amendment.objects.get()
    url = f"/actions/{action.pk}/amendments/{amendment.pk}/"
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url)
    assert "plan-editor" in find_testids(page)
    assert "amendment-diff" not in find_testids(page)
    assert "Nothing changes yet." in text(page)

    old = activity.start_date.isoformat()
    moved = (activity.start_date + timedelta(days=7)).isoformat()
    key = f"a{activity.pk}"
    data = {
        "op": "activity",
        "key": key,
        **activity_post(
            f"activity-{key}",
            type="training",
            title="Training of analysts",
            start_date=moved,
            end_date=moved,
            expected_participants=15,
            participants_women=8,
            participants_men=7,
        ),
    }
    response = client.post(url, data, **FETCH)
    assert response.status_code == 200
    assert "<html" not in text(response)

    page = client.get(url)
    diff = re.search(r'data-testid="amendment-diff">(.*?)</table>', page.content.decode(), re.S)
    assert diff
    rows = re.findall(
        r"<tr><td>(.*?)</td><td><del>(.*?)</del></td><td><ins>(.*?)</ins></td></tr>",
        html.unescape(diff.group(1)),
    )
    assert ("“Training of analysts”: start", old, moved) in rows
    assert ("“Training of analysts”: end", old, moved) in rows
    # The agreed plan does not change before the partner co-signs.
    assert Activity.objects.get().start_date == activity.start_date
    assert transition_buttons(page) == {"propose", "discard"}


def test_it_takes_an_amendment_through_the_pages_until_it_applies(client, partner, staff, approver):
    action = make_action(partner, staff, "in_implementation", approver=approver)
    amendment = make_amendment(action, staff=staff, approver=approver, partner=partner)
    url = f"/actions/{action.pk}/amendments/{amendment.pk}/"
    moved = date.fromisoformat(amendment.proposal["activities"][0]["start_date"])

    client.force_login(staff)
    client.post(url + "do/propose/")
    client.force_login(approver)
    assert transition_buttons(client.get(url)) == {"approve", "reject", "discard"}
    client.post(url + "do/approve/")
    client.force_login(partner)
    page = client.get(url)
    assert transition_buttons(page) == {"sign", "decline"}
    assert "amendment-diff" in find_testids(page)
    client.post(url + "do/sign/", {"text": SIGNATORY})

    assert Amendment.objects.get().status == "applied"
    assert Activity.objects.get().start_date == moved
    page = client.get(f"/actions/{action.pk}/")
    assert "amendments" in find_testids(page)
    assert any(t.startswith("amendment") and t.endswith("diff") for t in find_testids(page))
    assert moved.isoformat() in text(page)


def test_it_refuses_amendment_edits_once_proposed(client, partner, staff, approver):
    action = make_action(partner, staff, "in_implementation", approver=approver)
    amendment = make_amendment(action, "proposed", staff=staff, approver=approver, partner=partner)
    client.force_login(staff)
    url = f"/actions/{action.pk}/amendments/{amendment.pk}/"

    assert "plan-editor" not in find_testids(client.get(url))
    response = client.post(url, {"op": "activity-delete", "key": f"a{action.activities.get().pk}"})
    assert response.status_code == 403
    assert Amendment.objects.get().proposal == amendment.proposal


# --- the list and its filters -------------------------------------------------------------


@pytest.fixture
def portfolio(partner, staff, approver) -> dict[str, Action]:
    today = timezone.localdate()
    peru = partner_in("PE", "partner-pe")
    jordan = partner_in("JO", "partner-jo")
    return {
        "tunisia": make_action(
            partner,
            staff,
            "design",
            title="Labour register",
            gcm=(23,),
            areas=("labour-migration",),
            period=(today + timedelta(days=300), today + timedelta(days=400)),
        ),
        "peru": make_action(
            peru,
            staff,
            "approved",
            approver=approver,
            title="Census of emigrants",
            gcm=(1,),
            areas=("data",),
            period=(today - timedelta(days=10), today + timedelta(days=100)),
        ),
        "jordan": make_action(
            jordan,
            staff,
            "in_implementation",
            approver=approver,
            title="Border data exchange",
            gcm=(11,),
            areas=("border-management",),
            period=(today + timedelta(days=50), today + timedelta(days=150)),
        ),
    }


def listed(client: Any, **params: Any) -> list[str]:
    response = client.get("/actions/", params)
    assert response.status_code == 200
    return re.findall(r'<a href="/actions/\d+/">([^<]+)</a>', text(response))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Border data exchange", "Census of emigrants", "Labour register"]),
        ({"status": "approved"}, ["Census of emigrants"]),
        ({"country": "PE"}, ["Census of emigrants"]),
        ({"region": "Asia"}, ["Border data exchange"]),
        ({"region": "Africa"}, ["Labour register"]),
        ({"thematic_area": "border-management"}, ["Border data exchange"]),
        ({"gcm_objective": 23}, ["Labour register"]),
        ("active_on_today", ["Census of emigrants"]),
        ("active_on_day_60", ["Border data exchange", "Census of emigrants"]),
    ],
)
def test_it_filters_the_action_list(client, staff, portfolio, params, expected):
    today = timezone.localdate()
    if params == "active_on_today":
        params = {"active_on": today.isoformat()}
    elif params == "active_on_day_60":
        params = {"active_on": (today + timedelta(days=60)).isoformat()}
    client.force_login(staff)

    assert sorted(listed(client, **params)) == expected


def test_it_shows_the_partner_their_actions_without_the_staff_filters(client, partner, portfolio):
    client.force_login(partner)

    page = client.get("/actions/")

    assert "My organisation's actions" in text(page)
    assert 'name="region"' not in text(page)
    # the Tunisian action is still in design: not yet the partner's to see
    assert listed(client) == []
    assert "When programme staff have a plan approved" in text(page)
