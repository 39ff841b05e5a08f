"""Write use-cases of requests and needs assessments (requests_app/services.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cbportal.accounts.models import Country
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.models import Language, ReferenceCounter, ThematicArea
from requests_app import services, sla
from requests_app.models import (
    AssistanceRequest,
    CapacityGap,
    NeedsAssessment,
    RequestMessage,
)
from tests.factories import UserFactory
from tests.requests_app.conftest import complete_draft_data, events_for, snapshot

# --- request_create ----------------------------------------------------------------------


def test_it_creates_a_draft_for_the_partners_organisation(partner, organisation):
    request = services.request_create(by=partner, data=complete_draft_data())
    assert request.status == "draft"
    assert request.organisation == organisation
    assert request.created_by == partner
    assert request.country == organisation.country
    assert request.reference is None
    assert request.submitted_at is None
    assert [t.slug for t in request.thematic_areas.all()] == ["protection"]
    assert sorted(request.languages.values_list("code", flat=True)) == ["en", "fr"]
    assert list(request.gcm_objectives.values_list("number", flat=True)) == [23]
    assert not events_for(request).exists()


def test_it_takes_another_country_when_given(partner):
    morocco = Country.objects.get(code="MA")
    request = services.request_create(by=partner, data={"title": "Draft", "country": morocco})
    assert request.country == morocco


def test_it_saves_a_draft_with_a_title_only(partner):
    request = services.request_create(by=partner, data={"title": "Provisional title"})
    assert (request.title, request.problem_statement, request.preferred_start) == (
        "Provisional title",
        "",
        None,
    )


@pytest.mark.parametrize("persona", ["staff", "approver", "expert", "evaluator"])
def test_it_lets_only_partners_create_requests(personas, persona):
    with pytest.raises(ApplicationError, match="Only partner focal points"):
        services.request_create(by=personas[persona], data=complete_draft_data())
    assert not AssistanceRequest.objects.exists()


@pytest.mark.parametrize("title", ["", "   ", None])
def test_it_requires_a_title(partner, title):
    with pytest.raises(ApplicationError) as excinfo:
        services.request_create(by=partner, data={"title": title})
    assert list(excinfo.value.errors) == ["title"]
    assert not AssistanceRequest.objects.exists()


def test_it_refuses_an_end_before_the_start(partner):
    today = timezone.localdate()
    data = {"title": "Draft", "preferred_start": today + timedelta(days=10)}
    data["preferred_end"] = today + timedelta(days=9)
    with pytest.raises(ApplicationError) as excinfo:
        services.request_create(by=partner, data=data)
    assert excinfo.value.errors == {"preferred_end": ["The end must not be before the start."]}
    assert not AssistanceRequest.objects.exists()


def test_it_accepts_a_one_day_period(partner):
    day = timezone.localdate() + timedelta(days=10)
    request = services.request_create(
        by=partner, data={"title": "Draft", "preferred_start": day, "preferred_end": day}
    )
    assert request.preferred_start == request.preferred_end == day


# --- request_update ----------------------------------------------------------------------


def test_it_updates_a_draft(request_factory, partner):
    request = request_factory()
    data = {
        "title": "Asylum registration reform",
        "thematic_areas": [ThematicArea.objects.get(slug="data")],
        "languages": [Language.objects.get(code="es")],
    }
    services.request_update(request_id=request.pk, by=partner, data=data)
    request.refresh_from_db()
    assert request.title == "Asylum registration reform"
    assert [t.slug for t in request.thematic_areas.all()] == ["data"]
    assert list(request.languages.values_list("code", flat=True)) == ["es"]
    # fields not named in ``data`` are kept
    assert request.problem_statement == complete_draft_data()["problem_statement"]


def test_it_checks_the_period_against_the_stored_dates_on_update(request_factory, partner):
    request = request_factory()
    with pytest.raises(ApplicationError) as excinfo:
        services.request_update(
            request_id=request.pk,
            by=partner,
            data={"preferred_end": request.preferred_start - timedelta(days=1)},
        )
    assert list(excinfo.value.errors) == ["preferred_end"]


def test_it_refuses_to_blank_the_title_on_update(request_factory, partner):
    request = request_factory()
    with pytest.raises(ApplicationError) as excinfo:
        services.request_update(request_id=request.pk, by=partner, data={"title": " "})
    assert list(excinfo.value.errors) == ["title"]
    assert AssistanceRequest.objects.get(pk=request.pk).title == request.title


@pytest.mark.parametrize("state", ["submitted", "under_review", "accepted", "withdrawn"])
def test_it_does_not_update_a_submitted_request(request_in, partner, state):
    request = request_in(state)
    before = snapshot(request)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        services.request_update(request_id=request.pk, by=partner, data={"title": "Changed"})
    assert excinfo.value.status_code == 409
    assert "cannot be edited" in excinfo.value.message
    assert snapshot(request) == before
    assert AssistanceRequest.objects.get(pk=request.pk).title != "Changed"


@pytest.mark.parametrize("persona", ["partner2", "expert", "evaluator"])
def test_it_hides_a_draft_from_outsiders_on_update(request_factory, personas, persona):
    request = request_factory()
    with pytest.raises(NotFound):
        services.request_update(request_id=request.pk, by=personas[persona], data={"title": "X"})
    assert AssistanceRequest.objects.get(pk=request.pk).title != "X"


def test_it_answers_404_for_a_request_that_does_not_exist(partner):
    with pytest.raises(NotFound):
        services.request_update(request_id=987654, by=partner, data={"title": "X"})


def test_it_forbids_staff_to_edit_a_partners_draft(request_factory, staff):
    request = request_factory()
    with pytest.raises(TransitionForbidden):
        services.request_update(request_id=request.pk, by=staff, data={"title": "X"})


def test_it_refuses_staff_edits_of_a_draft(request_factory, staff):
    request = request_factory()
    with pytest.raises(ApplicationError):
        services.request_update(request_id=request.pk, by=staff, data={"title": "X"})
    assert AssistanceRequest.objects.get(pk=request.pk).title != "X"


# --- submission_errors and request_submit -------------------------------------------------


REQUIRED_TEXT = ["title", "problem_statement", "expected_outcomes", "target_institutions"]


@pytest.mark.parametrize("field", REQUIRED_TEXT)
def test_it_lists_a_missing_text_field(request_factory, field):
    request = request_factory()
    setattr(request, field, "  ")
    assert list(services.submission_errors(request)) == [field]


@pytest.mark.parametrize("field", ["preferred_start", "preferred_end"])
def test_it_lists_a_missing_date(request_factory, field):
    request = request_factory()
    setattr(request, field, None)
    assert list(services.submission_errors(request)) == [field]


@pytest.mark.parametrize("field", ["thematic_areas", "languages"])
def test_it_lists_an_empty_choice(request_factory, field):
    request = request_factory(**{field: []})
    assert list(services.submission_errors(request)) == [field]


def test_it_needs_no_gcm_objective(request_factory):
    assert services.submission_errors(request_factory(gcm_objectives=[])) == {}


def test_it_lists_every_missing_field_of_an_empty_draft(partner):
    request = services.request_create(by=partner, data={"title": "Provisional"})
    request.title = ""
    assert set(services.submission_errors(request)) == {
        "title",
        "problem_statement",
        "expected_outcomes",
        "target_institutions",
        "preferred_start",
        "preferred_end",
        "thematic_areas",
        "languages",
    }


def test_it_refuses_a_period_that_starts_in_the_past(request_factory):
    today = timezone.localdate()
    request = request_factory(
        preferred_start=today - timedelta(days=1), preferred_end=today + timedelta(days=5)
    )
    assert services.submission_errors(request) == {
        "preferred_start": ["The preferred period cannot start in the past."]
    }


def test_it_accepts_a_period_that_starts_today(request_factory):
    today = timezone.localdate()
    request = request_factory(preferred_start=today, preferred_end=today + timedelta(days=5))
    assert services.submission_errors(request) == {}


def test_it_changes_nothing_when_a_submission_fails(request_factory, partner):
    request = request_factory(problem_statement="")
    before = snapshot(request)
    with pytest.raises(ApplicationError) as excinfo:
        services.request_submit(request_id=request.pk, by=partner)
    assert type(excinfo.value) is ApplicationError
    assert list(excinfo.value.errors) == ["problem_statement"]
    assert snapshot(request) == before
    assert AssistanceRequest.objects.get(pk=request.pk).reference is None
    assert not events_for(request).exists()
    assert not ReferenceCounter.objects.filter(last__gt=0).exists()
    # the next good submission still gets the first number of the year
    services.request_update(request_id=request.pk, by=partner, data={"problem_statement": "P"})
    submitted = services.request_submit(request_id=request.pk, by=partner)
    assert submitted.reference == f"REQ-{timezone.localdate().year}-0001"


def test_it_submits_a_complete_draft(request_factory, partner):
    request = request_factory()
    before = timezone.now()
    services.request_submit(request_id=request.pk, by=partner)
    request.refresh_from_db()
    assert request.status == "submitted"
    assert request.reference == f"REQ-{timezone.localtime().year}-0001"
    assert before <= request.submitted_at <= timezone.now()
    assert (request.first_response_due_at, request.decision_due_at) == sla.due_dates(
        request.submitted_at
    )
    assert request.first_response_due_at < request.decision_due_at
    assert request.first_response_at is None
    assert request.case_officer is None
    second = request_factory()
    services.request_submit(request_id=second.pk, by=partner)
    assert AssistanceRequest.objects.get(pk=second.pk).reference.endswith("-0002")


def test_it_lets_a_colleague_of_the_same_organisation_submit(request_factory, organisation):
    colleague = UserFactory(partner=True, organisation=organisation)
    request = request_factory()
    services.request_submit(request_id=request.pk, by=colleague)
    assert AssistanceRequest.objects.get(pk=request.pk).status == "submitted"


# --- review ------------------------------------------------------------------------------


def test_it_makes_the_reviewer_the_case_officer(request_in, staff):
    request = request_in("submitted")
    services.request_start_review(request_id=request.pk, by=staff)
    request.refresh_from_db()
    assert (request.status, request.case_officer) == ("under_review", staff)
    assert request.first_response_at is not None
    assert request.submitted_at <= request.first_response_at


def test_it_records_the_first_response_once(request_in, partner, staff):
    request = request_in("under_review")
    first = request.first_response_at
    services.request_request_info(request_id=request.pk, by=staff, message="Which units?")
    services.request_respond(request_id=request.pk, by=partner, message="Two units.")
    services.request_request_info(request_id=request.pk, by=staff, message="How many staff?")
    request.refresh_from_db()
    assert request.first_response_at == first
    assert request.case_officer == staff


def test_it_counts_a_question_as_the_first_response(request_in, staff):
    request = request_in("submitted")
    services.request_request_info(request_id=request.pk, by=staff, message="Which units?")
    request.refresh_from_db()
    assert request.first_response_at is not None
    assert request.case_officer == staff


def test_it_keeps_questions_and_answers_as_a_thread(request_in, partner, staff):
    request = request_in("under_review")
    services.request_request_info(request_id=request.pk, by=staff, message=" Which units? ")
    services.request_respond(request_id=request.pk, by=partner, message="The registration unit.")
    services.request_request_info(request_id=request.pk, by=staff, message="How many staff?")
    services.request_respond(request_id=request.pk, by=partner, message="Forty.")
    thread = [
        (m.kind, m.author, m.author_name, m.text)
        for m in RequestMessage.objects.filter(request=request)
    ]
    assert thread == [
        ("question", staff, staff.display_name, "Which units?"),
        ("answer", partner, partner.display_name, "The registration unit."),
        ("question", staff, staff.display_name, "How many staff?"),
        ("answer", partner, partner.display_name, "Forty."),
    ]
    assert AssistanceRequest.objects.get(pk=request.pk).status == "under_review"


def test_it_opens_one_assessment_owned_by_the_case_officer(request_in, staff):
    request = request_in("under_review")
    before = timezone.now()
    services.request_accept(request_id=request.pk, by=staff, comment="Clear need.")
    request.refresh_from_db()
    assert request.status == "accepted"
    assert before <= request.decided_at <= timezone.now()
    assessment = NeedsAssessment.objects.get(request=request)
    assert (assessment.owner, assessment.status) == (staff, "in_progress")
    assert NeedsAssessment.objects.count() == 1


def test_it_stores_the_reason_for_a_decline(request_in, staff):
    request = request_in("info_requested")
    services.request_decline(request_id=request.pk, by=staff, reason="Outside the mandate.")
    request.refresh_from_db()
    assert request.status == "declined"
    assert request.decision_reason == "Outside the mandate."
    assert request.decided_at is not None
    assert not NeedsAssessment.objects.exists()


@pytest.mark.parametrize("state", ["draft", "submitted", "under_review", "info_requested"])
def test_it_lets_the_partner_withdraw_an_open_request(request_in, partner, state):
    request = request_in(state)
    services.request_withdraw(request_id=request.pk, by=partner, comment="Solved locally.")
    request.refresh_from_db()
    assert request.status == "withdrawn"
    event = events_for(request).last()
    assert (event.from_state, event.to_state, event.comment) == (
        state,
        "withdrawn",
        "Solved locally.",
    )


@pytest.mark.parametrize("state", ["draft", "submitted", "under_review", "info_requested"])
def test_it_hides_a_request_from_another_organisations_partner_on_withdraw(
    request_in, partner2, state
):
    request = request_in(state)
    with pytest.raises(NotFound):
        services.request_withdraw(request_id=request.pk, by=partner2)
    assert AssistanceRequest.objects.get(pk=request.pk).status == state


def test_it_lets_one_of_two_staff_start_the_review(request_in, staff, approver):
    request = request_in("submitted")
    services.request_start_review(request_id=request.pk, by=staff)
    with pytest.raises(TransitionNotAllowed, match="this assistance request is under review"):
        services.request_start_review(request_id=request.pk, by=approver)
    assert AssistanceRequest.objects.get(pk=request.pk).case_officer == staff


@pytest.mark.django_db(transaction=True)
def test_it_lets_one_of_two_staff_starting_at_once_win(request_in, staff, approver):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks (select_for_update)")
    request = request_in("submitted")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def start(user):
        try:
            barrier.wait(timeout=10)
            services.request_start_review(request_id=request.pk, by=user)
            outcomes[user.username] = "ok"
        except Exception as exc:
            outcomes[user.username] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(u,)) for u in (staff, approver)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["approver", "staff"]
    winners = [name for name, outcome in outcomes.items() if outcome == "ok"]
    losers = [o for o in outcomes.values() if o != "ok"]
    assert len(winners) == 1
    assert len(losers) == 1
    assert isinstance(losers[0], TransitionNotAllowed), losers[0]
    assert "under review" in losers[0].message
    request.refresh_from_db()
    assert request.case_officer.username == winners[0]
    assert events_for(request).filter(transition="start-review").count() == 1


# --- needs assessment --------------------------------------------------------------------


def _gap(level="individual", description="Officers lack interview skills.", **extra):
    return {"level": level, "description": description, **extra}


def test_it_updates_the_assessment(assessment_in, staff):
    assessment = assessment_in("in_progress", gaps=0)
    services.assessment_update(
        assessment_id=assessment.pk,
        by=staff,
        data={
            "summary": "Registration is slow because procedures are missing.",
            "methods": ["desk_review", "interviews"],
            "stakeholders_consulted": "Registration unit; UNHCR office",
        },
        gaps=[
            _gap(),
            _gap("organisational", "No SOP.", priority="high"),
            _gap("enabling_environment", "The asylum law lacks time limits.", priority="low"),
        ],
    )
    assessment.refresh_from_db()
    assert assessment.summary.startswith("Registration is slow")
    assert assessment.methods == ["desk_review", "interviews"]
    assert [(g.level, g.priority, g.position) for g in assessment.gaps.order_by("position")] == [
        ("individual", "medium", 0),
        ("organisational", "high", 1),
        ("enabling_environment", "low", 2),
    ]


def test_it_replaces_the_gaps(assessment_in, staff):
    assessment = assessment_in("in_progress", gaps=0)
    kept = services.gap_add(assessment_id=assessment.pk, by=staff, data=_gap(description="A"))
    dropped = services.gap_add(assessment_id=assessment.pk, by=staff, data=_gap(description="B"))
    services.assessment_update(
        assessment_id=assessment.pk,
        by=staff,
        data={},
        gaps=[
            _gap("organisational", "C (new)"),
            {"id": kept.pk, **_gap("enabling_environment", "A (edited)", priority="high")},
        ],
    )
    gaps = {g.pk: g for g in CapacityGap.objects.filter(assessment=assessment)}
    assert dropped.pk not in gaps
    assert len(gaps) == 2
    assert (gaps[kept.pk].description, gaps[kept.pk].level, gaps[kept.pk].priority) == (
        "A (edited)",
        "enabling_environment",
        "high",
    )
    assert gaps[kept.pk].position == 1
    (new,) = [g for pk, g in gaps.items() if pk != kept.pk]
    assert (new.description, new.position) == ("C (new)", 0)


def test_it_keeps_the_gaps_when_none_are_given(assessment_in, staff):
    assessment = assessment_in("in_progress", gaps=2)
    services.assessment_update(assessment_id=assessment.pk, by=staff, data={"summary": "S"})
    assert assessment.gaps.count() == 2


def test_it_refuses_a_gap_of_another_assessment(assessment_in, staff):
    mine = assessment_in("in_progress", gaps=1)
    other = assessment_in("in_progress", gaps=1)
    foreign = other.gaps.get()
    mine_gap = mine.gaps.get()
    with pytest.raises(ApplicationError) as excinfo:
        services.assessment_update(
            assessment_id=mine.pk,
            by=staff,
            data={"summary": "Changed"},
            gaps=[{"id": mine_gap.pk, **_gap()}, {"id": foreign.pk, **_gap()}],
        )
    assert list(excinfo.value.errors) == ["gaps.1.id"]
    foreign.refresh_from_db()
    assert foreign.assessment == other
    assert foreign.description != _gap()["description"]
    assert NeedsAssessment.objects.get(pk=mine.pk).summary != "Changed"
    assert mine.gaps.get().pk == mine_gap.pk


def test_it_reports_each_bad_gap_field(assessment_in, staff):
    assessment = assessment_in("in_progress", gaps=1)
    existing = assessment.gaps.get()
    with pytest.raises(ApplicationError) as excinfo:
        services.assessment_update(
            assessment_id=assessment.pk,
            by=staff,
            data={},
            gaps=[
                _gap(),
                {"level": "national", "description": "X"},
                {"level": "individual", "description": "  "},
                {"level": "individual", "description": "X", "priority": "urgent"},
            ],
        )
    assert set(excinfo.value.errors) == {"gaps.1.level", "gaps.2.description", "gaps.3.priority"}
    assert list(assessment.gaps.values_list("pk", flat=True)) == [existing.pk]


def test_it_refuses_an_unknown_method(assessment_in, staff):
    assessment = assessment_in("in_progress")
    with pytest.raises(ApplicationError) as excinfo:
        services.assessment_update(
            assessment_id=assessment.pk,
            by=staff,
            data={"methods": ["interviews", "astrology"], "summary": "S"},
        )
    assert list(excinfo.value.errors) == ["methods"]
    assert "astrology" in excinfo.value.errors["methods"][0]
    assessment.refresh_from_db()
    assert (assessment.methods, assessment.summary) == ([], "")


@pytest.mark.parametrize("state", ["shared", "validated"])
def test_it_does_not_edit_a_shared_assessment(assessment_in, staff, state):
    assessment = assessment_in(state)
    gap = assessment.gaps.get()
    calls = [
        lambda: services.assessment_update(
            assessment_id=assessment.pk, by=staff, data={"summary": "Late edit"}
        ),
        lambda: services.gap_add(assessment_id=assessment.pk, by=staff, data=_gap()),
        lambda: services.gap_update(gap_id=gap.pk, by=staff, data={"description": "Late"}),
        lambda: services.gap_remove(gap_id=gap.pk, by=staff),
    ]
    for call in calls:
        with pytest.raises(TransitionNotAllowed, match="can only be edited while in progress"):
            call()
    assert NeedsAssessment.objects.get(pk=assessment.pk).summary == ""
    assert list(assessment.gaps.values_list("description", flat=True)) == [gap.description]


def test_it_forbids_the_partner_to_edit_the_assessment(assessment_in, partner):
    assessment = assessment_in("in_progress")
    gap = assessment.gaps.get()
    with pytest.raises(TransitionForbidden):
        services.assessment_update(assessment_id=assessment.pk, by=partner, data={"summary": "S"})
    with pytest.raises(TransitionForbidden):
        services.gap_add(assessment_id=assessment.pk, by=partner, data=_gap())
    with pytest.raises(TransitionForbidden):
        services.gap_update(gap_id=gap.pk, by=partner, data={"description": "Mine"})
    with pytest.raises(TransitionForbidden):
        services.gap_remove(gap_id=gap.pk, by=partner)
    assert assessment.gaps.count() == 1


@pytest.mark.parametrize("persona", ["partner2", "expert", "evaluator"])
def test_it_hides_the_assessment_from_outsiders(assessment_in, personas, persona):
    assessment = assessment_in("in_progress")
    gap = assessment.gaps.get()
    user = personas[persona]
    with pytest.raises(NotFound):
        services.assessment_update(assessment_id=assessment.pk, by=user, data={"summary": "S"})
    with pytest.raises(NotFound):
        services.gap_add(assessment_id=assessment.pk, by=user, data=_gap())
    with pytest.raises(NotFound):
        services.gap_update(gap_id=gap.pk, by=user, data={"description": "Mine"})
    with pytest.raises(NotFound):
        services.gap_remove(gap_id=gap.pk, by=user)


def test_it_adds_updates_and_removes_single_gaps(assessment_in, staff):
    assessment = assessment_in("in_progress", gaps=0)
    first = services.gap_add(assessment_id=assessment.pk, by=staff, data=_gap())
    second = services.gap_add(
        assessment_id=assessment.pk, by=staff, data=_gap("organisational", "No SOP.")
    )
    assert (first.position, second.position, first.priority) == (0, 1, "medium")
    services.gap_update(gap_id=first.pk, by=staff, data={"priority": "high", "target": "80%"})
    first.refresh_from_db()
    assert (first.priority, first.target, first.description) == (
        "high",
        "80%",
        "Officers lack interview skills.",
    )
    with pytest.raises(ApplicationError) as excinfo:
        services.gap_update(gap_id=first.pk, by=staff, data={"level": "global"})
    assert list(excinfo.value.errors) == ["level"]
    with pytest.raises(ApplicationError) as excinfo:
        services.gap_add(assessment_id=assessment.pk, by=staff, data={"level": "individual"})
    assert list(excinfo.value.errors) == ["description"]
    services.gap_remove(gap_id=second.pk, by=staff)
    assert list(assessment.gaps.values_list("pk", flat=True)) == [first.pk]
    with pytest.raises(NotFound):
        services.gap_remove(gap_id=second.pk, by=staff)


def test_it_takes_an_assessment_through_a_round_of_changes(assessment_in, partner, staff):
    assessment = assessment_in("in_progress")
    pk = assessment.pk
    services.assessment_share(assessment_id=pk, by=staff)
    shared = NeedsAssessment.objects.get(pk=pk)
    assert shared.status == "shared"
    assert shared.shared_at is not None
    services.assessment_return(assessment_id=pk, by=partner, comment="Add the legal gap.")
    assert NeedsAssessment.objects.get(pk=pk).status == "in_progress"
    services.gap_add(
        assessment_id=pk, by=staff, data=_gap("enabling_environment", "No time limits in law.")
    )
    services.assessment_share(assessment_id=pk, by=staff)
    before = timezone.now()
    services.assessment_validate(assessment_id=pk, by=partner)
    validated = NeedsAssessment.objects.get(pk=pk)
    assert validated.status == "validated"
    assert validated.validated_by == partner
    assert before <= validated.validated_at <= timezone.now()
    assert [e.transition for e in events_for(validated)] == [
        "share",
        "return",
        "share",
        "validate",
    ]
    assert events_for(validated)[1].comment == "Add the legal gap."
